import type { ProblemDetails, RequestStatus } from './types.ts';

/**
 * Every error `@nvcf-ecr/nvcf` throws, in one file off one base class (the layout of
 * `aws-powertools/powertools-lambda-typescript:packages/parameters/src/errors.ts`). {@link NvcfApiError} and its
 * subclasses are NVCF's
 * answers, parsed from Problem Details or the gateway's `requestStatus` body; {@link NvcfNetworkError} and
 * {@link NvcfTimeoutError} are requests that got no answer. Messages name the method, path, status and
 * detail; they never contain a request body (it carries the registry secret) or the bearer key, and any
 * secret-shaped text an answer echoes is scrubbed (see {@link scrubSecrets}).
 */

/** Base class of every error this package throws. */
export class NvcfError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NvcfError';
  }
}

/** What an error answer carried. */
export interface NvcfApiErrorInit {
  method: string;
  /** Path of the request (no query string, no host). */
  path: string;
  status: number;
  problem?: ProblemDetails | undefined;
  requestStatus?: RequestStatus | undefined;
  /** Body text when it was neither Problem Details nor `requestStatus` JSON (already scrubbed). */
  rawBody?: string | undefined;
  /** `Retry-After`, in milliseconds, when the answer had one. */
  retryAfterMs?: number | undefined;
}

/**
 * NVCF answered with an error status. `awsErrorCode` is set when `detail` relays an AWS error — NVCF checks a
 * credential against ECR on create and PATCH and passes AWS's JSON body through (`NVIDIA/nvcf`,
 * `RegistryCredentialValidationService` and `EcrRegistryUtils`) — so a
 * caller can tell NVCF's own 403 (`awsErrorCode` undefined, e.g. a missing scope) from an AWS 403, and retry
 * exactly the 400 `UnrecognizedClientException` of a not-yet-propagated IAM key.
 */
export class NvcfApiError extends NvcfError {
  public override name = 'NvcfApiError';
  public readonly method: string;
  public readonly path: string;
  public readonly status: number;
  public readonly type: string | undefined;
  public readonly title: string | undefined;
  public readonly detail: string | undefined;
  public readonly instance: string | undefined;
  public readonly requestStatus: RequestStatus | undefined;
  /** AWS error code relayed in `detail`, e.g. `UnrecognizedClientException`. */
  public readonly awsErrorCode: string | undefined;
  /** AWS error message relayed in `detail`. */
  public readonly awsErrorMessage: string | undefined;
  public readonly retryAfterMs: number | undefined;

  public constructor(init: NvcfApiErrorInit, options?: ErrorOptions) {
    const detail = init.problem?.detail !== undefined ? scrubSecrets(String(init.problem.detail)) : undefined;
    // The gateway's statusDescription is text an answer chose, like `detail`: scrubbed the same way.
    const statusDescription =
      init.requestStatus?.statusDescription !== undefined
        ? scrubSecrets(String(init.requestStatus.statusDescription))
        : undefined;
    const why = detail ?? statusDescription ?? init.rawBody ?? '';
    const title = init.problem?.title ?? init.requestStatus?.statusCode;
    super(
      `NVCF ${init.method} ${init.path} failed with ${init.status}${title ? ` ${title}` : ''}${why ? `: ${why}` : ''}`,
      options,
    );
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.type = init.problem?.type;
    this.title = init.problem?.title;
    this.detail = detail;
    this.instance = init.problem?.instance;
    this.requestStatus = init.requestStatus && { ...init.requestStatus, statusDescription };
    const aws = parseAwsError(detail);
    this.awsErrorCode = aws?.code;
    this.awsErrorMessage = aws?.message;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True when the error is AWS's answer relayed by NVCF, not NVCF's own verdict. */
  public get isAwsRelayed(): boolean {
    return this.awsErrorCode !== undefined;
  }
}

/** 400: validation, secret format, unrecognized registry, limit, SYSTEM or in-use delete, AWS 4xx relayed. */
export class NvcfBadRequestError extends NvcfApiError {
  public override name = 'NvcfBadRequestError';
}

/** 401: the NGC API key is missing, invalid or revoked (after one re-read of the key). */
export class NvcfUnauthorizedError extends NvcfApiError {
  public override name = 'NvcfUnauthorizedError';
}

/** 403: the key lacks the scope (`detail` "Access Denied"), or AWS refused the credential (`awsErrorCode` set). */
export class NvcfForbiddenError extends NvcfApiError {
  public override name = 'NvcfForbiddenError';
}

/** 404: no such credential, function, version or deployment in the key's account. */
export class NvcfNotFoundError extends NvcfApiError {
  public override name = 'NvcfNotFoundError';
}

/** 409: (hostname, name) already taken in the account. */
export class NvcfConflictError extends NvcfApiError {
  public override name = 'NvcfConflictError';
}

/** 429 after the retries ran out (or `Retry-After` asked for more than the retry budget allows). */
export class NvcfRateLimitError extends NvcfApiError {
  public override name = 'NvcfRateLimitError';
}

/** 5xx after the retries ran out; 502 with `type` `...:upstream` is ECR failing NVCF's credential check. */
export class NvcfServerError extends NvcfApiError {
  public override name = 'NvcfServerError';
}

/** No answer: DNS, connection refused or reset. A POST may nevertheless have been applied. */
export class NvcfNetworkError extends NvcfError {
  public override name = 'NvcfNetworkError';
  public readonly method: string;
  public readonly path: string;
  public constructor(method: string, path: string, reason: string, options?: ErrorOptions) {
    super(`NVCF ${method} ${path} failed without an answer: ${scrubSecrets(reason)}`, options);
    this.method = method;
    this.path = path;
  }
}

/** The request outlived its per-attempt timeout or the total retry budget. A POST may have been applied. */
export class NvcfTimeoutError extends NvcfError {
  public override name = 'NvcfTimeoutError';
  public readonly method: string;
  public readonly path: string;
  public readonly timeoutMs: number;
  public constructor(method: string, path: string, timeoutMs: number, options?: ErrorOptions) {
    super(`NVCF ${method} ${path} timed out after ${timeoutMs} ms`, options);
    this.method = method;
    this.path = path;
    this.timeoutMs = timeoutMs;
  }
}

/** The API key provider failed (e.g. Secrets Manager could not be read). */
export class NvcfApiKeyError extends NvcfError {
  public override name = 'NvcfApiKeyError';
}

/** A success answer whose body is not what the API documents (not JSON, or missing its wrapper). */
export class NvcfResponseError extends NvcfError {
  public override name = 'NvcfResponseError';
  public readonly method: string;
  public readonly path: string;
  public readonly status: number;
  public constructor(method: string, path: string, status: number, reason: string, options?: ErrorOptions) {
    super(`NVCF ${method} ${path} answered ${status} with an unexpected body: ${reason}`, options);
    this.method = method;
    this.path = path;
    this.status = status;
  }
}

/** The error class for an error status. */
export function apiErrorFor(init: NvcfApiErrorInit): NvcfApiError {
  switch (init.status) {
    case 400:
      return new NvcfBadRequestError(init);
    case 401:
      return new NvcfUnauthorizedError(init);
    case 403:
      return new NvcfForbiddenError(init);
    case 404:
      return new NvcfNotFoundError(init);
    case 409:
      return new NvcfConflictError(init);
    case 429:
      return new NvcfRateLimitError(init);
    default:
      return init.status >= 500 ? new NvcfServerError(init) : new NvcfApiError(init);
  }
}

/**
 * AWS JSON relayed in a Problem Details `detail`: `{"__type": "UnrecognizedClientException", "message": ...}`
 * (the example of https://docs.nvidia.com/nvcf/third-party-registries). `__type` may carry a namespace
 * (`com.amazon...#Code`); the code is after the `#`.
 */
export function parseAwsError(
  detail: string | undefined,
): { code: string; message: string | undefined } | undefined {
  if (!detail?.trimStart().startsWith('{')) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(detail);
  } catch {
    return undefined;
  }
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const type = b['__type'];
  if (typeof type !== 'string' || type === '') return undefined;
  const code = type.slice(type.lastIndexOf('#') + 1).split(':')[0] ?? type;
  const message =
    typeof b['message'] === 'string'
      ? b['message']
      : typeof b['Message'] === 'string'
        ? b['Message']
        : undefined;
  return { code, message };
}

// Shapes of secrets an answer could echo back (NVCF's validation errors quote rejected values): NGC keys,
// and long base64 runs (AWS secret keys are 40 characters, encoded credentials and ECR tokens longer).
// AWS access key ids (20 characters) and UUIDs (hyphenated) stay readable.
const NGC_KEY = /nvapi-[A-Za-z0-9_-]{8,}/g;
const LONG_BASE64 = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{32,}={0,2}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

/** Removes secret-shaped text from something an answer said, before it reaches a message or a log. */
export function scrubSecrets(text: string): string {
  return text
    .replace(BEARER, '$1 [redacted]')
    .replace(NGC_KEY, 'nvapi-[redacted]')
    .replace(LONG_BASE64, '[redacted]');
}
