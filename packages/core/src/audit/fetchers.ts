import { type ImageSourceError, PartialManifestsError } from '../errors.ts';
import type { ImageFetcher, ManifestBlob } from '../image/fetcher.ts';
import { BATCH_GET_IMAGE_MAX_IDS } from '../image/sources/ecr.ts';
import type { ScanStats } from './images.ts';
import { type AdaptiveGate, type BackoffOptions, withBackoff } from './pace.ts';

/**
 * The fetcher layers the audit puts between the manifest engine and ECR: {@link pacedFetcher} (batches of
 * 100, the region's gate, backoff) and {@link coalescingFetcher} (concurrent resolutions share their
 * `BatchGetImage` calls).
 */

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
