import { createHash, createHmac } from 'node:crypto';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { isThrottlingError } from '@nvcf-ecr/core/aws-errors';
import { partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { SignatureV4 } from '@smithy/signature-v4';
import { SDK_REQUEST_TIMEOUT_MS } from '../environment.ts';
import { AwsNetworkError, AwsServiceError, parseErrorBody } from './errors.ts';

/**
 * Signed AWS requests over `fetch`, for the few operations whose SDK client would cost the audit's Lambda
 * bundle more than its whole budget allows (test/bench/README.md, "Cold start"): the request is signed by
 * AWS's own SigV4 signer (`@smithy/signature-v4`, the one every SDK client in the bundle already carries), and
 * this module adds what the SDK clients would: credentials from the Lambda environment, a timeout per attempt,
 * the SDK's standard retries and errors shaped like the SDK's (`./errors.ts`).
 */

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface AwsCallerOptions {
  /** The SigV4 signing name (`s3`, `events`, `ecr-public`). */
  readonly service: string;
  readonly region: string;
  /** Explicit credentials (the sandbox); by default the execution role's, from the Lambda environment. */
  readonly credentials?: Credentials | undefined;
  /** S3 signs the path as sent; every other service escapes it once more (SigV4's canonical URI). */
  readonly uriEscapePath?: boolean | undefined;
  /** Attempts per call, the first included (the SDK clients' `maxAttempts`, `functions/lib/environment.ts`). */
  readonly maxAttempts?: number | undefined;
  /** Time allowed to one attempt, answer included (the SDK clients' `requestTimeout`). */
  readonly requestTimeoutMs?: number | undefined;
  readonly fetch?: typeof globalThis.fetch | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** In [0, 1): the backoff's jitter. */
  readonly random?: (() => number) | undefined;
}

export interface AwsRequest {
  /** `s3:GetObject`: what errors and logs call the request. */
  readonly operation: string;
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: Uint8Array | undefined;
}

export interface AwsResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/**
 * Standard retry mode (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html): transient
 * errors (no answer, a timeout, HTTP 500/502/503/504, the SDK's `RequestTimeout` codes) and throttling errors
 * are retried up to `maxAttempts` with truncated exponential backoff and full jitter — `random × min(20 s,
 * base × 2^attempt)`, with the SDK for JavaScript's bases: 100 ms, and 500 ms after throttling
 * (`@smithy/util-retry` `DEFAULT_RETRY_DELAY_BASE`, `THROTTLING_RETRY_DELAY_BASE`). Left out: the retry quota
 * (a token bucket that stops retries when most calls fail; these calls are a handful per invocation) and clock
 * skew correction (Lambda's clock is synchronised).
 */
const MAX_BACKOFF_MS = 20_000;
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['RequestTimeout', 'RequestTimeoutException', 'InternalError']);

export function retryDelayMs(attempt: number, throttled: boolean, random: () => number): number {
  return random() * Math.min(MAX_BACKOFF_MS, (throttled ? 500 : 100) * 2 ** attempt);
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** A SHA-256 (or HMAC-SHA-256 with a key) over node:crypto, in the `Checksum` shape the signer takes. */
class NodeSha256 {
  private readonly hash;
  public constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  public update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  public async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export type AwsCaller = (request: AwsRequest) => Promise<AwsResponse>;

/** A caller for one service in one region; it never logs, and its errors name no credential or payload. */
export function awsCaller(options: AwsCallerOptions): AwsCaller {
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    // The environment is read at each signing: Lambda's credentials do not change within an environment, but
    // this keeps a test that sets them after construction honest.
    credentials: options.credentials ?? fromEnv(),
    sha256: NodeSha256,
    uriEscapePath: options.uriEscapePath ?? true,
  });
  const maxAttempts = options.maxAttempts ?? 3;
  const timeoutMs = options.requestTimeoutMs ?? SDK_REQUEST_TIMEOUT_MS;
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;

  const attempt = async (request: AwsRequest, n: number): Promise<AwsResponse> => {
    const { url } = request;
    const signed = await signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...request.headers, host: url.host },
      body: request.body,
    });
    const { host: _host, ...headers } = signed.headers;
    // A large body gets a second per MiB on top: the SDK's timeout is idle time, this one bounds the attempt.
    const budget = timeoutMs + Math.ceil((request.body?.byteLength ?? 0) / 1_048_576) * 1000;
    let res: Response;
    let body: Uint8Array;
    try {
      res = await doFetch(url, {
        method: request.method,
        headers,
        ...(request.body ? { body: request.body } : {}),
        // A redirect is answered, not followed: re-sent elsewhere the request would carry a signature for
        // another host (the SDK does not follow redirects either); the 3xx becomes an error below.
        redirect: 'manual',
        signal: AbortSignal.timeout(budget),
      });
      body = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      const code = err instanceof Error && err.name === 'TimeoutError' ? 'TimeoutError' : networkCode(err);
      throw new AwsNetworkError(code, request.operation, url.host, n, err);
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, headers: res.headers, body };
    const { code, message } = parseErrorBody(res.status, res.headers, new TextDecoder().decode(body));
    const requestId = res.headers.get('x-amzn-requestid') ?? res.headers.get('x-amz-request-id') ?? undefined;
    throw new AwsServiceError(code, message, request.operation, res.status, requestId, n);
  };

  return async (request) => {
    for (let n = 1; ; n++) {
      try {
        return await attempt(request, n);
      } catch (err) {
        const throttled = isThrottlingError(err);
        if (n >= maxAttempts || !(throttled || isTransient(err))) throw err;
        await sleep(retryDelayMs(n - 1, throttled, random));
      }
    }
  };
}

function isTransient(err: unknown): boolean {
  if (err instanceof AwsNetworkError) return true;
  return (
    err instanceof AwsServiceError &&
    (TRANSIENT_STATUS.has(err.$metadata.httpStatusCode) || TRANSIENT_CODES.has(err.name))
  );
}

/** `ECONNREFUSED`, `ECONNRESET`…: undici puts the system error under `fetch failed`'s `cause`. */
function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'NetworkingError';
}

/**
 * Calls an AWS JSON 1.1 operation (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html): `POST /`
 * with `X-Amz-Target: <service prefix>.<Operation>` and the input as JSON; the answer is JSON.
 */
export async function awsJson(
  call: AwsCaller,
  endpoint: URL,
  operation: string,
  target: string,
  input: unknown,
): Promise<Record<string, unknown>> {
  const res = await call({
    operation,
    method: 'POST',
    url: new URL('/', endpoint),
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body: new TextEncoder().encode(JSON.stringify(input)),
  });
  const text = new TextDecoder().decode(res.body);
  return text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** What a service adapter takes: the caller's options but the signing name, and an endpoint override. */
export type AwsServiceOptions = Omit<AwsCallerOptions, 'service'> & {
  readonly endpoint?: string | undefined;
};

/**
 * One AWS JSON 1.1 service of a region: signs as `service`, at `<host>.<region>.amazonaws.com` unless the
 * options or the environment (`AWS_ENDPOINT_URL_<envId>`) name another endpoint, and calls {@link awsJson}.
 */
export function awsJsonService(
  options: AwsServiceOptions,
  service: string,
  host: string,
  envId: string,
): (operation: string, target: string, input: unknown) => Promise<Record<string, unknown>> {
  const call = awsCaller({ ...options, service });
  const endpoint = regionalEndpoint(host, options.region, options.endpoint ?? endpointFromEnvironment(envId));
  return (operation, target, input) => awsJson(call, endpoint, operation, target, input);
}

/**
 * The endpoint an SDK client would take from the environment: `AWS_ENDPOINT_URL_<SERVICE>` (the service id in
 * upper snake case: `S3`, `EVENTBRIDGE`, `ECR_PUBLIC`), else `AWS_ENDPOINT_URL`, unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html). Lambda sets none of them; a
 * deployed bundle run against the sandbox does (test/stacks/synth-command.test.ts).
 */
export function endpointFromEnvironment(serviceId: string, env: NodeJS.ProcessEnv = process.env) {
  if (env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS']?.toLowerCase() === 'true') return undefined;
  return env[`AWS_ENDPOINT_URL_${serviceId}`] || env['AWS_ENDPOINT_URL'] || undefined;
}

/**
 * A regional endpoint: the override when there is one (the sandbox), else `https://<prefix>.<region>.<dns
 * suffix>` with the DNS suffix of the region's partition — `amazonaws.com.cn` in China, `c2s.ic.gov` in
 * aws-iso, `amazonaws.eu` in the European Sovereign Cloud… (https://docs.aws.amazon.com/general/latest/gr/rande.html;
 * core's partition table, `@nvcf-ecr/core/ecr`, which the SDK's endpoint rules agree with). A region of no
 * known partition is given the commercial suffix, as the SDK's rules do.
 */
export function regionalEndpoint(prefix: string, region: string, override?: string | undefined): URL {
  if (override) return new URL(override);
  const suffix = partitionOfRegion(region)?.dnsSuffix ?? 'amazonaws.com';
  return new URL(`https://${prefix}.${region}.${suffix}`);
}
