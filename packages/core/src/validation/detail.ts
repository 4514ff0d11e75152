import type { Logger } from '../log.ts';
import {
  IMAGE_VALIDATION_SCHEMA_VERSION,
  type ImageValidationDetail,
  imageValidationDetailSchema,
  utf8Bytes,
  VALIDATION_DETAIL_MAX_BYTES,
  VALIDATION_MAX_ITEMS,
  VALIDATION_MAX_TEXT,
  type ValidationFunction,
} from './schema.ts';

/**
 * Cutting a verdict to the bounds of its event (the schema and types: `schema.ts`, re-exported here).
 */
export * from './schema.ts';

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
    functions: detail.functions.map(cleanFunction),
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
    functionCheck: detail.functionCheck,
    functions: values(lists.functions, kept.functions),
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
    functionCheck: detail.functionCheck === 'checked' ? 'checked' : 'skipped',
    functions: [],
  };
}

type ListName =
  | 'platforms'
  | 'required'
  | 'missing'
  | 'mismatches'
  | 'ignored'
  | 'warnings'
  | 'reasons'
  | 'functions';

/** The lists in the order of the detail, which is also the order the note names them in. */
const LIST_NAMES: readonly ListName[] = [
  'platforms',
  'required',
  'missing',
  'mismatches',
  'ignored',
  'warnings',
  'reasons',
  'functions',
];
const BY_IMPORTANCE: readonly ListName[] = [
  'missing',
  'required',
  'platforms',
  'reasons',
  'functions',
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
  functions: ['function', 'functions'],
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

function cleanFunction(f: ValidationFunction): Cleaned<ValidationFunction> {
  const fields = cleanFields({ name: f.name, id: f.id, versionId: f.versionId, status: f.status });
  const requires = f.requires.slice(0, VALIDATION_MAX_ITEMS).map(cleanText);
  const value = { ...fields.value, requires: requires.map((r) => r.value) };
  return {
    value,
    bytes: utf8Bytes(JSON.stringify(value)),
    shortened: fields.shortened + requires.reduce((n, r) => n + r.shortened, 0),
    stripped: fields.stripped + requires.reduce((n, r) => n + r.stripped, 0),
  };
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
