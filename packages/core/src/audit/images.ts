import {
  type BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  type GetDownloadUrlForLayerCommand,
  type GetDownloadUrlForLayerCommandOutput,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  DescribeImagesCommand as DescribePublicImagesCommand,
  type DescribeImagesCommandOutput as DescribePublicImagesCommandOutput,
  ImageNotFoundException as PublicImageNotFoundException,
  RepositoryNotFoundException as PublicRepositoryNotFoundException,
} from '@aws-sdk/client-ecr-public';
import { type RegistryConfig, requiredPlatforms } from '../config/index.ts';
import { type ImageSourceError, PartialManifestsError } from '../errors.ts';
import { type ContentCache, cachingFetcher } from '../image/cache.ts';
import type { ImageFetcher, ManifestBlob } from '../image/fetcher.ts';
import { evaluatePlatforms, type PlatformEvaluation } from '../image/policy.ts';
import { type IgnoredEntry, type ImageKind, resolveImage } from '../image/resolve.ts';
import { BATCH_GET_IMAGE_MAX_IDS, ecrFetcher } from '../image/sources/ecr.ts';
import type { Logger } from '../log.ts';
import { describeFailure } from './facts.ts';
import { type AdaptiveGate, type BackoffOptions, mapLimit, withBackoff } from './pace.ts';

/**
 * Reading every tagged image of the configured repositories, at scale (packages/core/src/audit/README.md,
 * "Scale"): `DescribeImages` in pages of 1000, root manifests with `BatchGetImage` in chunks of 100, each
 * image resolved by the manifest engine with its children fetched in batches shared across concurrent
 * resolutions, and config blobs read once per distinct digest of a repository (one LRU per audit run). All
 * ECR calls of a region go through one {@link AdaptiveGate} with backoff, so throttling slows the audit down
 * instead of failing it.
 */

/**
 * DescribeImages' largest page
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html).
 */
export const DESCRIBE_IMAGES_PAGE = 1000;

/** The ECR operations the audit calls; an `ECRClient` satisfies it. */
export interface EcrAuditApi {
  send(command: BatchGetImageCommand): Promise<BatchGetImageCommandOutput>;
  send(command: GetDownloadUrlForLayerCommand): Promise<GetDownloadUrlForLayerCommandOutput>;
  send(command: DescribeImagesCommand): Promise<DescribeImagesCommandOutput>;
}

/**
 * The ECR Public operation the audit calls (ECR Public has no BatchGetImage); an `ECRPUBLICClient` satisfies
 * it.
 */
export interface EcrPublicAuditApi {
  send(command: DescribePublicImagesCommand): Promise<DescribePublicImagesCommandOutput>;
}

/** What the resolution of one image found. */
export type ImageOutcome =
  | {
      readonly kind: 'resolved';
      readonly imageKind: ImageKind;
      readonly platforms: readonly string[];
      /** Index entries (or their configs) that do not exist in the repository. */
      readonly missingChildren: readonly IgnoredEntry[];
      readonly evaluation: PlatformEvaluation;
    }
  | { readonly kind: 'error'; readonly message: string }
  /** Listed, but gone when its manifest was fetched (deleted during the audit). */
  | { readonly kind: 'gone' }
  /** ECR Public: listed, but its manifests cannot be read through the API. */
  | { readonly kind: 'unverifiable' };

export interface ScannedImage {
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly mediaType: string | undefined;
  readonly pushedAt: string | undefined;
  readonly outcome: ImageOutcome;
}

export interface RepositoryScan {
  readonly registry: RegistryConfig;
  readonly repository: string;
  /** `scanned`; `missing` (no such repository); `error` (it could not be listed); `public` (listed, not resolvable). */
  readonly state: 'scanned' | 'missing' | 'error' | 'public';
  readonly error?: string | undefined;
  readonly images: readonly ScannedImage[];
}

export interface ScanStats {
  images: number;
  indexes: number;
  describeImagesCalls: number;
  batchGetImageCalls: number;
  blobDownloads: number;
  throttledCalls: number;
}

export interface ImageScannerOptions {
  readonly ecr: (region: string) => EcrAuditApi;
  readonly ecrPublic: EcrPublicAuditApi;
  /** `fetch` for the presigned config URLs (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** One per audit run: manifests and configs by digest. */
  readonly cache: ContentCache;
  /** One gate per region: every ECR call of the region goes through it. */
  readonly gate: (region: string) => AdaptiveGate;
  readonly backoff: BackoffOptions;
  /** Images resolved at once per repository. */
  readonly concurrency: number;
  readonly logger: Logger;
  readonly onImages?: ((repository: string, done: number) => void) | undefined;
}

/** Splits `items` into chunks of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Wraps a repository's fetcher: `getManifests` in chunks of {@link BATCH_GET_IMAGE_MAX_IDS}, every call through
 * the region's gate, transient failures (throttling, 5xx, network) retried with backoff. Failures of single
 * digests ({@link PartialManifestsError}) stay those digests': a transient one is asked again on its own, a
 * lasting one (or one whose retries are spent) is reported for its digest while the others are returned.
 */
export function pacedFetcher(
  inner: ImageFetcher,
  gate: AdaptiveGate,
  backoff: BackoffOptions,
  stats?: ScanStats,
): ImageFetcher {
  return {
    async getManifests(digests) {
      const out = new Map<string, ManifestBlob>();
      const failures = new Map<string, ImageSourceError>();
      const fetchChunk = async (chunk: readonly string[]) => {
        let pending = chunk;
        try {
          await withBackoff(async () => {
            if (stats) stats.batchGetImageCalls++;
            try {
              const got = await gate.run(() => inner.getManifests(pending));
              for (const [d, blob] of got) out.set(d, blob);
            } catch (err) {
              if (!(err instanceof PartialManifestsError)) throw err;
              for (const [d, blob] of err.found) out.set(d, blob);
              const again: string[] = [];
              for (const [d, failure] of err.failures) {
                if (failure.transient) again.push(d);
                else failures.set(d, failure);
              }
              const retry = err.forDigests(again);
              if (retry) {
                pending = again;
                throw retry;
              }
            }
          }, backoff);
        } catch (err) {
          if (!(err instanceof PartialManifestsError)) throw err;
          for (const [d, failure] of err.failures) failures.set(d, failure);
        }
      };
      await Promise.all(chunks([...new Set(digests)], BATCH_GET_IMAGE_MAX_IDS).map(fetchChunk));
      if (failures.size > 0) throw new PartialManifestsError(out, failures);
      return out;
    },
    getBlob: (digest, maxBytes) =>
      withBackoff(() => {
        if (stats) stats.blobDownloads++;
        return gate.run(() => inner.getBlob(digest, maxBytes));
      }, backoff),
  };
}

/**
 * Merges the `getManifests` calls made before the next turn of the event loop into one: concurrent
 * resolutions in a repository each ask for their own children, and together they fill `BatchGetImage`'s
 * 100 ids instead of sending one small call each. Each caller gets its own digests back, and fails only
 * for a failure of one of its own digests ({@link PartialManifestsError}); a failure of the whole call is
 * every caller's.
 */
export function coalescingFetcher(inner: ImageFetcher): ImageFetcher {
  let batch: { digests: Set<string>; result: Promise<Map<string, ManifestBlob>> } | undefined;
  return {
    getManifests(digests) {
      if (!batch) {
        const digestsOfBatch = new Set<string>();
        const result = new Promise<Map<string, ManifestBlob>>((resolve, reject) => {
          setImmediate(() => {
            batch = undefined;
            inner.getManifests([...digestsOfBatch]).then(resolve, reject);
          });
        });
        batch = { digests: digestsOfBatch, result };
      }
      for (const d of digests) batch.digests.add(d);
      const mine = [...digests];
      const pick = (all: ReadonlyMap<string, ManifestBlob>) => {
        const out = new Map<string, ManifestBlob>();
        for (const d of mine) {
          const blob = all.get(d);
          if (blob) out.set(d, blob);
        }
        return out;
      };
      return batch.result.then(pick, (err: unknown) => {
        if (!(err instanceof PartialManifestsError)) throw err;
        const own = err.forDigests(mine);
        if (own) throw own;
        return pick(err.found);
      });
    },
    getBlob: (digest, maxBytes) => inner.getBlob(digest, maxBytes),
  };
}

/** Reads and resolves the images of the configured repositories; one scanner per audit run. */
export class ImageScanner {
  public readonly stats: ScanStats = {
    images: 0,
    indexes: 0,
    describeImagesCalls: 0,
    batchGetImageCalls: 0,
    blobDownloads: 0,
    throttledCalls: 0,
  };
  private readonly options: ImageScannerOptions;
  private readonly fetchers = new Map<string, ImageFetcher>();

  public constructor(options: ImageScannerOptions) {
    this.options = options;
  }

  /** The fetcher of one private repository: cache → coalescing → paced → ECR. */
  public fetcherFor(registry: RegistryConfig, repository: string): ImageFetcher {
    const key = `${registry.hostname}/${repository}`;
    let f = this.fetchers.get(key);
    if (!f) {
      const ecr = ecrFetcher({
        ecr: this.options.ecr(registry.region),
        repository,
        registryId: registry.accountId,
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      });
      const paced = pacedFetcher(ecr, this.options.gate(registry.region), this.options.backoff, this.stats);
      // Presence is per repository, so the cache is scoped by it (content is the same everywhere, but "this
      // repository lacks that child" must not be answered from another repository's copy).
      f = cachingFetcher(coalescingFetcher(paced), this.options.cache, { scope: key });
      this.fetchers.set(key, f);
    }
    return f;
  }

  /** Lists and resolves every tagged image of a repository. */
  public async scanRepository(registry: RegistryConfig, repository: string): Promise<RepositoryScan> {
    if (registry.kind === 'public') return this.listPublic(registry, repository);
    const ecr = this.options.ecr(registry.region);
    const gate = this.options.gate(registry.region);
    const images: ScannedImage[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const token = nextToken;
        const page = await withBackoff(() => {
          this.stats.describeImagesCalls++;
          return gate.run(() =>
            ecr.send(
              new DescribeImagesCommand({
                registryId: registry.accountId,
                repositoryName: repository,
                maxResults: DESCRIBE_IMAGES_PAGE,
                filter: { tagStatus: 'TAGGED' },
                ...(token ? { nextToken: token } : {}),
              }),
            ),
          );
        }, this.options.backoff);
        const listed = (page.imageDetails ?? []).filter(
          (d) => d.imageDigest && (d.imageTags?.length ?? 0) > 0,
        );
        images.push(...(await this.resolvePage(registry, repository, listed)));
        this.options.onImages?.(repository, images.length);
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (err) {
      if (err instanceof RepositoryNotFoundException)
        return { registry, repository, state: 'missing', images: [] };
      return { registry, repository, state: 'error', error: describeFailure(err), images };
    }
    return { registry, repository, state: 'scanned', images };
  }

  private async resolvePage(
    registry: RegistryConfig,
    repository: string,
    listed: readonly {
      imageDigest?: string | undefined;
      imageTags?: string[] | undefined;
      imageManifestMediaType?: string | undefined;
      imagePushedAt?: Date | undefined;
    }[],
  ): Promise<ScannedImage[]> {
    const fetcher = this.fetcherFor(registry, repository);
    // The page's root manifests in BatchGetImage calls of 100, before any resolution starts. A root ECR
    // refuses (ImageInaccessible, a KMS failure that outlived its retries) is that image's error alone.
    let roots: ReadonlyMap<string, ManifestBlob>;
    let rootFailures: ReadonlyMap<string, ImageSourceError> = new Map();
    try {
      roots = await fetcher.getManifests(listed.map((d) => d.imageDigest as string));
    } catch (err) {
      if (!(err instanceof PartialManifestsError)) throw err;
      roots = err.found;
      rootFailures = err.failures;
    }
    return mapLimit(listed, this.options.concurrency, async (d) => {
      const digest = d.imageDigest as string;
      const base = {
        repository,
        digest,
        tags: [...(d.imageTags ?? [])].sort(),
        mediaType: d.imageManifestMediaType,
        pushedAt: d.imagePushedAt?.toISOString(),
      };
      const failed = rootFailures.get(digest);
      if (failed) {
        this.options.logger.warn('image could not be read', { repository, digest, error: failed });
        return { ...base, outcome: { kind: 'error', message: describeFailure(failed) } };
      }
      const root = roots.get(digest);
      if (!root) return { ...base, outcome: { kind: 'gone' } };
      return { ...base, outcome: await this.resolveOne(registry, repository, fetcher, digest, root) };
    });
  }

  /** Resolves one image already fetched (or fetches it by digest) and judges it by the repository's policy. */
  public async resolveOne(
    registry: RegistryConfig,
    repository: string,
    fetcher: ImageFetcher,
    digest: string,
    root?: ManifestBlob,
  ): Promise<ImageOutcome> {
    try {
      const resolved = await resolveImage(fetcher, digest, { root, missingChildren: 'ignore' });
      this.stats.images++;
      if (resolved.kind === 'index') this.stats.indexes++;
      return {
        kind: 'resolved',
        imageKind: resolved.kind,
        platforms: resolved.platforms,
        missingChildren: resolved.ignored.filter((i) => i.reason.startsWith('missing:')),
        evaluation: evaluatePlatforms(resolved, requiredPlatforms(registry, repository), { repository }),
      };
    } catch (err) {
      this.options.logger.warn('image could not be resolved', { repository, digest, error: err });
      return { kind: 'error', message: describeFailure(err) };
    }
  }

  /** ECR Public: `DescribeImages` lists the images; their manifests are not readable through the API. */
  private async listPublic(registry: RegistryConfig, repository: string): Promise<RepositoryScan> {
    const images: ScannedImage[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const token = nextToken;
        const page = await withBackoff(() => {
          this.stats.describeImagesCalls++;
          return this.options.ecrPublic.send(
            new DescribePublicImagesCommand({
              registryId: registry.accountId,
              repositoryName: repository,
              maxResults: DESCRIBE_IMAGES_PAGE,
              ...(token ? { nextToken: token } : {}),
            }),
          );
        }, this.options.backoff);
        for (const d of page.imageDetails ?? []) {
          if (!d.imageDigest || (d.imageTags?.length ?? 0) === 0) continue;
          images.push({
            repository,
            digest: d.imageDigest,
            tags: [...(d.imageTags ?? [])].sort(),
            mediaType: d.imageManifestMediaType,
            pushedAt: d.imagePushedAt?.toISOString(),
            outcome: { kind: 'unverifiable' },
          });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (err) {
      if (err instanceof PublicRepositoryNotFoundException)
        return { registry, repository, state: 'missing', images: [] };
      return { registry, repository, state: 'error', error: describeFailure(err), images };
    }
    return { registry, repository, state: 'public', images };
  }

  /** Whether an ECR Public image (by tag or digest) exists: `DescribeImages` with its id. */
  public async publicImageExists(
    registry: RegistryConfig,
    repository: string,
    id: { tag?: string | undefined; digest?: string | undefined },
  ): Promise<boolean> {
    try {
      await withBackoff(() => {
        this.stats.describeImagesCalls++;
        return this.options.ecrPublic.send(
          new DescribePublicImagesCommand({
            registryId: registry.accountId,
            repositoryName: repository,
            imageIds: [id.digest ? { imageDigest: id.digest } : { imageTag: id.tag }],
          }),
        );
      }, this.options.backoff);
      return true;
    } catch (err) {
      if (err instanceof PublicImageNotFoundException || err instanceof PublicRepositoryNotFoundException)
        return false;
      throw err;
    }
  }
}
