import * as z from 'zod/mini';
import { DETAIL_TYPES, EVENT_SOURCE } from '../events/names.ts';
import type { Verdict } from '../image/policy.ts';
import type { IgnoredEntry, ImageKind, PlatformMismatch } from '../image/resolve.ts';

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
  /**
   * Whether the NVCF functions using this image were read: `checked` (then `functions` is complete and
   * `required` includes what their deployments run on), or `skipped` (NVCF unreachable or refusing, the NGC
   * API key missing: the verdict follows the repository policy alone, and a warning says why).
   */
  functionCheck: 'checked' | 'skipped';
  /** NVCF function versions whose image is this `repository:tag` (or digest), with the platforms they need. */
  functions: ValidationFunction[];
}

/** A function version that runs the pushed image (NVCF's `FunctionDto`: name, id, versionId, status). */
export interface ValidationFunction {
  name: string;
  id: string;
  versionId: string;
  status: string;
  /** Platforms its deployment runs on, `linux/<arch>`; empty when it is not deployed. */
  requires: string[];
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
  functionCheck: z.enum(['checked', 'skipped']),
  functions: list(
    z.strictObject({ name: text, id: text, versionId: text, status: text, requires: list(text) }),
  ),
});

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
