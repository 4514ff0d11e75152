import type { MetricSink } from '../metrics.ts';
import { ROTATION_METRICS } from './deps.ts';
import { recordedKey } from './key-ids.ts';
import { parseNvcfKey, ROTATION_TAGS, type SecretState } from './state.ts';
import { NVCF_RELEASE_MS } from './window.ts';

/**
 * What the retirement decides from before it touches IAM: which keys are AWSCURRENT and AWSPREVIOUS (by the key
 * ids the rotation records per version, `key-ids.ts`: the retirement never reads a secret value), and whether
 * the rotation's record of what NVCF holds lets the previous key go.
 */

export type RetireKeys =
  | { readonly kind: 'keys'; readonly currentKeyId: string; readonly previousKeyId: string }
  /** Nothing to retire, and why. */
  | { readonly kind: 'nothing'; readonly reason: string }
  /** The key ids are not recorded: which key is current cannot be told, so nothing is deactivated. */
  | { readonly kind: 'unrecorded'; readonly reason: string };

/**
 * The AWSCURRENT and AWSPREVIOUS key ids, by the secret's tags and stages. A version without a record (written
 * before key ids were recorded, or by hand) leaves the retirement unable to tell the keys apart: it reports
 * that and deactivates nothing until a rotation records them (createSecret backfills the AWSCURRENT one).
 */
export function retireKeys(state: SecretState, registryName: string): RetireKeys {
  const current = recordedKey(state.tags, state.currentVersionId);
  if (current.kind === 'no-key')
    return { kind: 'nothing', reason: 'the secret holds no key yet (first rotation not done)' };
  if (!state.previousVersionId)
    return { kind: 'nothing', reason: 'no previous version (one rotation so far)' };
  const previous = recordedKey(state.tags, state.previousVersionId);
  if (previous.kind === 'no-key')
    return { kind: 'nothing', reason: 'the previous version holds no key (it was the bootstrap value)' };
  if (current.kind === 'unrecorded' || previous.kind === 'unrecorded') {
    const which = [
      current.kind === 'unrecorded' ? `AWSCURRENT (version ${state.currentVersionId})` : undefined,
      previous.kind === 'unrecorded' ? `AWSPREVIOUS (version ${state.previousVersionId})` : undefined,
    ].filter((w) => w !== undefined);
    return {
      kind: 'unrecorded',
      reason:
        `No key id is recorded for ${which.join(' and ')} (written before the rotation recorded key ids, or by ` +
        'hand): the retirement reads no secret value, so it cannot tell which key is current and deactivates ' +
        `nothing. Rotate once to record key ids ('nvcf-ecr rotate ${registryName}').`,
    };
  }
  if (current.kind !== 'key' || previous.kind !== 'key')
    return { kind: 'nothing', reason: 'the secret names no previous key' };
  if (previous.accessKeyId === current.accessKeyId)
    return {
      kind: 'nothing',
      reason: 'the previous version holds the AWSCURRENT key, which is never retired',
    };
  return { kind: 'keys', currentKeyId: current.accessKeyId, previousKeyId: previous.accessKeyId };
}

/**
 * Whether the rotation's record of the key NVCF was given (`nvcf-ecr:nvcf-key`, written by setSecret and
 * createSecret) lets the previous key go: it must name the AWSCURRENT version, confirmed, for at least
 * {@link NVCF_RELEASE_MS}. After a rollback (AWSCURRENT moved back by hand) NVCF still holds the newer key, now
 * AWSPREVIOUS: the record names that version and the key is never touched. A secret without a record (rotated
 * before the record existed) falls back on NVCF's `lastUpdatedAt`, checked next.
 */
export function nvcfRelease(state: SecretState, now: Date): { blocked: string | undefined } {
  const raw = state.tags.get(ROTATION_TAGS.nvcfKey);
  if (raw === undefined) return { blocked: undefined };
  const record = parseNvcfKey(raw);
  if (!record)
    return { blocked: `The rotation's record of the key NVCF holds ('${raw}') cannot be read, so` };
  if (record.versionId !== state.currentVersionId) {
    const whose = record.versionId === state.previousVersionId ? 'the previous version' : 'another version';
    return {
      blocked:
        `NVCF was last given the key of ${whose} (${record.versionId}), not the AWSCURRENT one — after a rollback, ` +
        `or a rotation that has not finished — so it may hand that key out; the next rotation points NVCF at the ` +
        'current key first. Until then',
    };
  }
  if (!record.since)
    return { blocked: 'NVCF was being given the current key and it was never confirmed that it took it, so' };
  const releasedAt = new Date(record.since.getTime() + NVCF_RELEASE_MS);
  if (now < releasedAt)
    return {
      blocked:
        `NVCF holds the current key since ${record.since.toISOString()}; a workload started with the previous key ` +
        `may keep it until its hourly refresh, so until ${releasedAt.toISOString()}`,
    };
  return { blocked: undefined };
}

const DAY_MS = 86_400_000;

/**
 * The key's age and the days since the last completed rotation, per registry, every hour: what the dashboard
 * plots and the key-age alarm compares with `audit.maxKeyAgeDays`. The current key is created moments before
 * its AWSCURRENT version is stored (createSecret), so the version's creation stands for the key's.
 */
export function emitAgeMetrics(
  registry: string,
  now: Date,
  currentCreated: Date | undefined,
  lastRotated: Date | undefined,
  metric: MetricSink,
): void {
  const days = (d: Date) => Math.max(0, Math.round(((now.getTime() - d.getTime()) / DAY_MS) * 100) / 100);
  const dimensions = { Registry: registry };
  if (currentCreated)
    metric({ name: ROTATION_METRICS.currentKeyAge, value: days(currentCreated), unit: 'None', dimensions });
  if (lastRotated)
    metric({ name: ROTATION_METRICS.daysSinceRotation, value: days(lastRotated), unit: 'None', dimensions });
}
