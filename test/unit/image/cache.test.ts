import { ManifestError } from '@nvcf-ecr/core/errors';
import { ContentCache, cachingFetcher, resolveImage } from '@nvcf-ecr/core/image';
import { describe, expect, it } from 'vitest';
import { AMD64, ARM64, encode, entry, MemoryRepo, OCI_MANIFEST, thrown } from './helpers.ts';

function bytes(n: number): Uint8Array {
  return new Uint8Array(n);
}

describe('Class: ContentCache', () => {
  it('evicts the least recently used entry when over its entry limit', () => {
    const cache = new ContentCache({ maxEntries: 2 });
    cache.set('a', { mediaType: undefined, bytes: bytes(1) });
    cache.set('b', { mediaType: undefined, bytes: bytes(1) });
    cache.get('a');
    cache.set('c', { mediaType: undefined, bytes: bytes(1) });
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    expect(cache.stats()).toEqual({ entries: 2, bytes: 2, hits: 1, misses: 0, evictions: 1 });
  });

  it('evicts until the total size fits its byte limit', () => {
    const cache = new ContentCache({ maxBytes: 10 });
    cache.set('a', { mediaType: undefined, bytes: bytes(4) });
    cache.set('b', { mediaType: undefined, bytes: bytes(4) });
    cache.set('c', { mediaType: undefined, bytes: bytes(4) });
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([false, true, true]);
    expect(cache.stats().bytes).toBe(8);
  });

  it('does not store an entry larger than the whole cache', () => {
    const cache = new ContentCache({ maxBytes: 10 });
    cache.set('a', { mediaType: undefined, bytes: bytes(4) });
    cache.set('huge', { mediaType: undefined, bytes: bytes(11) });
    expect([cache.has('a'), cache.has('huge')]).toEqual([true, false]);
  });

  it('replaces an entry stored twice without counting its bytes twice', () => {
    const cache = new ContentCache();
    cache.set('a', { mediaType: undefined, bytes: bytes(4) });
    cache.set('a', { mediaType: undefined, bytes: bytes(6) });
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 6 });
  });
});

describe('Function: cachingFetcher', () => {
  it('makes zero fetches when the same image is resolved a second time', async () => {
    // Prepare
    const repo = new MemoryRepo();
    const idx = repo.index([entry(repo.image(AMD64), AMD64), entry(repo.image(ARM64), ARM64)]);
    const fetcher = cachingFetcher(repo, new ContentCache());
    const first = await resolveImage(fetcher, idx.digest);
    const before = repo.fetches;
    // Act
    const second = await resolveImage(fetcher, idx.digest);
    // Assess
    expect(before).toBe(4);
    expect(repo.fetches).toBe(before);
    expect(second).toEqual(first);
  });

  it('fetches only what a new index does not share with a cached one', async () => {
    const repo = new MemoryRepo();
    const amd = repo.image(AMD64);
    const old = repo.index([entry(amd, AMD64)]);
    const arm = repo.image(ARM64);
    const next = repo.index([entry(amd, AMD64), entry(arm, ARM64)]);
    const fetcher = cachingFetcher(repo, new ContentCache());
    await resolveImage(fetcher, old.digest);
    repo.manifestCalls.length = 0;
    repo.blobCalls.length = 0;
    await resolveImage(fetcher, next.digest);
    expect(repo.manifestCalls).toEqual([[next.digest], [arm.digest]]);
    expect(repo.blobCalls).toHaveLength(1);
  });

  it('shares one fetch between concurrent requests for the same content', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const fetcher = cachingFetcher(repo, new ContentCache());
    await Promise.all([resolveImage(fetcher, img.digest), resolveImage(fetcher, img.digest)]);
    expect(repo.manifestCalls).toEqual([[img.digest]]);
    expect(repo.blobCalls).toHaveLength(1);
  });

  it('keeps scopes apart: content cached for one repository is not found for another', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const cache = new ContentCache();
    await resolveImage(cachingFetcher(repo, cache, { scope: 'team/a' }), img.digest);
    const other = new MemoryRepo();
    const err = await thrown(() =>
      resolveImage(cachingFetcher(other, cache, { scope: 'team/b' }), img.digest),
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({ code: 'not-found' });
  });

  it('does not remember content that does not match its digest', async () => {
    const repo = new MemoryRepo();
    const img = repo.image(AMD64);
    const good = repo.manifests.get(img.digest);
    repo.manifests.set(img.digest, {
      digest: img.digest,
      mediaType: OCI_MANIFEST,
      bytes: encode('{"tampered":true}'),
    });
    const fetcher = cachingFetcher(repo, new ContentCache());
    const err = await thrown(() => resolveImage(fetcher, img.digest));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({ code: 'digest-mismatch' });
    if (good) repo.manifests.set(img.digest, good);
    expect((await resolveImage(fetcher, img.digest)).platforms).toEqual(['linux/amd64']);
  });
});
