import { TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '../log.ts';

/**
 * The access key id of every version the rotation writes, kept where a reader needs no secret: one tag on the
 * secret per version, `nvcf-ecr:version:<VersionId>` = the key id (`AKIA…`/`ASIA…`), or `none` for a version
 * that holds no key (the bootstrap value). With DescribeSecret's `VersionIdsToStages` this tells the retirement
 * and the audit which key is AWSCURRENT, AWSPREVIOUS or AWSPENDING without `GetSecretValue` — so their roles hold
 * no working ECR credential. Keyed by version, the record stays right when the stages move without the
 * rotation: an operator's rollback (`update-secret-version-stage` moving AWSCURRENT back) moves labels, not
 * versions. An access key id is not secret: IAM returns it from `ListAccessKeys`, and CloudTrail logs it.
 *
 * Secrets Manager's tag limits (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html,
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html): 50 tags per secret,
 * keys ≤ 128 characters, values ≤ 256, letters, digits, spaces and `_ . : / = + - @`. A version id is a
 * ClientRequestToken of 32–64 characters (a UUID here), so a key is at most 81 characters; the rotation keeps
 * only labelled versions' tags (at most AWSCURRENT, AWSPREVIOUS and AWSPENDING) and prunes the rest each
 * time it records one, so the count stays bounded next to the other `nvcf-ecr:` tags.
 *
 * The prefix is under `nvcf-ecr:`: the pull-key secrets' resource policy lets no principal but the rotation
 * role write it, and the rotation role may write nothing else (stacks/lib/permissions.ts).
 */

export const KEY_ID_TAG_PREFIX = 'nvcf-ecr:version:';

/** The value of a version that holds no key (the bootstrap value). */
export const NO_KEY = 'none';

/** What the rotation recorded for one version. */
export type RecordedKey =
  | { readonly kind: 'key'; readonly accessKeyId: string }
  | { readonly kind: 'no-key' }
  /** No tag: written before key ids were recorded, by hand, or not a version the rotation wrote. */
  | { readonly kind: 'unrecorded' };

// IAM's access key id: `AKIA` (long-term) or `ASIA` (temporary), then upper-case letters and digits
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids).
const ACCESS_KEY_ID = /^(?:AKIA|ASIA)[A-Z0-9]{12,124}$/;
// The characters Secrets Manager allows in a tag key, and its 128-character limit.
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

export function keyIdTag(versionId: string): string {
  return `${KEY_ID_TAG_PREFIX}${versionId}`;
}

/** Whether a tag value is one the rotation writes: an access key id or {@link NO_KEY}, nothing else. */
export function isKeyIdTagValue(value: string): boolean {
  return value === NO_KEY || ACCESS_KEY_ID.test(value);
}

/**
 * The tag value for a version: its key id, or {@link NO_KEY}; undefined for anything that is not an access key
 * id — never written, so that nothing but a key id can reach a tag.
 */
export function keyIdTagValue(accessKeyId: string | undefined): string | undefined {
  if (accessKeyId === undefined) return NO_KEY;
  return ACCESS_KEY_ID.test(accessKeyId) ? accessKeyId : undefined;
}

/** What the secret's tags say version `versionId` holds. A value that is not a key id counts as unrecorded. */
export function recordedKey(tags: ReadonlyMap<string, string>, versionId: string | undefined): RecordedKey {
  const value = versionId === undefined ? undefined : tags.get(keyIdTag(versionId));
  if (value === NO_KEY) return { kind: 'no-key' };
  if (value !== undefined && ACCESS_KEY_ID.test(value)) return { kind: 'key', accessKeyId: value };
  return { kind: 'unrecorded' };
}

/** One version's key id to record: `accessKeyId` undefined for a version that holds no key. */
export interface KeyIdEntry {
  readonly versionId: string;
  readonly accessKeyId: string | undefined;
}

export interface KeyIdRecordInput {
  readonly secretId: string;
  readonly tags: ReadonlyMap<string, string>;
  /** Version id → staging labels (DescribeSecret's `VersionIdsToStages`). */
  readonly versions: Readonly<Record<string, readonly string[]>>;
  readonly record: readonly KeyIdEntry[];
}

/**
 * The tag writes that record `record` and prune the key ids of versions that carry no staging label (and are
 * not being recorded): at most one TagResource (nothing when every tag already says so) and one UntagResource.
 * A version id that cannot be a tag key, or a key id that is not one, is skipped (the readers then find it
 * unrecorded, which is safe).
 */
export function keyIdTagChanges(input: KeyIdRecordInput): { tag: Map<string, string>; untag: string[] } {
  const tag = new Map<string, string>();
  for (const entry of input.record) {
    const key = keyIdTag(entry.versionId);
    const value = keyIdTagValue(entry.accessKeyId);
    if (value !== undefined && TAG_KEY.test(key) && input.tags.get(key) !== value) tag.set(key, value);
  }
  const kept = new Set(input.record.map((e) => e.versionId));
  const untag = [...input.tags.keys()].filter((key) => {
    if (!key.startsWith(KEY_ID_TAG_PREFIX)) return false;
    const versionId = key.slice(KEY_ID_TAG_PREFIX.length);
    return !kept.has(versionId) && (input.versions[versionId]?.length ?? 0) === 0;
  });
  return { tag, untag };
}

/** Writes {@link keyIdTagChanges}: what the secret must say before the caller goes on. */
export async function recordKeyIds(
  secrets: { send(command: TagResourceCommand | UntagResourceCommand): Promise<unknown> },
  input: KeyIdRecordInput,
  log: Logger,
): Promise<void> {
  const { tag, untag } = keyIdTagChanges(input);
  // Prune first: at Secrets Manager's 50 tags per secret, adding before pruning would fail for good.
  if (untag.length > 0) {
    await secrets.send(new UntagResourceCommand({ SecretId: input.secretId, TagKeys: untag }));
    log.debug('pruned key ids of versions without a staging label', { tags: untag });
  }
  if (tag.size > 0) {
    await secrets.send(
      new TagResourceCommand({
        SecretId: input.secretId,
        Tags: [...tag].map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    log.debug('recorded key ids of versions', { versions: [...tag.keys()] });
  }
}
