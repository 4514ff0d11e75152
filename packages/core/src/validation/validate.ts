import type { Config } from '../config/index.ts';
import { repositoryArn } from '../ecr/reference.ts';
import { ImageSourceError, ManifestError } from '../errors.ts';
import { DETAIL_TYPES } from '../events/names.ts';
import { type PutEventsApi, putProjectEvent } from '../events/publish.ts';
import { type ContentCache, cachingFetcher } from '../image/cache.ts';
import { errorEvaluation, evaluatePlatforms } from '../image/policy.ts';
import { type ResolvedImage, resolveImage } from '../image/resolve.ts';
import { type EcrImageApi, ecrFetcher, openEcrSource } from '../image/sources/ecr.ts';
import type { Logger } from '../log.ts';
import type { MetricSink } from '../metrics.ts';
import {
  IMAGE_VALIDATION_SCHEMA_VERSION,
  type ImageValidationDetail,
  publishableDetail,
  VALIDATION_EVENT_MAX_BYTES,
  verdictEnvelopeBytes,
} from './detail.ts';
import { type EcrImageActionEvent, type PushTarget, pushTarget, type SkipCode } from './event.ts';
import {
  type FunctionCatalogCache,
  functionReasons,
  functionRequirements,
  type NvcfFunctionsPort,
  requiredPlatforms,
} from './functions.ts';
import {
  durationText,
  NOT_FOUND_MAX_WAIT_MS,
  NOT_FOUND_SETTLED_AFTER_MS,
  nextNotFoundStep,
} from './not-found.ts';

/**
 * Push validation (packages/core/src/validation/README.md): an `ECR Image Action` becomes an
 * `NVCF Image Validation` verdict on the project bus. The image is re-derived from ECR by digest (never trust the event's
 * media types), its platforms resolved by the manifest engine and judged by the repository's policy.
 *
 * Failure policy:
 * - throttling, 5xx, network, a failed `PutEvents` entry: throw, so Lambda's asynchronous retries run and the
 *   event lands in the failure queue after the last one (the verdict would otherwise be lost);
 * - the image not found: looked up again within the invocation's time (`not-found.ts`); still not found, a
 *   recent push is thrown for Lambda to retry (ECR may not serve it yet), an old one becomes an `error`
 *   verdict — the image really is gone (deleted, or a lifecycle rule raced the push);
 * - malformed manifests, exceeded bounds, access denied, anything unexpected: an `error` verdict naming the
 *   problem. Retrying cannot change content-addressed bytes, and a crash would only loop.
 */

/** Metric (EMF, namespace `NvcfEcrAutopilot`) counting verdicts, dimension `Verdict`. */
export const VERDICT_METRIC = 'ImageValidations';
/**
 * Verdicts given without the NVCF function check (NVCF unreachable, the NGC key unreadable): the check fails
 * open, so a broken grant or an NVCF outage would otherwise pass unseen. Alarm on it being above zero.
 */
export const FUNCTION_CHECK_SKIPPED_METRIC = 'FunctionChecksSkipped';
/** Metric counting events that carry no verdict, dimension `Reason` (a {@link SkipCode}). */
export const SKIPPED_METRIC = 'PushEventsSkipped';

/** The one EventBridge operation the validation calls (`sdkEventBus(eventBridgeClient)` implements it). */
export type VerdictEventsApi = PutEventsApi;

export interface ValidatePushDeps {
  readonly config: Config;
  /** An ECR client for the region of the pushed repository (the edge builds one per region, once). */
  readonly ecr: (region: string) => EcrImageApi;
  readonly events: VerdictEventsApi;
  /** The project bus, name or ARN. */
  readonly eventBusName: string;
  /**
   * Manifests and config blobs by digest, across warm invocations (module scope at the edge). With it, a
   * redelivered event costs no ECR call at all: content addressed by a digest never changes.
   */
  readonly cache?: ContentCache | undefined;
  /** `fetch` for the presigned layer URLs (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  readonly logger: Logger;
  readonly metrics: MetricSink;
  readonly now: () => Date;
  /** How the not-found look-ups wait (tests pass a fake). */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /**
   * What the invocation has left, in milliseconds (the Lambda context's `getRemainingTimeInMillis`): the
   * not-found look-ups stop in time to report. Without it, they stop after {@link NOT_FOUND_MAX_WAIT_MS}.
   */
  readonly remainingMs?: (() => number) | undefined;
  /**
   * NVCF's functions and deployments (`NvcfClient`): an image some function versions run must also provide
   * what their deployments run on. Absent, the function check is `skipped`.
   */
  readonly nvcf?: NvcfFunctionsPort | undefined;
  /** The function list and deployments across warm invocations (module scope at the edge). */
  readonly functionCache?: FunctionCatalogCache | undefined;
}

export type ValidationOutcome =
  | { readonly skipped: true; readonly code: SkipCode; readonly reason: string }
  | { readonly skipped: false; readonly detail: ImageValidationDetail; readonly eventId: string | undefined };

/**
 * Validates one pushed image and publishes the verdict. Returns what it did; throws only transient errors
 * ({@link ImageSourceError} with `transient`, {@link EventPublishError}), which the caller lets Lambda retry.
 *
 * Round trips (the minimum the resolution allows): a single manifest
 * is 1 `BatchGetImage` + 1 `GetDownloadUrlForLayer` + 1 GET; an index with k ≤ 100 runnable children is 1
 * `BatchGetImage` (the index) + 1 `BatchGetImage` (all children) + k × (`GetDownloadUrlForLayer` + GET), at
 * most 8 at a time (`CONFIG_FETCH_CONCURRENCY`); attestation entries are never fetched. In general each index
 * level costs ⌈m / 100⌉ more `BatchGetImage` for its m new manifests (the API takes 100 ids per call). With a
 * warm cache, an image seen before costs its `BatchGetImage` calls only (manifests are always confirmed in
 * ECR, so a deleted child is never taken as present) and no config download. Every verdict then costs one
 * `BatchGetImage` of the tag ({@link unlessSuperseded}) before its `PutEvents`.
 *
 * @example
 * const outcome = await validatePush(event, { config, ecr: (r) => ecrClients(r), events, eventBusName, logger, metrics, now });
 * if (!outcome.skipped) outcome.detail.verdict; // 'compliant'
 */
export async function validatePush(
  event: EcrImageActionEvent,
  deps: ValidatePushDeps,
): Promise<ValidationOutcome> {
  const target = pushTarget(event, deps.config);
  const detail = event.detail;
  const log = deps.logger.child({
    ecrEventId: event.id,
    repository: detail['repository-name'],
    tag: detail['image-tag'],
    digest: detail['image-digest'],
  });
  if ('skip' in target) {
    // Malformed events are errors worth an alarm; the rest are the normal traffic of a busy registry.
    if (target.skip === 'malformed' || target.skip === 'not-an-image-action') {
      log.error(`push event skipped: ${target.reason}`, { skip: target.skip });
    } else log.info(`push event skipped: ${target.reason}`, { skip: target.skip });
    deps.metrics({ name: SKIPPED_METRIC, value: 1, unit: 'Count', dimensions: { Reason: target.skip } });
    return { skipped: true, code: target.skip, reason: target.reason };
  }

  const { registry } = target;
  // The repository ARN lets rules and subscribers filter on `resources` without parsing the detail.
  const resources = [
    repositoryArn(registry.partition, registry.region, registry.accountId, target.repository),
  ];
  // Cut to what the entry leaves for the detail, checked against the schema (a failure is logged and becomes
  // a minimal `error` verdict): an entry EventBridge refuses would be retried into the failure queue, and
  // nobody would get a verdict at all.
  const judged = await judge(target, event, deps, log);
  const verdict = publishableDetail(await unlessSuperseded(judged, target, deps, log), {
    maxBytes: VALIDATION_EVENT_MAX_BYTES - verdictEnvelopeBytes(resources),
    logger: log,
  });
  const eventId = await publish(verdict, target, resources, deps);
  deps.metrics({ name: VERDICT_METRIC, value: 1, unit: 'Count', dimensions: { Verdict: verdict.verdict } });
  const fields = {
    verdict: verdict.verdict,
    missing: verdict.missing,
    platforms: verdict.platforms,
    functionCheck: verdict.functionCheck,
    eventId,
  };
  if (verdict.functionCheck === 'skipped') {
    deps.metrics({ name: FUNCTION_CHECK_SKIPPED_METRIC, value: 1, unit: 'Count' });
  }
  if (verdict.verdict === 'compliant' && verdict.functionCheck === 'checked')
    log.info('image validated', fields);
  else log.warn('image validated', { ...fields, reasons: verdict.reasons, warnings: verdict.warnings });
  return { skipped: false, detail: verdict, eventId };
}

/**
 * Resolves and evaluates the image; every outcome but a transient failure becomes a detail (not yet cut to
 * the bounds of the event: {@link publishableDetail} does that).
 */
async function judge(
  target: PushTarget,
  event: EcrImageActionEvent,
  deps: ValidatePushDeps,
  log: Logger,
): Promise<ImageValidationDetail> {
  // Read while the image resolves: it never throws (NVCF down or refusing is `skipped`, with a warning).
  const users = functionRequirements(target, deps);
  const base = {
    schemaVersion: IMAGE_VALIDATION_SCHEMA_VERSION,
    registry: target.hostname,
    repository: target.repository,
    tag: target.tag,
    digest: target.digest,
    sourceEventId: event.id ?? null,
    pushedAt: pushedAt(event),
  } as const;
  let resolved: ResolvedImage | Gone;
  try {
    resolved = await resolveWithRetry(target, event, deps, log);
  } catch (err) {
    if (isTransient(err)) throw err;
    resolved = { gone: err, note: undefined };
  }
  if ('gone' in resolved) {
    const cause = resolved.gone;
    log.error('image could not be resolved', {
      error: cause instanceof Error ? { name: cause.name, message: cause.message } : String(cause),
    });
    const fns = await users;
    return {
      ...base,
      mediaType: event.detail['manifest-media-type'] ?? null,
      kind: null,
      platforms: [],
      required: requiredPlatforms(target, fns).required,
      missing: [],
      mismatches: [],
      ignored: [],
      warnings: fns.warnings,
      verdict: 'error',
      reasons: [
        ...errorEvaluation(cause).reasons,
        ...(resolved.note ? [resolved.note] : []),
        ...functionReasons(fns),
      ],
      functionCheck: fns.check,
      functions: fns.functions,
    };
  }
  const fns = await users;
  const { required, requiredFor } = requiredPlatforms(target, fns);
  if (fns.functions.length > 0) log.info('the image is used by NVCF functions', { functions: fns.functions });
  const evaluation = evaluatePlatforms(resolved, required, { repository: target.repository, requiredFor });
  return {
    ...base,
    mediaType: resolved.mediaType,
    kind: resolved.kind,
    platforms: resolved.platforms,
    required: evaluation.required,
    missing: evaluation.missing,
    mismatches: resolved.mismatches,
    ignored: resolved.ignored,
    warnings: [...resolved.warnings, ...fns.warnings],
    verdict: evaluation.verdict,
    reasons: [...evaluation.reasons, ...functionReasons(fns)],
    functionCheck: fns.check,
    functions: fns.functions,
  };
}

/** The image could not be resolved for good: why, and for a final "not found", a sentence saying so. */
interface Gone {
  readonly gone: unknown;
  readonly note: string | undefined;
}

/**
 * Resolves the pushed image; a "not found" is looked up again as {@link nextNotFoundStep} says. Returns
 * {@link Gone} when "not found" is final, and throws a transient {@link ImageSourceError} (Lambda retries)
 * when the push is recent and this invocation's time for waiting is spent.
 */
async function resolveWithRetry(
  target: PushTarget,
  event: EcrImageActionEvent,
  deps: ValidatePushDeps,
  log: Logger,
): Promise<ResolvedImage | Gone> {
  const { registry, repository } = target;
  const direct = ecrFetcher({
    ecr: deps.ecr(registry.region),
    repository,
    registryId: registry.accountId,
    fetch: deps.fetch,
  });
  // Presence is per repository (and registry), and a warm cache outlives deletions: manifests are always
  // read from ECR (which proves they still exist); only config blobs come from the cache.
  const fetcher = deps.cache
    ? cachingFetcher(direct, deps.cache, {
        scope: `${target.hostname}/${repository}`,
        confirmManifests: true,
      })
    : direct;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pushed = pushedAt(event);
  let waitedMs = 0;
  for (let lookups = 1; ; lookups++) {
    try {
      return await resolveImage(fetcher, target.digest);
    } catch (err) {
      if (!(err instanceof ManifestError && err.code === 'not-found')) throw err;
      const ageMs = pushed === null ? undefined : deps.now().getTime() - Date.parse(pushed);
      const next = nextNotFoundStep({ lookups, waitedMs, ageMs, remainingMs: deps.remainingMs?.() });
      const after = ageMs === undefined ? '' : ` ${durationText(ageMs)} after the push`;
      if (next.step === 'final') {
        return {
          gone: err,
          note: `not found${after} (${lookups} look-up${lookups === 1 ? '' : 's'}): the image (or part of it) was deleted after the push, or never fully pushed`,
        };
      }
      if (next.step === 'retry-later') {
        log.warn('image not found yet: left to Lambda to retry', { lookups, ageMs, missing: err.digest });
        throw new ImageSourceError(
          `${err.message};${after} ECR may not serve it yet, so the event is retried, until it is found or the push is over ${durationText(NOT_FOUND_SETTLED_AFTER_MS)} old`,
          true,
          { cause: err },
        );
      }
      log.info('image not found yet, looking again', { lookups, delayMs: next.ms, missing: err.digest });
      await sleep(next.ms);
      waitedMs += next.ms;
    }
  }
}

/** The ECR event's `time` in ISO-8601, or `null` when it is absent or not a date. */
function pushedAt(event: EcrImageActionEvent): string | null {
  const time = event.time;
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) return null;
  return new Date(Date.parse(time)).toISOString();
}

/**
 * Right before publishing, one `BatchGetImage` of the tag confirms it still points at the judged digest.
 * Two quick pushes of one tag are judged concurrently and their verdicts can be published in either order;
 * the older one, once the tag has moved on, becomes `superseded` (never notified) and names the digest the tag
 * points at now, whose own verdict follows. A failure to confirm that will pass (throttling) is thrown, so
 * Lambda retries; any other (the tag deleted, access denied) leaves the verdict as judged, with a warning.
 */
async function unlessSuperseded(
  detail: ImageValidationDetail,
  target: PushTarget,
  deps: ValidatePushDeps,
  log: Logger,
): Promise<ImageValidationDetail> {
  const { registry, repository, tag, digest } = target;
  const source = openEcrSource({
    ecr: deps.ecr(registry.region),
    repository,
    registryId: registry.accountId,
  });
  let now: string;
  try {
    now = (await source.resolveReference(tag)).digest;
  } catch (err) {
    if (isTransient(err)) throw err;
    // The tag gone (deleted, or not readable yet) proves no later push: the verdict stands, with a warning.
    const message = err instanceof Error ? err.message : String(err);
    log.warn('could not confirm the tag still points at the digest', { error: message });
    return {
      ...detail,
      warnings: [...detail.warnings, `not confirmed that ${tag} still points at ${digest}: ${message}`],
    };
  }
  if (now === digest) return detail;
  const moved = `superseded: ${repository}:${tag} now points at ${now}, pushed after this one; its own verdict follows`;
  log.info('verdict superseded: the tag moved on', { judged: detail.verdict, now });
  return {
    ...detail,
    verdict: 'superseded',
    reasons: [moved, `judged ${detail.verdict} before the tag moved: ${detail.reasons.join('; ')}`],
  };
}

/** Puts the verdict on the project bus; a failed entry is thrown (transient: Lambda retries the event). */
async function publish(
  detail: ImageValidationDetail,
  target: PushTarget,
  resources: readonly string[],
  deps: ValidatePushDeps,
): Promise<string | undefined> {
  return putProjectEvent(deps.events, deps.eventBusName, {
    detailType: DETAIL_TYPES.imageValidation,
    detail,
    resources,
    time: deps.now(),
    subject: `the ${detail.verdict} verdict for ${target.repository}:${target.tag}`,
  });
}

/**
 * Errors worth Lambda's retry: the source failing transiently. The engine already turns a fetcher's unknown
 * errors into transient `ImageSourceError`s, so anything else that reaches here is a bug or bad content, for
 * which a retry would only loop: it becomes an `error` verdict.
 */
function isTransient(err: unknown): boolean {
  return err instanceof ImageSourceError && err.transient;
}
