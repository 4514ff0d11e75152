import { BatchGetImageCommand } from '@aws-sdk/client-ecr';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr-public';
import { NoSuchEntityException } from '@aws-sdk/client-iam';
import { RotationError } from '../errors.ts';
import { ACCEPTED_MANIFEST_MEDIA_TYPES } from '../image/media-types.ts';
import { classifyNvcfFailure, type NvcfRegistryCredentialView } from '../ports/nvcf.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import type { KeyClients } from './deps.ts';
import { pullKeyOf } from './keys.ts';
import { nvcfNotYet } from './nvcf-sync.ts';
import { proveKey, retryOrThrow } from './prove-key.ts';
import type { PullKeySecret } from './secret-value.ts';
import { AWSCURRENT, AWSPENDING, listAccessKeys, readValue, type StoredValue } from './state.ts';
import { budget, checkPending, type StepContext } from './step-context.ts';
import { done, notYet, waitUntil } from './wait.ts';

/**
 * Proves the pending key with itself — STS identity, registry token, and a pull of the canary image when the
 * registry names one — and proves NVCF took it: its credential's `lastUpdatedAt` is at or after the key's
 * `createdAt`. A version's value cannot be changed once written, so the key's creation time is the reference:
 * only a PATCH made after the key existed (this rotation's setSecret) can be that late. The two clocks differ
 * (NVCF's and the rotation's); a skew larger than the seconds between createSecret and setSecret makes this
 * check wait and, at worst, fail — and the retried rotation PATCHes again later, which then passes.
 */
export async function testSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry, secretId, step, token } = ctx;
  const stored = await readValue(deps.secrets, secretId, { versionId: token, stage: AWSPENDING }, step);
  if (await isConfigurationTest(ctx, stored)) return;
  const pending = checkPending(ctx, stored, { required: true });
  const clients = deps.clientsForKey(pending, registry.region);
  try {
    await proveKey(ctx, pending, clients, deps.timing.testBudgetMs);
    if (registry.rotation.canaryImage) await proveCanary(ctx, registry.rotation.canaryImage, clients);
  } finally {
    clients.destroy();
  }
  const credential = await proveNvcfUpdated(ctx, pending);
  log.info('the new key is proven', {
    accessKeyId: maskAccessKeyId(pending.accessKeyId),
    canaryImage: registry.rotation.canaryImage,
    nvcfCredentialId: credential.registryCredentialId,
    lastUpdatedAt: credential.lastUpdatedAt,
  });
}

/**
 * Secrets Manager's test of a rotation configuration: RotateSecret with RotateImmediately=false — what the
 * stacks' rotation schedules do on every deploy that creates or changes them — "tests the rotation
 * configuration by running the testSecret step of the Lambda rotation function. The test creates an
 * AWSPENDING version of the secret and then removes it" (RotateSecret API reference,
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html). No createSecret ran,
 * so that version holds no new key: no value, or (as emulators fill it) a copy of AWSCURRENT. In a rotation,
 * testSecret runs only after createSecret stored a new key under this token, so either shape means a test.
 *
 * The test proves what the configuration decides and touches nothing: the function runs, may read the
 * secret (through its key), and finds the pull user (iam:ListAccessKeys). It needs neither a key nor the
 * NGC API key: before the first rotation the secret holds only the bootstrap value and the NGC key secret may
 * still be empty, and a deploy must not fail for either.
 */
async function isConfigurationTest(ctx: StepContext, pending: StoredValue | undefined): Promise<boolean> {
  const { deps, log, registry, secretId, step } = ctx;
  const pendingKey = pullKeyOf(pending);
  if (pendingKey !== undefined) {
    const current = await readValue(deps.secrets, secretId, { stage: AWSCURRENT }, step);
    if (pullKeyOf(current)?.accessKeyId !== pendingKey.accessKeyId) return false;
  }
  try {
    await listAccessKeys(deps.iam, registry.userName);
  } catch (err) {
    if (err instanceof NoSuchEntityException) {
      throw new RotationError(
        step,
        secretId,
        `The pull user ${registry.userName} does not exist: deploy the stacks with the configuration that names it.`,
        { cause: err },
      );
    }
    throw err;
  }
  log.info('rotation configuration tested: Secrets Manager ran testSecret alone, nothing was rotated', {
    pendingHasValue: pending !== undefined,
  });
  return true;
}

/** Pulls the canary's manifest (private: `BatchGetImage`) or looks it up (public: `DescribeImages`). */
async function proveCanary(ctx: StepContext, canary: string, clients: KeyClients): Promise<void> {
  const { deps, registry, secretId, step } = ctx;
  const [repositoryName = '', imageTag = ''] = canary.split(':');
  await waitUntil(
    async () => {
      try {
        if (registry.kind === 'public') {
          await clients.ecrPublic.send(
            new DescribeImagesCommand({
              registryId: registry.accountId,
              repositoryName,
              imageIds: [{ imageTag }],
            }),
          );
          return done(undefined);
        }
        const out = await clients.ecr.send(
          new BatchGetImageCommand({
            repositoryName,
            imageIds: [{ imageTag }],
            acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
          }),
        );
        if ((out.images ?? []).length > 0) return done(undefined);
        const failure = out.failures?.[0];
        throw new RotationError(
          step,
          secretId,
          `The canary image ${registry.hostname}/${canary} could not be pulled with the new key: ` +
            `${failure?.failureCode ?? 'no image'}${failure?.failureReason ? ` (${failure.failureReason})` : ''}. ` +
            'Push it, or change rotation.canaryImage to an image that exists.',
        );
      } catch (err) {
        if (err instanceof RotationError) throw err;
        if (/ImageNotFound|RepositoryNotFound/.test((err as Error).name ?? '')) {
          throw new RotationError(
            step,
            secretId,
            `The canary image ${registry.hostname}/${canary} does not exist: ${describeError(err)}. Push it, or ` +
              'change rotation.canaryImage to an image that exists.',
            { cause: err },
          );
        }
        return retryOrThrow(ctx, err, `pulling the canary image ${canary}`);
      }
    },
    {
      budgetMs: budget(ctx, deps.timing.testBudgetMs),
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onTimeout: (reason, attempts) =>
        new RotationError(
          step,
          secretId,
          `The canary image ${canary} could not be pulled after ${attempts} attempts: ${reason}`,
        ),
    },
  );
}

async function proveNvcfUpdated(
  ctx: StepContext,
  pending: PullKeySecret,
): Promise<NvcfRegistryCredentialView> {
  const { deps, registry, secretId, step } = ctx;
  const createdAt = Date.parse(pending.createdAt);
  return waitUntil(
    async () => {
      let credential: NvcfRegistryCredentialView | undefined;
      try {
        credential = await deps.nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
      } catch (err) {
        if (err instanceof RotationError) throw err;
        if (classifyNvcfFailure(err) === 'fatal')
          throw new RotationError(step, secretId, `NVCF could not be read: ${describeError(err)}`, {
            cause: err,
          });
        return nvcfNotYet(`NVCF: ${describeError(err)}`, err);
      }
      if (!credential)
        return notYet(`NVCF lists no credential '${registry.credentialName}' for ${registry.hostname}`);
      const updatedAt = Date.parse(credential.lastUpdatedAt);
      // An unreadable time proves nothing: "not yet", never a pass (a NaN comparison is false either way).
      if (Number.isNaN(updatedAt))
        return notYet(
          `NVCF credential ${credential.registryCredentialId} reports lastUpdatedAt '${credential.lastUpdatedAt}', ` +
            'which is not a time: it cannot show that NVCF took the new key',
        );
      if (updatedAt < createdAt)
        return notYet(
          `NVCF credential ${credential.registryCredentialId} was last updated at ${credential.lastUpdatedAt}, ` +
            `before the new key was created (${pending.createdAt})`,
        );
      return done(credential);
    },
    {
      budgetMs: budget(ctx, deps.timing.nvcfVisibleBudgetMs),
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onTimeout: (reason) =>
        new RotationError(
          step,
          secretId,
          `NVCF does not show this rotation's update: ${reason}. setSecret's update did not land; Secrets Manager ` +
            'retries the rotation, whose setSecret updates NVCF again.',
        ),
    },
  );
}
