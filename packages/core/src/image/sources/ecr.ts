import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  GetDownloadUrlForLayerCommand,
  type GetDownloadUrlForLayerCommandOutput,
  type Image,
  type ImageFailure,
  type ImageIdentifier,
  LayerInaccessibleException,
  LayersNotFoundException,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { isTransientAwsError } from '../../aws-errors.ts';
import { CoreError, ImageSourceError, ManifestError, PartialManifestsError } from '../../errors.ts';
import { digestProblem } from '../digest.ts';
import type { ImageFetcher, ImageSource, ManifestBlob, RootDescriptor } from '../fetcher.ts';
import { ACCEPTED_MANIFEST_MEDIA_TYPES } from '../media-types.ts';

/**
 * Images in a private ECR repository, read through the ECR API
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html): manifests with
 * `BatchGetImage` by digest (exact pushed bytes: ECR converts formats only when pulling by tag), config blobs
 * with `GetDownloadUrlForLayer` and a GET of the presigned S3 URL it answers (what AWS's own containerd
 * resolver does, awslabs/amazon-ecr-containerd-resolver:ecr/fetcher.go). The push-validation Lambda, the
 * audit and `nvcf-ecr check <ecr-uri>` read ECR through this.
 *
 * Failures are sorted for the caller: `ImageSourceError` with `transient: true` for throttling, 5xx, network
 * and timeouts (retrying may help), `transient: false` for answers that will not change (no such
 * repository, access denied); content that does not exist is `ManifestError('not-found')`, as for every
 * source. A `BatchGetImage` that answers some images and a failure entry for others throws
 * `PartialManifestsError`, which carries both, per digest.
 */

/** The two ECR operations the source calls; an `ECRClient` satisfies it. */
export interface EcrImageApi {
  send(command: BatchGetImageCommand): Promise<BatchGetImageCommandOutput>;
  send(command: GetDownloadUrlForLayerCommand): Promise<GetDownloadUrlForLayerCommandOutput>;
}

export interface EcrSourceOptions {
  readonly ecr: EcrImageApi;
  readonly repository: string;
  /** The registry (account) id; default: the caller's registry. */
  readonly registryId?: string | undefined;
  /** `fetch` used for the presigned layer URLs (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** Most milliseconds one config download may take, headers and body (default {@link BLOB_TIMEOUT_MS}). */
  readonly blobTimeoutMs?: number | undefined;
}

/**
 * `BatchGetImage` takes at most 100 image ids
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html).
 */
export const BATCH_GET_IMAGE_MAX_IDS = 100;
/**
 * A config blob is a few KiB on S3: ten seconds is ample, and it bounds a hung connection well inside the
 * validation function's timeout so that Lambda's retry, not the timeout, decides.
 */
export const BLOB_TIMEOUT_MS = 10_000;

/**
 * `BatchGetImage` failure codes that say "try again later"
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html): a pull-through cache's
 * upstream being busy or down, and KMS (decrypting an encrypted repository's manifest) failing, which is
 * usually KMS throttling.
 */
const TRANSIENT_FAILURES = new Set(['UpstreamTooManyRequests', 'UpstreamUnavailable', 'KmsError']);

/** A fetcher over one ECR repository. */
export function ecrFetcher(options: EcrSourceOptions): ImageFetcher {
  const { ecr, repository, registryId } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.blobTimeoutMs ?? BLOB_TIMEOUT_MS;
  const where = `repository ${repository}${registryId ? ` of registry ${registryId}` : ''}`;

  const batchGet = async (imageIds: ImageIdentifier[], what: string): Promise<BatchGetImageCommandOutput> => {
    try {
      return await ecr.send(
        new BatchGetImageCommand({
          repositoryName: repository,
          ...(registryId ? { registryId } : {}),
          imageIds,
          acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
        }),
      );
    } catch (err) {
      throw apiFailure(err, `ecr:BatchGetImage of ${what} in ${where}`, repository, registryId);
    }
  };

  return {
    async getManifests(digests) {
      const wanted = [...new Set(digests)];
      const out = new Map<string, ManifestBlob>();
      const batches: string[][] = [];
      for (let i = 0; i < wanted.length; i += BATCH_GET_IMAGE_MAX_IDS)
        batches.push(wanted.slice(i, i + BATCH_GET_IMAGE_MAX_IDS));
      const answers = await Promise.all(
        batches.map((batch) =>
          batchGet(
            batch.map((imageDigest) => ({ imageDigest })),
            batch.length === 1 ? `manifest ${batch[0]}` : `${batch.length} manifests`,
          ),
        ),
      );
      const asked = new Set(wanted);
      // A failure entry concerns its own image: it becomes that digest's failure, and the images answered
      // beside it are still returned (one inaccessible image must not void a batch of a hundred).
      const failures = new Map<string, ImageSourceError>();
      for (const answer of answers) {
        for (const failure of answer.failures ?? []) {
          const problem = failureProblem(failure, where);
          if (!problem) continue;
          const digest = failure.imageId?.imageDigest;
          // A failure that names no digest we asked for cannot be attributed: it voids the call, as before.
          if (digest === undefined || !asked.has(digest)) throw problem;
          failures.set(digest, problem);
        }
        for (const image of answer.images ?? []) {
          const blob = manifestBlob(image);
          // Only what was asked for: an image answered twice (several tags) or for another id is dropped.
          if (blob && asked.has(blob.digest)) out.set(blob.digest, blob);
        }
      }
      if (failures.size > 0) throw new PartialManifestsError(out, failures);
      return out;
    },

    async getBlob(digest, maxBytes) {
      let answer: GetDownloadUrlForLayerCommandOutput;
      try {
        answer = await ecr.send(
          new GetDownloadUrlForLayerCommand({
            repositoryName: repository,
            ...(registryId ? { registryId } : {}),
            layerDigest: digest,
          }),
        );
      } catch (err) {
        if (err instanceof LayersNotFoundException) {
          throw new ManifestError(
            'not-found',
            `blob ${digest} is not in ${where} (LayersNotFoundException): the image refers to content ECR does not hold; push the image again`,
            digest,
            { cause: err },
          );
        }
        throw apiFailure(err, `ecr:GetDownloadUrlForLayer of ${digest} in ${where}`, repository, registryId);
      }
      if (!answer.downloadUrl) {
        throw new ImageSourceError(
          `ecr:GetDownloadUrlForLayer of ${digest} in ${where} answered no downloadUrl`,
          true,
        );
      }
      return download(fetchImpl, answer.downloadUrl, digest, maxBytes, timeoutMs);
    },
  };
}

/**
 * An {@link ImageSource} over one ECR repository: {@link ecrFetcher} plus references (a tag, resolved with one
 * `BatchGetImage` whose answer is handed to the engine as the root, or a digest, fetched by the engine).
 *
 * @example
 * const source = openEcrSource({ ecr: new ECRClient({ region }), repository: 'inference', registryId });
 * const root = await source.resolveReference('v1');
 * const resolved = await resolveImage(source, root.digest, { root: root.blob });
 */
export function openEcrSource(options: EcrSourceOptions & { description?: string | undefined }): ImageSource {
  const fetcher = ecrFetcher(options);
  const { ecr, repository, registryId } = options;
  const where = `repository ${repository}${registryId ? ` of registry ${registryId}` : ''}`;
  return {
    description: options.description ?? `ecr:${registryId ? `${registryId}/` : ''}${repository}`,
    getManifests: (digests) => fetcher.getManifests(digests),
    getBlob: (digest, maxBytes) => fetcher.getBlob(digest, maxBytes),
    async resolveReference(reference): Promise<RootDescriptor> {
      if (reference === undefined || reference === '') {
        throw new ImageSourceError(
          `an ECR image needs a tag or a digest: name one, e.g. ${repository}:latest or ${repository}@sha256:...`,
          false,
        );
      }
      if (reference.includes(':')) {
        const problem = digestProblem(reference);
        if (problem) throw new ManifestError('invalid-manifest', `cannot resolve ${reference}: ${problem}`);
        return { reference, digest: reference, mediaType: undefined };
      }
      let answer: BatchGetImageCommandOutput;
      try {
        answer = await ecr.send(
          new BatchGetImageCommand({
            repositoryName: repository,
            ...(registryId ? { registryId } : {}),
            imageIds: [{ imageTag: reference }],
            acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
          }),
        );
      } catch (err) {
        throw apiFailure(err, `ecr:BatchGetImage of tag ${reference} in ${where}`, repository, registryId);
      }
      const image = answer.images?.[0];
      const blob = image ? manifestBlob(image) : undefined;
      if (blob) return { reference, digest: blob.digest, mediaType: blob.mediaType, blob };
      const failure = answer.failures?.[0];
      if (failure === undefined || failure.failureCode === 'ImageNotFound') {
        throw new ManifestError(
          'not-found',
          `tag '${reference}' was not found in ${where}: check the tag, or push the image`,
        );
      }
      throw failureProblem(failure, where) ?? new ImageSourceError(`tag '${reference}': no image`, false);
    },
    close: async () => {},
  };
}

function manifestBlob(image: Image): ManifestBlob | undefined {
  const digest = image.imageId?.imageDigest;
  if (digest === undefined || image.imageManifest === undefined) return undefined;
  // `imageManifest` is the pushed bytes as a string (JSON text is UTF-8), so encoding it gives them back.
  return {
    digest,
    mediaType: image.imageManifestMediaType,
    bytes: new TextEncoder().encode(image.imageManifest),
  };
}

/**
 * What a `BatchGetImage` failure entry means: `ImageNotFound` is an absent image (the engine reports it, and
 * the validation retries it briefly: right after a push it may not be readable yet, our pessimistic
 * assumption); the other codes are errors, transient or not.
 */
function failureProblem(failure: ImageFailure, where: string): ImageSourceError | undefined {
  const code = failure.failureCode ?? 'Unknown';
  if (code === 'ImageNotFound') return undefined;
  const id = failure.imageId?.imageDigest ?? failure.imageId?.imageTag ?? '(no id)';
  const reason = failure.failureReason ? `: ${failure.failureReason}` : '';
  return new ImageSourceError(
    `ECR could not return image ${id} of ${where} (${code}${reason})`,
    TRANSIENT_FAILURES.has(code),
  );
}

/** An SDK error as an {@link ImageSourceError} whose message says what failed and, when it will not pass, what to do. */
function apiFailure(
  err: unknown,
  what: string,
  repository: string,
  registryId: string | undefined,
): CoreError {
  if (err instanceof CoreError) return err;
  if (err instanceof RepositoryNotFoundException) {
    return new ImageSourceError(
      `${what} failed: repository ${repository} does not exist in registry ${registryId ?? '(the caller’s)'}; check the name and the region`,
      false,
      { cause: err },
    );
  }
  if (err instanceof LayerInaccessibleException) {
    return new ImageSourceError(
      `${what} failed: the layer is not referenced by any image (${err.message})`,
      false,
      {
        cause: err,
      },
    );
  }
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'AccessDeniedException') {
    return new ImageSourceError(
      `${what} was denied (${message}): the caller needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository`,
      false,
      { cause: err },
    );
  }
  const transient = isTransientAwsError(err);
  return new ImageSourceError(
    `${what} failed (${name}: ${message})${transient ? '; retrying later may help' : ''}`,
    transient,
    { cause: err },
  );
}

/**
 * GETs a presigned layer URL with a timeout and a byte cap. Neither the URL (it carries a signature) nor the
 * response body appears in messages.
 */
async function download(
  fetchImpl: typeof globalThis.fetch,
  url: string,
  digest: string,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const what = `downloading blob ${digest} from its presigned URL`;
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetchImpl(url, { signal });
  } catch (err) {
    throw networkFailure(err, what, timeoutMs);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 404) {
      throw new ManifestError('not-found', `${what}: the object does not exist (HTTP 404)`, digest);
    }
    // 403 is an expired or clock-skewed signature more often than a refusal: a retry asks for a fresh URL.
    const transient = res.status === 403 || res.status === 408 || res.status === 429 || res.status >= 500;
    throw new ImageSourceError(`${what} failed with HTTP ${res.status}`, transient);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new ManifestError(
      'too-large',
      `blob ${digest} is ${declared} bytes; at most ${maxBytes} are read`,
      digest,
    );
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new ManifestError(
          'too-large',
          `blob ${digest} is over ${maxBytes} bytes; at most ${maxBytes} are read`,
          digest,
        );
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof CoreError) throw err;
    throw networkFailure(err, what, timeoutMs);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function networkFailure(err: unknown, what: string, timeoutMs: number): ImageSourceError {
  const name = err instanceof Error ? err.name : typeof err;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ImageSourceError(`${what} timed out after ${timeoutMs} ms`, true, { cause: err });
  }
  // Node's fetch reports "fetch failed" and puts the reason (ECONNRESET, ENOTFOUND, ...) in `cause`.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail =
    typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : String(err);
  return new ImageSourceError(`${what} failed (${detail})`, true, { cause: err });
}
