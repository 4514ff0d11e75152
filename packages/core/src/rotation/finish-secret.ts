import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { DETAIL_TYPES } from '../events/names.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import { eventTarget, ROTATION_METRICS } from './deps.ts';
import { publishRotationEvent } from './details.ts';
import { recordKeyIds } from './key-ids.ts';
import { pullKeyOf } from './keys.ts';
import { AWSCURRENT, describeSecret, readValue } from './state.ts';
import { readPending, type StepContext } from './step-context.ts';

/**
 * Moves AWSCURRENT to the new version (Secrets Manager puts AWSPREVIOUS on the old one) and announces the
 * rotation. The old key stays Active: its grace period starts now (packages/core/src/rotation/README.md,
 * "Grace period and retirement").
 */
export async function finishSecret(ctx: StepContext): Promise<void> {
  const { deps, log, registry, secretId, state, token } = ctx;
  const pending = await readPending(ctx, { required: true });
  const current = await readValue(deps.secrets, secretId, { stage: AWSCURRENT }, 'finishSecret');
  // Both versions' key ids are on the secret before the stages move (createSecret recorded them; a rotation
  // begun before key ids were recorded gets them here): the retirement and the audit read no value.
  await recordKeyIds(
    deps.secrets,
    {
      secretId,
      tags: state.tags,
      versions: state.versions,
      record: [
        { versionId: token, accessKeyId: pending.accessKeyId },
        ...(current ? [{ versionId: current.versionId, accessKeyId: pullKeyOf(current)?.accessKeyId }] : []),
      ],
    },
    log,
  );
  try {
    await deps.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: token,
        RemoveFromVersionId: state.currentVersionId,
      }),
    );
  } catch (err) {
    // The answer may be lost after the label moved (a timeout, a dropped connection): look before failing.
    const after = await describeSecret(deps.secrets, secretId);
    if (after.currentVersionId !== token) throw err;
    log.warn('AWSCURRENT moved although UpdateSecretVersionStage failed', { error: describeError(err) });
  }
  const rotatedAt = deps.now();
  const previousKey = pullKeyOf(current);
  log.info('rotation finished: AWSCURRENT moved to the new key', {
    accessKeyId: maskAccessKeyId(pending.accessKeyId),
    previousAccessKeyId: previousKey ? maskAccessKeyId(previousKey.accessKeyId) : null,
  });
  deps.metric({ name: ROTATION_METRICS.rotated, value: 1, dimensions: { Registry: registry.name } });
  // Best effort, after the fact: a lookup failure only leaves the id out of the event.
  const credential = await deps.nvcf
    .findRegistryCredential(registry.hostname, registry.credentialName)
    .catch(() => undefined);
  await publishRotationEvent(
    eventTarget(deps),
    DETAIL_TYPES.credentialRotated,
    {
      schemaVersion: 1,
      registry: registry.name,
      secretId,
      token,
      userName: registry.userName,
      registryHostname: registry.hostname,
      credentialName: registry.credentialName,
      nvcfCredentialId: credential?.registryCredentialId ?? null,
      accessKeyId: maskAccessKeyId(pending.accessKeyId),
      previousAccessKeyId: previousKey ? maskAccessKeyId(previousKey.accessKeyId) : null,
      bootstrap: previousKey === undefined,
      keyCreatedAt: new Date(pending.createdAt).toISOString(),
      graceEndsAt: previousKey
        ? new Date(rotatedAt.getTime() + registry.rotation.graceHours * 3_600_000).toISOString()
        : null,
      rotatedAt: rotatedAt.toISOString(),
    },
    log,
    [secretId],
  );
}
