import * as z from 'zod/mini';
import { EventPublishError } from '../errors.ts';
import { DETAIL_TYPES } from '../events/names.ts';
import { putProjectEvent } from '../events/publish.ts';
import type { Logger } from '../log.ts';
import type { EventBus } from '../ports/aws.ts';
import { redactString } from '../redact.ts';

/**
 * The events rotation and retirement put on the project bus (source `nvcf-ecr-autopilot`), their detail
 * schemas (versioned by `schemaVersion`) and the one function that publishes them. Key ids are always masked
 * (`AKIA…WXYZ`); no detail carries a secret, and the free-text `reason` is scrubbed (core `redactString`)
 * before it is put in an event. Consumers dedupe on `token` (rotation) or `accessKeyId` + time: EventBridge
 * delivers at least once.
 */

export const ROTATION_EVENT_SCHEMA_VERSION = 1;

// `maskAccessKeyId` output: 4-letter prefix, an ellipsis, the last 4 — or `****` for short input.
const maskedKeyId = z
  .string()
  .check(z.regex(/^(?:[A-Z]{4}…[A-Z0-9]{4}|\*{4})$/, 'must be a masked access key id (AKIA…WXYZ)'));
const isoTime = z
  .string()
  .check(z.refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' }));
const version = z.literal(ROTATION_EVENT_SCHEMA_VERSION);

/** `NVCF Registry Credential Rotated`: AWSCURRENT moved; NVCF holds the new key; the old one is in its grace period. */
export const credentialRotatedDetailSchema = z.strictObject({
  schemaVersion: version,
  registry: z.string(),
  secretId: z.string(),
  /** The rotation's ClientRequestToken (the new version's id). */
  token: z.string(),
  userName: z.string(),
  registryHostname: z.string(),
  credentialName: z.string(),
  /** NVCF's id of the credential that now holds the new key. */
  nvcfCredentialId: z.nullable(z.string()),
  accessKeyId: maskedKeyId,
  /** The key the rotation replaced; null for the first rotation of a registry (bootstrap). */
  previousAccessKeyId: z.nullable(maskedKeyId),
  bootstrap: z.boolean(),
  keyCreatedAt: isoTime,
  /** When the previous key may be deactivated (`rotation.graceHours` after this event); null without one. */
  graceEndsAt: z.nullable(isoTime),
  rotatedAt: isoTime,
});
export type CredentialRotatedDetail = z.infer<typeof credentialRotatedDetailSchema>;

/**
 * `NVCF Registry Credential Rotation Failed`: a step failed (Secrets Manager retries the whole rotation) or
 * refused on purpose (`refused: true`: an operator must act). `currentKeyWorks` is the result of calling
 * STS with the AWSCURRENT key right after the failure (invariant 4: a failed rotation leaves it working).
 */
export const rotationFailedDetailSchema = z.strictObject({
  schemaVersion: version,
  /** The configured registry, or null when the secret belongs to none. */
  registry: z.nullable(z.string()),
  secretId: z.string(),
  token: z.string(),
  step: z.enum(['createSecret', 'setSecret', 'testSecret', 'finishSecret']),
  errorName: z.string(),
  reason: z.string(),
  refused: z.boolean(),
  /** The AWSCURRENT key, masked; null when there is none yet (bootstrap) or it could not be read. */
  currentAccessKeyId: z.nullable(maskedKeyId),
  currentKeyWorks: z.boolean(),
  /** Why `currentKeyWorks` is false, when it is. */
  currentKeyProblem: z.nullable(z.string()),
  failedAt: isoTime,
});
export type RotationFailedDetail = z.infer<typeof rotationFailedDetailSchema>;

/** `NVCF Previous Key Retired`: the previous key was deactivated (never deleted; createSecret deletes later). */
export const previousKeyRetiredDetailSchema = z.strictObject({
  schemaVersion: version,
  registry: z.string(),
  secretId: z.string(),
  userName: z.string(),
  accessKeyId: maskedKeyId,
  currentAccessKeyId: maskedKeyId,
  graceEndedAt: isoTime,
  lastUsedAt: z.nullable(isoTime),
  /** True when it was used within the last hour and deactivated anyway (`retire.whenInUse`, `maxPostponeHours`). */
  deactivatedWhileInUse: z.boolean(),
  reason: z.string(),
  retiredAt: isoTime,
});
export type PreviousKeyRetiredDetail = z.infer<typeof previousKeyRetiredDetailSchema>;

/** `NVCF Previous Key Retirement Postponed`: the grace period is over but the key may still be needed. */
export const retirementPostponedDetailSchema = z.strictObject({
  schemaVersion: version,
  registry: z.string(),
  secretId: z.string(),
  userName: z.string(),
  accessKeyId: maskedKeyId,
  currentAccessKeyId: maskedKeyId,
  graceEndedAt: isoTime,
  /**
   * `in-use`: `GetAccessKeyLastUsed` shows it used within the last hour; `nvcf-not-updated`: NVCF's
   * credential was not updated since the current key was created, so NVCF may still hold this key.
   */
  cause: z.enum(['in-use', 'nvcf-not-updated']),
  lastUsedAt: z.nullable(isoTime),
  lastUsedService: z.nullable(z.string()),
  /** When the retirement deactivates it even if still used (`maxPostponeHours`); null: never. */
  deactivateAnywayAt: z.nullable(isoTime),
  reason: z.string(),
  postponedAt: isoTime,
});
export type RetirementPostponedDetail = z.infer<typeof retirementPostponedDetailSchema>;

/** Every rotation event's detail type and schema, for validation in tests and by consumers. */
export const ROTATION_EVENT_SCHEMAS = {
  [DETAIL_TYPES.credentialRotated]: credentialRotatedDetailSchema,
  [DETAIL_TYPES.rotationFailed]: rotationFailedDetailSchema,
  [DETAIL_TYPES.previousKeyRetired]: previousKeyRetiredDetailSchema,
  [DETAIL_TYPES.retirementPostponed]: retirementPostponedDetailSchema,
} as const;

export type RotationEventType = keyof typeof ROTATION_EVENT_SCHEMAS;

export interface RotationEventMap {
  [DETAIL_TYPES.credentialRotated]: CredentialRotatedDetail;
  [DETAIL_TYPES.rotationFailed]: RotationFailedDetail;
  [DETAIL_TYPES.previousKeyRetired]: PreviousKeyRetiredDetail;
  [DETAIL_TYPES.retirementPostponed]: RetirementPostponedDetail;
}

/** Where events go; absent in a CLI run that was not given a bus. */
export interface EventTarget {
  readonly client: EventBus;
  readonly busName: string;
}

/**
 * Puts one event on the project bus. Best effort by design: it runs after the state change it reports
 * (AWSCURRENT moved, a key deactivated), so throwing would only make the invoker retry work that is done
 * and still lose the event; a failure is logged (error) and reported as `false`. The detail is checked
 * against its schema first: an event that breaks its own contract is a bug, and is logged as one.
 */
export async function publishRotationEvent<K extends RotationEventType>(
  target: EventTarget | undefined,
  detailType: K,
  detail: RotationEventMap[K],
  logger: Logger,
  resources: readonly string[] = [],
): Promise<boolean> {
  const checked = ROTATION_EVENT_SCHEMAS[detailType].safeParse(detail, { reportInput: false });
  if (!checked.success) {
    logger.error('rotation event does not match its schema: not published', {
      detailType,
      issues: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    });
    return false;
  }
  if (!target) return false;
  try {
    await putProjectEvent(target.client, target.busName, {
      detailType,
      detail,
      resources,
      subject: `the ${detailType} event`,
    });
    return true;
  } catch (err) {
    logger.error('rotation event could not be published', {
      detailType,
      error: err,
      ...(err instanceof EventPublishError ? { errorCode: err.code } : {}),
    });
    return false;
  }
}

/** A free-text reason as events and tags may carry it: secrets scrubbed, one line, bounded. */
export function eventReason(message: string, max = 1000): string {
  const line = redactString(message).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
