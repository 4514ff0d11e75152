import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { RegistryConfig } from '../config/index.ts';
import { RotationError, RotationRefusedError } from '../errors.ts';
import { DETAIL_TYPES } from '../events/names.ts';
import type { Logger } from '../log.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import { createSecret } from './create-secret.ts';
import { eventTarget, type ResolvedDeps, ROTATION_METRICS, type RotationDeps, resolveDeps } from './deps.ts';
import { eventReason, publishRotationEvent } from './details.ts';
import { finishSecret } from './finish-secret.ts';
import type { RotationInvocation, RotationStep } from './invocation.ts';
import { pullKeyOf } from './keys.ts';
import { setSecret } from './set-secret.ts';
import {
  AWSCURRENT,
  type CurrentKeyCheck,
  describeSecret,
  formatLastFailure,
  ROTATION_TAGS,
  readValue,
  registryForSecret,
  tagSafe,
} from './state.ts';
import { guard, type StepContext } from './step-context.ts';
import { testSecret } from './test-secret.ts';

/**
 * The rotation function's verb: the guard, the step, and — when the step fails — the failure path of
 * invariant 4: check that the AWSCURRENT key still works (STS with that key), say so in the
 * `NVCF Registry Credential Rotation Failed` event, leave a failure tag (with what the check found) for
 * `nvcf-ecr rotate`/`status`, then
 * rethrow so that Secrets Manager records the failure and retries the rotation. Nothing in the failure path
 * may hide the original error: each of its calls is best effort.
 */

const STEPS: Readonly<Record<RotationStep, (ctx: StepContext) => Promise<void>>> = {
  createSecret,
  setSecret,
  testSecret,
  finishSecret,
};

export async function rotateCredential(event: RotationInvocation, rawDeps: RotationDeps): Promise<void> {
  const deps = resolveDeps(rawDeps);
  const log = deps.logger.child({
    step: event.Step,
    secretId: event.SecretId,
    // Not 'token': loggers redact members of that name (ClientRequestToken is a version id, not a secret).
    clientRequestToken: event.ClientRequestToken,
  });
  const started = deps.monotonic();
  let registry: RegistryConfig | undefined;
  try {
    const ctx = await guard(event, deps, log);
    if (!ctx) return;
    registry = ctx.registry;
    log.info('rotation step started', { registry: ctx.registry.name });
    await STEPS[event.Step](ctx);
    deps.metric({
      name: ROTATION_METRICS.stepDuration,
      value: Math.round(deps.monotonic() - started),
      unit: 'Milliseconds',
      dimensions: { Registry: ctx.registry.name, Step: event.Step },
    });
    log.info('rotation step succeeded', { durationMs: Math.round(deps.monotonic() - started) });
  } catch (err) {
    const error =
      err instanceof RotationError
        ? err
        : new RotationError(event.Step, event.SecretId, `${event.Step} failed: ${describeError(err)}`, {
            cause: err,
          });
    await reportFailure(event, deps, log, error, registry);
    throw error;
  }
}

/** The failure path: never throws. */
async function reportFailure(
  event: RotationInvocation,
  deps: ResolvedDeps,
  log: Logger,
  error: RotationError,
  known: RegistryConfig | undefined,
): Promise<void> {
  const refused = error instanceof RotationRefusedError;
  const failedAt = deps.now();
  const registry = known ?? (await findRegistry(event, deps));
  const probe = await probeCurrentKey(event, deps, registry);
  log.error(refused ? 'rotation step refused' : 'rotation step failed', {
    errorName: error.name,
    reason: error.message,
    currentAccessKeyId: probe.accessKeyId,
    currentKeyWorks: probe.works,
    currentKeyProblem: probe.problem,
  });
  deps.metric({
    name: ROTATION_METRICS.stepFailed,
    value: 1,
    dimensions: { Registry: registry?.name ?? 'unknown', Step: event.Step },
  });
  try {
    await deps.secrets.send(
      new TagResourceCommand({
        SecretId: event.SecretId,
        Tags: [
          {
            Key: ROTATION_TAGS.lastFailure,
            Value: formatLastFailure(event.ClientRequestToken, event.Step, refused, failedAt, checkOf(probe)),
          },
          { Key: ROTATION_TAGS.lastFailureReason, Value: tagSafe(eventReason(error.message)) },
        ],
      }),
    );
  } catch (tagError) {
    log.warn('could not record the failure on the secret', { error: describeError(tagError) });
  }
  await publishRotationEvent(
    eventTarget(deps),
    DETAIL_TYPES.rotationFailed,
    {
      schemaVersion: 1,
      registry: registry?.name ?? null,
      secretId: event.SecretId,
      token: event.ClientRequestToken,
      step: event.Step,
      errorName: error.name,
      reason: eventReason(error.message),
      refused,
      currentAccessKeyId: probe.accessKeyId,
      currentKeyWorks: probe.works,
      currentKeyProblem: probe.problem,
      failedAt: failedAt.toISOString(),
    },
    log,
    [event.SecretId],
  );
}

async function findRegistry(
  event: RotationInvocation,
  deps: ResolvedDeps,
): Promise<RegistryConfig | undefined> {
  try {
    return registryForSecret(deps.config, await describeSecret(deps.secrets, event.SecretId));
  } catch {
    return undefined;
  }
}

interface Probe {
  accessKeyId: string | null;
  works: boolean;
  problem: string | null;
}

/** The probe as the failure tag records it; undefined when the current value could not even be read. */
function checkOf(probe: Probe): CurrentKeyCheck | undefined {
  if (probe.works) return 'works';
  if (probe.accessKeyId !== null) return 'broken';
  return probe.problem === NO_KEY_YET ? 'none' : undefined;
}

const NO_KEY_YET = 'no key yet: this is the first rotation of the registry';

/**
 * Calls STS with the AWSCURRENT key: one call, no waiting (the key is old, it either works or it does not).
 * STS answers any valid key without a policy, so this proves the key is known and Active; the pull policy
 * itself does not change during a rotation.
 */
async function probeCurrentKey(
  event: RotationInvocation,
  deps: ResolvedDeps,
  registry: RegistryConfig | undefined,
): Promise<Probe> {
  let current: Awaited<ReturnType<typeof readValue>>;
  try {
    current = await readValue(deps.secrets, event.SecretId, { stage: AWSCURRENT }, event.Step);
  } catch (err) {
    return {
      accessKeyId: null,
      works: false,
      problem: `the AWSCURRENT value could not be read: ${eventReason(describeError(err), 300)}`,
    };
  }
  const key = pullKeyOf(current);
  if (!key) {
    return {
      accessKeyId: null,
      works: false,
      problem: NO_KEY_YET,
    };
  }
  const accessKeyId = maskAccessKeyId(key.accessKeyId);
  const region = registry?.region ?? regionOfArn(event.SecretId) ?? 'us-east-1';
  let clients: ReturnType<ResolvedDeps['clientsForKey']> | undefined;
  try {
    clients = deps.clientsForKey(key, region);
    await clients.sts.send(new GetCallerIdentityCommand({}));
    return { accessKeyId, works: true, problem: null };
  } catch (err) {
    return { accessKeyId, works: false, problem: eventReason(describeError(err), 300) };
  } finally {
    clients?.destroy();
  }
}

function regionOfArn(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[0] === 'arn' && parts[3] ? parts[3] : undefined;
}
