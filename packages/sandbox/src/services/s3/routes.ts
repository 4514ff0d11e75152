import type { RestServiceDef } from '../../server/aws.ts';
import type { SandboxRequest } from '../../server/http.ts';
import type { World } from '../../world.ts';
import type { LayerReader } from '../ecr/layers.ts';
import type { S3Backend } from './backend.ts';
import { s3Handlers } from './handlers.ts';

/**
 * S3 over REST, path style (`/<bucket>/<key>`): the front door routes every request that is neither JSON
 * nor Query here. Sub-resources the sandbox does not emulate (`?acl`, `?uploads`, `?tagging`, …) are named
 * `Unsupported` and answered with S3's `NotImplemented`.
 */

export interface S3Target {
  readonly bucket: string | undefined;
  readonly key: string | undefined;
}

/** Query parameters that select an S3 sub-resource (anything but the plain bucket/object). */
const SUBRESOURCES = new Set([
  'acl',
  'analytics',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'legal-hold',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
  'attributes',
  'accelerate',
]);

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Bucket and key of a path-style request (`undefined` bucket: the service root; `undefined` key: the bucket). */
export function s3Target(req: SandboxRequest): S3Target | undefined {
  const path = req.rawPath.replace(/^\/+/, '');
  if (path === '') return { bucket: undefined, key: undefined };
  const slash = path.indexOf('/');
  const bucket = decode(slash < 0 ? path : path.slice(0, slash));
  const rawKey = slash < 0 ? '' : path.slice(slash + 1);
  const key = decode(rawKey);
  if (bucket === undefined || key === undefined) return undefined;
  return { bucket, key: key === '' ? undefined : key };
}

export function s3OperationOf(req: SandboxRequest): string | undefined {
  const target = s3Target(req);
  if (!target) return undefined;
  const q = req.url.searchParams;
  if ([...q.keys()].some((k) => SUBRESOURCES.has(k))) return 'Unsupported';
  const m = req.method;
  if (target.bucket === undefined) return m === 'GET' ? 'ListBuckets' : undefined;
  if (target.key === undefined) {
    if (m === 'PUT') return 'CreateBucket';
    if (m === 'HEAD') return 'HeadBucket';
    if (m === 'DELETE') return 'DeleteBucket';
    if (m === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    return undefined;
  }
  if (m === 'PUT') return req.headers['x-amz-copy-source'] !== undefined ? 'Unsupported' : 'PutObject';
  if (m === 'GET') return 'GetObject';
  if (m === 'HEAD') return 'HeadObject';
  if (m === 'DELETE') return 'DeleteObject';
  return undefined;
}

export function s3Service(world: World, backend: S3Backend, layers: LayerReader): RestServiceDef {
  const handlers = s3Handlers(world, backend, layers);
  return {
    protocol: 'rest-xml',
    id: 's3',
    signingName: 's3',
    operationOf: s3OperationOf,
    handle: async (ctx, req) => {
      const target = s3Target(req) ?? { bucket: undefined, key: undefined };
      const handler = handlers[ctx.operation] ?? handlers['Unsupported'];
      if (!handler) throw new Error(`no S3 handler for ${ctx.operation}`);
      return handler(ctx, req, target);
    },
  };
}
