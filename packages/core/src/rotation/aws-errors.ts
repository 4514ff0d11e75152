/**
 * How the rotation reads AWS SDK errors when it calls AWS *with the new key*: which answers mean "IAM has not
 * propagated the key yet" (wait), which are transient (wait), and which are final. Matched on the error's
 * `name` (the AWS error code the SDK puts there) and `$metadata`, as the SDK documents them; the SDK's
 * exception classes differ per client, and the same answer must be read alike from STS, ECR and ECR Public.
 */

import { isServerError, isThrottlingError } from '../aws-errors.ts';

export type AwsErrorKind = 'not-propagated' | 'transient' | 'denied' | 'other';

/**
 * Codes AWS answers for a key it does not know (yet): STS and Query APIs `InvalidClientTokenId`, JSON APIs
 * `UnrecognizedClientException` (as NVCF relays it, https://docs.nvidia.com/nvcf/third-party-registries). New
 * keys are eventually consistent
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency);
 * `SignatureDoesNotMatch`/`InvalidSignatureException` are included because a region that has the key id but
 * not yet its secret answers them — a truly wrong secret only costs the bounded wait.
 */
export const NOT_PROPAGATED_CODES: ReadonlySet<string> = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
]);

// Server faults by name, for answers that reach us without an HTTP status (throttling names and 5xx statuses
// are read by core's shared `isThrottlingError`/`isServerError`).
const SERVER_FAULTS = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServiceError',
  'ServerException',
]);

const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);

// Node's socket errors and the SDK's own timeouts: no answer came back.
const NETWORK = new Set([
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

export function awsErrorKind(err: unknown): AwsErrorKind {
  if (typeof err !== 'object' || err === null) return 'other';
  const e = err as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $fault?: unknown;
  };
  const name = typeof e.name === 'string' ? e.name : '';
  if (NOT_PROPAGATED_CODES.has(name)) return 'not-propagated';
  if (DENIED.has(name)) return 'denied';
  if (isThrottlingError(err) || isServerError(err) || SERVER_FAULTS.has(name)) return 'transient';
  if (NETWORK.has(name) || (typeof e.code === 'string' && NETWORK.has(e.code))) return 'transient';
  return 'other';
}

/** `Name: message` of an error, for reasons and logs (SDK messages carry no secret). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** The IAM user name of an `arn:<partition>:iam::<account>:user/<path/>name` ARN, or undefined. */
export function userNameOfArn(arn: string | undefined): string | undefined {
  const m = /^arn:[^:]+:iam::\d{12}:user\/(.+)$/.exec(arn ?? '');
  if (!m?.[1]) return undefined;
  return m[1].split('/').pop();
}
