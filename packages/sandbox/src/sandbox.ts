import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '@nvcf-ecr/core/config';
import { partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { createLogger, type Logger, silentLogger } from '@nvcf-ecr/core/log';
import { VirtualClock } from './clock.ts';
import { control } from './control/routes.ts';
import { SandboxError } from './errors.ts';
import { FaultRegistry } from './faults.ts';
import * as ids from './ids.ts';
import type { ServiceModule } from './module.ts';
import { Throttle, type ThrottleOptions, validateLatency, withLatency } from './pacing.ts';
import { type ProfileKnobs, type ProfileName, SandboxProfile } from './profile.ts';
import { LambdaRegistry } from './runtime/lambda.ts';
import { createAwsFrontDoor } from './server/aws.ts';
import { type Listener, listen, type RequestHandler } from './server/http.ts';
import { IamBackend } from './services/iam/backend.ts';
import { createServiceModules, type ServiceModuleOptions } from './services/index.ts';
import { WorkTracker } from './tracker.ts';
import type { CallRecord, Endpoints, EventBus, World } from './world.ts';

/**
 * Starting and stopping the sandbox: four listeners on 127.0.0.1 (AWS APIs, OCI registry, NVCF API, control
 * plane), the emulated services, optional persistence, and — when handlers are given — the local runtime that
 * wires them the way the stacks do.
 */

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';
/** Calls kept for `GET /_sandbox/calls`. */
export const CALL_LOG_SIZE = 10_000;

export interface SandboxOptions extends ServiceModuleOptions {
  /** Account the sandbox emulates (default: the account of the config's private registries, else 123456789012). */
  accountId?: string;
  /** Region the sandbox reports as its home (default: the first private registry's region, else us-east-1). */
  region?: string;
  /** First of four consecutive ports (AWS, registry, NVCF, control); 0 (default) picks free ports. */
  port?: number;
  /**
   * How unforgiving the emulated AWS and NVCF are (`profile.ts`): `aws` models their documented delays and
   * caches, `ideal` (the default here, for tests of something else) has none. `nvcf-ecr sandbox` and the demo
   * default to `aws`.
   */
  profile?: ProfileName;
  /** Knobs overriding the profile's (seconds on the virtual clock). */
  knobs?: Partial<ProfileKnobs>;
  /** Seconds a new access key takes to work: the same as `knobs.iamPropagationSeconds`. */
  keyPropagationSeconds?: number;
  /** Persist state to this file (atomically) and load it at start. */
  statePath?: string;
  /**
   * Real milliseconds every request to the AWS, registry and NVCF listeners waits before it is handled, like an
   * API round trip (default 0; the benchmarks use 20). The control plane is never delayed.
   */
  latencyMs?: number;
  /**
   * Token buckets per operation, `{"ecr.DescribeImages": {rate, burst}}`: a call that finds its bucket empty
   * is refused as the service refuses a throttled call (ECR `ThrottlingException`). Default: none.
   */
  throttle?: ThrottleOptions;
  logger?: Logger;
}

/** What `nvcf-ecr sandbox` prints as its first line, and what tests read. */
export interface SandboxInfo {
  awsEndpoint: string;
  registryEndpoint: string;
  nvcfEndpoint: string;
  controlEndpoint: string;
  region: string;
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  ngcApiKey: string;
}

export interface RunningSandbox extends SandboxInfo {
  readonly world: World;
  readonly modules: readonly ServiceModule[];
  readonly lambda: LambdaRegistry;
  /** Calls `listener` after every call an emulated service answers; returns the unsubscriber. */
  onCall(listener: (call: CallRecord) => void): () => void;
  /** Waits until no rotation, delivery or retry is in flight. */
  settle(timeoutMs?: number): Promise<boolean>;
  /** Stops listeners and schedules and flushes state; idempotent. */
  close(): Promise<void>;
}

interface PersistedState {
  version: 1;
  accountId: string;
  clockOffsetSeconds: number;
  admin: { accessKeyId: string; secretAccessKey: string };
  ngcApiKey: string;
  modules: Record<string, unknown>;
}

function defaultsFromConfig(config: Config | undefined): { accountId?: string; region?: string } {
  const priv = config?.registries.find((r) => r.kind === 'private');
  if (!priv) return {};
  const accounts = new Set(config?.registries.filter((r) => r.kind === 'private').map((r) => r.accountId));
  if (accounts.size > 1) {
    throw new SandboxError(
      `the configuration names ${accounts.size} AWS accounts (${[...accounts].join(', ')}); the sandbox emulates one account: run one sandbox per account`,
    );
  }
  return { accountId: priv.accountId, region: priv.region };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const fromConfig = defaultsFromConfig(options.config);
  const accountId = options.accountId ?? fromConfig.accountId ?? DEFAULT_ACCOUNT_ID;
  const region = options.region ?? fromConfig.region ?? DEFAULT_REGION;
  const partition = partitionOfRegion(region)?.partition;
  if (!/^\d{12}$/.test(accountId)) throw new SandboxError(`accountId must be 12 digits, got '${accountId}'`);
  if (!partition) throw new SandboxError(`region '${region}' is not an AWS region`);
  const log = options.logger ?? silentLogger;
  const latencyMs = validateLatency(options.latencyMs);
  const throttle = new Throttle(options.throttle);

  let persisted: PersistedState | undefined;
  if (options.statePath) persisted = await loadState(options.statePath, accountId);

  const profile = new SandboxProfile(options.profile ?? 'ideal', {
    ...options.knobs,
    ...(options.keyPropagationSeconds !== undefined
      ? { iamPropagationSeconds: options.keyPropagationSeconds }
      : {}),
  });
  const clock = new VirtualClock();
  if (persisted) clock.restore(persisted.clockOffsetSeconds);
  const tracker = new WorkTracker();
  const faults = new FaultRegistry();
  const iam = new IamBackend(accountId, clock, partition, profile);
  const admin = persisted?.admin ?? {
    accessKeyId: ids.accessKeyId(),
    secretAccessKey: ids.secretAccessKey(),
  };
  const serviceKey = { accessKeyId: ids.accessKeyId(), secretAccessKey: ids.secretAccessKey() };
  const ngcApiKey = persisted?.ngcApiKey ?? ids.ngcApiKey();

  // Listeners first, so every module knows the endpoints; their handlers are bound once modules exist.
  const handlers: Record<keyof Endpoints, RequestHandler> = {
    aws: async () => ({ status: 503, body: 'starting' }),
    registry: async () => ({ status: 503, body: 'starting' }),
    nvcf: async () => ({ status: 503, body: 'starting' }),
    control: async () => ({ status: 503, body: 'starting' }),
  };
  const onError = (err: unknown) => log.error('sandbox request failed', { error: err });
  const base = options.port ?? 0;
  const listeners: Listener[] = [];
  try {
    for (const [i, name] of (['aws', 'registry', 'nvcf', 'control'] as const).entries()) {
      // Latency applies to the emulated services only: the control plane is the test's own instrument.
      const handler = withLatency((req) => handlers[name](req), name === 'control' ? 0 : latencyMs);
      listeners.push(await listen(handler, base === 0 ? 0 : base + i, onError));
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  const [awsL, registryL, nvcfL, controlL] = listeners as [Listener, Listener, Listener, Listener];
  const endpoints: Endpoints = {
    aws: awsL.url,
    registry: registryL.url,
    nvcf: nvcfL.url,
    control: controlL.url,
  };

  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  const lambda = new LambdaRegistry({
    tracker,
    log,
    now: () => clock.now(),
    clock,
    asyncRetryDelaysMs: options.asyncRetryDelaysMs,
  });
  const bus: { current: EventBus } = { current: { putServiceEvents: () => {} } };
  // The request log keeps the last CALL_LOG_SIZE calls for `GET /_sandbox/calls`; observers see every call.
  const calls: CallRecord[] = [];
  const callListeners = new Set<(call: CallRecord) => void>();
  let callSeq = 0;
  const world: World = {
    accountId,
    partition,
    regions: [region],
    clock,
    faults,
    throttle,
    tracker,
    iam,
    log,
    endpoints,
    events: { putServiceEvents: (r, e) => bus.current.putServiceEvents(r, e) },
    lambda,
    serviceKey,
    profile,
    changed: () => {
      if (!options.statePath || saveTimer) return;
      saveTimer = setTimeout(() => {
        saveTimer = undefined;
        saving = saving.then(() => save());
      }, 100);
      saveTimer.unref?.();
    },
    recordCall: (call) => {
      const full: CallRecord = { ...call, seq: ++callSeq, time: clock.now().toISOString() };
      calls.push(full);
      if (calls.length > CALL_LOG_SIZE) calls.splice(0, calls.length - CALL_LOG_SIZE);
      for (const l of callListeners) l(full);
    },
  };

  const modules = createServiceModules(world, { ...options, ngcApiKey, region });
  for (const m of modules) {
    const eventBus = (m as ServiceModule & { bus?: EventBus }).bus;
    if (eventBus) bus.current = eventBus;
  }
  if (persisted) {
    for (const m of modules)
      if (persisted.modules[m.name] !== undefined) m.restore(persisted.modules[m.name]);
  }

  const adminKeys = new Map([
    [admin.accessKeyId, admin.secretAccessKey],
    [serviceKey.accessKeyId, serviceKey.secretAccessKey],
  ]);
  handlers.aws = createAwsFrontDoor({
    world,
    json: modules.flatMap((m) => m.json ?? []),
    query: modules.flatMap((m) => m.query ?? []),
    rest: modules.find((m) => m.rest)?.rest,
    adminKeys,
  });
  const notHere = async () => ({ status: 404, body: 'Not Found' });
  handlers.registry = modules.find((m) => m.listeners?.registry)?.listeners?.registry ?? notHere;
  handlers.nvcf = modules.find((m) => m.listeners?.nvcf)?.listeners?.nvcf ?? notHere;

  async function save(): Promise<void> {
    if (!options.statePath) return;
    const state: PersistedState = {
      version: 1,
      accountId,
      clockOffsetSeconds: clock.offsetSeconds,
      admin,
      ngcApiKey,
      modules: Object.fromEntries(modules.map((m) => [m.name, m.snapshot()])),
    };
    await writeAtomically(options.statePath, JSON.stringify(state));
  }

  const info: SandboxInfo = {
    awsEndpoint: endpoints.aws,
    registryEndpoint: endpoints.registry,
    nvcfEndpoint: endpoints.nvcf,
    controlEndpoint: endpoints.control,
    region,
    accountId,
    accessKeyId: admin.accessKeyId,
    secretAccessKey: admin.secretAccessKey,
    ngcApiKey,
  };

  const reset = async () => {
    faults.clear();
    calls.length = 0;
    lambda.deadLetters.length = 0;
    lambda.invocations.length = 0;
    for (const m of modules) await m.reset();
    world.changed();
  };
  handlers.control = control({ world, modules, info, reset, calls: () => calls });

  // Started in list order and awaited: the local runtime (last) provisions through the APIs of the others.
  try {
    for (const m of modules) await m.start?.();
  } catch (err) {
    for (const m of modules) m.stop?.();
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }

  let closed = false;
  return {
    ...info,
    world,
    modules,
    lambda,
    onCall: (listener) => {
      callListeners.add(listener);
      return () => callListeners.delete(listener);
    },
    settle: (timeoutMs) => tracker.settle(timeoutMs),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const m of modules) m.stop?.();
      await Promise.all(listeners.map((l) => l.close()));
      if (saveTimer) clearTimeout(saveTimer);
      await saving;
      await save();
    },
  };
}

async function loadState(path: string, accountId: string): Promise<PersistedState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SandboxError(`cannot read state file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let state: PersistedState;
  try {
    state = JSON.parse(text) as PersistedState;
  } catch (err) {
    throw new SandboxError(`state file ${path} is not valid JSON; move it away to start fresh`, {
      cause: err,
    });
  }
  if (state.version !== 1)
    throw new SandboxError(
      `state file ${path} has version ${String(state.version)}; this sandbox reads version 1`,
    );
  if (state.accountId !== accountId) {
    throw new SandboxError(
      `state file ${path} belongs to account ${state.accountId}, not ${accountId}; use another --state file`,
    );
  }
  return state;
}

/**
 * Writes `data` so that a crash never leaves a torn file: write a temporary file in the same directory, fsync
 * it, then rename it over the target (rename is atomic within a file system).
 */
export async function writeAtomically(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** A logger writing human lines to stderr (what `nvcf-ecr sandbox` shows after its first JSON line). */
export function stderrLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'info'): Logger {
  return createLogger({
    level,
    sink: (r) => {
      const fields = Object.keys(r.fields).length > 0 ? ` ${JSON.stringify(r.fields)}` : '';
      process.stderr.write(`${r.time} ${r.level.padEnd(5)} ${r.message}${fields}\n`);
    },
  });
}
