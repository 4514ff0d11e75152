/**
 * Errors of `@nvcf-ecr/sandbox`. Two kinds:
 * - {@link ServiceError}: an answer the emulated service gives on the wire (AWS `__type`/`Code`, status and
 *   message; NVCF Problem Details). Handlers throw it; the protocol layer serialises it exactly.
 * - {@link SandboxError}: the sandbox itself cannot do what was asked (bad options, port in use, state file
 *   unreadable). These surface to the operator, never to an emulated client.
 */

/** Base class of every error the sandbox throws. */
export class SandboxError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SandboxError';
  }
}

/** A Lambda ARN the local runtime has no function for (AWS Lambda answers `ResourceNotFoundException`). */
export class FunctionNotFoundError extends SandboxError {
  public override name = 'FunctionNotFoundError';
  public readonly functionArn: string;
  public constructor(functionArn: string, options?: ErrorOptions) {
    super(`Function not found: ${functionArn}`, options);
    this.functionArn = functionArn;
  }
}

/**
 * An error response of an emulated service. `code` is the AWS error code (`__type` for JSON protocols,
 * `<Code>` for Query/XML and S3) and `status` the HTTP status AWS uses for it.
 */
export class ServiceError extends SandboxError {
  public override name = 'ServiceError';
  public readonly code: string;
  public readonly status: number;
  /** `Sender` (client fault) or `Receiver` (server fault), for Query/XML error bodies. */
  public readonly fault: 'Sender' | 'Receiver';
  /** Extra members some errors carry (e.g. S3 `<Key>`, ECR `failures`). */
  public readonly extra: Record<string, unknown>;
  public constructor(
    code: string,
    message: string,
    status = 400,
    extra: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.fault = status >= 500 ? 'Receiver' : 'Sender';
    this.extra = extra;
  }
}

/** NVCF error response: an RFC 7807 Problem Details body (`NVIDIA/nvcf`, `nv-boot-starter-exceptions`). */
export class ProblemError extends SandboxError {
  public override name = 'ProblemError';
  public readonly status: number;
  public readonly type: string | undefined;
  public readonly title: string;
  public readonly detail: string;
  public constructor(
    status: number,
    detail: string,
    options?: ErrorOptions & { type?: string | undefined; title?: string },
  ) {
    super(detail, options);
    this.status = status;
    this.type = options?.type;
    this.title = options?.title ?? REASONS[status] ?? 'Error';
    this.detail = detail;
  }
}

/** HTTP reason phrases used as Problem Details titles. */
export const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
