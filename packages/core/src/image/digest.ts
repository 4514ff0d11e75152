import { createHash } from 'node:crypto';
import { ManifestError } from '../errors.ts';
import { isSchema1MediaType } from './media-types.ts';

/**
 * Content digests (`<algorithm>:<encoded>`, opencontainers/image-spec:descriptor.md). Manifests and blobs are
 * content-addressed, so every byte the engine reads is checked against the digest it was asked for (ECR:
 * "when pulling by digest, no conversion is available",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html).
 */

/** Digest algorithms the engine can verify, with the length of their hex encoding. */
const ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };

/** The digest grammar of opencontainers/image-spec:descriptor.md. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Why `digest` is not a digest the engine can verify, or `undefined`. Only registered algorithms with
 * lower-case hex are accepted: anything else could not be checked, and (for the OCI layout source) would
 * not map to a safe file name.
 */
export function digestProblem(digest: string): string | undefined {
  if (!DIGEST_GRAMMAR.test(digest)) return `'${clip(digest)}' is not a digest of the form 'sha256:<64 hex>'`;
  const [algorithm = '', encoded = ''] = digest.split(':');
  const length = ALGORITHMS[algorithm];
  if (length === undefined) return `digest algorithm '${algorithm}' is not supported: use sha256 or sha512`;
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
    return `'${clip(digest)}' is not a valid ${algorithm} digest: expected ${length} lower-case hex characters`;
  }
  return undefined;
}

/** True when {@link digestProblem} finds nothing wrong. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && digestProblem(value) === undefined;
}

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest of `bytes` with the algorithm of `digest` (which must pass {@link digestProblem}). */
export function computeDigest(algorithm: string, bytes: Uint8Array): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Whether `bytes` are the content `digest` names. Signed schema1 manifests are addressed by their
 * payload without the JWS signatures (the registry strips `signatures` and digests the canonical form:
 * the first `formatLength` bytes plus the base64url `formatTail` of the protected header), so for those
 * the payload is tried when the raw bytes do not match.
 */
export function digestMatches(digest: string, bytes: Uint8Array, mediaType?: string): boolean {
  const [algorithm = ''] = digest.split(':');
  if (computeDigest(algorithm, bytes) === digest) return true;
  if (mediaType !== undefined && !isSchema1MediaType(mediaType)) return false;
  const payload = schema1Payload(bytes);
  return payload !== undefined && computeDigest(algorithm, payload) === digest;
}

/** Throws `ManifestError('digest-mismatch')` unless `bytes` hash to `digest`. */
export function verifyDigest(digest: string, bytes: Uint8Array, what: string, mediaType?: string): void {
  if (digestMatches(digest, bytes, mediaType)) return;
  throw new ManifestError(
    'digest-mismatch',
    `${what} ${digest} does not match its content (sha256 of the bytes received is ${sha256Digest(bytes)}): the source returned other bytes than the ones pushed; re-push the image or check the source`,
    digest,
  );
}

/** The signed payload of a JWS-signed schema1 manifest, or `undefined` when it is not one. */
function schema1Payload(bytes: Uint8Array): Uint8Array | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  const signatures = (doc as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) return undefined;
  const encoded = (signatures[0] as { protected?: unknown } | null)?.protected;
  if (typeof encoded !== 'string') return undefined;
  let header: { formatLength?: unknown; formatTail?: unknown };
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as typeof header;
  } catch {
    return undefined;
  }
  const { formatLength, formatTail } = header ?? {};
  if (typeof formatLength !== 'number' || !Number.isInteger(formatLength) || typeof formatTail !== 'string')
    return undefined;
  if (formatLength < 0 || formatLength > bytes.length) return undefined;
  const tail = Buffer.from(formatTail, 'base64url');
  const payload = new Uint8Array(formatLength + tail.length);
  payload.set(bytes.subarray(0, formatLength), 0);
  payload.set(tail, formatLength);
  return payload;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
