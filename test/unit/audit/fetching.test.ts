import {
  AdaptiveGate,
  coalescingFetcher,
  type ImageFetcher,
  ImageSourceError,
  type ManifestBlob,
  pacedFetcher,
} from '@nvcf-ecr/core';
import { describe, expect, it } from 'vitest';

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

describe('Function: pacedFetcher', () => {
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
