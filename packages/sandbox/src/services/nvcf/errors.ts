import { ProblemError } from '../../errors.ts';

/**
 * NVCF's error answers, with the exact texts of the self-hosted NVCF service (read in NVIDIA/nvcf @ fadc0f8:
 * `RegistryCredentialService`, `RegistryCredentialLookupService`, `RegistryCredentialFunctionService`,
 * `AccountService`, `FunctionLookupService`, nv-boot's `BootResponseException`). Service errors are RFC 7807
 * Problem Details whose `type` is `urn:nv-boot:problem-details:<kebab class name>`; errors raised by Spring itself
 * (unreadable body, validation, type mismatch, 404/405/415) carry Spring's default `about:blank` type
 * (RFC 7807 §4.2).
 */

const URN = 'urn:nv-boot:problem-details:';

/** The nv-boot exception behind each status NVCF's own code raises. */
const BOOT_TYPES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  402: 'payment-required',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  422: 'unprocessable-entity',
  429: 'too-many-requests',
  502: 'upstream',
};

/** A Problem Details error raised by NVCF's own code (nv-boot exception: typed URN). */
export function bootProblem(status: number, detail: string): ProblemError {
  const kind = BOOT_TYPES[status];
  return new ProblemError(status, detail, kind ? { type: `${URN}${kind}` } : {});
}

/** A Problem Details error raised by Spring MVC itself (no nv-boot type: `about:blank`). */
export function springProblem(status: number, detail: string): ProblemError {
  return new ProblemError(status, detail, { type: 'about:blank' });
}

/** One failed bean-validation constraint (`ValidationAwareExceptionHandler`). */
export interface FieldViolation {
  readonly object: string;
  readonly field: string;
  readonly rejected: unknown;
  readonly message: string;
}

// Spring renders rejected values with `truncateRejectedValueForLog`: strings as they are, cut at 256 chars.
// Collections are shown the way Java's `AbstractCollection.toString()` prints them (`[a, b]`) — our reading
// of `ObjectUtils.nullSafeConciseToString`, not verified against a live NVCF.
const MAX_REJECTED_CHARS = 256;

function renderRejected(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  let raw: string;
  if (typeof value === 'string') raw = value;
  else if (Array.isArray(value))
    raw = `[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}]`;
  else if (typeof value === 'object') raw = JSON.stringify(value);
  else raw = String(value);
  if (raw.length <= MAX_REJECTED_CHARS) return raw;
  return `${raw.slice(0, MAX_REJECTED_CHARS)}... (truncated for log/response, total length ${raw.length} chars)`;
}

/**
 * `Validation failed: [object=…, field=…, rejected=…, message=…] […]` — the detail NVCF's
 * `ValidationAwareExceptionHandler.buildMethodArgumentNotValidDetail` writes (400, Spring type).
 */
export function validationProblem(violations: readonly FieldViolation[]): ProblemError {
  const parts = violations.map(
    (v) =>
      `[object=${v.object}, field=${v.field}, rejected=${renderRejected(v.rejected)}, message=${v.message}]`,
  );
  return springProblem(400, `Validation failed: ${parts.join(' ')}`);
}

/** The gateway's 401 body (see `nvcfErrors.unauthorized`). */
export interface GatewayUnauthorized {
  readonly requestStatus: { statusCode: 'UNAUTHORIZED'; statusDescription: string; requestId: string };
}

export const nvcfErrors = {
  /** Spring's `HttpMessageNotReadableException` detail: malformed JSON, wrong JSON types, unknown enum values. */
  unreadable: () => springProblem(400, 'Failed to read request'),
  /** Spring's `TypeMismatchException` detail (a path variable that is not a UUID, an unknown enum in a query). */
  typeMismatch: (name: string, value: string) =>
    springProblem(400, `Failed to convert '${name}' with value: '${value}'`),
  unsupportedMediaType: (contentType: string) =>
    springProblem(415, `Content-Type '${contentType}' is not supported.`),
  methodNotAllowed: (method: string) => springProblem(405, `Method '${method}' is not supported.`),
  noResource: (path: string) => springProblem(404, `No static resource ${path.replace(/^\//, '')}.`),
  /**
   * A valid key without the endpoint's scope: `@PreAuthorize` throws Spring Security's
   * `AuthorizationDeniedException("Access Denied")`, which nv-boot's `BootMvcExceptionHandler.handleAccessDenied`
   * turns into a `ForbiddenException` with that message.
   */
  accessDenied: () => bootProblem(403, 'Access Denied'),
  accountNotFound: (ncaId: string) => bootProblem(404, `Account with ncaId '${ncaId}' not found`),
  credentialNotFound: (id: string, ncaId: string) =>
    bootProblem(404, `Registry Credential '${id}': Not found in account '${ncaId}'`),
  alreadyExists: (ncaId: string, name: string, hostname: string) =>
    bootProblem(
      409,
      `Account '${ncaId}': Registry credential '${name}' for hostname '${hostname}' already exists in the account - ` +
        'Registry credentials must have unique hostname and credential name within an account',
    ),
  /**
   * PATCH rename onto another credential's (hostname, name); note NVCF's trailing space
   * (`RegistryCredentialService`).
   */
  updateConflict: (ncaId: string, id: string, name: string, hostname: string) =>
    bootProblem(
      409,
      `Account '${ncaId}': Registry credential '${id}' with name '${name}' for hostname '${hostname}' exists - ` +
        'Registry credentials must have unique hostname and credential name within an account ',
    ),
  notRecognized: (type: string, hostname: string) =>
    bootProblem(400, `Invalid request: ${type} registry with hostname ${hostname} is not yet recognized`),
  notRecognizedForType: (registryName: string, hostname: string, type: string) =>
    bootProblem(
      400,
      `Invalid request: '${registryName}' with hostname '${hostname}' not recognized for artifact type '${type}'`,
    ),
  limitExceeded: (ncaId: string, max: number, count: number) =>
    bootProblem(
      400,
      `Account '${ncaId}': Cannot add registry credential - maximum allowed registry credentials (${max}) exceeded. Current count: ${count}`,
    ),
  emptyUpdate: () => bootProblem(400, 'Invalid request: Either secret or artifact types must be specified'),
  systemCredential: () =>
    bootProblem(400, 'Invalid request: Cannot delete system provisioned registry credential'),
  /** `validateRegistryCredentialDeletion`: Java's `List.toString()` of one message per dependent version. */
  inUse: (id: string, users: readonly { functionId: string; versionId: string }[]) =>
    bootProblem(
      400,
      `[${users
        .map(
          (u) =>
            `Registry Credential '${id}': Cannot be deleted as it is in use by Function id '${u.functionId}', ` +
            `version '${u.versionId}' - Delete the function first to be able to delete the registry credential.`,
        )
        .join(', ')}]`,
    ),
  functionNotFound: (fid: string, ncaId: string) =>
    bootProblem(404, `Function id '${fid}': Not found in account '${ncaId}'`),
  versionNotFound: (fid: string, vid: string, ncaId: string) =>
    bootProblem(404, `Function id '${fid}', version '${vid}': Not found in account '${ncaId}'`),
  deploymentNotFound: (vid: string) => bootProblem(404, `Function version '${vid}': Deployment not found`),
  deploymentIdNotFound: (id: string) => bootProblem(404, `Deployment id '${id}': Deployment not found`),
  /** The remote check relays AWS's 403 body as the detail (`EcrRegistryUtils.get4xxException`). */
  awsForbidden: (body: string) => bootProblem(403, body || 'Forbidden'),
  /** Any other AWS 4xx: 400 with the raw AWS body as the detail. */
  awsBadRequest: (body: string) => bootProblem(400, body || 'Bad Request'),
  /** AWS 5xx: `UpstreamException` (502), `"ECR response with 5xx error <status> - <body>"`. */
  awsUpstream: (status: number, reason: string, body: string) =>
    bootProblem(502, `ECR response with 5xx error ${status} ${reason}${body ? ` - ${body}` : ''}`),
  internal: () => springProblem(500, 'Internal server error'),
};

/** Java `HttpStatus` names, as `HttpStatusCode.toString()` prints them in the 502 detail. */
export const HTTP_STATUS_NAMES: Record<number, string> = {
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};
