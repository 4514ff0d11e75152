import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { SandboxRequest } from '../../server/http.ts';
import { s3Errors } from './errors.ts';

/**
 * Request bodies as S3 receives them from current SDKs. SDK v3 computes a flexible checksum (CRC32 by
 * default) for every PutObject; for streamed bodies it sends them `aws-chunked` (`Content-Encoding:
 * aws-chunked`, `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER` or a signed-chunk variant,
 * `x-amz-decoded-content-length`) with the checksum as a trailer after the last chunk. This decodes such
 * bodies, reads the checksums from headers or trailers and verifies those Node can compute (CRC32, SHA-1,
 * SHA-256); CRC32C and CRC64NVME are kept as sent and returned as is (the client computed them).
 */

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface DecodedBody {
  readonly data: Buffer;
  /** `x-amz-checksum-<algorithm>` values (base64) that came with the request, verified where possible. */
  readonly checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** Content-Encoding to store, without `aws-chunked`. */
  readonly contentEncoding: string | undefined;
}

function isChunked(req: SandboxRequest): boolean {
  const encoding = req.headers['content-encoding'] ?? '';
  const sha = req.headers['x-amz-content-sha256'] ?? '';
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

/** Parses `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n … 0\r\n<trailer>:<value>\r\n\r\n`. */
function decodeChunks(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  const line = (): string => {
    const end = body.indexOf('\r\n', pos);
    if (end < 0) throw s3Errors.malformedChunk('a chunk header is not terminated by CRLF');
    const text = body.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const sizeText = header.split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText))
      throw s3Errors.malformedChunk(`'${header.slice(0, 40)}' is not a chunk size`);
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) break;
    if (pos + size + 2 > body.length)
      throw s3Errors.malformedChunk('a chunk is shorter than its declared size');
    parts.push(body.subarray(pos, pos + size));
    pos += size;
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a)
      throw s3Errors.malformedChunk('a chunk is not followed by CRLF');
    pos += 2;
  }
  while (pos < body.length) {
    const text = line();
    if (text === '') break;
    const colon = text.indexOf(':');
    if (colon > 0) trailers[text.slice(0, colon).trim().toLowerCase()] = text.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}

function computeChecksum(algorithm: ChecksumAlgorithm, data: Buffer): string | undefined {
  switch (algorithm) {
    case 'crc32': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc32(data) >>> 0);
      return b.toString('base64');
    }
    case 'sha1':
      return createHash('sha1').update(data).digest('base64');
    case 'sha256':
      return createHash('sha256').update(data).digest('base64');
    default:
      return undefined;
  }
}

/** The CRC32 of `data` as S3 reports it (base64 of the big-endian 32-bit value). */
export function crc32Base64(data: Buffer): string {
  return computeChecksum('crc32', data) ?? '';
}

/** Decodes and verifies a PutObject body; throws S3's error for malformed bodies and wrong checksums. */
export function decodeBody(req: SandboxRequest): DecodedBody {
  let data = req.body;
  let trailers: Record<string, string> = {};
  if (isChunked(req)) {
    ({ data, trailers } = decodeChunks(req.body));
    const declared = req.headers['x-amz-decoded-content-length'];
    if (declared !== undefined && Number(declared) !== data.length) throw s3Errors.incompleteBody();
  }
  const md5 = req.headers['content-md5'];
  if (md5 !== undefined) {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(md5)) throw s3Errors.invalidDigest();
    if (createHash('md5').update(data).digest('base64') !== md5) throw s3Errors.badContentMd5();
  }
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = `x-amz-checksum-${algorithm}`;
    const value = trailers[name] ?? req.headers[name];
    if (value === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw s3Errors.invalidChecksum(name);
    const computed = computeChecksum(algorithm, data);
    if (computed !== undefined && computed !== value) throw s3Errors.badDigest(algorithm.toUpperCase());
    checksums[algorithm] = value;
  }
  const encodings = (req.headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'aws-chunked');
  return { data, checksums, contentEncoding: encodings.length > 0 ? encodings.join(',') : undefined };
}
