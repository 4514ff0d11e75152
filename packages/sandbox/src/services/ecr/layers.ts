/**
 * Where `GetDownloadUrlForLayer` points: AWS answers with a presigned URL of an S3 object in a bucket it owns
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html), so the sandbox
 * presigns a path-style URL on its own S3 front door, in a bucket named after the account and region, with the key
 * `<repository>/<digest>`. The S3 module serves those objects from the ECR storage after the front door has
 * verified the presigned signature.
 */

export const LAYER_BUCKET_PREFIX = 'sandbox-ecr-layers-';

/** Seconds a layer URL stays valid (ECR's URLs are short-lived; ten minutes is ample for a config blob). */
export const LAYER_URL_EXPIRY_SECONDS = 600;

export function layerBucket(accountId: string, region: string): string {
  return `${LAYER_BUCKET_PREFIX}${accountId}-${region}`;
}

/** `{region, repository, digest}` of a layer object, or undefined when `bucket`/`key` is not one. */
export function parseLayerObject(
  accountId: string,
  bucket: string,
  key: string,
): { region: string; repository: string; digest: string } | undefined {
  const prefix = `${LAYER_BUCKET_PREFIX}${accountId}-`;
  if (!bucket.startsWith(prefix)) return undefined;
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return undefined;
  return {
    region: bucket.slice(prefix.length),
    repository: key.slice(0, slash),
    digest: key.slice(slash + 1),
  };
}

/** Reads the bytes of a layer object (what the S3 module is given by the ECR module). */
export type LayerReader = (bucket: string, key: string) => Buffer | undefined;
