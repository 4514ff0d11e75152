import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { encodeRegistrySecret } from '../credential/codec.ts';
import { RotationError, RotationRefusedError } from '../errors.ts';
import { classifyNvcfFailure, type NvcfRegistryCredentialView, nvcfRetryAfterMs } from '../ports/nvcf.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import type { NvcfHolding } from './keys.ts';
import type { PullKeySecret } from './secret-value.ts';
import { formatNvcfKey, type NvcfKeyRecord, ROTATION_TAGS } from './state.ts';
import type { StepContext } from './step-context.ts';
import { budget } from './step-context.ts';
import { done, notYet, waitUntil } from './wait.ts';

/**
 * Keeping NVCF's registry credential in step with the secret — shared by createSecret (pointing NVCF back at the
 * AWSCURRENT key before deleting anything) and setSecret (giving NVCF the new key) — and the rotation's record of
 * which version's key NVCF was last given (the `nvcf-ecr:nvcf-key` tag), since NVCF never says which key it holds.
 */

/**
 * Tags NVCF shows on credentials this project created (NVCF's tag alphabet,
 * `AddRegistryCredentialRequest.java`).
 */
export const NVCF_CREDENTIAL_TAGS = ['managed-by=nvcf-ecr-autopilot'];

/** What createSecret knows of NVCF's credential, and whether this step already pointed it at the current key. */
export interface NvcfState {
  readonly holding: NvcfHolding;
  readonly reconciled: boolean;
}

/** NVCF's holding as the rotation's record says, before this step touched NVCF. */
export function knownNvcfHolding(ctx: StepContext): NvcfState {
  const record = ctx.nvcfKey.value;
  const since = record?.versionId === ctx.state.currentVersionId ? record?.since : undefined;
  return { holding: since ? { kind: 'current', since } : { kind: 'unknown' }, reconciled: false };
}

/** Points NVCF's credential at the AWSCURRENT key (the same key again when it already holds it). */
export async function reconcileNvcf(
  ctx: StepContext,
  currentKey: PullKeySecret,
  why: string,
): Promise<NvcfState> {
  const versionId = ctx.state.currentVersionId ?? '';
  const { credential, since } = await putKeyInNvcf(ctx, currentKey, 'reconcile', versionId);
  if (!credential || !since) return { holding: { kind: 'absent' }, reconciled: true };
  ctx.log.info('NVCF credential pointed at the AWSCURRENT key', {
    why,
    nvcfCredentialId: credential.registryCredentialId,
    accessKeyId: maskAccessKeyId(currentKey.accessKeyId),
    holdsItSince: since.toISOString(),
  });
  return { holding: { kind: 'current', since }, reconciled: true };
}

/**
 * Records on the secret which version's key NVCF was given (`ROTATION_TAGS.nvcfKey`). Before a PATCH/POST with
 * another version's key the write must succeed (the record must never name a key NVCF is not about to get);
 * the confirmation after NVCF answered is best effort — a lost one only makes the next deletion wait for
 * NVCF's caches again.
 */
export async function recordNvcfKey(
  ctx: StepContext,
  record: NvcfKeyRecord,
  options: { bestEffort: boolean },
): Promise<void> {
  ctx.nvcfKey.value = record;
  try {
    await ctx.deps.secrets.send(
      new TagResourceCommand({
        SecretId: ctx.secretId,
        Tags: [{ Key: ROTATION_TAGS.nvcfKey, Value: formatNvcfKey(record) }],
      }),
    );
  } catch (err) {
    if (!options.bestEffort) throw err;
    ctx.log.warn('could not record which key NVCF holds', { error: describeError(err) });
  }
}
/**
 * Stores `key` — the key of version `versionId` — in NVCF's credential for the registry, retrying what
 * waiting can fix: NVCF's 400 relaying `UnrecognizedClientException` (it checks the key against ECR,
 * `RegistryCredentialValidationService` in NVIDIA/nvcf, and IAM may not have propagated it to NVCF's region
 * yet), 429/5xx and lost answers (the client retries those too, within its own budget; a `Retry-After` longer
 * than the client's own pauses is honoured here), 409 and 404 (someone created or deleted the credential
 * meanwhile). Every attempt looks the credential up again, so a POST whose answer was lost is found and
 * PATCHed instead of created twice. The rotation's record of the key NVCF holds is written before the first
 * PATCH/POST with another version's key and confirmed after; it returns since when NVCF holds this key
 * (undefined when reconciling a credential that does not exist).
 */
export async function putKeyInNvcf(
  ctx: StepContext,
  key: PullKeySecret,
  purpose: 'set' | 'reconcile',
  versionId: string,
): Promise<{
  credential: NvcfRegistryCredentialView | undefined;
  action: 'created' | 'updated' | 'absent';
  since: Date | undefined;
}> {
  const { deps, registry, secretId, step } = ctx;
  const value = encodeRegistrySecret(key);
  const which = purpose === 'set' ? 'new' : 'current';
  const failed = (err: unknown) => {
    if (err instanceof RotationError) throw err;
    const kind = classifyNvcfFailure(err);
    if (kind === 'fatal') {
      throw new RotationError(
        step,
        secretId,
        `NVCF refused the ${which} key for credential '${registry.credentialName}' (${registry.hostname}): ` +
          `${describeError(err)}. The key was not stored in NVCF; fix the cause (401: the NGC API key secret; 403 ` +
          'without an AWS code: the key lacks the registry-credentials scope).',
        { cause: err },
      );
    }
    return nvcfNotYet(`NVCF answered ${kind}: ${describeError(err)}`, err);
  };
  let announced = ctx.nvcfKey.value?.versionId === versionId;
  type Put = { credential: NvcfRegistryCredentialView | undefined; action: 'created' | 'updated' | 'absent' };
  const put = await waitUntil<Put>(
    async () => {
      let existing: NvcfRegistryCredentialView | undefined;
      try {
        existing =
          (await deps.nvcf.findRegistryCredential(registry.hostname, registry.credentialName)) ??
          (await renamedCredential(ctx));
      } catch (err) {
        return failed(err);
      }
      // Reconciling a credential that does not exist: NVCF holds no key of ours, nothing to point anywhere.
      if (!existing && purpose === 'reconcile') return done({ credential: undefined, action: 'absent' });
      if (!announced) {
        await recordNvcfKey(ctx, { versionId, since: undefined }, { bestEffort: false });
        announced = true;
      }
      try {
        if (!existing) {
          const credential = await deps.nvcf.createRegistryCredential({
            registryHostname: registry.hostname,
            secret: { name: registry.credentialName, value },
            artifactTypes: ['CONTAINER'],
            tags: NVCF_CREDENTIAL_TAGS,
            description: `ECR pull key of registry ${registry.name}, rotated by nvcf-ecr-autopilot`,
          });
          return done({ credential, action: 'created' });
        }
        const credential = await deps.nvcf.patchRegistryCredential(existing.registryCredentialId, {
          // The configured name: a PATCH's secret.name renames the credential (`updateRegistryCredential`,
          // NVIDIA/nvcf:src/control-plane-services/…/RegistryCredentialService.java) — a credential renamed by
          // hand is adopted back under the name the rotation looks it up by.
          secret: { name: registry.credentialName, value },
          // A credential adopted without CONTAINER would not be handed to container pulls.
          ...(existing.artifactTypes.includes('CONTAINER')
            ? {}
            : { artifactTypeEnums: ['CONTAINER' as const] }),
        });
        return done({ credential, action: 'updated' });
      } catch (err) {
        return failed(err);
      }
    },
    {
      budgetMs: budget(ctx, deps.timing.nvcfBudgetMs),
      backoff: deps.timing.backoff,
      sleep: deps.sleep,
      monotonic: deps.monotonic,
      onRetry: (reason, attempt, delayMs) =>
        ctx.log.debug('NVCF not updated yet', { reason, attempt, delayMs }),
      onTimeout: (reason, attempts, elapsed) =>
        new RotationError(
          step,
          secretId,
          `NVCF did not accept the ${which} key within ${Math.round(elapsed / 1000)} s (${attempts} attempts; ` +
            `last: ${reason}). NVCF keeps the key it had; Secrets Manager retries the rotation.`,
        ),
    },
  );
  if (!put.credential) return { ...put, since: undefined };
  // NVCF held this version's key already (the record said so, and a repeat PATCH sends the same key): it has
  // held it since then. Otherwise since now — read after NVCF answered, so never earlier than the change.
  const held = ctx.nvcfKey.value;
  let since = held?.versionId === versionId ? held.since : undefined;
  if (!since) {
    since = deps.now();
    await recordNvcfKey(ctx, { versionId, since }, { bestEffort: true });
  }
  return { ...put, since };
}

/** "Not yet" for an NVCF failure worth waiting out, with the pause NVCF asked for (`Retry-After`), if any. */
export function nvcfNotYet(reason: string, err: unknown) {
  const retryAfterMs = nvcfRetryAfterMs(err);
  return retryAfterMs === undefined
    ? notYet(reason)
    : notYet(`${reason}; NVCF asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After)`, {
        retryAfterMs,
      });
}

/**
 * NVCF's credential for the registry's host under another name — renamed by hand — when (hostname, name) finds
 * none: NVCF hands every credential for a host to its workloads, so creating a second one would leave the
 * renamed one handing out a key the retirement later deactivates. One such credential is adopted (PATCHed back
 * to the configured name); several are refused, naming them, for an operator to sort out.
 */
async function renamedCredential(ctx: StepContext): Promise<NvcfRegistryCredentialView | undefined> {
  const { deps, registry, secretId, step } = ctx;
  const forHost = (await deps.nvcf.findRegistryCredentialsForHost?.(registry.hostname)) ?? [];
  const others = forHost.filter((c) => c.artifactTypes.includes('CONTAINER'));
  if (others.length === 0) return undefined;
  if (others.length > 1) {
    throw new RotationRefusedError(
      step,
      secretId,
      `NVCF has no credential '${registry.credentialName}' for ${registry.hostname} but ${others.length} under other ` +
        `names (${others.map((c) => `'${c.registryCredentialName}' ${c.registryCredentialId}`).join(', ')}); NVCF hands ` +
        'them all to workloads. Nothing was sent to NVCF. Delete the ones this registry does not use, or rename ' +
        `the one it does to '${registry.credentialName}', then rotate again.`,
    );
  }
  const [renamed] = others;
  ctx.log.warn('adopting the registry host’s NVCF credential, renamed by hand, under the configured name', {
    nvcfCredentialId: renamed?.registryCredentialId,
    name: renamed?.registryCredentialName,
  });
  return renamed;
}
