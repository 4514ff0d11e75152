import { ListSecretVersionIdsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotationStepName } from '../errors.ts';
import { maskAccessKeyId } from '../redact.ts';
import type { PullKeySecret } from './secret-value.ts';
import { type AccessKeyInfo, type KeyIntent, readValue, type StoredValue } from './state.ts';
import { hours, IN_USE_WINDOW_MS, NVCF_RELEASE_MS, unusedFrom, usedWithinWindow } from './window.ts';

/**
 * Which of the pull user's keys is which, and whether one may go to make room for a new key. IAM allows two
 * keys per user (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), so every
 * rotation after the first needs a slot; the rules here decide which key, if any, can be deleted without
 * breaking NVCF or a workload (invariant 2).
 *
 * Roles:
 * - `current`: in the AWSCURRENT value; never touched.
 * - `pending`: in the AWSPENDING value of a rotation under way.
 * - `previous`: in the AWSPREVIOUS value: replaced by the last rotation; in its grace period for
 *   `rotation.graceHours`, then deactivated by the retirement.
 * - `superseded`: in an older, unlabelled version — typically the key of a rotation an operator cancelled
 *   after its setSecret, which NVCF may still hold (hence the reconciliation before any deletion).
 * - `orphan`: in no version, created within {@link ORPHAN_WINDOW_MS} of the intent marker of a token that never
 *   stored a value — the key of an attempt that died between CreateAccessKey and PutSecretValue — or created by
 *   that token's attempt next to the key it stored (a retried CreateAccessKey). Never sent to NVCF (setSecret
 *   only sends stored values) and its secret is lost, so it is deleted (NVCF first pointed at the current key,
 *   like before any deletion).
 * - `unmanaged`: anything else — a key made by hand or by another tool. Never deleted: the rotation refuses,
 *   naming it, when it would need its slot.
 */

export type KeyRole = 'current' | 'pending' | 'previous' | 'superseded' | 'orphan' | 'unmanaged';

export interface ClassifiedKey extends AccessKeyInfo {
  readonly role: KeyRole;
  /** The secret version that holds it (`current`, `pending`, `previous`, `superseded`). */
  readonly versionId?: string | undefined;
}

/** What the secret's versions say about the keys. */
export interface KeyReferences {
  readonly current?: StoredValue | undefined;
  readonly pending?: StoredValue | undefined;
  readonly previous?: StoredValue | undefined;
  /** Older versions read while looking for unknown keys: key id → version id. */
  readonly superseded: ReadonlyMap<string, string>;
  readonly intent?: KeyIntent | undefined;
  /** The value the intent's token stored, if it stored one. */
  readonly intentValue?: StoredValue | undefined;
}

const keyOf = (v: StoredValue | undefined): string | undefined =>
  v?.value.kind === 'key' ? v.value.accessKeyId : undefined;

/**
 * IAM reports `CreateDate` to the second; the intent marker has milliseconds. Comparing against the marker
 * truncated to its second keeps a key created in the marker's own second an orphan. The marker is written by
 * the rotation's clock and `CreateDate` by IAM's: a rotation clock running ahead of IAM by more than the
 * rest of that second makes a genuine orphan look older than its marker, so it is treated as unmanaged —
 * refused and named, never deleted: the safe direction.
 */
function createdAfterIntent(key: AccessKeyInfo, intent: KeyIntent): boolean {
  const markerSecond = Math.floor(intent.at.getTime() / 1000) * 1000;
  return key.createDate.getTime() >= markerSecond;
}

/**
 * How long after its intent marker a key can still be that attempt's: the marker is written right before one
 * `CreateAccessKey` call, so the key is created during that call. One call with the SDK's standard retries
 * (3 attempts, pauses capped at 20 s) ends within a minute; a minute also absorbs a few seconds between the
 * rotation's clock and IAM's. A marker is never cleared by a Lambda that dies, so without this bound a key made
 * by hand days later, while that token still stored nothing, would be taken for an orphan and deleted.
 */
export const ORPHAN_WINDOW_MS = 60_000;

function createdSoonAfterIntent(key: AccessKeyInfo, intent: KeyIntent): boolean {
  return (
    createdAfterIntent(key, intent) && key.createDate.getTime() <= intent.at.getTime() + ORPHAN_WINDOW_MS
  );
}

/**
 * A key created between the marker and the moment the marker's token stored its value (`createdAt` is taken
 * right after CreateAccessKey answered) was created by that attempt even if it is not the stored one: an SDK
 * that retried a CreateAccessKey whose answer was lost creates a second key. The window is one API call;
 * a key someone else creates inside it, in the same second, would be taken for ours.
 */
function createdBeforeStored(key: AccessKeyInfo, stored: StoredValue): boolean {
  if (stored.value.kind !== 'key') return false;
  return key.createDate.getTime() <= Date.parse(stored.value.createdAt);
}

/** Assigns each key its role (pure). */
export function classifyKeys(keys: readonly AccessKeyInfo[], refs: KeyReferences): ClassifiedKey[] {
  const current = keyOf(refs.current);
  const pending = keyOf(refs.pending);
  const previous = keyOf(refs.previous);
  return keys.map((k): ClassifiedKey => {
    if (k.accessKeyId === current) return { ...k, role: 'current', versionId: refs.current?.versionId };
    if (k.accessKeyId === pending) return { ...k, role: 'pending', versionId: refs.pending?.versionId };
    if (k.accessKeyId === previous) return { ...k, role: 'previous', versionId: refs.previous?.versionId };
    const superseded = refs.superseded.get(k.accessKeyId);
    if (superseded) return { ...k, role: 'superseded', versionId: superseded };
    if (
      refs.intent &&
      createdSoonAfterIntent(k, refs.intent) &&
      (refs.intentValue === undefined || createdBeforeStored(k, refs.intentValue))
    )
      return { ...k, role: 'orphan' };
    return { ...k, role: 'unmanaged' };
  });
}

/** Older versions read at most when looking for the version of an unknown key (newest first). */
export const MAX_SUPERSEDED_READS = 10;

/**
 * Finds the versions holding keys that the labelled versions do not explain: lists every version (deprecated
 * ones included) and reads the newest unread ones until each unknown key is found or
 * {@link MAX_SUPERSEDED_READS} versions were read. Only called when such a key exists, so a normal rotation
 * makes no extra call.
 */
export async function findSupersededKeys(
  secrets: SecretsManagerClient,
  secretId: string,
  unknownKeyIds: readonly string[],
  alreadyRead: ReadonlySet<string>,
  step: RotationStepName,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (unknownKeyIds.length === 0) return found;
  const versions: { id: string; created: number }[] = [];
  let token: string | undefined;
  do {
    const out = await secrets.send(
      new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true, NextToken: token }),
    );
    for (const v of out.Versions ?? []) {
      if (v.VersionId && !alreadyRead.has(v.VersionId))
        versions.push({ id: v.VersionId, created: v.CreatedDate?.getTime() ?? 0 });
    }
    token = out.NextToken;
  } while (token);
  versions.sort((a, b) => b.created - a.created);
  const wanted = new Set(unknownKeyIds);
  for (const v of versions.slice(0, MAX_SUPERSEDED_READS)) {
    if (wanted.size === 0) break;
    const stored = await readValue(secrets, secretId, { versionId: v.id }, step);
    const id = keyOf(stored);
    if (id && wanted.has(id)) {
      found.set(id, v.id);
      wanted.delete(id);
    }
  }
  return found;
}

/** Why a slot cannot be made. */
export type RefusalCode = 'in-grace' | 'in-use' | 'nvcf-cache' | 'unmanaged' | 'no-working-current-key';

/** What createSecret knows of the key NVCF's credential holds (NVCF never says which key it holds). */
export type NvcfHolding =
  /** The AWSCURRENT key, since (at the latest) `since`. */
  | { readonly kind: 'current'; readonly since: Date }
  /** NVCF has no credential for the registry: it hands out no key of the pull user. */
  | { readonly kind: 'absent' }
  /** Not known: a cancelled rotation's key may be there. The rotation points NVCF at the current key first. */
  | { readonly kind: 'unknown' };

export type RoomPlan =
  | { readonly kind: 'room' }
  | { readonly kind: 'delete'; readonly key: ClassifiedKey; readonly reason: string }
  | { readonly kind: 'refuse'; readonly code: RefusalCode; readonly reason: string };

export interface RoomInput {
  /** The user's keys, orphans already removed. */
  readonly keys: readonly ClassifiedKey[];
  readonly force: boolean;
  readonly now: Date;
  /** When the previous key's grace period ends (undefined: no previous key). */
  readonly graceEndsAt: Date | undefined;
  /** `rotation.graceHours`: a superseded key's grace counts from NVCF being pointed back at the current key. */
  readonly graceHours: number;
  /** Last use of the Active candidates (`GetAccessKeyLastUsed`). */
  readonly lastUsed: ReadonlyMap<string, Date | undefined>;
  /** Whether the AWSCURRENT key exists and is Active: NVCF can be reconciled to it before a deletion. */
  readonly currentKeyActive: boolean;
  /**
   * What NVCF holds. `unknown` is planned as if NVCF were pointed at the current key now — what createSecret
   * does before planning (`status` passes it to predict the rotation).
   */
  readonly nvcf: NvcfHolding;
  readonly registryName: string;
  readonly userName: string;
  readonly keyLimit: number;
}

const CANDIDATE_ORDER: Readonly<Record<KeyRole, number>> = {
  previous: 1,
  superseded: 2,
  current: 9,
  pending: 9,
  orphan: 9,
  unmanaged: 9,
};

/**
 * Decides how to make room for one new key (pure). Deletable: a `previous` or `superseded` key that is
 * Inactive (retired: nothing can use it), or Active and past {@link activeKeyRefusal}'s checks: its grace
 * period (skipped when forced), no use inside the in-use window, and NVCF released from it long enough for every
 * running workload to have refreshed (both never skipped). Inactive keys go first. The current key, a pending
 * key and unmanaged keys are never candidates. A deletion also needs a working current key, because NVCF is
 * reconciled to it first (NVCF never reveals which key it holds).
 */
export function planRoom(input: RoomInput): RoomPlan {
  if (input.keys.length < input.keyLimit) return { kind: 'room' };
  const candidates = input.keys
    .filter((k) => k.role === 'previous' || k.role === 'superseded')
    .sort(
      (a, b) =>
        Number(a.status === 'Active') - Number(b.status === 'Active') ||
        CANDIDATE_ORDER[a.role] - CANDIDATE_ORDER[b.role],
    );
  const unmanaged = input.keys.filter((k) => k.role === 'unmanaged');
  if (candidates.length === 0) {
    const named = unmanaged.map(
      (k) => `${maskAccessKeyId(k.accessKeyId)} (${k.status}, created ${k.createDate.toISOString()})`,
    );
    return {
      kind: 'refuse',
      code: 'unmanaged',
      reason:
        `IAM user ${input.userName} already has ${input.keys.length} access keys and ${named.length === 1 ? 'key' : 'keys'} ` +
        `${named.join(' and ')} ${named.length === 1 ? 'is' : 'are'} in no version of the secret: not created by this ` +
        'rotation, so it is never deleted by it. Nothing was deleted. Find out who uses it; once nothing does, delete it ' +
        `('aws iam delete-access-key --user-name ${input.userName} --access-key-id <id>') and rotate again.`,
    };
  }
  let blocked: RoomPlan | undefined;
  for (const key of candidates) {
    const masked = maskAccessKeyId(key.accessKeyId);
    if (key.status === 'Active') {
      const refusal = activeKeyRefusal(input, key);
      if (refusal) {
        blocked ??= refusal;
        continue;
      }
    }
    if (!input.currentKeyActive) {
      return {
        kind: 'refuse',
        code: 'no-working-current-key',
        reason:
          `Making room needs deleting key ${masked} of IAM user ${input.userName}, but the AWSCURRENT key is missing or ` +
          'Inactive, so NVCF cannot first be pointed at it and might be holding the key to delete. Nothing was ' +
          'deleted. Reactivate the AWSCURRENT key (see packages/core/src/rotation/README.md, "Recovering"), then rotate again.',
      };
    }
    return {
      kind: 'delete',
      key,
      reason:
        key.status === 'Active'
          ? input.force
            ? `forced rotation: the ${key.role} key goes to make room`
            : `the ${key.role} key is past its grace period and unused for ${hours(IN_USE_WINDOW_MS)}`
          : `the ${key.role} key is Inactive`,
    };
  }
  return (
    blocked ?? {
      kind: 'refuse',
      code: 'unmanaged',
      reason: `IAM user ${input.userName} has no key that may be deleted to make room. Nothing was deleted.`,
    }
  );
}

/**
 * Why an Active `previous` or `superseded` key may not be deleted yet, if it may not. Forcing skips the grace
 * period only: a key with evidence of use inside the in-use window ({@link IN_USE_WINDOW_MS}) or one NVCF handed
 * out too recently for every running workload to have refreshed ({@link NVCF_RELEASE_MS}) is never deleted
 * (invariant 2). A superseded key — a cancelled rotation's, which NVCF may have handed out — gets the grace
 * period too, counted from NVCF being pointed back at the current key.
 */
function activeKeyRefusal(input: RoomInput, key: ClassifiedKey): RoomPlan | undefined {
  const masked = maskAccessKeyId(key.accessKeyId);
  const nvcfSince = input.nvcf.kind === 'current' ? input.nvcf.since : input.now;
  const graceEnd =
    key.role === 'previous'
      ? input.graceEndsAt
      : input.nvcf.kind === 'absent'
        ? undefined
        : new Date(nvcfSince.getTime() + input.graceHours * 3_600_000);
  if (!input.force && graceEnd && input.now < graceEnd) {
    return {
      kind: 'refuse',
      code: 'in-grace',
      reason:
        `The ${key.role} key ${masked} of IAM user ${input.userName} is inside its grace period until ` +
        `${graceEnd.toISOString()}: NVCF caches credentials for minutes and running workloads keep the ` +
        'key they started with, so it stays Active until then and a new key has no slot. Nothing was deleted. ' +
        `Rotate after that time, or now with 'nvcf-ecr rotate ${input.registryName} --force' (deletes ${masked} ` +
        'once nothing is seen using it).',
    };
  }
  const used = input.lastUsed.get(key.accessKeyId);
  if (usedWithinWindow(used, input.now) && used) {
    // IAM records only the latest use, by anyone: a workload, NVCF, or the checks that came with the key
    // itself — the rotation that created it proved it with STS and ECR, and NVCF checks a key with ECR
    // when it is stored. A running workload that used it may hold it until its next refresh, and a later use
    // may not show yet (README.md, "The window model").
    return {
      kind: 'refuse',
      code: 'in-use',
      reason:
        `Key ${masked} of IAM user ${input.userName} (${key.role}) was used at ${used.toISOString()}, within the ` +
        `last ${hours(IN_USE_WINDOW_MS)} (workload refresh + IAM's last-used lag + margin), so it is not deleted to ` +
        'make room for a new key, forced or not. The use may be a workload or NVCF pulling with it, or only the ' +
        'checks made when it was new (the rotation that created it proved it with STS and ECR; NVCF checks a key ' +
        'with ECR when it is stored). Nothing was deleted. Rotate again after ' +
        `${unusedFrom(used).toISOString()} if nothing uses it meanwhile, or find what uses it ('nvcf-ecr status').`,
    };
  }
  if (input.nvcf.kind !== 'absent') {
    const releasedAt = new Date(nvcfSince.getTime() + NVCF_RELEASE_MS);
    if (input.now < releasedAt) {
      return {
        kind: 'refuse',
        code: 'nvcf-cache',
        reason:
          `NVCF was pointed at the current key at ${nvcfSince.toISOString()}; its caches may hand out the key it ` +
          `replaced for 10 minutes more, and a workload started with it keeps it until its hourly refresh: until ` +
          `${releasedAt.toISOString()} (README.md, "The window model"). Key ${masked} (${key.role}) is not ` +
          'deleted before then, forced or not. Nothing was deleted. Rotate again after that time.',
      };
    }
  }
  return undefined;
}

/** The key of a stored pull-key value, or undefined for a bootstrap value. */
export function pullKeyOf(stored: StoredValue | undefined): PullKeySecret | undefined {
  return stored?.value.kind === 'key' ? stored.value : undefined;
}

/**
 * When the previous key's grace period ends: `graceHours` after the rotation that replaced it. That moment is
 * the later of `LastRotatedDate` (set when a rotation completes; also moved by a manual PutSecretValue,
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html) and the
 * AWSCURRENT version's creation — the later, so the grace is never cut short.
 */
export function graceEndsAt(
  lastRotatedDate: Date | undefined,
  current: Pick<StoredValue, 'createdDate'> | undefined,
  graceHours: number,
): Date | undefined {
  const times = [lastRotatedDate?.getTime(), current?.createdDate?.getTime()].filter(
    (t): t is number => t !== undefined,
  );
  if (times.length === 0) return undefined;
  return new Date(Math.max(...times) + graceHours * 3_600_000);
}
