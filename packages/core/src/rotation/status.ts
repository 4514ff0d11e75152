import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RegistryConfig } from '../config/index.ts';
import type { NvcfRegistryCredentialsPort } from '../ports/nvcf.ts';
import { maskAccessKeyId } from '../redact.ts';
import { describeError } from './aws-errors.ts';
import {
  graceEndsAt,
  type KeyRole,
  type NvcfHolding,
  planRoom,
  pullKeyOf,
  type RefusalCode,
} from './keys.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  describeSecret,
  keyLastUsed,
  nvcfHoldsVersionSince,
  parseLastFailure,
  readValue,
  type StoredValue,
  versionDates,
} from './state.ts';
import { ACCESS_KEYS_PER_USER } from './step-context.ts';
import { classifyUserKeys } from './user-keys.ts';

/**
 * `nvcf-ecr status`: a registry's rotation as an operator needs to see it — stages and the (masked) key each
 * holds, the pull user's keys with their roles, ages, states and last use, NVCF's credential and whether it
 * was updated after the current key was created, last and next rotation, whether a rotation is pending or
 * stuck (and its last failure), the previous key's grace period, and what would refuse a rotation started
 * now. Read-only; reads what the rotation reads, with the same classification.
 */

/** A pending rotation older than this, or one that recorded a failure, is reported as stuck. */
export const STUCK_AFTER_MS = 30 * 60_000;

export interface StatusDeps {
  readonly secrets: SecretsManagerClient;
  readonly iam: IAMClient;
  /** Absent: NVCF is not queried (its section says so). */
  readonly nvcf?: NvcfRegistryCredentialsPort | undefined;
  readonly now: () => Date;
}

export interface KeyStatus {
  readonly accessKeyId: string;
  readonly status: string;
  readonly role: KeyRole;
  readonly createdAt: string;
  readonly ageHours: number;
  readonly lastUsedAt: string | null;
  readonly lastUsedService: string | null;
}

export interface StageStatus {
  readonly versionId: string;
  readonly stages: readonly string[];
  /** The key the version holds (masked); null for the bootstrap value or an empty pending version. */
  readonly accessKeyId: string | null;
  readonly createdAt: string | null;
}

export interface RegistryRotationStatus {
  readonly registry: string;
  readonly secretId: string;
  readonly userName: string;
  readonly hostname: string;
  readonly credentialName: string;
  readonly rotation: {
    readonly enabled: boolean;
    readonly schedule: string;
    readonly graceHours: number;
    readonly lastRotatedAt: string | null;
    readonly nextRotationAt: string | null;
  };
  readonly stages: readonly StageStatus[];
  readonly keys: readonly KeyStatus[];
  readonly nvcf:
    | {
        readonly credentialId: string;
        readonly lastUpdatedAt: string;
        /** `lastUpdatedAt` at or after the current key's creation: NVCF was given the current key (or a later one). */
        readonly updatedAfterCurrentKey: boolean | null;
      }
    | { readonly missing: true }
    | { readonly error: string }
    | null;
  /**
   * Since when NVCF holds the AWSCURRENT key, by the rotation's record (the secret's `nvcf-ecr:nvcf-key` tag);
   * null when that is not known — a cancelled rotation's key may be there: the next rotation points NVCF at
   * the current key before anything else.
   */
  readonly nvcfHoldsCurrentKeySince: string | null;
  readonly pending: {
    readonly token: string;
    readonly since: string | null;
    readonly stuck: boolean;
    readonly lastFailure: {
      readonly step: string;
      readonly refused: boolean;
      readonly at: string;
      readonly reason: string | null;
    } | null;
  } | null;
  readonly previousKey: {
    readonly accessKeyId: string;
    readonly status: string;
    readonly graceEndsAt: string | null;
    readonly inGrace: boolean;
  } | null;
  /** Why a rotation started now, without --force, would be refused (empty: it would proceed). */
  readonly blockers: readonly { readonly code: RefusalCode; readonly reason: string }[];
}

export async function rotationStatus(
  registry: RegistryConfig,
  deps: StatusDeps,
): Promise<RegistryRotationStatus> {
  const secretId = registry.secretName;
  const state = await describeSecret(deps.secrets, secretId);
  const now = deps.now();
  const current = await readValue(deps.secrets, secretId, { stage: AWSCURRENT }, 'retire');
  const pendingId = state.pendingVersionId !== state.currentVersionId ? state.pendingVersionId : undefined;
  const pending = pendingId
    ? await readValue(deps.secrets, secretId, { versionId: pendingId, stage: AWSPENDING }, 'retire')
    : undefined;
  const previous = state.previousVersionId
    ? await readValue(deps.secrets, secretId, { versionId: state.previousVersionId }, 'retire')
    : undefined;
  const created = await versionDates(deps.secrets, secretId);
  const stored = new Map<string, StoredValue>(
    [current, pending, previous]
      .filter((v): v is StoredValue => v !== undefined)
      .map((v) => [v.versionId, v]),
  );
  const stages: StageStatus[] = Object.entries(state.versions).map(([versionId, labels]) => {
    const key = pullKeyOf(stored.get(versionId));
    const date = created.get(versionId);
    return {
      versionId,
      stages: [...labels].sort(),
      accessKeyId: key ? maskAccessKeyId(key.accessKeyId) : null,
      createdAt: date ? date.toISOString() : null,
    };
  });

  const classified = await classifyUserKeys(
    { deps, registry, secretId: state.arn, state, step: 'retire' },
    current,
    pending,
  );
  const lastUsed = new Map<string, Awaited<ReturnType<typeof keyLastUsed>>>();
  for (const k of classified) lastUsed.set(k.accessKeyId, await keyLastUsed(deps.iam, k.accessKeyId));
  const keys: KeyStatus[] = classified.map((k) => {
    const used = lastUsed.get(k.accessKeyId);
    return {
      accessKeyId: maskAccessKeyId(k.accessKeyId),
      status: k.status,
      role: k.role,
      createdAt: k.createDate.toISOString(),
      ageHours: Math.floor((now.getTime() - k.createDate.getTime()) / 3_600_000),
      lastUsedAt: used?.at?.toISOString() ?? null,
      lastUsedService: used?.service ?? null,
    };
  });

  const currentKey = pullKeyOf(current);
  let nvcf: RegistryRotationStatus['nvcf'] = null;
  if (deps.nvcf) {
    try {
      const credential = await deps.nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
      nvcf = credential
        ? {
            credentialId: credential.registryCredentialId,
            lastUpdatedAt: credential.lastUpdatedAt,
            updatedAfterCurrentKey: currentKey
              ? Date.parse(credential.lastUpdatedAt) >= Date.parse(currentKey.createdAt)
              : null,
          }
        : { missing: true };
    } catch (err) {
      nvcf = { error: describeError(err) };
    }
  }

  const failure = parseLastFailure(state.tags);
  let pendingStatus: RegistryRotationStatus['pending'] = null;
  if (pendingId) {
    const since = created.get(pendingId);
    const failed = failure && failure.token === pendingId ? failure : undefined;
    pendingStatus = {
      token: pendingId,
      since: since?.toISOString() ?? null,
      stuck:
        failed !== undefined || (since !== undefined && now.getTime() - since.getTime() > STUCK_AFTER_MS),
      lastFailure: failed
        ? {
            step: failed.step,
            refused: failed.refused,
            at: failed.at.toISOString(),
            reason: failed.reason ?? null,
          }
        : null,
    };
  }

  const grace = graceEndsAt(state.lastRotatedDate, current, registry.rotation.graceHours);
  const previousKeyInfo = classified.find((k) => k.role === 'previous');
  const previousKey = previousKeyInfo
    ? {
        accessKeyId: maskAccessKeyId(previousKeyInfo.accessKeyId),
        status: previousKeyInfo.status,
        graceEndsAt: grace?.toISOString() ?? null,
        inGrace: grace !== undefined && now < grace,
      }
    : null;

  // What createSecret would decide now. An orphan is deleted before planning; a pending key is the
  // rotation under way's own.
  const heldSince = currentKey ? nvcfHoldsVersionSince(state.tags, state.currentVersionId) : undefined;
  const holding: NvcfHolding =
    nvcf !== null && 'missing' in nvcf
      ? { kind: 'absent' }
      : heldSince
        ? { kind: 'current', since: heldSince }
        : { kind: 'unknown' };
  const plan = planRoom({
    keys: classified.filter((k) => k.role !== 'orphan' && k.role !== 'pending'),
    force: false,
    now,
    graceEndsAt: grace,
    graceHours: registry.rotation.graceHours,
    lastUsed: new Map([...lastUsed].map(([id, u]) => [id, u.at])),
    currentKeyActive:
      currentKey !== undefined &&
      classified.some((k) => k.accessKeyId === currentKey.accessKeyId && k.status === 'Active'),
    nvcf: holding,
    registryName: registry.name,
    userName: registry.userName,
    keyLimit: ACCESS_KEYS_PER_USER,
  });

  return {
    registry: registry.name,
    secretId: state.arn,
    userName: registry.userName,
    hostname: registry.hostname,
    credentialName: registry.credentialName,
    rotation: {
      enabled: state.rotationEnabled,
      schedule: registry.rotation.schedule,
      graceHours: registry.rotation.graceHours,
      lastRotatedAt: state.lastRotatedDate?.toISOString() ?? null,
      nextRotationAt: state.nextRotationDate?.toISOString() ?? null,
    },
    stages,
    keys,
    nvcf,
    nvcfHoldsCurrentKeySince: heldSince?.toISOString() ?? null,
    pending: pendingStatus,
    previousKey,
    blockers: plan.kind === 'refuse' ? [{ code: plan.code, reason: plan.reason }] : [],
  };
}
