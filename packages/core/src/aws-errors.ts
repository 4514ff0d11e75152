/**
 * How the domain reads AWS SDK v3 errors, in one place. Errors are matched on their `name` (the AWS error code
 * the SDK puts there) and `$metadata.httpStatusCode`/`$fault`, as the SDK documents them — not with
 * `instanceof`, because each client has its own exception classes and the same answer must be read alike from
 * ECR, STS, IAM, Secrets Manager and EventBridge.
 */

/**
 * Error names the SDK's retry strategy classifies as throttling (`@smithy/core`
 * `submodules/retry/service-error-classification/constants.js`), plus ECR's documented `ThrottleException`
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html).
 */
export const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'ThrottleException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

interface SdkErrorShape {
  name?: unknown;
  status?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

/** The HTTP status of an SDK error (`$metadata.httpStatusCode`) or of an error carrying `status`. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as SdkErrorShape;
  const meta = e.$metadata?.httpStatusCode;
  if (typeof meta === 'number') return meta;
  return typeof e.status === 'number' ? e.status : undefined;
}

/** The error's own `cause`, when it is a different object (wrapping errors keep the original there). */
function causeOf(err: object): unknown {
  const cause = (err as SdkErrorShape).cause;
  return cause !== undefined && cause !== err ? cause : undefined;
}

/** An answer that says "slow down": HTTP 429 or a throttling error name, here or in the `cause` chain. */
export function isThrottlingError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  if (httpStatusOf(err) === 429) return true;
  const name = (err as SdkErrorShape).name;
  if (typeof name === 'string' && THROTTLING_ERROR_NAMES.has(name)) return true;
  const cause = causeOf(err);
  return cause !== undefined && isThrottlingError(cause);
}

/** A server-side failure: HTTP 5xx or an SDK error whose `$fault` is `server`. */
export function isServerError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const status = httpStatusOf(err);
  return (err as SdkErrorShape).$fault === 'server' || (status !== undefined && status >= 500);
}

/**
 * Whether an error thrown by an AWS SDK call (or by the network under it) may go away on retry: throttling,
 * server faults, errors the SDK marks retryable, and failures that never got an answer from the service
 * (connection refused or reset, DNS, timeouts, aborts: no HTTP status and no fault side — the SDK's retry
 * middleware adds `$metadata.attempts` to those too, so `$metadata` alone proves nothing). Client faults (4xx)
 * are not. Only meaningful for errors that come straight from `client.send()`.
 */
export function isTransientAwsError(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  const e = err as Error & SdkErrorShape;
  if (httpStatusOf(e) === undefined && e.$fault === undefined) return true;
  return isServerError(e) || isThrottlingError(e) || e.$retryable !== undefined;
}

/** The AWS error code of an error (its `name`, where the SDK and the audit's signed calls put it). */
export function errorName(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const name = (err as SdkErrorShape).name;
  return typeof name === 'string' ? name : undefined;
}
