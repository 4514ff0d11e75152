import { type ImageSourceError, PartialManifestsError } from '../errors.ts';
import { digestMatches } from './digest.ts';
import type { ImageFetcher, ManifestBlob } from './fetcher.ts';

/**
 * A bounded LRU of manifests and blobs keyed by digest, and an {@link ImageFetcher} that reads through it.
 * Content addressed by digest never changes, so entries need no TTL: they only leave when the cache is
 * full. The validation Lambda keeps one at module scope, so warm invocations re-validating an image (or
 * a new index sharing children and configs with an old one) skip the fetches.
 */

export interface ContentCacheOptions {
  /** Most entries kept (default 1000). */
  maxEntries?: number;
  /** Most bytes kept, summed over entries (default 32 MiB: well inside a 128 MB Lambda). */
  maxBytes?: number;
}

export interface ContentCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

interface CacheEntry {
  mediaType: string | undefined;
  bytes: Uint8Array;
}

/** Least-recently-used map from key to bytes, bounded by entry count and total size. */
export class ContentCache {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  // A Map iterates in insertion order; re-inserting on every hit keeps the least recently used first.
  private readonly entries = new Map<string, CacheEntry>();
  private size = 0;
  private readonly counters = { hits: 0, misses: 0, evictions: 0 };

  public constructor(options: ContentCacheOptions = {}) {
    this.maxEntries = Math.max(0, options.maxEntries ?? 1000);
    this.maxBytes = Math.max(0, options.maxBytes ?? 32 * 1024 * 1024);
  }

  public get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Stores an entry; one larger than the whole cache is not stored (it would evict everything for nothing). */
  public set(key: string, entry: CacheEntry): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.size -= old.bytes.length;
    }
    if (entry.bytes.length > this.maxBytes || this.maxEntries === 0) return;
    this.entries.set(key, entry);
    this.size += entry.bytes.length;
    while (this.entries.size > this.maxEntries || this.size > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const evicted = this.entries.get(oldest.value) as CacheEntry;
      this.entries.delete(oldest.value);
      this.size -= evicted.bytes.length;
      this.counters.evictions++;
    }
  }

  public has(key: string): boolean {
    return this.entries.has(key);
  }

  public clear(): void {
    this.entries.clear();
    this.size = 0;
  }

  public stats(): ContentCacheStats {
    return { entries: this.entries.size, bytes: this.size, ...this.counters };
  }
}

export interface CachingFetcherOptions {
  /**
   * Prefix of every key. Content is the same wherever a digest is found, but *presence* is per
   * repository: when one cache serves several repositories, pass the repository so that "missing here"
   * is not answered from another repository's copy.
   */
  scope?: string;
  /**
   * Always read manifests from the inner fetcher; only blobs (configs) come from the cache. For a cache that
   * outlives one resolution (the validation Lambda's, at module scope): a cached manifest proves its content,
   * not that it still exists, and a child deleted since (by hand, or a lifecycle rule) must not pass as
   * present. ECR's `BatchGetImage` returns the manifest with the proof, so confirming costs no extra call over
   * a cold resolution; what the cache saves is the config downloads.
   */
  confirmManifests?: boolean;
}

/**
 * Wraps a fetcher with a {@link ContentCache}. Manifests missing from the cache are fetched in one
 * `getManifests` call; concurrent requests for the same digest share one fetch. Only content that matches
 * its digest is stored, so a corrupt answer is not remembered (the engine still rejects it).
 *
 * @example
 * const cache = new ContentCache({ maxBytes: 16 * 1024 * 1024 }); // module scope
 * const resolved = await resolveImage(cachingFetcher(ecrFetcher, cache, { scope: repository }), digest);
 */
export function cachingFetcher(
  inner: ImageFetcher,
  cache: ContentCache,
  options: CachingFetcherOptions = {},
): ImageFetcher {
  const prefix = options.scope === undefined ? '' : `${options.scope}\u0000`;
  const manifestKey = (d: string) => `${prefix}m:${d}`;
  const blobKey = (d: string) => `${prefix}b:${d}`;
  const inflightManifests = new Map<string, Promise<ManifestBlob | undefined>>();
  const inflightBlobs = new Map<string, Promise<Uint8Array>>();

  return {
    async getManifests(digests) {
      if (options.confirmManifests) return inner.getManifests(digests);
      const out = new Map<string, ManifestBlob>();
      const waits: Promise<void>[] = [];
      const need: string[] = [];
      for (const digest of new Set(digests)) {
        const hit = cache.get(manifestKey(digest));
        if (hit) {
          out.set(digest, { digest, mediaType: hit.mediaType, bytes: hit.bytes });
          continue;
        }
        const inflight = inflightManifests.get(digest);
        if (inflight) {
          waits.push(
            inflight.then((blob) => {
              if (blob) out.set(digest, blob);
            }),
          );
          continue;
        }
        need.push(digest);
      }
      if (need.length > 0) {
        const batch = inner.getManifests(need);
        for (const digest of need) {
          // Each digest settles on its own: a failure of one digest (PartialManifestsError) is that
          // digest's, and the others the same call read are still returned and cached.
          const one = batch.then(
            (m) => m.get(digest),
            (err: unknown) => {
              if (!(err instanceof PartialManifestsError)) throw err;
              const own = err.forDigests([digest]);
              if (own) throw own;
              return err.found.get(digest);
            },
          );
          one.catch(() => undefined);
          inflightManifests.set(digest, one);
          waits.push(
            one.then((blob) => {
              if (blob && digestMatches(digest, blob.bytes, blob.mediaType)) {
                cache.set(manifestKey(digest), { mediaType: blob.mediaType, bytes: blob.bytes });
              }
              if (blob) out.set(digest, blob);
            }),
          );
        }
        waits.push(
          batch
            .then(
              () => undefined,
              () => undefined,
            )
            .finally(() => {
              for (const digest of need) inflightManifests.delete(digest);
            }),
        );
      }
      // Every digest's outcome, then one answer: a failure of the whole call rejects as it is; failures of
      // single digests are gathered into one PartialManifestsError carrying what was read.
      const settled = await Promise.allSettled(waits);
      const failures = new Map<string, ImageSourceError>();
      for (const r of settled) {
        if (r.status === 'fulfilled') continue;
        if (!(r.reason instanceof PartialManifestsError)) throw r.reason;
        for (const [d, failure] of r.reason.failures) failures.set(d, failure);
      }
      if (failures.size > 0) throw new PartialManifestsError(out, failures);
      return out;
    },

    async getBlob(digest, maxBytes) {
      const hit = cache.get(blobKey(digest));
      if (hit && hit.bytes.length <= maxBytes) return hit.bytes;
      const inflight = inflightBlobs.get(digest);
      if (inflight) return inflight;
      const fetching = inner
        .getBlob(digest, maxBytes)
        .then((bytes) => {
          if (digestMatches(digest, bytes)) cache.set(blobKey(digest), { mediaType: undefined, bytes });
          return bytes;
        })
        .finally(() => inflightBlobs.delete(digest));
      inflightBlobs.set(digest, fetching);
      return fetching;
    },
  };
}
