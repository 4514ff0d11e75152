import * as z from 'zod/mini';
import type { Verdict } from '../image/policy.ts';
import type { IgnoredEntry, ImageKind, PlatformMismatch } from '../image/resolve.ts';

/**
 * The `detail` of `NVCF Image Validation` (source `nvcf-ecr-autopilot`, on the project bus): one per tagged
 * push of a configured repository. A contract with whoever routes or stores these events, hence versioned:
 * `schemaVersion` changes only when a field is removed or changes meaning; added fields keep it.
 */

export const IMAGE_VALIDATION_SCHEMA_VERSION = 1;

export interface ImageValidationDetail {
  schemaVersion: typeof IMAGE_VALIDATION_SCHEMA_VERSION;
  /** Registry hostname, `<account>.dkr.ecr.<region>.amazonaws.com`. */
  registry: string;
  repository: string;
  /** The tag the push named. */
  tag: string;
  /** Digest of the pushed manifest or index (what the tag pointed at when it was pushed). */
  digest: string;
  /** Media type of the pushed manifest; `null` only when it could not be read (an `error` verdict). */
  mediaType: string | null;
  /** `index`, `image` or `artifact`; `null` when the image could not be resolved. */
  kind: ImageKind | null;
  /** Runnable platforms, normalised `os/arch[/variant]`, judged by the config blobs. */
  platforms: string[];
  /** What the repository's policy requires (`platforms.repositories[repo]`, else `platforms.require`). */
  required: string[];
  /** Required platforms the image lacks (non-empty exactly when `non-compliant`). */
  missing: string[];
  /** Index entries whose declared platform contradicts their config; the config wins. */
  mismatches: PlatformMismatch[];
  /** Entries that are not runnable images (attestations, artifacts, `unknown/unknown`), with the reason. */
  ignored: IgnoredEntry[];
  /** Things that do not change the verdict but deserve a look (schema1, amd64 v3/v4, ...). */
  warnings: string[];
  verdict: Verdict;
  /** Sentences explaining the verdict. */
  reasons: string[];
  /** `id` of the ECR event that triggered the validation: a redelivery carries the same one. */
  sourceEventId: string | null;
}

// Bounds that keep an event far below EventBridge's 256 KB per entry (`aws.md` §2.7) whatever a manifest
// holds (media types and platform strings come from the pushed content and are unbounded there): at most
// VALIDATION_MAX_ITEMS entries per list and VALIDATION_MAX_TEXT characters per string, about 180 KB in the worst case.
export const VALIDATION_MAX_ITEMS = 64;
export const VALIDATION_MAX_TEXT = 256;

const text = z.string().check(z.maxLength(VALIDATION_MAX_TEXT));
const list = <T extends z.ZodMiniType>(item: T) => z.array(item).check(z.maxLength(VALIDATION_MAX_ITEMS));

export const imageValidationDetailSchema = z.strictObject({
  schemaVersion: z.literal(IMAGE_VALIDATION_SCHEMA_VERSION),
  registry: text,
  repository: text,
  tag: text,
  digest: text,
  mediaType: z.nullable(text),
  kind: z.nullable(z.enum(['index', 'image', 'artifact'])),
  platforms: list(text),
  required: list(text),
  missing: list(text),
  mismatches: list(z.strictObject({ digest: text, declared: text, actual: text })),
  ignored: list(
    z.strictObject({
      digest: text,
      mediaType: z.optional(text),
      platform: z.optional(text),
      reason: text,
    }),
  ),
  warnings: list(text),
  verdict: z.enum(['compliant', 'non-compliant', 'not-runnable', 'error']),
  reasons: list(text),
  sourceEventId: z.nullable(text),
});

/**
 * Cuts a detail to the bounds of {@link imageValidationDetailSchema}: strings to {@link VALIDATION_MAX_TEXT}
 * characters (ending in `…`), lists to {@link VALIDATION_MAX_ITEMS} entries. What was cut is said in `reasons`, so a
 * reader knows the lists are incomplete.
 */
export function boundDetail(detail: ImageValidationDetail): ImageValidationDetail {
  const omitted: string[] = [];
  const cut = <T>(name: string, items: readonly T[], map: (item: T) => T): T[] => {
    if (items.length > VALIDATION_MAX_ITEMS)
      omitted.push(`${items.length - VALIDATION_MAX_ITEMS} more ${name}`);
    return items.slice(0, VALIDATION_MAX_ITEMS).map(map);
  };
  const out: ImageValidationDetail = {
    ...detail,
    registry: clip(detail.registry),
    repository: clip(detail.repository),
    tag: clip(detail.tag),
    digest: clip(detail.digest),
    mediaType: detail.mediaType === null ? null : clip(detail.mediaType),
    platforms: cut('platforms', detail.platforms, clip),
    required: cut('required platforms', detail.required, clip),
    missing: cut('missing platforms', detail.missing, clip),
    mismatches: cut('mismatches', detail.mismatches, (m) => ({
      digest: clip(m.digest),
      declared: clip(m.declared),
      actual: clip(m.actual),
    })),
    ignored: cut('ignored entries', detail.ignored, (i) => ({
      digest: clip(i.digest),
      ...(i.mediaType !== undefined ? { mediaType: clip(i.mediaType) } : {}),
      ...(i.platform !== undefined ? { platform: clip(i.platform) } : {}),
      reason: clip(i.reason),
    })),
    warnings: cut('warnings', detail.warnings, clip),
    reasons: [],
    sourceEventId: detail.sourceEventId === null ? null : clip(detail.sourceEventId),
  };
  let reasons = detail.reasons;
  if (omitted.length > 0 || reasons.length > VALIDATION_MAX_ITEMS) {
    // One slot stays for the note saying what was left out.
    const room = VALIDATION_MAX_ITEMS - 1;
    if (reasons.length > room) omitted.push(`${reasons.length - room} more reasons`);
    reasons = [
      ...reasons.slice(0, room),
      `this event lists at most ${VALIDATION_MAX_ITEMS} of each: ${omitted.join(', ')} omitted`,
    ];
  }
  out.reasons = reasons.map(clip);
  return out;
}

function clip(s: string): string {
  return s.length <= VALIDATION_MAX_TEXT ? s : `${s.slice(0, VALIDATION_MAX_TEXT - 1)}…`;
}
