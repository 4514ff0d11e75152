import { createHash } from 'node:crypto';
import type { OperationContext } from '../../server/aws.ts';
import type { SandboxRequest, SandboxResponse } from '../../server/http.ts';
import { escapeXml } from '../../server/xml.ts';
import type { World } from '../../world.ts';
import { LAYER_BUCKET_PREFIX, type LayerReader } from '../ecr/layers.ts';
import { isValidBucketName, type ObjectRecord, type S3Backend } from './backend.ts';
import { CHECKSUM_ALGORITHMS, decodeBody } from './chunked.ts';
import { s3Errors } from './errors.ts';
import type { S3Target } from './routes.ts';

/**
 * S3 operations (REST, path style): the bucket and object calls the audit's report storage uses, plus the
 * presigned layer downloads `GetDownloadUrlForLayer` hands out. Each call is authorised with S3's IAM action
 * on `arn:<partition>:s3:::<bucket>[/<key>]`.
 */

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** S3's default content type for objects stored without one. */
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

type S3Handler = (ctx: OperationContext, req: SandboxRequest, target: S3Target) => Promise<SandboxResponse>;

const iso = (ms: number) => new Date(ms).toISOString();

function xml(body: string, headers: Record<string, string> = {}): SandboxResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', ...headers },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  };
}

function element(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;
}

function objectHeaders(o: ObjectRecord, withChecksums: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': o.contentType,
    etag: o.etag,
    'last-modified': new Date(o.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    'x-amz-server-side-encryption': 'AES256',
  };
  if (o.contentEncoding) headers['content-encoding'] = o.contentEncoding;
  if (o.cacheControl) headers['cache-control'] = o.cacheControl;
  if (o.contentDisposition) headers['content-disposition'] = o.contentDisposition;
  for (const [k, v] of Object.entries(o.metadata)) headers[`x-amz-meta-${k}`] = v;
  if (withChecksums) {
    for (const a of CHECKSUM_ALGORITHMS) {
      const v = o.checksums[a];
      if (v !== undefined) headers[`x-amz-checksum-${a}`] = v;
    }
    if (Object.keys(o.checksums).length > 0) headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  return headers;
}

/** `Range: bytes=a-b | a- | -n` → inclusive byte range, undefined for none/unsupported, 'invalid' for 416. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'invalid';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

function readObject(o: ObjectRecord, req: SandboxRequest): SandboxResponse {
  const range = parseRange(req.headers['range'], o.data.length);
  if (range === 'invalid') throw s3Errors.invalidRange(o.data.length);
  const checksumMode = req.headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED';
  if (range) {
    return {
      status: 206,
      headers: {
        ...objectHeaders(o, false),
        'content-range': `bytes ${range.start}-${range.end}/${o.data.length}`,
      },
      body: o.data.subarray(range.start, range.end + 1),
    };
  }
  return { status: 200, headers: objectHeaders(o, checksumMode), body: o.data };
}

export function s3Handlers(world: World, backend: S3Backend, layers: LayerReader): Record<string, S3Handler> {
  const arn = (bucket: string, key?: string) =>
    `arn:${world.partition}:s3:::${bucket}${key === undefined ? '' : `/${key}`}`;
  const bucketOf = (t: S3Target) => t.bucket ?? '';
  const keyOf = (t: S3Target) => t.key ?? '';

  /**
   * The ECR layer bucket belongs to "AWS", not to the account: only the sandbox's own key (which presigned the
   * URL GetDownloadUrlForLayer returned) may read it.
   */
  function layerObject(ctx: OperationContext, t: S3Target): ObjectRecord | undefined {
    if (!bucketOf(t).startsWith(LAYER_BUCKET_PREFIX)) return undefined;
    if (ctx.principal.accessKeyId !== world.serviceKey.accessKeyId) throw s3Errors.accessDenied();
    const data = layers(bucketOf(t), keyOf(t));
    if (!data) throw s3Errors.noSuchKey(keyOf(t));
    return {
      key: keyOf(t),
      data,
      etag: `"${createHash('md5').update(data).digest('hex')}"`,
      lastModified: world.clock.nowMs(),
      contentType: 'application/octet-stream',
      contentEncoding: undefined,
      cacheControl: undefined,
      contentDisposition: undefined,
      metadata: {},
      checksums: {},
    };
  }

  return {
    async Unsupported() {
      throw s3Errors.notImplemented();
    },

    async ListObjects() {
      // ListObjects (v1) is not emulated: every current SDK lists with ListObjectsV2.
      throw s3Errors.notImplemented();
    },

    async ListBuckets(ctx) {
      await ctx.authorize('s3:ListAllMyBuckets', '*');
      const buckets = [...backend.buckets.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map(
          (b) =>
            `<Bucket>${element('Name', b.name)}${element('CreationDate', iso(b.createdAt))}${element('BucketRegion', b.region)}</Bucket>`,
        )
        .join('');
      return xml(
        `<ListAllMyBucketsResult xmlns="${NS}"><Owner>${element('ID', world.accountId)}${element('DisplayName', 'sandbox')}</Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
      );
    },

    async CreateBucket(ctx, req, t) {
      const bucket = bucketOf(t);
      await ctx.authorize('s3:CreateBucket', arn(bucket));
      if (!isValidBucketName(bucket) || bucket.startsWith(LAYER_BUCKET_PREFIX))
        throw s3Errors.invalidBucketName(bucket);
      const body = req.body.toString('utf8').trim();
      let constraint: string | undefined;
      if (body !== '') {
        if (!/^(<\?xml[^>]*\?>\s*)?<CreateBucketConfiguration[\s>]/.test(body)) throw s3Errors.malformedXml();
        constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body)?.[1] || undefined;
      }
      // S3 files a bucket without a LocationConstraint in us-east-1, and refuses a constraint that
      // contradicts the regional endpoint (the global endpoint, us-east-1, takes any).
      if (ctx.region !== 'us-east-1' && constraint !== ctx.region)
        throw s3Errors.illegalLocationConstraint(constraint ?? 'unspecified');
      const b = backend.createBucket(bucket, constraint ?? 'us-east-1');
      return { status: 200, headers: { location: `/${b.name}` } };
    },

    async HeadBucket(ctx, _req, t) {
      const bucket = bucketOf(t);
      await ctx.authorize('s3:ListBucket', arn(bucket));
      const b = backend.bucket(bucket);
      return { status: 200, headers: { 'x-amz-bucket-region': b.region } };
    },

    async DeleteBucket(ctx, _req, t) {
      const bucket = bucketOf(t);
      await ctx.authorize('s3:DeleteBucket', arn(bucket));
      backend.deleteBucket(bucket);
      return { status: 204 };
    },

    async ListObjectsV2(ctx, req, t) {
      const bucket = bucketOf(t);
      await ctx.authorize('s3:ListBucket', arn(bucket));
      const b = backend.bucket(bucket);
      const q = req.url.searchParams;
      const prefix = q.get('prefix') ?? '';
      const delimiter = q.get('delimiter') ?? '';
      const maxKeysText = q.get('max-keys');
      const maxKeys = maxKeysText === null ? 1000 : Number(maxKeysText);
      if (!Number.isInteger(maxKeys) || maxKeys < 0)
        throw s3Errors.invalidArgument(
          'Provided max-keys not an integer or within integer range',
          'max-keys',
          maxKeysText ?? '',
        );
      const encodingType = q.get('encoding-type');
      if (encodingType !== null && encodingType !== 'url') {
        throw s3Errors.invalidArgument(
          'Invalid Encoding Method specified in Request',
          'encoding-type',
          encodingType,
        );
      }
      const token = q.get('continuation-token');
      let after = q.get('start-after') ?? '';
      if (token !== null) {
        const decoded = Buffer.from(token, 'base64url').toString('utf8');
        if (!decoded.startsWith('k:'))
          throw s3Errors.invalidArgument(
            'The continuation token provided is incorrect',
            'continuation-token',
            token,
          );
        after = decoded.slice(2);
      }
      const enc = (s: string) => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
      const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
      // Keys under one common prefix are contiguous once sorted: each group is one entry, continued after its last key.
      type Entry =
        | { kind: 'object'; o: ObjectRecord; lastKey: string }
        | { kind: 'prefix'; p: string; lastKey: string };
      const entries: Entry[] = [];
      for (const key of keys) {
        const i = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
        if (i < 0) {
          entries.push({ kind: 'object', o: b.objects.get(key) as ObjectRecord, lastKey: key });
          continue;
        }
        const p = key.slice(0, i + delimiter.length);
        const previous = entries.at(-1);
        if (previous?.kind === 'prefix' && previous.p === p) previous.lastKey = key;
        else entries.push({ kind: 'prefix', p, lastKey: key });
      }
      const page = entries.slice(0, maxKeys);
      const truncated = entries.length > page.length && page.length > 0;
      const contents = page.flatMap((e) => (e.kind === 'object' ? [e.o] : []));
      const prefixes = page.flatMap((e) => (e.kind === 'prefix' ? [e.p] : []));
      const last = page.at(-1)?.lastKey ?? '';
      const body =
        `<ListBucketResult xmlns="${NS}">${element('Name', b.name)}${element('Prefix', enc(prefix))}` +
        (delimiter ? element('Delimiter', enc(delimiter)) : '') +
        `${element('MaxKeys', maxKeys)}${element('KeyCount', contents.length + prefixes.length)}${element('IsTruncated', truncated)}` +
        (encodingType ? element('EncodingType', encodingType) : '') +
        (token !== null ? element('ContinuationToken', token) : '') +
        (q.get('start-after') !== null ? element('StartAfter', enc(q.get('start-after') ?? '')) : '') +
        (truncated ? element('NextContinuationToken', Buffer.from(`k:${last}`).toString('base64url')) : '') +
        contents
          .map(
            (o) =>
              `<Contents>${element('Key', enc(o.key))}${element('LastModified', iso(o.lastModified))}${element('ETag', o.etag)}` +
              `${Object.keys(o.checksums)
                .map((a) => element('ChecksumAlgorithm', a.toUpperCase()))
                .join('')}` +
              `${element('Size', o.data.length)}${element('StorageClass', 'STANDARD')}</Contents>`,
          )
          .join('') +
        prefixes.map((p) => `<CommonPrefixes>${element('Prefix', enc(p))}</CommonPrefixes>`).join('') +
        '</ListBucketResult>';
      return xml(body);
    },

    async PutObject(ctx, req, t) {
      const bucket = bucketOf(t);
      const key = keyOf(t);
      await ctx.authorize('s3:PutObject', arn(bucket, key));
      if (Buffer.byteLength(key) > 1024) throw s3Errors.keyTooLong();
      backend.bucket(bucket);
      const body = decodeBody(req);
      const metadata: Record<string, string> = {};
      for (const [h, v] of Object.entries(req.headers))
        if (h.startsWith('x-amz-meta-')) metadata[h.slice('x-amz-meta-'.length)] = v;
      const o = backend.putObject(bucket, key, {
        data: body.data,
        contentType: req.headers['content-type'] ?? DEFAULT_CONTENT_TYPE,
        contentEncoding: body.contentEncoding,
        cacheControl: req.headers['cache-control'],
        contentDisposition: req.headers['content-disposition'],
        metadata,
        checksums: body.checksums,
      });
      const headers: Record<string, string> = { etag: o.etag, 'x-amz-server-side-encryption': 'AES256' };
      for (const [a, v] of Object.entries(o.checksums)) headers[`x-amz-checksum-${a}`] = v;
      return { status: 200, headers };
    },

    async GetObject(ctx, req, t) {
      const layer = layerObject(ctx, t);
      if (layer) return readObject(layer, req);
      await ctx.authorize('s3:GetObject', arn(bucketOf(t), keyOf(t)));
      return readObject(backend.getObject(bucketOf(t), keyOf(t)), req);
    },

    async HeadObject(ctx, req, t) {
      const layer = layerObject(ctx, t);
      if (layer) return readObject(layer, req);
      await ctx.authorize('s3:GetObject', arn(bucketOf(t), keyOf(t)));
      return readObject(backend.getObject(bucketOf(t), keyOf(t)), req);
    },

    async DeleteObject(ctx, _req, t) {
      await ctx.authorize('s3:DeleteObject', arn(bucketOf(t), keyOf(t)));
      backend.deleteObject(bucketOf(t), keyOf(t));
      return { status: 204 };
    },
  };
}
