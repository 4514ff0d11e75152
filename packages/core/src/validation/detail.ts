import * as z from 'zod/mini';
import { DETAIL_TYPES, EVENT_SOURCE } from '../events/names.ts';
import type { Verdict } from '../image/policy.ts';
import type { IgnoredEntry, ImageKind, PlatformMismatch } from '../image/resolve.ts';
import type { Logger } from '../log.ts';

/**
 * The `detail` of `NVCF Image Validation` (source `nvcf-ecr-autopilot`, on the project bus): one per tagged
 * push of a configured repository. A contract with whoever routes or stores these events, hence versioned:
 * `schemaVersion` changes only when a field is removed or changes meaning; added fields keep it.
 */

export const IMAGE_VALIDATION_SCHEMA_VERSION = 1;

/**
 * A verdict as published: the image's {@link Verdict}, or `superseded` when, by the time the verdict was ready,
 * the tag no longer pointed at the pushed digest (a later push moved it, or it was removed). A superseded
 * verdict is kept for the record but never notified.
 */
export type ValidationVerdict = Verdict | 'superseded';

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
  verdict: ValidationVerdict;
  /** Sentences explaining the verdict. */
  reasons: string[];
  /** `id` of the ECR event that triggered the validation: a redelivery carries the same one. */
  sourceEventId: string | null;
  /**
   * `time` of that ECR event (when ECR stored the push), ISO-8601; `null` when the event had none. Verdicts of
   * two quick pushes of one tag can be published in either order: this, not the arrival order, says which
   * push is the later one.
   */
  pushedAt: string | null;
}

// The contract of the schema below: at most VALIDATION_MAX_ITEMS entries per list and VALIDATION_MAX_TEXT
// characters (UTF-16 units, as JavaScript counts them) per string. Media types, platform strings and annotation
// values come from the pushed content and are unbounded there, so these bounds alone do not keep an event under
// EventBridge's limit, which counts bytes after JSON encoding: a '中' is 3 bytes, a control character 6
// (`\u0001`). {@link boundDetail} therefore also cuts by bytes, to VALIDATION_EVENT_MAX_BYTES for the entry.
export const VALIDATION_MAX_ITEMS = 64;
export const VALIDATION_MAX_TEXT = 256;

/**
 * Bytes the whole `PutEvents` entry of a verdict may count (see {@link verdictEnvelopeBytes}): 16 KiB under
 * EventBridge's 256 KB per entry
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/events/CalculatePutEventsEntrySize.html). The margin
 * covers what the delivered event adds to the entry (its envelope keys: SNS and SQS targets have the same
 * 256 KB limit on the whole event) and any difference between EventBridge's count and ours.
 */
export const VALIDATION_EVENT_MAX_BYTES = 240 * 1024;

/**
 * Bytes the JSON-encoded detail may take when the caller does not say how big the rest of the entry is: what
 * {@link VALIDATION_EVENT_MAX_BYTES} leaves after 1 KiB for the envelope of any verdict (Time, source,
 * detail-type and one repository ARN come to under 500 bytes; an ECR repository name has at most 256 characters).
 */
export const VALIDATION_DETAIL_MAX_BYTES = VALIDATION_EVENT_MAX_BYTES - 1024;

/**
 * Bytes a verdict's `PutEvents` entry counts besides its `Detail`, as the EventBridge user guide computes an
 * entry's size ("Calculating PutEvents event entry size"): 14 for `Time`, plus the UTF-8 bytes of `Source`,
 * `DetailType` and each of `Resources`.
 */
export function verdictEnvelopeBytes(resources: readonly string[]): number {
  let size = 14 + utf8Bytes(EVENT_SOURCE) + utf8Bytes(DETAIL_TYPES.imageValidation);
  for (const r of resources) size += utf8Bytes(r);
  return size;
}

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
  verdict: z.enum(['compliant', 'non-compliant', 'not-runnable', 'artifact', 'error', 'superseded']),
  reasons: list(text),
  sourceEventId: z.nullable(text),
  pushedAt: z.nullable(text),
});

export interface BoundDetailOptions {
  /** Most bytes the JSON-encoded detail may take (default {@link VALIDATION_DETAIL_MAX_BYTES}). */
  readonly maxBytes?: number | undefined;
}

/**
 * Cuts a detail to the bounds of {@link imageValidationDetailSchema} and to `maxBytes` once JSON-encoded:
 * - every string loses its control and other non-printing characters (line breaks and tabs become a space;
 *   other control characters, format characters such as bidirectional overrides and zero-width spaces, and
 *   halves of surrogate pairs are removed): they come only from pushed content, print as nothing or garble a
 *   terminal or an e-mail, and a control character costs 6 bytes once JSON-encoded;
 * - strings are shortened to {@link VALIDATION_MAX_TEXT} characters (ending in `…`, never splitting a
 *   character), lists to {@link VALIDATION_MAX_ITEMS} entries;
 * - then, if the detail is still over `maxBytes`, lists keep the longest prefix that fits, filled in order of
 *   importance: `missing`, `required`, `platforms` (what the verdict is about), `reasons` (why), `mismatches`,
 *   `warnings`, then `ignored` (usually attestations, the bulkiest and least telling).
 *
 * Anything cut is said in the last reason ("this event was cut: ..."), so a reader knows the event is
 * incomplete. A detail whose scalars alone exceed `maxBytes` (only with a budget of a few KB) comes back with
 * empty lists and still over budget; {@link publishableDetail} replaces it.
 */
export function boundDetail(
  detail: ImageValidationDetail,
  options: BoundDetailOptions = {},
): ImageValidationDetail {
  const maxBytes = options.maxBytes ?? VALIDATION_DETAIL_MAX_BYTES;
  const registry = cleanText(detail.registry);
  const repository = cleanText(detail.repository);
  const tag = cleanText(detail.tag);
  const digest = cleanText(detail.digest);
  const mediaType = detail.mediaType === null ? null : cleanText(detail.mediaType);
  const sourceEventId = detail.sourceEventId === null ? null : cleanText(detail.sourceEventId);
  const pushedAt = detail.pushedAt === null ? null : cleanText(detail.pushedAt);
  const lists: { [K in ListName]: Cleaned<ImageValidationDetail[K][number]>[] } = {
    platforms: detail.platforms.map(cleanText),
    required: detail.required.map(cleanText),
    missing: detail.missing.map(cleanText),
    mismatches: detail.mismatches.map((m) =>
      cleanFields({ digest: m.digest, declared: m.declared, actual: m.actual }),
    ),
    ignored: detail.ignored.map((i) =>
      cleanFields({
        digest: i.digest,
        ...(i.mediaType !== undefined ? { mediaType: i.mediaType } : {}),
        ...(i.platform !== undefined ? { platform: i.platform } : {}),
        reason: i.reason,
      }),
    ),
    warnings: detail.warnings.map(cleanText),
    reasons: detail.reasons.map(cleanText),
  };
  const assemble = (kept: Record<ListName, number>, reasons: string[]): ImageValidationDetail => ({
    schemaVersion: detail.schemaVersion,
    registry: registry.value,
    repository: repository.value,
    tag: tag.value,
    digest: digest.value,
    mediaType: mediaType === null ? null : mediaType.value,
    kind: detail.kind,
    platforms: values(lists.platforms, kept.platforms),
    required: values(lists.required, kept.required),
    missing: values(lists.missing, kept.missing),
    mismatches: values(lists.mismatches, kept.mismatches),
    ignored: values(lists.ignored, kept.ignored),
    warnings: values(lists.warnings, kept.warnings),
    verdict: detail.verdict,
    reasons,
    sourceEventId: sourceEventId === null ? null : sourceEventId.value,
    pushedAt: pushedAt === null ? null : pushedAt.value,
  });

  // Greedy by bytes: start from the detail with empty lists and room for the note, then add entries in order
  // of importance while they fit. Each entry costs its JSON plus a comma (one too many for the first: safe).
  const kept = Object.fromEntries(LIST_NAMES.map((n) => [n, 0])) as Record<ListName, number>;
  let used = utf8Bytes(JSON.stringify(assemble(kept, []))) + NOTE_RESERVE_BYTES;
  for (const name of BY_IMPORTANCE) {
    const items = lists[name];
    const limit = Math.min(items.length, VALIDATION_MAX_ITEMS);
    while (kept[name] < limit) {
      const cost = (items[kept[name]] as Cleaned<unknown>).bytes + 1;
      if (used + cost > maxBytes) break;
      used += cost;
      kept[name]++;
    }
  }

  const changed = (items: readonly Cleaned<unknown>[], n: number, key: 'shortened' | 'stripped') =>
    items.slice(0, n).reduce((sum, i) => sum + i[key], 0);
  const count = (key: 'shortened' | 'stripped') =>
    [registry, repository, tag, digest, mediaType, sourceEventId, pushedAt].reduce(
      (s, c) => s + (c?.[key] ?? 0),
      0,
    ) + LIST_NAMES.reduce((s, n) => s + changed(lists[n], kept[n], key), 0);
  const anyOmitted = LIST_NAMES.some((n) => kept[n] < lists[n].length);
  if (!anyOmitted && count('shortened') === 0 && count('stripped') === 0) {
    return assemble(kept, values(lists.reasons, kept.reasons));
  }
  // The note takes the last slot of `reasons`.
  if (kept.reasons === VALIDATION_MAX_ITEMS) kept.reasons--;
  const omitted = LIST_NAMES.filter((n) => kept[n] < lists[n].length).map((n) => {
    const left = lists[n].length - kept[n];
    return `${left} more ${left === 1 ? LIST_LABELS[n][0] : LIST_LABELS[n][1]}`;
  });
  const shortened = count('shortened');
  const stripped = count('stripped');
  const parts = [
    ...(omitted.length > 0 ? [`${omitted.join(', ')} omitted`] : []),
    ...(shortened > 0
      ? [`${plural(shortened, 'string')} shortened to ${VALIDATION_MAX_TEXT} characters`]
      : []),
    ...(stripped > 0 ? [`non-printing characters removed from ${plural(stripped, 'string')}`] : []),
  ];
  const note = cleanText(`this event was cut: ${parts.join('; ')}`).value;
  return assemble(kept, [...values(lists.reasons, kept.reasons), note]);
}

export interface PublishableDetailOptions extends BoundDetailOptions {
  /** Where a detail that breaks its own contract is reported (an error: it is a bug). */
  readonly logger: Logger;
}

/**
 * The detail to publish: `detail` cut by {@link boundDetail}, then checked against
 * {@link imageValidationDetailSchema} and the byte budget before it goes out (every emitted event is validated
 * first, packages/core/src/events/README.md). A detail failing either is a bug, never the image's fault: it
 * is logged as an error and replaced by a minimal `error` verdict, which always fits (five identifying
 * strings, under 5 KB), so a verdict is published all the same and the push is not retried into the failure
 * queue for a problem no retry solves.
 */
export function publishableDetail(
  detail: ImageValidationDetail,
  options: PublishableDetailOptions,
): ImageValidationDetail {
  const maxBytes = options.maxBytes ?? VALIDATION_DETAIL_MAX_BYTES;
  let problem: string | undefined;
  let bounded: ImageValidationDetail | undefined;
  try {
    bounded = boundDetail(detail, { maxBytes });
  } catch (err) {
    // Only a detail that is not the declared type gets here (a string field that is not a string).
    problem = `bound: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
  if (bounded !== undefined) {
    const checked = imageValidationDetailSchema.safeParse(bounded, { reportInput: false });
    const size = utf8Bytes(JSON.stringify(bounded));
    if (!checked.success) {
      problem = `schema: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
    } else if (size > maxBytes) {
      problem = `size: the detail is ${size} bytes, over the ${maxBytes}-byte budget`;
    } else return bounded;
  }
  options.logger.error(
    'the verdict does not match its schema or size budget: a minimal error verdict is published instead',
    { problem, verdict: detail.verdict },
  );
  return minimalErrorDetail(detail);
}

const MINIMAL_ERROR_REASON =
  "internal error: the verdict computed for this image failed its own schema or size check, so only this minimal error verdict is published; see the function's logs";

/** The last-resort verdict: what was pushed, the `error` verdict and why, nothing taken from the content. */
function minimalErrorDetail(detail: ImageValidationDetail): ImageValidationDetail {
  const text = (v: unknown) => (typeof v === 'string' ? cleanText(v).value : '');
  return {
    schemaVersion: IMAGE_VALIDATION_SCHEMA_VERSION,
    registry: text(detail.registry),
    repository: text(detail.repository),
    tag: text(detail.tag),
    digest: text(detail.digest),
    mediaType: null,
    kind: null,
    platforms: [],
    required: [],
    missing: [],
    mismatches: [],
    ignored: [],
    warnings: [],
    verdict: 'error',
    reasons: [MINIMAL_ERROR_REASON],
    sourceEventId: typeof detail.sourceEventId === 'string' ? text(detail.sourceEventId) : null,
    pushedAt: typeof detail.pushedAt === 'string' ? text(detail.pushedAt) : null,
  };
}

type ListName = 'platforms' | 'required' | 'missing' | 'mismatches' | 'ignored' | 'warnings' | 'reasons';

/** The lists in the order of the detail, which is also the order the note names them in. */
const LIST_NAMES: readonly ListName[] = [
  'platforms',
  'required',
  'missing',
  'mismatches',
  'ignored',
  'warnings',
  'reasons',
];
const BY_IMPORTANCE: readonly ListName[] = [
  'missing',
  'required',
  'platforms',
  'reasons',
  'mismatches',
  'warnings',
  'ignored',
];
const LIST_LABELS: Record<ListName, readonly [string, string]> = {
  platforms: ['platform', 'platforms'],
  required: ['required platform', 'required platforms'],
  missing: ['missing platform', 'missing platforms'],
  mismatches: ['mismatch', 'mismatches'],
  ignored: ['ignored entry', 'ignored entries'],
  warnings: ['warning', 'warnings'],
  reasons: ['reason', 'reasons'],
};
/** Room kept for the note: at most VALIDATION_MAX_TEXT characters of 3 bytes, its quotes and a comma. */
const NOTE_RESERVE_BYTES = 3 * VALIDATION_MAX_TEXT + 3;

/** A cleaned value, its JSON size, and how many of its strings were shortened or lost characters. */
interface Cleaned<T> {
  value: T;
  bytes: number;
  shortened: number;
  stripped: number;
}

function values<T>(items: readonly Cleaned<T>[], n: number): T[] {
  return items.slice(0, n).map((i) => i.value);
}

// Line breaks, tabs and the other separators become one space; every other control character (C0, DEL, C1),
// format character (bidirectional overrides, zero-width spaces, the BOM, ...) and lone surrogate is removed.
const SPACING = /[\t\n\v\f\r\u0085\u2028\u2029]+/gu;
const NON_PRINTING = /[\p{Cc}\p{Cf}\p{Cs}]/gu;

function cleanText(s: string): Cleaned<string> {
  const printable = s.replace(SPACING, ' ').replace(NON_PRINTING, '');
  const value = clip(printable);
  return {
    value,
    bytes: utf8Bytes(JSON.stringify(value)),
    shortened: value === printable ? 0 : 1,
    stripped: printable === s ? 0 : 1,
  };
}

function cleanFields<T extends Record<string, string>>(fields: T): Cleaned<T> {
  const out: Record<string, string> = {};
  let shortened = 0;
  let stripped = 0;
  for (const [key, v] of Object.entries(fields)) {
    const c = cleanText(v);
    out[key] = c.value;
    shortened += c.shortened;
    stripped += c.stripped;
  }
  return { value: out as T, bytes: utf8Bytes(JSON.stringify(out)), shortened, stripped };
}

function clip(s: string): string {
  if (s.length <= VALIDATION_MAX_TEXT) return s;
  let end = VALIDATION_MAX_TEXT - 1;
  // Never keep half of a surrogate pair: alone it is not a character, and JSON would carry it as `\ud83d`.
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
