import { createHash } from 'node:crypto';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Config, RegistryConfig } from '@nvcf-ecr/core/config';
import { EVENT_SOURCE, FUNCTIONS, functionArn, PROJECT_EVENT_BUS_NAME } from '@nvcf-ecr/core/events';
import { createLogger, type LogRecord, memorySink } from '@nvcf-ecr/core/log';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RotationTiming } from '@nvcf-ecr/core/rotation';
import type { LambdaHandler, RunningSandbox, RuntimeHandlers, SandboxOptions } from '@nvcf-ecr/sandbox';
import { expect } from 'vitest';
import { fromSandboxEnvironment, type SandboxHandlerEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRetireKeysHandler } from '../../../functions/retire-keys.ts';
import { createRotateCredentialHandler } from '../../../functions/rotate-credential.ts';
import { clients, control, withSandbox } from '../../helpers/sandbox.ts';

/**
 * What the rotation's end-to-end tests share: a sandbox running the real handlers composed as the CLI
 * composes them (`fromSandboxEnvironment` over the runtime's environment), in-process views of its state for
 * invariant checks after every call, a test image to pull, and the secret scan (no secret the sandbox issued,
 * nor its base64 form, in any captured log line, event or error).
 */

/** Fast waits: the sandbox's keys work at once unless a test sets a propagation delay. */
export const FAST_TIMING: Partial<RotationTiming> = {
  keyPropagationBudgetMs: 3_000,
  nvcfBudgetMs: 3_000,
  testBudgetMs: 2_000,
  nvcfVisibleBudgetMs: 2_000,
  iamListLagMs: 300,
  backoff: { initialDelayMs: 20, factor: 1.5, maxDelayMs: 100 },
};

export type HandlerKey = 'rotateCredential' | 'retireKeys';

export interface RotationHandlerOptions {
  readonly timing?: Partial<RotationTiming> | undefined;
  readonly nvcfTimeoutMs?: number | undefined;
  /**
   * The rotation's waits pass on the sandbox's virtual clock (a pause advances it), so that a test on the `aws`
   * profile waits out IAM's propagation and NVCF's caches in milliseconds.
   */
  readonly virtualWaits?: boolean | undefined;
}

/**
 * Waits that advance the sandbox's virtual clock instead of sleeping, each pause charged to the invocation that
 * makes it (its time left drops as a real pause's would): what the runtime gives functions with `virtualWaits`.
 */
export function virtualWaits(sandbox: () => RunningSandbox) {
  return {
    sleep: (ms: number) => sandbox().lambda.pause(ms),
    monotonic: () => sandbox().world.clock.nowMs(),
  };
}

export function rotationHandlers(
  keys: readonly HandlerKey[] = ['rotateCredential', 'retireKeys'],
  options: RotationHandlerOptions = {},
  sandbox?: () => RunningSandbox,
): RuntimeHandlers {
  const handlers: RuntimeHandlers = {};
  if (keys.includes('rotateCredential'))
    handlers.rotateCredential = (env) =>
      createRotateCredentialHandler(fromSandboxEnvironment(env), {
        timing: options.timing ?? FAST_TIMING,
        ...(options.nvcfTimeoutMs ? { nvcfTimeoutMs: options.nvcfTimeoutMs } : {}),
        ...(options.virtualWaits && sandbox ? { waits: virtualWaits(sandbox) } : {}),
      }) as LambdaHandler;
  if (keys.includes('retireKeys'))
    handlers.retireKeys = (env) => createRetireKeysHandler(fromSandboxEnvironment(env)) as LambdaHandler;
  return handlers;
}

export interface Harness {
  readonly sb: RunningSandbox;
  readonly aws: ReturnType<typeof clients>;
  readonly logs: LogRecord[];
  /** Every secret access key the sandbox issued while the harness watched (deleted keys included). */
  readonly issued: Map<string, string>;
  close(): Promise<void>;
}

export async function startHarness(
  config: Config,
  options: Partial<SandboxOptions> & {
    handlerKeys?: readonly HandlerKey[];
    rotation?: RotationHandlerOptions;
  } = {},
): Promise<Harness> {
  const sink = memorySink();
  const { handlerKeys, rotation, ...rest } = options;
  let running: RunningSandbox | undefined;
  const sb = await withSandbox({
    config,
    logger: createLogger({ sink, level: 'debug' }),
    handlers: rotationHandlers(handlerKeys, rotation, () => running as RunningSandbox),
    rotationAttempts: 3,
    rotationRetryDelayMs: 0,
    asyncRetryDelaysMs: [0, 0],
    ...rest,
  });
  running = sb;
  const issued = new Map<string, string>();
  const history = watchNvcf(sb);
  const collect = (call?: SandboxCall) => {
    for (const k of sb.world.iam.keys.values()) issued.set(k.accessKeyId, k.secretAccessKey);
    history.observe(call);
  };
  const off = sb.onCall(collect);
  await sb.settle();
  collect();
  return {
    sb,
    aws: clients(sb, { maxAttempts: 1 }),
    logs: sink.records,
    issued,
    close: async () => {
      off();
      await sb.close();
    },
  };
}

// ---- in-process views (synchronous: usable from onCall) --------------------------------------------------

interface SecretView {
  arn: string;
  name: string;
  tags: { Key: string; Value: string }[];
  versions: { versionId: string; stages: string[]; secretString?: string }[];
  rotation: { nextWindowStart?: string | undefined };
  rotations: {
    token: string;
    status: string;
    attempts: { steps: { step: string; ok: boolean; error?: { message: string } }[] }[];
  }[];
}

interface NvcfCredentialView {
  registryCredentialId: string;
  registryCredentialName: string;
  registryHostname: string;
  lastUpdatedAt: string;
  username: string;
  /** Stale-cache mode: the secret a PATCH replaced, still served until `servedUntil`. */
  previous?: { username: string; servedUntil: string };
}

function inspect<T>(sb: RunningSandbox, module: string): T {
  const m = sb.modules.find((x) => x.name === module);
  if (!m) throw new Error(`no module ${module}`);
  return m.inspect() as T;
}

export function secretOf(sb: RunningSandbox, registry: RegistryConfig): SecretView {
  const s = inspect<{ secrets: SecretView[] }>(sb, 'secretsmanager').secrets.find(
    (x) => x.name === registry.secretName,
  );
  if (!s) throw new Error(`no secret ${registry.secretName}`);
  return s;
}

/** The key ids each running workload holds (its credential of the last refresh). */
export function workloadKeysOf(sb: RunningSandbox): { image: string; heldAccessKeyIds: string[] }[] {
  return inspect<{ workloads: { image: string; heldAccessKeyIds: string[] }[] }>(sb, 'nvcf').workloads;
}

export function credentialsOf(sb: RunningSandbox, registry: RegistryConfig): NvcfCredentialView[] {
  return inspect<{ credentials: NvcfCredentialView[] }>(sb, 'nvcf').credentials.filter(
    (c) => c.registryHostname === registry.hostname && c.registryCredentialName === registry.credentialName,
  );
}

export function keysOf(sb: RunningSandbox, registry: RegistryConfig) {
  return sb.world.iam
    .keysOf(registry.userName)
    .map((k) => ({ accessKeyId: k.accessKeyId, status: k.status }));
}

/** The access key id stored in a stage (undefined for the bootstrap value). */
export function keyInStage(sb: RunningSandbox, registry: RegistryConfig, stage: string): string | undefined {
  const v = secretOf(sb, registry).versions.find((x) => x.stages.includes(stage));
  if (!v?.secretString) return undefined;
  return (JSON.parse(v.secretString) as { accessKeyId?: string }).accessKeyId;
}

type SandboxCall = Parameters<Parameters<RunningSandbox['onCall']>[0]>[0];

/**
 * How long the real NVCF may go on handing out a key after its credential was given another one: each API pod
 * caches a credential's secret for 5 minutes and only the pod that took the write forgets it (`NVIDIA/nvcf`,
 * `RegistryCredentialEssService`). The sandbox switches at once (unless in stale-cache mode), so the harness keeps
 * that history itself.
 */
export const NVCF_SECRET_CACHE_MS = 5 * 60_000;

interface CacheViolation {
  readonly accessKeyId: string;
  readonly hostname: string;
  readonly heldAtMs: number;
  readonly what: 'deleted' | 'deactivated';
}

const nvcfHistories = new WeakMap<RunningSandbox, { violations: CacheViolation[]; forget(): void }>();

/**
 * Watches, after every call, which keys NVCF's credentials hold (and serve, in stale-cache mode) and when, and
 * records every key an IAM call deletes or deactivates within {@link NVCF_SECRET_CACHE_MS} of NVCF holding it.
 * Keys are compared with the previous call's, and only across a successful DeleteAccessKey or UpdateAccessKey:
 * a control-plane reset or a test's restore removes keys without being a deletion.
 */
function watchNvcf(sb: RunningSandbox): { observe(call?: SandboxCall): void } {
  const lastHeld = new Map<string, { atMs: number; hostname: string }>();
  let keys = new Map<string, string>();
  const violations: CacheViolation[] = [];
  nvcfHistories.set(sb, {
    violations,
    forget: () => {
      lastHeld.clear();
      violations.length = 0;
      keys = new Map();
    },
  });
  return {
    observe(call) {
      const now = sb.world.clock.nowMs();
      const current = new Map(
        [...sb.world.iam.keys.values()].map((k) => [k.accessKeyId, k.status as string]),
      );
      const iamChange =
        call?.service === 'iam' &&
        call.status < 300 &&
        (call.operation === 'DeleteAccessKey' || call.operation === 'UpdateAccessKey');
      if (iamChange) {
        for (const [id, before] of keys) {
          const after = current.get(id);
          const what =
            after === undefined
              ? 'deleted'
              : before === 'Active' && after !== 'Active'
                ? 'deactivated'
                : undefined;
          const held = lastHeld.get(id);
          if (what && held && now - held.atMs < NVCF_SECRET_CACHE_MS)
            violations.push({ accessKeyId: id, hostname: held.hostname, heldAtMs: held.atMs, what });
        }
      }
      keys = current;
      const nvcf = inspect<{ credentials: NvcfCredentialView[] }>(sb, 'nvcf');
      for (const c of nvcf.credentials) {
        lastHeld.set(c.username, { atMs: now, hostname: c.registryHostname });
        if (c.previous && Date.parse(c.previous.servedUntil) > now)
          lastHeld.set(c.previous.username, { atMs: now, hostname: c.registryHostname });
      }
    },
  };
}

/**
 * Invariants 1 and 2 of the rotation protocol (packages/core/src/rotation/README.md, "Invariants"), read from the
 * sandbox's state: NVCF's credential holds an Active key of the pull user; the user has at most two keys;
 * AWSCURRENT's key is Active; every key a running workload holds is Active (workloads refresh their credential
 * only hourly); and — for a sandbox started by {@link startHarness} — no key was deleted or
 * deactivated while NVCF's caches may still hand it out (within {@link NVCF_SECRET_CACHE_MS} of NVCF holding it;
 * reported while that lasts).
 */
export function invariantViolations(sb: RunningSandbox, registry: RegistryConfig): string[] {
  const out: string[] = [];
  const keys = sb.world.iam.keysOf(registry.userName);
  if (keys.length > 2) out.push(`user ${registry.userName} has ${keys.length} keys`);
  for (const c of credentialsOf(sb, registry)) {
    const k = sb.world.iam.keys.get(c.username);
    if (k?.status !== 'Active' || k.userName !== registry.userName)
      out.push(
        `NVCF holds ${maskAccessKeyId(c.username)}, which is ${k ? `${k.status} (${k.userName})` : 'deleted'}`,
      );
  }
  for (const w of workloadKeysOf(sb).filter((x) => x.image.startsWith(`${registry.hostname}/`))) {
    for (const id of w.heldAccessKeyIds) {
      const k = sb.world.iam.keys.get(id);
      if (k?.status !== 'Active')
        out.push(`a running workload holds ${maskAccessKeyId(id)}, which is ${k ? k.status : 'deleted'}`);
    }
  }
  const current = keyInStage(sb, registry, 'AWSCURRENT');
  if (current !== undefined && sb.world.iam.keys.get(current)?.status !== 'Active')
    out.push(`AWSCURRENT holds ${maskAccessKeyId(current)}, which is not Active`);
  const now = sb.world.clock.nowMs();
  for (const v of nvcfHistories.get(sb)?.violations ?? []) {
    if (v.hostname !== registry.hostname || now - v.heldAtMs >= NVCF_SECRET_CACHE_MS) continue;
    out.push(
      `${maskAccessKeyId(v.accessKeyId)} was ${v.what} while NVCF may still hand it out (it held it at ` +
        `${new Date(v.heldAtMs).toISOString()}; NVCF caches a credential's secret for 5 minutes)`,
    );
  }
  return out;
}

/** The sandbox's state and virtual time, for runs that must each start from the same world. */
export interface Snapshot {
  readonly modules: [string, unknown][];
  readonly atMs: number;
}

export function takeSnapshot(sb: RunningSandbox): Snapshot {
  return {
    modules: sb.modules.map((m) => [m.name, structuredClone(m.snapshot())]),
    atMs: sb.world.clock.nowMs(),
  };
}

/**
 * Puts the sandbox back as {@link takeSnapshot} found it: the services' state, the virtual clock (back to the
 * snapshot's time, or to real time when that is later: the clock never runs behind the machine's), no fault
 * rules, no running workloads, and the harness's NVCF history forgotten (the restored world has no past). NVCF's
 * and IAM's caches restart agreeing with the restored state.
 */
export function restoreSnapshot(sb: RunningSandbox, snap: Snapshot): void {
  for (const [name, data] of snap.modules)
    sb.modules.find((m) => m.name === name)?.restore(structuredClone(data));
  sb.world.faults.clear();
  // Workloads are not part of the state (as with `--state`): the ones running now hold keys of another past.
  void sb.modules
    .find((m) => m.name === 'nvcf')
    ?.control?.['DELETE nvcf/workloads']?.(undefined, new URLSearchParams());
  sb.world.clock.restore((snap.atMs - Date.now()) / 1000);
  nvcfHistories.get(sb)?.forget();
}

/** AWSPENDING left on a version that is not AWSCURRENT. */
export function stuckPending(sb: RunningSandbox, registry: RegistryConfig): string | undefined {
  return secretOf(sb, registry).versions.find(
    (v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'),
  )?.versionId;
}

// ---- actions -----------------------------------------------------------------------------------------------

/** RotateSecret through the SDK (rotation as Secrets Manager runs it), then waits until it is over. */
export async function rotate(h: Harness, registry: RegistryConfig, token?: string): Promise<string> {
  const out = await h.aws.secrets.send(
    new RotateSecretCommand({
      SecretId: registry.secretName,
      RotateImmediately: true,
      ClientRequestToken: token,
    }),
  );
  await h.sb.settle();
  return out.VersionId ?? '';
}

/**
 * Lets Secrets Manager reattempt a stuck rotation as it does: with the rotation's own token, when the next
 * rotation window opens (it refuses `RotateSecret` meanwhile, whatever the token).
 */
export async function reattemptInNextWindow(h: Harness, registry: RegistryConfig): Promise<void> {
  const opens = Date.parse(secretOf(h.sb, registry).rotation.nextWindowStart ?? '');
  if (Number.isNaN(opens)) throw new Error(`secret ${registry.secretName} has no next rotation window`);
  const seconds = Math.max(0, (opens - h.sb.world.clock.nowMs()) / 1000) + 1;
  await control(h.sb, 'POST', 'clock', { advanceSeconds: seconds });
  await h.sb.settle();
}

/** The rotation record of a token (the sandbox's history). */
export function rotationRecord(sb: RunningSandbox, registry: RegistryConfig, token: string) {
  return secretOf(sb, registry)
    .rotations.filter((r) => r.token === token)
    .at(-1);
}

/** The environment the runtime hands handlers, for handlers a test registers itself. */
export function handlerEnvironment(sb: RunningSandbox, config: Config): SandboxHandlerEnvironment {
  return {
    config,
    accountId: sb.accountId,
    region: sb.region,
    endpoints: { aws: sb.awsEndpoint, nvcf: sb.nvcfEndpoint },
    credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
    now: () => sb.world.clock.now(),
    logger: sb.world.log,
    eventBusName: PROJECT_EVENT_BUS_NAME,
    reportBucket: 'unused',
  };
}

export function rotationFunctionArn(sb: RunningSandbox): string {
  return functionArn('aws', sb.region, sb.accountId, FUNCTIONS.rotateCredential.name);
}

export function retireFunctionArn(sb: RunningSandbox): string {
  return functionArn('aws', sb.region, sb.accountId, FUNCTIONS.retireKeys.name);
}

export async function advanceHours(sb: RunningSandbox, hours: number): Promise<void> {
  await control(sb, 'POST', 'clock', { advanceSeconds: hours * 3600 });
  await sb.settle();
}

/** Pushes a one-layer linux/amd64 image (through the control plane's seed) and returns its reference. */
export async function pushTestImage(
  sb: RunningSandbox,
  registry: RegistryConfig,
  repository: string,
  tag: string,
) {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const layer = Buffer.from(`layer of ${repository}:${tag}`);
  const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: digest(config),
      size: config.length,
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length },
    ],
  });
  await control(sb, 'POST', 'seed', {
    ecr: {
      region: registry.region,
      images: [
        { repository, manifest, tags: [tag], blobs: [config.toString('base64'), layer.toString('base64')] },
      ],
    },
  });
  return `${registry.hostname}/${repository}:${tag}`;
}

/** NVCF starting an instance: pulls `image` with NVCF's stored credential. */
export async function nvcfPull(sb: RunningSandbox, image: string): Promise<{ ok: boolean; error?: string }> {
  return control(sb, 'POST', 'nvcf/pull', { image });
}

/** Events this project put on its bus, of one detail type. */
export async function projectEvents<T = Record<string, unknown>>(sb: RunningSandbox, detailType: string) {
  const out = await control<{ events: { event: { 'detail-type': string; detail: T } }[] }>(
    sb,
    'GET',
    `events?source=${encodeURIComponent(EVENT_SOURCE)}&detailType=${encodeURIComponent(detailType)}`,
  );
  return out.events.map((e) => e.event.detail);
}

/**
 * Invariant 5 (packages/core/src/rotation/README.md, "Invariants") for one harness: no secret the sandbox issued
 * (secret access keys, the admin key, the NGC key), nor the base64 credential NVCF stores (`id:secret`), nor a
 * base64 secret, appears in what was captured — log lines, every event on every bus, invocation errors and the
 * rotation history — or in `extra` text.
 */
export async function expectNoSecretsLeaked(h: Harness, extra: readonly string[] = []): Promise<void> {
  const events = await control(h.sb, 'GET', 'events');
  const state = await control<{ secretsmanager: { secrets: { rotations: unknown[] }[] } }>(
    h.sb,
    'GET',
    'state',
  );
  const haystack = [
    JSON.stringify(h.logs),
    JSON.stringify(events),
    JSON.stringify(h.sb.lambda.invocations),
    JSON.stringify(h.sb.lambda.deadLetters),
    JSON.stringify(state.secretsmanager.secrets.map((s) => s.rotations)),
    ...extra,
  ].join('\n');
  const needles: [string, string][] = [
    ['admin secret access key', h.sb.secretAccessKey],
    ['NGC API key', h.sb.ngcApiKey],
  ];
  for (const [id, secret] of h.issued) {
    needles.push([`secret of ${maskAccessKeyId(id)}`, secret]);
    needles.push([
      `base64 credential of ${maskAccessKeyId(id)}`,
      Buffer.from(`${id}:${secret}`).toString('base64'),
    ]);
    needles.push([`base64 secret of ${maskAccessKeyId(id)}`, Buffer.from(secret).toString('base64')]);
  }
  expect(h.issued.size).toBeGreaterThan(0);
  const leaked = needles.filter(([, s]) => haystack.includes(s)).map(([what]) => what);
  expect(leaked).toEqual([]);
}

/**
 * Registers the retirement under its function name without wiring its hourly rule, for tests that invoke it
 * themselves (a clock advance would otherwise fire the rule first).
 */
export function registerRetireHandler(h: Harness, config: Config): void {
  h.sb.lambda.register({
    arn: retireFunctionArn(h.sb),
    name: FUNCTIONS.retireKeys.name,
    handler: createRetireKeysHandler(
      fromSandboxEnvironment(handlerEnvironment(h.sb, config)),
    ) as LambdaHandler,
    timeoutSeconds: FUNCTIONS.retireKeys.timeoutSeconds,
    memoryMb: FUNCTIONS.retireKeys.memoryMb,
  });
}
