import { AdaptiveGate, coalescingFetcher, pacedFetcher } from '@nvcf-ecr/core/audit';
import { ImageSourceError, PartialManifestsError } from '@nvcf-ecr/core/errors';
import {
  ContentCache,
  cachingFetcher,
  ecrFetcher,
  type ImageFetcher,
  type ManifestBlob,
} from '@nvcf-ecr/core/image';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../core/expect-error.ts';
import { AMD64, ARM64 } from '../image/helpers.ts';
import { ACCOUNT, FakeEcr } from '../validation/fakes.ts';

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
const blob = (d: string): ManifestBlob => ({
  digest: d,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  bytes: new Uint8Array(),
});

/** A fetcher that records each getManifests call and knows every digest but the ones in `missing`. */
function recording(missing: Set<string> = new Set(), failFirst = 0) {
  const batches: string[][] = [];
  let failures = failFirst;
  const fetcher: ImageFetcher = {
    async getManifests(digests) {
      batches.push([...digests]);
      if (failures-- > 0) {
        throw new ImageSourceError('ecr:BatchGetImage failed', true, {
          cause: Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
        });
      }
      return new Map(digests.filter((d) => !missing.has(d)).map((d) => [d, blob(d)]));
    },
    getBlob: async () => new Uint8Array([1]),
  };
  return { fetcher, batches };
}

describe('Function: coalescingFetcher', () => {
  it('merges the calls made in the same turn of the event loop into one, and gives each caller its own', async () => {
    const { fetcher, batches } = recording(new Set([digest(3)]));
    const f = coalescingFetcher(fetcher);
    const [a, b, c] = await Promise.all([
      f.getManifests([digest(1), digest(2)]),
      f.getManifests([digest(2), digest(3)]),
      f.getManifests([digest(4)]),
    ]);
    expect(batches).toEqual([[digest(1), digest(2), digest(3), digest(4)]]);
    expect([...(a?.keys() ?? [])]).toEqual([digest(1), digest(2)]);
    expect([...(b?.keys() ?? [])]).toEqual([digest(2)]);
    expect([...(c?.keys() ?? [])]).toEqual([digest(4)]);
    await f.getManifests([digest(5)]);
    expect(batches).toHaveLength(2);
  });
});

/**
 * A fetcher that answers every digest but those of `failing`, which fail one by one (as ECR's failure
 * entries do): `transient` ones `times` times, then they succeed; lasting ones always.
 */
function failingDigests(failing: Map<string, { transient: boolean; times?: number }>) {
  const batches: string[][] = [];
  const left = new Map([...failing].map(([d, f]) => [d, f.times ?? Number.POSITIVE_INFINITY]));
  const fetcher: ImageFetcher = {
    async getManifests(digests) {
      batches.push([...digests]);
      const found = new Map<string, ManifestBlob>();
      const failures = new Map<string, ImageSourceError>();
      for (const d of digests) {
        const f = failing.get(d);
        const n = left.get(d) ?? 0;
        if (f && n > 0) {
          left.set(d, n - 1);
          failures.set(d, new ImageSourceError(`ECR could not return image ${d} (injected)`, f.transient));
        } else found.set(d, blob(d));
      }
      if (failures.size > 0) throw new PartialManifestsError(found, failures);
      return found;
    },
    getBlob: async () => new Uint8Array([1]),
  };
  return { fetcher, batches };
}

describe('Function: ecrFetcher (per-digest failures)', () => {
  it('returns the images answered beside a failure entry, and that failure for its digest only', async () => {
    const ecr = new FakeEcr();
    const ok = ecr.repo.image(AMD64);
    const denied = ecr.repo.image(ARM64);
    ecr.failures.set(denied.digest, { code: 'ImageInaccessible', reason: 'no access' });
    const err = await expectRejection(
      () =>
        ecrFetcher({ ecr, repository: 'inference', registryId: ACCOUNT }).getManifests([
          ok.digest,
          denied.digest,
        ]),
      PartialManifestsError,
      `ECR could not return image ${denied.digest} of repository inference of registry ${ACCOUNT} (ImageInaccessible: no access)`,
    );
    expect([...err.found.keys()]).toEqual([ok.digest]);
    expect([...err.failures.keys()]).toEqual([denied.digest]);
    expect(err.transient).toBe(false);
    expect(ecr.count('BatchGetImage')).toBe(1);
  });
});

describe('Function: coalescingFetcher (per-digest failures)', () => {
  it('fails only the caller whose digest ECR would not return; the others of the merged call get theirs', async () => {
    const { fetcher, batches } = failingDigests(new Map([[digest(3), { transient: false }]]));
    const f = coalescingFetcher(fetcher);
    const [a, b, c] = await Promise.allSettled([
      f.getManifests([digest(1), digest(2)]),
      f.getManifests([digest(2), digest(3)]),
      f.getManifests([digest(4)]),
    ]);
    expect(batches).toHaveLength(1);
    expect(a.status === 'fulfilled' ? [...a.value.keys()] : a.reason).toEqual([digest(1), digest(2)]);
    expect(c.status === 'fulfilled' ? [...c.value.keys()] : c.reason).toEqual([digest(4)]);
    expect(b.status).toBe('rejected');
    const err = (b as PromiseRejectedResult).reason as PartialManifestsError;
    expect(err).toBeInstanceOf(PartialManifestsError);
    expect(err.message).toBe(`ECR could not return image ${digest(3)} (injected)`);
    expect([...err.failures.keys()]).toEqual([digest(3)]);
    expect([...err.found.keys()]).toEqual([digest(2)]);
  });
});

describe('Function: cachingFetcher (per-digest failures)', () => {
  it('caches what a partly failed call read and reports the failure for its digest only', async () => {
    const ecr = new FakeEcr();
    const ok = ecr.repo.image(AMD64);
    const denied = ecr.repo.image(ARM64);
    ecr.failures.set(denied.digest, { code: 'ImageInaccessible', reason: 'no access' });
    const f = cachingFetcher(ecrFetcher({ ecr, repository: 'inference' }), new ContentCache());
    const err = await expectRejection(
      () => f.getManifests([ok.digest, denied.digest]),
      PartialManifestsError,
      `ECR could not return image ${denied.digest} of repository inference (ImageInaccessible: no access)`,
    );
    expect([...err.found.keys()]).toEqual([ok.digest]);
    expect([...err.failures.keys()]).toEqual([denied.digest]);
    expect([...(await f.getManifests([ok.digest])).keys()]).toEqual([ok.digest]);
    expect(ecr.count('BatchGetImage')).toBe(1);
  });
});

describe('Function: pacedFetcher', () => {
  it('asks a transiently failed digest again on its own, and reports a lasting failure for its digest only', async () => {
    const { fetcher, batches } = failingDigests(
      new Map([
        [digest(2), { transient: true, times: 2 }],
        [digest(3), { transient: false }],
      ]),
    );
    const paced = pacedFetcher(fetcher, new AdaptiveGate(4), { sleep: async () => {} });
    const err = await expectRejection(
      () => paced.getManifests([digest(1), digest(2), digest(3)]),
      PartialManifestsError,
      `ECR could not return image ${digest(3)} (injected)`,
    );
    expect(batches).toEqual([[digest(1), digest(2), digest(3)], [digest(2)], [digest(2)]]);
    expect([...err.found.keys()].sort()).toEqual([digest(1), digest(2)]);
    expect([...err.failures.keys()]).toEqual([digest(3)]);
    expect(err.transient).toBe(false);
  });

  it('asks BatchGetImage for at most 100 ids per call', async () => {
    const { fetcher, batches } = recording();
    const wanted = Array.from({ length: 250 }, (_, i) => digest(i));
    const got = await pacedFetcher(fetcher, new AdaptiveGate(4), { sleep: async () => {} }).getManifests(
      wanted,
    );
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(got.size).toBe(250);
  });

  it('retries a throttled batch and slows its gate down', async () => {
    const { fetcher, batches } = recording(new Set(), 2);
    const gate = new AdaptiveGate(8);
    const got = await pacedFetcher(fetcher, gate, { sleep: async () => {} }).getManifests([digest(1)]);
    expect(got.has(digest(1))).toBe(true);
    expect(batches).toHaveLength(3);
    expect(gate.throttled).toBe(2);
  });
});
