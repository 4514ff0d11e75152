import type { ObjectStore } from '@nvcf-ecr/core/ports';
import { type AwsCallerOptions, awsCaller, endpointFromEnvironment, regionalEndpoint } from './request.ts';

/**
 * The object store of the audit's Lambda bundle: S3 `GetObject`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html) and `PutObject`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html) as signed REST requests. S3 signs the
 * path as sent (no second escaping) and requires `x-amz-content-sha256`, which the signer adds.
 */

export interface S3StoreOptions extends Omit<AwsCallerOptions, 'service' | 'uriEscapePath'> {
  /**
   * An endpoint override (the sandbox; by default the environment's, as for SDK clients): requests are then
   * path-style, as the SDK's `forcePathStyle`.
   */
  readonly endpoint?: string | undefined;
}

/** RFC 3986 unreserved characters stay, everything else is percent-encoded (SigV4's URI encoding). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The object's URL. AWS: virtual-hosted style, `https://<bucket>.s3.<region>.amazonaws.com/<key>`, except for a
 * bucket name with a dot, which would not match S3's wildcard certificate and so goes path-style
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html). An endpoint override is
 * always path-style: `<endpoint>/<bucket>/<key>`.
 */
export function objectUrl(region: string, bucket: string, key: string, endpoint?: string | undefined): URL {
  const path = key.split('/').map(encodeSegment).join('/');
  const base = regionalEndpoint('s3', region, endpoint);
  if (endpoint || bucket.includes('.')) {
    const prefix = base.pathname.replace(/\/$/, '');
    return new URL(`${base.origin}${prefix}/${encodeSegment(bucket)}/${path}`);
  }
  return new URL(`${base.protocol}//${bucket}.${base.host}/${path}`);
}

export function s3ObjectStore(options: S3StoreOptions): ObjectStore {
  const call = awsCaller({ ...options, service: 's3', uriEscapePath: false });
  const endpoint = options.endpoint ?? endpointFromEnvironment('S3');
  const url = (bucket: string, key: string) => objectUrl(options.region, bucket, key, endpoint);
  return {
    async get(bucket, key) {
      try {
        return (await call({ operation: 's3:GetObject', method: 'GET', url: url(bucket, key) })).body;
      } catch (err) {
        if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async put(bucket, key, body, contentType) {
      await call({
        operation: 's3:PutObject',
        method: 'PUT',
        url: url(bucket, key),
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
      });
    },
  };
}
