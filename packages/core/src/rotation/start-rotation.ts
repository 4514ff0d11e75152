import { randomUUID } from 'node:crypto';
import {
  RotateSecretCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RegistryConfig } from '../config/index.ts';
import type { RefusalCode } from './keys.ts';
import { AWSPENDING, describeSecret, ROTATION_TAGS, type SecretState } from './state.ts';
import { type RegistryRotationStatus, rotationStatus, type StatusDeps } from './status.ts';

/**
 * Starting a rotation — the one way the CLI (`nvcf-ecr rotate`), the demo and the sandbox's provisioning start
 * one: through Secrets Manager's `RotateSecret`, so that the deployed rotation function does the work exactly
 * as on schedule.
 *
 * - Without `force`, it first predicts what createSecret would refuse (core `rotationStatus`) and starts
 *   nothing then — unless NVCF may hold another key than the current one: only a rotation points NVCF back,
 *   and it does so before refusing anything, so it is started anyway.
 * - `force` travels through the secret: the tag `nvcf-ecr:force-rotation = <token>` is set before
 *   `RotateSecret` with the same token (createSecret honours it for that token only) and removed when
 *   `RotateSecret` fails.
 * - A rotation stuck in AWSPENDING blocks every `RotateSecret`: Secrets Manager answers
 *   `InvalidRequestException` ("A previous rotation isn't complete") while a version is AWSPENDING without
 *   AWSCURRENT, whatever the token
 *   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html). With `unstick`
 *   the stuck version loses its AWSPENDING label (the documented way out) and a new rotation starts; its key
 *   becomes a `superseded` key, which the next createSecret handles (NVCF pointed back first). Without it, the
 *   stuck rotation is reattempted with its own token (what Secrets Manager's own schedule does).
 */

export interface StartRotationOptions {
  readonly force?: boolean | undefined;
  /** The new rotation's token (default a random UUID). */
  readonly token?: string | undefined;
  /** Predict createSecret's refusals first and start nothing when it would refuse (default true; never when forced). */
  readonly preflight?: boolean | undefined;
  /** Abandon a stuck rotation and start a new one (default false: reattempt it with its own token). */
  readonly unstick?: boolean | undefined;
  /** Attach (or change) the rotation configuration with this start, as the stacks do on deployment. */
  readonly configure?:
    | { readonly lambdaArn: string; readonly scheduleExpression: string; readonly duration: string }
    | undefined;
}

export type StartRotationOutcome =
  | {
      readonly kind: 'started';
      readonly token: string;
      /** A stuck rotation was reattempted with its own token. */
      readonly resumed: boolean;
      /** The token of a stuck rotation that was abandoned (its AWSPENDING label removed) to start this one. */
      readonly abandoned: string | undefined;
      readonly forced: boolean;
      /** Started although the prediction found blockers: NVCF may hold another key than the current one. */
      readonly despite: readonly RefusalCode[];
      readonly secretArn: string;
    }
  | {
      readonly kind: 'refused';
      readonly blockers: readonly { readonly code: RefusalCode; readonly reason: string }[];
    };

/** Whether a rotation the prediction refuses is started anyway, because only it can point NVCF back. */
export function nvcfMayHoldAnotherKey(status: RegistryRotationStatus): boolean {
  return (
    status.nvcfHoldsCurrentKeySince === null &&
    status.keys.some((k) => k.role === 'current' && k.status === 'Active') &&
    !(status.nvcf !== null && 'missing' in status.nvcf)
  );
}

/** The secret's client; IAM, NVCF and the clock only for the prediction (`preflight`). */
export type StartRotationDeps = Pick<StatusDeps, 'secrets'> & Partial<Omit<StatusDeps, 'secrets'>>;

export async function startRotation(
  registry: RegistryConfig,
  deps: StartRotationDeps,
  options: StartRotationOptions = {},
): Promise<StartRotationOutcome> {
  const { secrets } = deps;
  const force = options.force === true;
  const state = await describeSecret(secrets, registry.secretName);
  const stuck = stuckToken(state);
  let despite: RefusalCode[] = [];
  if (options.preflight !== false && !force && !stuck) {
    const { iam, now } = deps;
    if (!iam || !now)
      throw new TypeError('startRotation: the prediction (preflight) needs deps.iam and deps.now');
    const status = await rotationStatus(registry, { secrets, iam, nvcf: deps.nvcf, now });
    if (status.blockers.length > 0 && !nvcfMayHoldAnotherKey(status))
      return { kind: 'refused', blockers: status.blockers };
    despite = status.blockers.map((b) => b.code);
  }
  const base = { forced: force, despite, secretArn: state.arn };
  if (stuck && !options.unstick) {
    await rotateSecret(secrets, state.arn, stuck, force, options);
    return { kind: 'started', token: stuck, resumed: true, abandoned: undefined, ...base };
  }
  if (stuck) {
    // Abandon the stuck version (README.md, "Recovering"): Secrets Manager starts no rotation while it is pending.
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: state.arn,
        VersionStage: AWSPENDING,
        RemoveFromVersionId: stuck,
      }),
    );
  }
  const token = options.token ?? randomUUID();
  await rotateSecret(secrets, state.arn, token, force, options);
  return { kind: 'started', token, resumed: false, abandoned: stuck, ...base };
}

/** The token of a version labelled AWSPENDING but not AWSCURRENT: a rotation under way or stuck. */
export function stuckToken(state: SecretState): string | undefined {
  return state.pendingVersionId !== state.currentVersionId ? state.pendingVersionId : undefined;
}

/** Tag force → RotateSecret → untag when RotateSecret failed (a forgotten tag is spent by nothing else). */
async function rotateSecret(
  secrets: SecretsManagerClient,
  secretArn: string,
  token: string,
  force: boolean,
  options: StartRotationOptions,
): Promise<void> {
  if (force) {
    await secrets.send(
      new TagResourceCommand({ SecretId: secretArn, Tags: [{ Key: ROTATION_TAGS.force, Value: token }] }),
    );
  }
  const configure = options.configure;
  try {
    await secrets.send(
      new RotateSecretCommand({
        SecretId: secretArn,
        ClientRequestToken: token,
        RotateImmediately: true,
        ...(configure
          ? {
              RotationLambdaARN: configure.lambdaArn,
              RotationRules: {
                ScheduleExpression: configure.scheduleExpression,
                Duration: configure.duration,
              },
            }
          : {}),
      }),
    );
  } catch (err) {
    if (force) {
      await secrets
        .send(new UntagResourceCommand({ SecretId: secretArn, TagKeys: [ROTATION_TAGS.force] }))
        .catch(() => undefined);
    }
    throw err;
  }
}
