import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SandboxRequest } from '../server/http.ts';

/**
 * AWS Signature Version 4, verified by re-signing the request with the SDK's own signer
 * (`@smithy/signature-v4`) and the secret the sandbox issued for the access key, then comparing signatures.
 * Using the SDK's signer instead of our own canonicalisation means the sandbox accepts exactly what the real
 * clients send, and a request signed with the wrong secret fails here as it fails at AWS. The signature is
 * computed for the scope the request claims; whether that scope (service, region) and the signed headers are
 * acceptable for the endpoint is the front door's check (`server/aws.ts`), made before this one.
 */

export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** Where the signature was: the Authorization header or presigned query parameters. */
  readonly location: 'header' | 'query';
  /** Presigned URLs: seconds the signature is valid for. */
  readonly expiresSeconds: number | undefined;
  /** `X-Amz-Security-Token` (header or presigned parameter): what temporary credentials send. */
  readonly securityToken: string | undefined;
}

export type AuthParseResult =
  | { kind: 'none' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'ok'; auth: ParsedAuthorization; amzDate: string };

const HEADER =
  /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/** The key, date, region and service of a credential scope `<key>/<date>/<region>/<service>/aws4_request`. */
function scopeFields(scope: readonly string[]) {
  return {
    accessKeyId: scope[0] ?? '',
    date: scope[1] ?? '',
    region: scope[2] ?? '',
    service: scope[3] ?? '',
  };
}

/** Reads the SigV4 parameters from the Authorization header or, for presigned URLs, the query string. */
export function parseAuthorization(req: SandboxRequest): AuthParseResult {
  const header = req.headers['authorization'];
  if (header) {
    const m = HEADER.exec(header.trim());
    if (!m) return { kind: 'malformed', reason: 'Authorization header is not AWS4-HMAC-SHA256' };
    const scope = (m[1] ?? '').split('/');
    if (scope.length !== 5 || scope[4] !== 'aws4_request')
      return { kind: 'malformed', reason: 'credential scope is malformed' };
    const amzDate = req.headers['x-amz-date'];
    if (!amzDate) return { kind: 'malformed', reason: 'X-Amz-Date header is missing' };
    return {
      kind: 'ok',
      amzDate,
      auth: {
        ...scopeFields(scope),
        signedHeaders: (m[2] ?? '').split(';'),
        signature: m[3] ?? '',
        location: 'header',
        expiresSeconds: undefined,
        securityToken: req.headers['x-amz-security-token'],
      },
    };
  }
  const q = req.url.searchParams;
  if (q.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256') {
    const scope = (q.get('X-Amz-Credential') ?? '').split('/');
    const amzDate = q.get('X-Amz-Date') ?? '';
    const signature = q.get('X-Amz-Signature') ?? '';
    if (scope.length !== 5 || !amzDate || !/^[0-9a-f]{64}$/.test(signature))
      return { kind: 'malformed', reason: 'presigned parameters are malformed' };
    return {
      kind: 'ok',
      amzDate,
      auth: {
        ...scopeFields(scope),
        signedHeaders: (q.get('X-Amz-SignedHeaders') ?? 'host').split(';'),
        signature,
        location: 'query',
        expiresSeconds: Number(q.get('X-Amz-Expires') ?? '0'),
        securityToken: q.get('X-Amz-Security-Token') ?? undefined,
      },
    };
  }
  return { kind: 'none' };
}

/** `20240101T000000Z` → Date, or undefined when malformed. */
export function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const d = new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function formatAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function signerFor(
  service: string,
  region: string,
  accessKeyId: string,
  secretAccessKey: string,
): SignatureV4 {
  // S3 signs the path as sent (no double encoding) and includes the payload hash header.
  const s3 = service === 's3';
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region,
    service,
    sha256: Sha256,
    uriEscapePath: !s3,
    applyChecksum: s3,
  });
}

function queryObject(url: URL, exclude: readonly string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    if (exclude.includes(k)) continue;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function hostParts(req: SandboxRequest): { hostname: string; port: number | undefined } {
  const host = req.headers['host'] ?? '127.0.0.1';
  const i = host.lastIndexOf(':');
  if (i > 0 && !host.endsWith(']')) return { hostname: host.slice(0, i), port: Number(host.slice(i + 1)) };
  return { hostname: host, port: undefined };
}

/** True when `auth.signature` is what the SDK signer computes for this request with `secretAccessKey`. */
export async function verifySignature(
  req: SandboxRequest,
  auth: ParsedAuthorization,
  amzDate: string,
  secretAccessKey: string,
): Promise<boolean> {
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) return false;
  const signer = signerFor(auth.service, auth.region, auth.accessKeyId, secretAccessKey);
  const { hostname, port } = hostParts(req);
  if (auth.location === 'query') {
    const headers: Record<string, string> = {};
    for (const h of auth.signedHeaders) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    const unsigned = new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname,
      ...(port ? { port } : {}),
      path: req.rawPath,
      query: queryObject(req.url, [
        'X-Amz-Algorithm',
        'X-Amz-Credential',
        'X-Amz-Date',
        'X-Amz-Expires',
        'X-Amz-SignedHeaders',
        'X-Amz-Signature',
        'X-Amz-Security-Token',
      ]),
      headers,
    });
    const presigned = await signer.presign(unsigned, { signingDate, expiresIn: auth.expiresSeconds ?? 900 });
    return presigned.query?.['X-Amz-Signature'] === auth.signature;
  }
  const headers: Record<string, string> = {};
  for (const h of auth.signedHeaders) {
    const v = req.headers[h];
    if (v === undefined) return false;
    headers[h] = v;
  }
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname,
    ...(port ? { port } : {}),
    path: auth.service === 's3' ? req.rawPath : decodeURIComponentSafe(req.rawPath),
    query: queryObject(req.url),
    headers,
    body: req.body,
  });
  const signed = await signer.sign(request, { signingDate, signableHeaders: new Set(auth.signedHeaders) });
  const authorization = signed.headers['authorization'] ?? signed.headers['Authorization'] ?? '';
  const m = /Signature=([0-9a-f]{64})/.exec(authorization);
  return m?.[1] === auth.signature;
}

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Presigns a GET URL with the sandbox's own service key (what `GetDownloadUrlForLayer` returns: AWS hands out
 * presigned S3 URLs, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html).
 */
export async function presignGet(
  baseUrl: string,
  path: string,
  region: string,
  accessKeyId: string,
  secretAccessKey: string,
  expiresIn: number,
  now: Date,
): Promise<string> {
  const url = new URL(path, baseUrl);
  const signer = signerFor('s3', region, accessKeyId, secretAccessKey);
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: queryObject(url),
    headers: { host: url.host },
  });
  const presigned = await signer.presign(request, { signingDate: now, expiresIn });
  const out = new URL(url.pathname, baseUrl);
  for (const [k, v] of Object.entries(presigned.query ?? {})) {
    if (Array.isArray(v)) for (const x of v) out.searchParams.append(k, x);
    else if (v !== null && v !== undefined) out.searchParams.set(k, v);
  }
  return out.toString();
}
