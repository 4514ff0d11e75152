/**
 * The errors of the audit bundle's signed AWS calls (`./request.ts`), shaped as the AWS SDK v3 shapes its
 * own so that core reads both alike (`packages/core/src/aws-errors.ts`): `name` is the AWS error code,
 * `$metadata.httpStatusCode` the status, `$fault` the side at fault. Messages carry the service's own message,
 * the operation and the status — never a request header, a credential or a body the caller sent.
 */

/** An answer from the service that is not a success (any HTTP status outside 2xx). */
export class AwsServiceError extends Error {
  public readonly $fault: 'client' | 'server';
  public readonly $metadata: { httpStatusCode: number; requestId?: string | undefined; attempts: number };

  public constructor(
    code: string,
    message: string,
    operation: string,
    status: number,
    requestId: string | undefined,
    attempts: number,
  ) {
    super(`${message || 'no message'} (${operation}, HTTP ${status})`);
    this.name = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId, attempts };
  }
}

/** No answer at all: the connection failed, or the attempt's timeout elapsed. */
export class AwsNetworkError extends Error {
  public readonly $metadata: { attempts: number };

  public constructor(code: string, operation: string, host: string, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${operation} to ${host} got no answer after ${attempts} attempt(s): ${reason}`, { cause });
    this.name = code;
    this.$metadata = { attempts };
  }
}

/**
 * The error code and message of a failed answer. The JSON protocols put the code in `x-amzn-ErrorType` and
 * in the body's `__type` (possibly namespaced `ns#Code`), the message in `message` or `Message`
 * (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization); S3 answers
 * `<Error><Code>…</Code><Message>…</Message></Error>`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses), and nothing at all
 * to HEAD, where the status is all there is.
 */
export function parseErrorBody(
  status: number,
  headers: Headers,
  text: string,
): { code: string; message: string } {
  const header = headers.get('x-amzn-errortype')?.split(':')[0];
  if (text.trimStart().startsWith('<')) {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
    return { code: code ?? header ?? statusCode(status), message };
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page, an empty body): the header or the status names the error.
  }
  const type = typeof body['__type'] === 'string' ? body['__type'] : (body['code'] ?? body['Code']);
  const code = header || (typeof type === 'string' ? type.split('#').pop() : undefined);
  const message = body['message'] ?? body['Message'];
  return { code: code || statusCode(status), message: typeof message === 'string' ? message : '' };
}

/** The SDK's names for a bare status (`@smithy/smithy-client` uses `NotFound` etc. for bodiless answers). */
function statusCode(status: number): string {
  if (status === 404) return 'NotFound';
  if (status === 403) return 'Forbidden';
  return `Http${status}`;
}
