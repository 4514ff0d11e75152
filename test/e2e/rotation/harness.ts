import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RotateSecretCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { assertConfig, type Config, loadConfig, type RegistryConfig } from '@nvcf-ecr/core/config';
import { EVENT_SOURCE, FUNCTIONS, functionArn, PROJECT_EVENT_BUS_NAME } from '@nvcf-ecr/core/events';
import { createLogger, type LogRecord, memorySink } from '@nvcf-ecr/core/log';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RetireOutcome, RotationTiming } from '@nvcf-ecr/core/rotation';
import type { LambdaHandler, RunningSandbox, RuntimeHandlers, SandboxOptions } from '@nvcf-ecr/sandbox';
import { expect } from 'vitest';
import { fromSandboxEnvironment, type SandboxHandlerEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRetireKeysHandler } from '../../../functions/retire-keys.ts';
import { createRotateCredentialHandler } from '../../../functions/rotate-credential.ts';
import { clients, control, withSandbox } from '../../helpers/sandbox.ts';
import { type SandboxCall, secretOf, watchNvcf } from './views.ts';

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

export * from './views.ts';

// ---- configurations and actions ----------------------------------------------------------------------------

/** The example configuration (`nvcf-ecr.config.ts`, what the demo runs) and its registry. */
export async function exampleConfig(): Promise<{ config: Config; registry: RegistryConfig }> {
  const config = await loadConfig(join(import.meta.dirname, '../../../nvcf-ecr.config.ts'));
  return { config, registry: config.registries[0] as RegistryConfig };
}

/** One private registry `prod` (repository `inference`, credential `ecr-prod`) with the given rotation. */
export function prodConfig(rotation: { schedule?: string; graceHours?: number } = {}): {
  config: Config;
  registry: RegistryConfig;
} {
  const config = assertConfig({
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'prod',
        hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        repositories: ['inference'],
        credentialName: 'ecr-prod',
        rotation,
      },
    ],
  });
  return { config, registry: config.registries[0] as RegistryConfig };
}

/**
 * A fresh world for the next test: the sandbox reset (its runtime provisions again and the bootstrap rotation
 * runs), settled, and the test image `inference:v1` pushed. Returns the image.
 */
export async function freshWorld(h: Harness, registry: RegistryConfig): Promise<string> {
  await control(h.sb, 'POST', 'reset');
  await h.sb.settle();
  return pushTestImage(h.sb, registry, 'inference', 'v1');
}

/**
 * Abandons a pending rotation the way packages/core/src/rotation/README.md, "Recovering", says: its `AWSPENDING`
 * label removed (Secrets Manager starts no other rotation while it is there).
 */
export async function abandonRotation(h: Harness, registry: RegistryConfig, token: string): Promise<void> {
  await h.aws.secrets.send(
    new UpdateSecretVersionStageCommand({
      SecretId: registry.secretName,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: token,
    }),
  );
}

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
 * RotateSecret naming the rotation function and the registry's schedule, as the stacks' rotation schedule
 * configures them (for a secret no rotation was configured on yet), then waits until it is over.
 */
export async function rotateWithFunction(h: Harness, registry: RegistryConfig): Promise<string> {
  const out = await h.aws.secrets.send(
    new RotateSecretCommand({
      SecretId: registry.secretName,
      RotationLambdaARN: rotationFunctionArn(h.sb),
      RotationRules: { ScheduleExpression: registry.rotation.schedule },
      RotateImmediately: true,
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

/** Invokes the retirement as its hourly schedule does; resolves to its outcomes. */
export async function retireNow(h: Harness): Promise<RetireOutcome[]> {
  return (await h.sb.lambda.invoke(retireFunctionArn(h.sb), { source: 'aws.events' })) as RetireOutcome[];
}

/**
 * Signs one call with the key stored in `stage`, as a workload nobody knows about would, so that IAM records
 * its use (`GetAccessKeyLastUsed`, late on the `aws` profile).
 */
export async function useKey(h: Harness, registry: RegistryConfig, stage: string): Promise<void> {
  const version = secretOf(h.sb, registry).versions.find((v) => v.stages.includes(stage));
  const { accessKeyId, secretAccessKey } = JSON.parse(version?.secretString ?? '{}') as {
    accessKeyId: string;
    secretAccessKey: string;
  };
  const sts = new STSClient({
    region: h.sb.region,
    endpoint: h.sb.awsEndpoint,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  await sts.send(new GetCallerIdentityCommand({}));
  sts.destroy();
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
