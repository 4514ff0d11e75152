import type { RegistryConfig } from '../config/index.ts';
import { requiredPlatforms } from '../config/index.ts';
import { type ImageSourceError, PartialManifestsError } from '../errors.ts';
import type { ImageFetcher, ManifestBlob } from '../image/fetcher.ts';
import { evaluatePlatforms } from '../image/policy.ts';
import { type ResolvedImage, resolveImage } from '../image/resolve.ts';
import type { Logger } from '../log.ts';
import { type CachedResolution, isPermanentFailure, resolvedEntry, resolvedFromEntry } from './cache.ts';
import { describeFailure } from './facts.ts';
import type { ImageOutcome, ScannedImage, ScanStats } from './images.ts';
import { mapLimit } from './pace.ts';

/**
 * Judging the tagged images of a listing page: from the resolution cache where a valid entry's manifests are
 * all listed, else by fetching the roots in `BatchGetImage` calls of 100 and resolving them with the manifest
 * engine (`missingChildren: 'ignore'`, so a deleted child is a finding, not an error). Each fresh resolution
 * records the manifests it read, which is what its cache entry is valid against.
 */

/** One image as a listing page shows it (private and public `DescribeImages` alike). */
export interface Listed {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly mediaType: string | undefined;
  readonly pushedAt: Date | undefined;
}

/** A resolution and what of it may be kept for later runs. */
interface Resolution {
  readonly outcome: ImageOutcome;
  readonly entry?: CachedResolution | undefined;
}

/** The cache entries of a repository and the digests its live listing proved present. */
export interface CachedRepository {
  readonly entries: ReadonlyMap<string, CachedResolution>;
  readonly present: ReadonlySet<string>;
}

/** Records every manifest a resolution asks for, so its cache entry names what it was built from. */
function recordingFetcher(inner: ImageFetcher, seen: Set<string>): ImageFetcher {
  return {
    getManifests(digests) {
      for (const d of digests) seen.add(d);
      return inner.getManifests(digests);
    },
    getBlob: (digest, maxBytes) => inner.getBlob(digest, maxBytes),
  };
}

export function scanned(repository: string, d: Listed, outcome: ImageOutcome): ScannedImage {
  return {
    repository,
    digest: d.digest,
    tags: d.tags,
    mediaType: d.mediaType,
    pushedAt: d.pushedAt?.toISOString(),
    outcome,
  };
}

export interface ImageResolverOptions {
  readonly stats: ScanStats;
  readonly logger: Logger;
  /** Images resolved at once per repository. */
  readonly concurrency: number;
}

export class ImageResolver {
  private readonly options: ImageResolverOptions;
  private readonly stats: ScanStats;

  public constructor(options: ImageResolverOptions) {
    this.options = options;
    this.stats = options.stats;
  }

  /**
   * Judges one page of tagged images: those with a valid cache entry whose manifests are all listed from the
   * entry, the others by fetching their roots (`BatchGetImage` calls of 100, before any resolution starts) and
   * resolving them. Returns the entries to keep: the reused ones and the new ones worth keeping.
   */
  public async resolvePage(
    registry: RegistryConfig,
    repository: string,
    fetcher: ImageFetcher,
    listed: readonly Listed[],
    cached: CachedRepository | undefined,
  ): Promise<{ images: ScannedImage[]; entries: CachedResolution[] }> {
    const usable = (d: Listed) => {
      const entry = cached?.entries.get(d.digest);
      return entry?.manifests.every((m) => cached?.present.has(m)) ? entry : undefined;
    };
    const misses = listed.filter((d) => usable(d) === undefined);
    // A root ECR refuses (ImageInaccessible, a KMS failure that outlived its retries) is that image's error alone.
    let roots: ReadonlyMap<string, ManifestBlob> = new Map();
    let rootFailures: ReadonlyMap<string, ImageSourceError> = new Map();
    if (misses.length > 0) {
      try {
        roots = await fetcher.getManifests(misses.map((d) => d.digest));
      } catch (err) {
        if (!(err instanceof PartialManifestsError)) throw err;
        roots = err.found;
        rootFailures = err.failures;
      }
    }
    const entries: CachedResolution[] = [];
    const images = await mapLimit(listed, this.options.concurrency, async (d): Promise<ScannedImage> => {
      const entry = usable(d);
      if (entry) {
        entries.push(entry);
        this.stats.cachedImages++;
        return scanned(repository, d, this.fromEntry(registry, repository, entry));
      }
      const failed = rootFailures.get(d.digest);
      if (failed) {
        this.options.logger.warn('image could not be read', { repository, digest: d.digest, error: failed });
        return scanned(repository, d, { kind: 'error', message: describeFailure(failed) });
      }
      const root = roots.get(d.digest);
      if (!root) return scanned(repository, d, { kind: 'gone' });
      const done = await this.resolveFresh(registry, repository, fetcher, d.digest, root);
      if (done.entry) entries.push(done.entry);
      return scanned(repository, d, done.outcome);
    });
    return { images, entries };
  }

  /** The outcome a valid cache entry stands for, judged by the repository's policy of today. */
  private fromEntry(registry: RegistryConfig, repository: string, entry: CachedResolution): ImageOutcome {
    if ('error' in entry) return { kind: 'error', message: entry.error.message };
    const resolved = resolvedFromEntry(entry);
    this.count(resolved);
    return this.judged(registry, repository, resolved);
  }

  private count(resolved: ResolvedImage): void {
    this.stats.images++;
    if (resolved.kind === 'index') this.stats.indexes++;
  }

  private judged(registry: RegistryConfig, repository: string, resolved: ResolvedImage): ImageOutcome {
    return {
      kind: 'resolved',
      imageKind: resolved.kind,
      platforms: resolved.platforms,
      missingChildren: resolved.ignored.filter((i) => i.reason.startsWith('missing:')),
      evaluation: evaluatePlatforms(resolved, requiredPlatforms(registry, repository), { repository }),
    };
  }

  /** Resolves one image already fetched, and says what of the result may be kept for later runs. */
  public async resolveFresh(
    registry: RegistryConfig,
    repository: string,
    fetcher: ImageFetcher,
    digest: string,
    root?: ManifestBlob,
  ): Promise<Resolution> {
    const read = new Set<string>();
    try {
      const resolved = await resolveImage(recordingFetcher(fetcher, read), digest, {
        root,
        missingChildren: 'ignore',
      });
      this.count(resolved);
      return {
        outcome: this.judged(registry, repository, resolved),
        entry: resolvedEntry(resolved, [...read]),
      };
    } catch (err) {
      this.options.logger.warn('image could not be resolved', { repository, digest, error: err });
      const message = describeFailure(err);
      const manifests = [...read].filter((d) => d !== digest).sort();
      return {
        outcome: { kind: 'error', message },
        entry: isPermanentFailure(err)
          ? { digest, error: { code: err.code, message }, manifests }
          : undefined,
      };
    }
  }
}
