import type { RegistryConfig } from '../config/index.ts';
import { RotationError, type RotationStepName } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { NvcfRegistryCredentialsPort } from '../ports/nvcf.ts';
import type { ResolvedDeps } from './deps.ts';
import type { RotationInvocation } from './invocation.ts';
import { assertValueMatchesRegistry, type PullKeySecret } from './secret-value.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  describeSecret,
  type NvcfKeyRecord,
  parseNvcfKey,
  ROTATION_TAGS,
  readValue,
  requireRegistry,
  type SecretState,
  type StoredValue,
} from './state.ts';

/**
 * The guard and the four steps of the rotation protocol (packages/core/src/rotation/README.md, "The
 * protocol"; https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html). Every
 * step is idempotent on the ClientRequestToken: Secrets Manager retries the whole rotation after any failure
 * (awsdocs/aws-secrets-manager-docs:doc_source/rotating-secrets.md), so each step may run again after a crash
 * at any call and must converge.
 */

/**
 * IAM's access-key quota per user
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 */
export const ACCESS_KEYS_PER_USER = 2;

export interface StepContext {
  readonly event: RotationInvocation;
  readonly step: RotationStepName;
  readonly deps: ResolvedDeps;
  readonly log: Logger;
  readonly state: SecretState;
  readonly registry: RegistryConfig;
  /** The secret's ARN (Secrets Manager passes the ARN; DescribeSecret confirms it). */
  readonly secretId: string;
  readonly token: string;
  /**
   * The rotation's record of the key NVCF was last given ({@link ROTATION_TAGS.nvcfKey}), as read at the start
   * of the step and kept up to date as the step writes it.
   */
  readonly nvcfKey: { value: NvcfKeyRecord | undefined };
}

/**
 * The guard every step starts with (the AWS template's,
 * aws-samples/aws-secrets-manager-rotation-lambdas:SecretsManagerRotationTemplate/lambda_function.py):
 * rotation enabled; the token names a version; a version already AWSCURRENT means this step (and the
 * rotation) is done — return; a version without AWSPENDING is an error. Returns undefined when there is
 * nothing to do.
 */
export async function guard(
  event: RotationInvocation,
  deps: ResolvedDeps,
  log: Logger,
): Promise<StepContext | undefined> {
  const step = event.Step;
  const token = event.ClientRequestToken;
  const state = await describeSecret(deps.secrets, event.SecretId);
  if (!state.rotationEnabled) {
    throw new RotationError(
      step,
      state.arn,
      `Rotation is not enabled for secret ${state.name}: the stacks turn it on (CfnRotationSchedule); for a manual ` +
        `run use 'nvcf-ecr rotate <registry>'.`,
    );
  }
  const stages = state.versions[token];
  if (!stages) {
    throw new RotationError(
      step,
      state.arn,
      `Secret ${state.name} has no version ${token}: Secrets Manager creates it, labelled AWSPENDING, before ` +
        'invoking the rotation. Start rotations with RotateSecret (or nvcf-ecr rotate), not by invoking the function.',
    );
  }
  if (stages.includes(AWSCURRENT)) {
    log.info('version is already AWSCURRENT: nothing to do');
    return undefined;
  }
  if (!stages.includes(AWSPENDING)) {
    throw new RotationError(
      step,
      state.arn,
      `Version ${token} of secret ${state.name} is neither AWSCURRENT nor AWSPENDING (labels: ${
        stages.join(', ') || 'none'
      }): it is not the version being rotated. See packages/core/src/rotation/README.md, "Recovering".`,
    );
  }
  const registry = requireRegistry(deps.config, state, step);
  const nvcfKey = { value: parseNvcfKey(state.tags.get(ROTATION_TAGS.nvcfKey)) };
  const bounded = { ...deps, nvcf: nvcfWithinDeadline(deps.nvcf, deps.timeLeft, step, state.arn) };
  return { event, step, deps: bounded, log, state, registry, secretId: state.arn, token, nvcfKey };
}

/** The AWSPENDING value of this token, checked to be a pull key of this registry. */
export async function readPending(ctx: StepContext, options: { required: true }): Promise<PullKeySecret>;
export async function readPending(
  ctx: StepContext,
  options: { required: false },
): Promise<PullKeySecret | undefined>;
export async function readPending(
  ctx: StepContext,
  options: { required: boolean },
): Promise<PullKeySecret | undefined> {
  const { deps, secretId, step, token } = ctx;
  const stored = await readValue(deps.secrets, secretId, { versionId: token, stage: AWSPENDING }, step);
  return checkPending(ctx, stored, options);
}

/** {@link readPending} for a value already read. */
export function checkPending(
  ctx: StepContext,
  stored: StoredValue | undefined,
  options: { required: true },
): PullKeySecret;
export function checkPending(
  ctx: StepContext,
  stored: StoredValue | undefined,
  options: { required: boolean },
): PullKeySecret | undefined;
export function checkPending(
  ctx: StepContext,
  stored: StoredValue | undefined,
  options: { required: boolean },
): PullKeySecret | undefined {
  const { registry, secretId, step, token } = ctx;
  if (!stored) {
    if (!options.required) return undefined;
    throw new RotationError(
      step,
      secretId,
      `Version ${token} has no value: createSecret did not complete. Secrets Manager retries the rotation from createSecret.`,
    );
  }
  const source = { step, secretId, version: `version ${token}` };
  assertValueMatchesRegistry(stored.value, registry, source);
  if (stored.value.kind !== 'key') {
    throw new RotationError(
      step,
      secretId,
      `The pending version ${token} holds no key: it was not written by createSecret.`,
    );
  }
  return stored.value;
}

/** A wait's budget, shortened to what the invocation has left before the failure path's reserve. */
export function budget(ctx: { readonly deps: ResolvedDeps }, ms: number): number {
  return Math.max(0, Math.min(ms, ctx.deps.timeLeft()));
}

/**
 * The NVCF port with every call bounded by the invocation's time left: a call still unanswered then is
 * abandoned (its own request timeout ends it later) and the step fails with a RotationError, so that the failure
 * path runs before Lambda stops the function. A stalled NVCF would otherwise take the report with it.
 */
function nvcfWithinDeadline(
  nvcf: NvcfRegistryCredentialsPort,
  timeLeft: () => number,
  step: RotationStepName,
  secretId: string,
): NvcfRegistryCredentialsPort {
  const within = <T>(call: string, run: () => Promise<T>): Promise<T> => {
    const left = timeLeft();
    const stop = () =>
      new RotationError(
        step,
        secretId,
        `NVCF did not answer ${call} within the time left of this invocation; the step stops here so that the ` +
          'failure is reported before the function times out. Secrets Manager retries the rotation.',
      );
    if (left <= 0) return Promise.reject(stop());
    if (!Number.isFinite(left)) return run();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(stop()), left);
    });
    return Promise.race([run(), deadline]).finally(() => clearTimeout(timer));
  };
  return {
    findRegistryCredential: (hostname, name) =>
      within('a credential lookup', () => nvcf.findRegistryCredential(hostname, name)),
    createRegistryCredential: (request) =>
      within('a credential creation', () => nvcf.createRegistryCredential(request)),
    patchRegistryCredential: (id, request) =>
      within('a credential update', () => nvcf.patchRegistryCredential(id, request)),
    ...(nvcf.findRegistryCredentialsForHost
      ? {
          findRegistryCredentialsForHost: (hostname: string) =>
            within(
              'a credential lookup',
              async () => (await nvcf.findRegistryCredentialsForHost?.(hostname)) ?? [],
            ),
        }
      : {}),
  };
}
