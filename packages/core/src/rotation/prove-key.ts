import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetAuthorizationTokenCommand as GetPublicTokenCommand } from '@aws-sdk/client-ecr-public';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { RotationError } from '../errors.ts';
import { maskAccessKeyId } from '../redact.ts';
import { awsErrorKind, describeError, userNameOfArn } from './aws-errors.ts';
import type { KeyClients } from './deps.ts';
import type { PullKeySecret } from './secret-value.ts';
import type { StepContext } from './step-context.ts';
import { budget } from './step-context.ts';
import { done, notYet, waitUntil } from './wait.ts';

/**
 * Polls until `key` authenticates as the pull user (STS `GetCallerIdentity`) and gets a registry token
 * (ECR `GetAuthorizationToken` in the registry's region, or ECR Public's in us-east-1,
 * https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html).
 */
export async function proveKey(
  ctx: StepContext,
  key: PullKeySecret,
  clients: KeyClients,
  budgetMs: number,
): Promise<void> {
  const { deps, registry, secretId, step } = ctx;
  await waitUntil(
    async () => {
      let arn: string | undefined;
      try {
        arn = (await clients.sts.send(new GetCallerIdentityCommand({}))).Arn;
      } catch (err) {
        return retryOrThrow(ctx, err, 'STS GetCallerIdentity');
      }
      if (userNameOfArn(arn) !== registry.userName) {
        throw new RotationError(
          step,
          secretId,
          `Key ${maskAccessKeyId(key.accessKeyId)} authenticates as ${arn ?? 'nobody'}, not as the pull user ` +
            `${registry.userName}: the secret holds another user's key. See packages/core/src/rotation/README.md, "Recovering".`,
        );
      }
      try {
        if (registry.kind === 'public') await clients.ecrPublic.send(new GetPublicTokenCommand({}));
        else await clients.ecr.send(new GetAuthorizationTokenCommand({}));
      } catch (err) {
        return retryOrThrow(
          ctx,
          err,
          registry.kind === 'public' ? 'ECR Public GetAuthorizationToken' : 'ECR GetAuthorizationToken',
        );
      }
      return done(undefined);
    },
    {
      budgetMs: budget(ctx, budgetMs),
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onRetry: (reason, attempt, delayMs) =>
        ctx.log.debug('key not usable yet', { reason, attempt, delayMs }),
      onTimeout: (reason, attempts, elapsed) =>
        new RotationError(
          step,
          secretId,
          `Key ${maskAccessKeyId(key.accessKeyId)} did not work within ${Math.round(elapsed / 1000)} s (${attempts} ` +
            `attempts; last: ${reason}). IAM usually propagates a new key within seconds; Secrets Manager retries the rotation.`,
        ),
    },
  );
}

/** A failed call with the new key: wait when waiting can help, otherwise stop with what to fix. */
export function retryOrThrow(ctx: StepContext, err: unknown, call: string) {
  const kind = awsErrorKind(err);
  if (kind === 'not-propagated')
    return notYet(`${call}: the key is not recognised yet (${describeError(err)})`);
  if (kind === 'transient') return notYet(`${call}: ${describeError(err)}`);
  const hint =
    kind === 'denied'
      ? ` The pull user ${ctx.registry.userName} must have NVCF's minimal pull policy (nvcf-ecr-pull); compare it with 'nvcf-ecr audit'.`
      : '';
  throw new RotationError(
    ctx.step,
    ctx.secretId,
    `${call} with the new key failed: ${describeError(err)}.${hint}`,
    {
      cause: err,
    },
  );
}
