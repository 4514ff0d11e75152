import {
  type BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  type GetDownloadUrlForLayerCommand,
  type GetDownloadUrlForLayerCommandOutput,
} from '@aws-sdk/client-ecr';
import { errorName } from '../aws-errors.ts';
import type { RegistryConfig } from '../config/index.ts';
import { type ContentCache, cachingFetcher } from '../image/cache.ts';
import type { ImageFetcher, ManifestBlob } from '../image/fetcher.ts';
import type { PlatformEvaluation } from '../image/policy.ts';
import type { IgnoredEntry, ImageKind } from '../image/resolve.ts';
import { ecrFetcher } from '../image/sources/ecr.ts';
import type { Logger } from '../log.ts';
import type { PublicImageLister } from '../ports/aws.ts';
import { CACHE_REFRESH_MS, type CachedResolution, type LoadedPack, type ResolutionCache } from './cache.ts';
import { describeFailure } from './facts.ts';
import { coalescingFetcher, pacedFetcher } from './fetchers.ts';
import { type AdaptiveGate, type BackoffOptions, withBackoff } from './pace.ts';
import { ImageResolver, type Listed, scanned } from './resolver.ts';

/**
 * Reading every tagged image of the configured repositories, at scale (packages/core/src/audit/README.md,
 * "Scale"): `DescribeImages` in pages of 1000, root manifests with `BatchGetImage` in chunks of 100, each
 * image resolved by the manifest engine with its children fetched in batches shared across concurrent
 * resolutions, and config blobs read once per distinct digest of a repository (one LRU per audit run). All
 * ECR calls of a region go through one {@link AdaptiveGate} with backoff, so throttling slows the audit down
 * instead of failing it. With a {@link ResolutionCache}, a digest resolved on an earlier run costs no manifest
 * or config read: only the listing is live.
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
  /**
   * `scanned`; `missing` (no such repository); `error` (it could not be listed); `public` (listed, not
   * resolvable); `unreached` (not started: the audit's deadline came first).
   */
  readonly state: 'scanned' | 'missing' | 'error' | 'public' | 'unreached';
  readonly error?: string | undefined;
  readonly images: readonly ScannedImage[];
}

export interface ScanStats {
  /** Tagged images judged (resolved now or taken from the resolution cache). */
  images: number;
  indexes: number;
  /** Images judged from the resolution cache, without a manifest or config read. */
  cachedImages: number;
  /** Cache entries dropped because they failed validation (they are resolved again). */
  cacheRejected: number;
  describeImagesCalls: number;
  batchGetImageCalls: number;
  blobDownloads: number;
  throttledCalls: number;
}

export interface ImageScannerOptions {
  readonly ecr: (region: string) => EcrAuditApi;
  /** ECR Public's one operation the audit calls, `DescribeImages` (ECR Public has no `BatchGetImage`). */
  readonly ecrPublic: PublicImageLister;
  /** `fetch` for the presigned config URLs (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** One per audit run: manifests and configs by digest. */
  readonly cache: ContentCache;
  /** Resolutions kept between runs (the report bucket); without it every image is resolved. */
  readonly resolutions?: ResolutionCache | undefined;
  /** One gate per region: every ECR call of the region goes through it. */
  readonly gate: (region: string) => AdaptiveGate;
  readonly backoff: BackoffOptions;
  /** Images resolved at once per repository. */
  readonly concurrency: number;
  readonly logger: Logger;
  readonly onImages?: ((repository: string, done: number) => void) | undefined;
  /**
   * Asked before each repository is started, with the longest a repository has taken so far in this run;
   * `false` leaves it `unreached` (the audit's deadline).
   */
  readonly mayStart?: ((slowestRepositoryMs: number) => boolean) | undefined;
  readonly now?: (() => Date) | undefined;
}

interface Page {
  readonly images: readonly Listed[];
  readonly nextToken: string | undefined;
}

/** Reads and resolves the images of the configured repositories; one scanner per audit run. */
export class ImageScanner {
  public readonly stats: ScanStats = {
    images: 0,
    indexes: 0,
    cachedImages: 0,
    cacheRejected: 0,
    describeImagesCalls: 0,
    batchGetImageCalls: 0,
    blobDownloads: 0,
    throttledCalls: 0,
  };
  private readonly options: ImageScannerOptions;
  /** Repositories not started because the deadline came first (`audit.incomplete`). */
  public readonly unreached: { registry: RegistryConfig; repository: string }[] = [];
  private readonly fetchers = new Map<string, ImageFetcher>();
  private readonly resolver: ImageResolver;
  private slowestMs = 0;

  public constructor(options: ImageScannerOptions) {
    this.options = options;
    this.resolver = new ImageResolver({
      stats: this.stats,
      logger: options.logger,
      concurrency: options.concurrency,
    });
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

  /** One `DescribeImages` page of a repository, private or public; `tagged` asks ECR for tagged images only. */
  private describePage(
    registry: RegistryConfig,
    repository: string,
    token: string | undefined,
    tagged: boolean,
  ) {
    return withBackoff(async (): Promise<Page> => {
      this.stats.describeImagesCalls++;
      const input = {
        registryId: registry.accountId,
        repositoryName: repository,
        maxResults: DESCRIBE_IMAGES_PAGE,
        ...(token ? { nextToken: token } : {}),
      };
      const page =
        registry.kind === 'public'
          ? await this.options.ecrPublic.describeImages(input)
          : await this.options.gate(registry.region).run(() =>
              this.options.ecr(registry.region).send(
                new DescribeImagesCommand({
                  ...input,
                  ...(tagged ? { filter: { tagStatus: 'TAGGED' } } : {}),
                }),
              ),
            );
      const images: Listed[] = [];
      for (const d of page.imageDetails ?? []) {
        if (!d.imageDigest) continue;
        // An archived (or still activating) image cannot be pulled (ECR user guide, "Archiving an image"): it
        // proves no index child present. ECR lists ACTIVE images only without an imageStatus filter; this holds
        // whatever the listing returns.
        const status = 'imageStatus' in d ? d.imageStatus : undefined;
        if (status !== undefined && status !== 'ACTIVE') continue;
        images.push({
          digest: d.imageDigest,
          tags: [...(d.imageTags ?? [])].sort(),
          mediaType: d.imageManifestMediaType,
          pushedAt: d.imagePushedAt,
        });
      }
      return { images, nextToken: page.nextToken };
    }, this.options.backoff);
  }

  /**
   * Lists and judges every tagged image of a repository. With a resolution cache, the listing includes untagged
   * manifests too (an index's children are untagged images): a cached entry holds only while every manifest it
   * was built from is listed, so one live listing proves presence for the whole repository.
   */
  public async scanRepository(registry: RegistryConfig, repository: string): Promise<RepositoryScan> {
    if (this.options.mayStart && !this.options.mayStart(this.slowestMs)) {
      this.unreached.push({ registry, repository });
      return { registry, repository, state: 'unreached', images: [] };
    }
    const started = performance.now();
    try {
      return await this.scan(registry, repository);
    } finally {
      this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
    }
  }

  private async scan(registry: RegistryConfig, repository: string): Promise<RepositoryScan> {
    const cache = registry.kind === 'public' ? undefined : this.options.resolutions;
    const pack = cache?.load(registry, repository);
    const tagged: Listed[] = [];
    const present = new Set<string>();
    const images: ScannedImage[] = [];
    const judge = async (batch: readonly Listed[]) => {
      if (registry.kind === 'public')
        images.push(...batch.map((d) => scanned(repository, d, { kind: 'unverifiable' })));
      else
        images.push(
          ...(await this.resolver
            .resolvePage(registry, repository, this.fetcherFor(registry, repository), batch, undefined)
            .then((r) => r.images)),
        );
      this.options.onImages?.(repository, images.length);
    };
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.describePage(registry, repository, nextToken, cache === undefined);
        const withTags = page.images.filter((d) => d.tags.length > 0);
        // Without a cache a page is judged as it arrives; with one, after the listing has proven presence.
        if (cache) {
          for (const d of page.images) present.add(d.digest);
          tagged.push(...withTags);
        } else await judge(withTags);
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (err) {
      // Matched by name: ECR's and ECR Public's answers alike, from the SDK or the audit bundle's signed calls.
      if (errorName(err) === 'RepositoryNotFoundException')
        return { registry, repository, state: 'missing', images: [] };
      return { registry, repository, state: 'error', error: describeFailure(err), images };
    }
    if (cache && pack) {
      try {
        images.push(...(await this.judgeWithCache(registry, repository, cache, await pack, tagged, present)));
      } catch (err) {
        return { registry, repository, state: 'error', error: describeFailure(err), images };
      }
    }
    return { registry, repository, state: registry.kind === 'public' ? 'public' : 'scanned', images };
  }
  /**
   * Judges a repository's tagged images, listed in full, with its cache object: entries whose manifests are
   * all `present` are reused, the rest resolved; the object is rewritten when its entries changed (or it is
   * due for its weekly rewrite, so the lifecycle rule never expires an object in use).
   */
  private async judgeWithCache(
    registry: RegistryConfig,
    repository: string,
    cache: ResolutionCache,
    loaded: LoadedPack,
    tagged: readonly Listed[],
    present: ReadonlySet<string>,
  ): Promise<ScannedImage[]> {
    this.stats.cacheRejected += loaded.rejected;
    const images: ScannedImage[] = [];
    const kept = new Map<string, CachedResolution>();
    const fetcher = this.fetcherFor(registry, repository);
    for (let i = 0; i < tagged.length; i += DESCRIBE_IMAGES_PAGE) {
      const batch = tagged.slice(i, i + DESCRIBE_IMAGES_PAGE);
      const done = await this.resolver.resolvePage(registry, repository, fetcher, batch, {
        entries: loaded.entries,
        present,
      });
      images.push(...done.images);
      for (const e of done.entries) kept.set(e.digest, e);
      this.options.onImages?.(repository, images.length);
    }
    const now = this.options.now?.() ?? new Date();
    const stale =
      loaded.writtenAt === undefined || now.getTime() - loaded.writtenAt.getTime() > CACHE_REFRESH_MS;
    const changed =
      loaded.rejected > 0 ||
      kept.size !== loaded.entries.size ||
      [...kept.keys()].some((d) => !loaded.entries.has(d));
    if (stale || changed) await cache.save(registry, repository, kept.values());
    return images;
  }

  /** Resolves one image already fetched (or fetches it by digest) and judges it by the repository's policy. */
  public async resolveOne(
    registry: RegistryConfig,
    repository: string,
    fetcher: ImageFetcher,
    digest: string,
    root?: ManifestBlob,
  ): Promise<ImageOutcome> {
    return (await this.resolver.resolveFresh(registry, repository, fetcher, digest, root)).outcome;
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
        return this.options.ecrPublic.describeImages({
          registryId: registry.accountId,
          repositoryName: repository,
          imageIds: [id.digest ? { imageDigest: id.digest } : { imageTag: id.tag }],
        });
      }, this.options.backoff);
      return true;
    } catch (err) {
      const name = errorName(err);
      if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return false;
      throw err;
    }
  }
}
