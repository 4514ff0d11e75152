/**
 * `@nvcf-ecr/nvcf`: a typed client for the NVIDIA Cloud Functions API — registry credentials, recognized
 * registries, functions and deployments
 * (https://docs.nvidia.com/cloud-functions/user-guide/latest/cloud-function/api.html) — with typed errors,
 * retries and no dependencies beyond Node's `fetch`.
 */
export { NvcfClient, type NvcfClientOptions, type NvcfLogger } from './client.ts';
export {
  apiErrorFor,
  NvcfApiError,
  type NvcfApiErrorInit,
  NvcfApiKeyError,
  NvcfBadRequestError,
  NvcfConflictError,
  NvcfError,
  NvcfForbiddenError,
  NvcfNetworkError,
  NvcfNotFoundError,
  NvcfRateLimitError,
  NvcfResponseError,
  NvcfServerError,
  NvcfTimeoutError,
  NvcfUnauthorizedError,
  parseAwsError,
  scrubSecrets,
} from './errors.ts';
export {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  resolveRetry,
} from './retry.ts';
export * from './types.ts';
