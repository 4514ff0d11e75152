import { ImageSourceError, ManifestError } from '@nvcf-ecr/core/errors';
import {
  MAX_CONFIG_BYTES,
  MAX_INDEX_DEPTH,
  MAX_MANIFEST_BYTES,
  MAX_MANIFESTS,
  type ManifestBlob,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  resolveImage,
} from '@nvcf-ecr/core/image';
import { describe, expect, it } from 'vitest';
import {
  AMD64,
  ARM64,
  type Desc,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  encode,
  entry,
  MemoryRepo,
  OCI_INDEX,
  OCI_MANIFEST,
  thrown,
  UNKNOWN,
} from './helpers.ts';

const ARM_V7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
const WINDOWS = { os: 'windows', architecture: 'amd64' };

function rootBlob(repo: MemoryRepo, d: Desc): ManifestBlob {
  return repo.manifests.get(d.digest) as ManifestBlob;
}

/**
 * Stores under `digest` an OCI index listing the indexes `to`, whatever its content hashes to: the loops a
 * source serving inconsistent content could hand the engine.
 */
function storeIndex(repo: MemoryRepo, digest: string, ...to: string[]): void {
  const manifests = to.map((d) => ({ mediaType: OCI_INDEX, digest: d, size: 1 }));
  repo.manifests.set(digest, {
    digest,
    mediaType: OCI_INDEX,
    bytes: encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
  });
}

describe('Function: resolveImage', () => {
  describe('single manifests', () => {
    it('resolves an OCI image to the platform of its config with exactly one config fetch when the root is given', async () => {
      // Prepare
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      // Act
      const r = await resolveImage(repo, img.digest, { root: rootBlob(repo, img) });
      // Assess
      expect(r).toEqual({
        digest: img.digest,
        mediaType: OCI_MANIFEST,
        kind: 'image',
        platforms: ['linux/amd64'],
        children: [{ digest: img.digest, platform: 'linux/amd64', mediaType: OCI_MANIFEST }],
        ignored: [],
        mismatches: [],
        warnings: [],
      });
      expect(repo.manifestCalls).toEqual([]);
      expect(repo.blobCalls).toHaveLength(1);
    });

    it('fetches the root in one getManifests call when it is not given', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(ARM64, { mediaType: DOCKER_MANIFEST });
      const r = await resolveImage(repo, img.digest);
      expect(r.platforms).toEqual(['linux/arm64']);
      expect(r.mediaType).toBe(DOCKER_MANIFEST);
      expect(repo.manifestCalls).toEqual([[img.digest]]);
      expect(repo.blobCalls).toHaveLength(1);
    });

    it('normalises arm64 variant v8 in the config to plain linux/arm64', async () => {
      const repo = new MemoryRepo();
      const img = repo.image({ os: 'linux', architecture: 'aarch64', variant: 'v8' });
      expect((await resolveImage(repo, img.digest)).platforms).toEqual(['linux/arm64']);
    });

    it('reports windows/amd64 as its own platform', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(WINDOWS);
      expect((await resolveImage(repo, img.digest)).platforms).toEqual(['windows/amd64']);
    });

    it('warns about amd64 micro-architecture levels v3 and v4', async () => {
      const repo = new MemoryRepo();
      const img = repo.image({ os: 'linux', architecture: 'amd64', variant: 'v3' });
      const r = await resolveImage(repo, img.digest);
      expect(r.platforms).toEqual(['linux/amd64/v3']);
      expect(r.warnings).toEqual(['linux/amd64/v3 needs x86-64-v3 CPUs; not every amd64 host has them']);
    });

    it('infers an OCI manifest when neither the document nor the source gives a media type', async () => {
      const repo = new MemoryRepo();
      repo.reportMediaTypes = false;
      const config = repo.config(AMD64);
      const img = repo.manifest({ schemaVersion: 2, config, layers: [] }, OCI_MANIFEST);
      const r = await resolveImage(repo, img.digest);
      expect(r).toMatchObject({ kind: 'image', mediaType: OCI_MANIFEST, platforms: ['linux/amd64'] });
    });

    it('gives a schema1 manifest no runnable platform (runtimes refuse it) and names its architecture', async () => {
      const repo = new MemoryRepo();
      const img = repo.manifest(
        { schemaVersion: 1, name: 'team/app', tag: 'v1', architecture: 'aarch64', fsLayers: [], history: [] },
        'application/vnd.docker.distribution.manifest.v1+json',
      );
      const r = await resolveImage(repo, img.digest);
      expect(r).toMatchObject({ kind: 'image', platforms: [], children: [] });
      expect(r.ignored).toEqual([
        {
          digest: img.digest,
          mediaType: 'application/vnd.docker.distribution.manifest.v1+json',
          platform: 'linux/arm64',
          reason: `manifest ${img.digest} is a legacy Docker schema1 manifest, which containerd 2.0+ and Docker 26+ refuse to pull: rebuild and push it with a current Docker or BuildKit, or convert it with 'skopeo copy --format v2s2'`,
        },
      ]);
      expect(repo.blobCalls).toEqual([]);
    });
  });

  describe('artifacts', () => {
    it('classifies a manifest with the empty config as an artifact without fetching the config', async () => {
      const repo = new MemoryRepo();
      const config = { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 };
      const art = repo.manifest(
        { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] },
        OCI_MANIFEST,
      );
      const r = await resolveImage(repo, art.digest);
      expect(r.kind).toBe('artifact');
      expect(r.platforms).toEqual([]);
      expect(r.ignored).toEqual([
        {
          digest: art.digest,
          mediaType: OCI_MANIFEST,
          reason: `artifact: config media type ${OCI_EMPTY} is not an image config`,
        },
      ]);
      expect(repo.blobCalls).toEqual([]);
    });

    it('classifies a manifest with a subject as a referrer artifact', async () => {
      const repo = new MemoryRepo();
      const subject = repo.image(AMD64);
      const sig = repo.image(AMD64, { extra: { subject } });
      const r = await resolveImage(repo, sig.digest);
      expect(r.kind).toBe('artifact');
      expect(r.ignored[0]?.reason).toMatch(new RegExp(`^referrer: has a subject \\(${subject.digest}\\)`));
    });

    it('classifies an index with artifactType as an artifact and does not open its entries', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const idx = repo.index([entry(img, AMD64)], { extra: { artifactType: 'application/example.sbom' } });
      const r = await resolveImage(repo, idx.digest);
      expect(r.kind).toBe('artifact');
      expect(r.ignored).toEqual([
        {
          digest: idx.digest,
          mediaType: OCI_INDEX,
          reason: 'artifact: artifactType application/example.sbom is set',
        },
      ]);
      expect(repo.manifestCalls).toEqual([[idx.digest]]);
    });

    it('classifies an image config without os/architecture as an artifact', async () => {
      const repo = new MemoryRepo();
      const config = repo.blob({});
      const img = repo.image(AMD64, { config });
      const r = await resolveImage(repo, img.digest);
      expect(r.kind).toBe('artifact');
      expect(r.ignored[0]?.reason).toBe(
        `artifact: config ${config.digest} declares no os/architecture, so it is not a runnable image`,
      );
    });

    it('classifies an attestation manifest resolved on its own (config unknown/unknown) as an artifact', async () => {
      const repo = new MemoryRepo();
      const att = repo.image(UNKNOWN);
      const r = await resolveImage(repo, att.digest);
      expect(r.kind).toBe('artifact');
      expect(r.ignored[0]?.reason).toMatch(/declares unknown\/unknown \(a BuildKit attestation\)/);
    });
  });

  describe('indexes', () => {
    it('fetches all children of an index in ONE getManifests call, then each config once', async () => {
      const repo = new MemoryRepo();
      const children = [
        entry(repo.image(AMD64), AMD64),
        entry(repo.image(ARM64), ARM64),
        entry(repo.image(ARM_V7), ARM_V7),
        entry(repo.image({ os: 'linux', architecture: 'arm', variant: 'v6' }), {
          os: 'linux',
          architecture: 'arm',
          variant: 'v6',
        }),
      ];
      const idx = repo.index(children);
      const r = await resolveImage(repo, idx.digest, { root: rootBlob(repo, idx) });
      expect(r.kind).toBe('index');
      expect(r.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6']);
      expect(r.children.map((c) => c.digest)).toEqual(children.map((c) => c.digest));
      expect(repo.manifestCalls).toEqual([children.map((c) => c.digest)]);
      expect(repo.blobCalls).toHaveLength(4);
    });

    it('resolves a Docker manifest list of Docker v2 manifests', async () => {
      const repo = new MemoryRepo();
      const a = repo.image(AMD64, { mediaType: DOCKER_MANIFEST });
      const b = repo.image(ARM64, { mediaType: DOCKER_MANIFEST });
      const list = repo.index([entry(a, AMD64), entry(b, { ...ARM64, variant: 'v8' })], {
        mediaType: DOCKER_MANIFEST_LIST,
      });
      const r = await resolveImage(repo, list.digest);
      expect(r.mediaType).toBe(DOCKER_MANIFEST_LIST);
      expect(r.platforms).toEqual(['linux/amd64', 'linux/arm64']);
      expect(r.mismatches).toEqual([]);
      expect(r.children).toEqual([
        { digest: a.digest, platform: 'linux/amd64', mediaType: DOCKER_MANIFEST },
        { digest: b.digest, platform: 'linux/arm64', mediaType: DOCKER_MANIFEST },
      ]);
    });

    it('never fetches the same manifest or config twice', async () => {
      const repo = new MemoryRepo();
      const sharedConfig = repo.config(AMD64);
      const a = repo.image(AMD64, { config: sharedConfig, extra: { annotations: { n: 'a' } } });
      const b = repo.image(AMD64, { config: sharedConfig, extra: { annotations: { n: 'b' } } });
      const idx = repo.index([entry(a, AMD64), entry(a, AMD64), entry(b, AMD64)]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.children.map((c) => c.digest)).toEqual([a.digest, b.digest]);
      expect(repo.manifestCalls).toEqual([[idx.digest], [a.digest, b.digest]]);
      expect(repo.blobCalls).toEqual([sharedConfig.digest]);
    });

    it('fetches config blobs concurrently, at most 8 at a time', async () => {
      const repo = new MemoryRepo();
      const entries = Array.from({ length: 20 }, (_, i) =>
        entry(
          repo.image(AMD64, { config: repo.config(AMD64, { config: { Labels: { i: String(i) } } }) }),
          AMD64,
        ),
      );
      const idx = repo.index(entries);
      await resolveImage(repo, idx.digest);
      expect(repo.blobCalls).toHaveLength(20);
      expect(repo.maxInFlight).toBe(8);
    });

    it('drops attestation entries by their annotation without fetching them', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const att = repo.image(UNKNOWN);
      const idx = repo.index([
        entry(img, AMD64),
        entry(att, UNKNOWN, {
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': img.digest,
          },
        }),
      ]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.ignored).toEqual([
        {
          digest: att.digest,
          mediaType: OCI_MANIFEST,
          platform: 'unknown/unknown',
          reason: `attestation manifest for ${img.digest} (vnd.docker.reference.type=attestation-manifest): not runnable`,
        },
      ]);
      expect(repo.manifestCalls).toEqual([[idx.digest], [img.digest]]);
    });

    it('drops entries annotated with any other vnd.docker.reference.type (regclient builder entries)', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const builder = repo.image(AMD64, { extra: { annotations: { builder: 'yes' } } });
      const idx = repo.index([
        entry(img, AMD64),
        entry(builder, UNKNOWN, { annotations: { 'vnd.docker.reference.type': 'builder' } }),
      ]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.ignored.map((i) => i.reason)).toEqual([
        'BuildKit builder entry (vnd.docker.reference.type=builder): not runnable',
      ]);
    });

    it('drops unknown/unknown entries without an annotation, artifactType entries and non-manifest media types', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const other = repo.image(ARM64);
      const layer = repo.blob('layer', 'application/vnd.oci.image.layer.v1.tar+gzip');
      const idx = repo.index([
        entry(img, AMD64),
        entry(other, UNKNOWN),
        entry(other, undefined, { artifactType: 'application/example.sbom' }),
        entry(layer),
      ]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.ignored.map((i) => i.reason)).toEqual([
        'platform unknown/unknown marks a non-runnable entry (BuildKit attestation placeholder)',
        'artifact (artifactType application/example.sbom): not a runnable image',
        'media type application/vnd.oci.image.layer.v1.tar+gzip is not a manifest or index',
      ]);
    });

    it('ignores children that are referrers or artifacts after opening them', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const sbom = repo.manifest(
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
          layers: [],
        },
        OCI_MANIFEST,
      );
      const sig = repo.image(AMD64, { extra: { subject: img } });
      const idx = repo.index([entry(img, AMD64), entry(sbom), entry(sig, AMD64)]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.ignored.map((i) => i.reason)).toEqual([
        `artifact: config media type ${OCI_EMPTY} is not an image config`,
        expect.stringMatching(/^referrer: has a subject/),
      ]);
    });

    it('judges an entry without a platform by its config, with a warning', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(ARM64);
      const idx = repo.index([entry(img)]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.platforms).toEqual(['linux/arm64']);
      expect(r.warnings).toEqual([
        `index entry ${img.digest} declares no platform; counted as linux/arm64, from its config`,
      ]);
    });

    it('records a mismatch and counts the config platform when the index declares another one', async () => {
      const repo = new MemoryRepo();
      const amd = repo.image(AMD64);
      const lie = repo.image(AMD64, { extra: { annotations: { n: 'lie' } } });
      const idx = repo.index([entry(amd, AMD64), entry(lie, ARM64)]);
      const r = await resolveImage(repo, idx.digest);
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.mismatches).toEqual([{ digest: lie.digest, declared: 'linux/arm64', actual: 'linux/amd64' }]);
    });

    it('records a mismatch for every entry that contradicts its config, also when entries share a manifest', async () => {
      const repo = new MemoryRepo();
      const amd = repo.image(AMD64);
      const arm = repo.image(ARM64);
      // Two entries point at one amd64 manifest: the second declares arm64, which its config contradicts. The
      // same entry listed again adds no new fact, so it is recorded once.
      const idx = repo.index([entry(amd, AMD64), entry(amd, ARM64), entry(arm, ARM_V7), entry(amd, ARM64)]);
      const r = await resolveImage(repo, idx.digest);
      // An entry counts only for what it declares, and only when its config agrees: the two lying entries
      // count for nothing (an arm64 host would pull the amd64 binary).
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.children.map((c) => c.digest)).toEqual([amd.digest, arm.digest]);
      expect(r.mismatches).toEqual([
        { digest: amd.digest, declared: 'linux/arm64', actual: 'linux/amd64' },
        { digest: arm.digest, declared: 'linux/arm/v7', actual: 'linux/arm64' },
      ]);
      // Each manifest and config is still fetched once.
      expect(repo.manifestCalls).toEqual([[idx.digest], [amd.digest, arm.digest]]);
      expect(repo.blobCalls).toHaveLength(2);
    });

    it('returns an index with no platforms for an empty index', async () => {
      const repo = new MemoryRepo();
      const idx = repo.index([]);
      const r = await resolveImage(repo, idx.digest);
      expect(r).toMatchObject({ kind: 'index', platforms: [], children: [], ignored: [] });
      expect(repo.manifestCalls).toEqual([[idx.digest]]);
    });

    it('expands nested indexes in place with one getManifests call per level', async () => {
      const repo = new MemoryRepo();
      const amd = repo.image(AMD64);
      const arm = repo.image(ARM64);
      const v7 = repo.image(ARM_V7);
      const inner = repo.index([entry(amd, AMD64), entry(arm, ARM64)]);
      const outer = repo.index([entry(inner), entry(v7, ARM_V7)]);
      const r = await resolveImage(repo, outer.digest);
      expect(r.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
      expect(repo.manifestCalls).toEqual([
        [outer.digest],
        [inner.digest, v7.digest],
        [amd.digest, arm.digest],
      ]);
    });

    it('expands an index listed twice only once', async () => {
      const repo = new MemoryRepo();
      const inner = repo.index([entry(repo.image(AMD64), AMD64)]);
      const outer = repo.index([entry(inner), entry(inner)]);
      const r = await resolveImage(repo, outer.digest);
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(repo.manifestCalls).toHaveLength(3);
      expect(repo.blobCalls).toHaveLength(1);
    });

    it(`follows ${MAX_INDEX_DEPTH} levels of indexes`, async () => {
      const repo = new MemoryRepo();
      let top = repo.index([entry(repo.image(AMD64), AMD64)]);
      for (let level = 2; level <= MAX_INDEX_DEPTH; level++) top = repo.index([entry(top)]);
      expect((await resolveImage(repo, top.digest)).platforms).toEqual(['linux/amd64']);
    });

    it(`rejects an index nested ${MAX_INDEX_DEPTH + 1} levels deep with ManifestError too-deep`, async () => {
      const repo = new MemoryRepo();
      const deepest = repo.index([entry(repo.image(AMD64), AMD64)]);
      let top = deepest;
      for (let level = 2; level <= MAX_INDEX_DEPTH + 1; level++) top = repo.index([entry(top)]);
      const err = await thrown(() => resolveImage(repo, top.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'too-deep',
        digest: deepest.digest,
        message: `index ${deepest.digest} is nested 5 levels deep; at most 4 levels of indexes are followed`,
      });
    });

    it(`refuses an index whose children would exceed ${MAX_MANIFESTS} manifests, before fetching them`, async () => {
      const repo = new MemoryRepo();
      const entries = Array.from({ length: MAX_MANIFESTS }, (_, i) =>
        entry(repo.image(AMD64, { extra: { annotations: { i: String(i) } } }), AMD64),
      );
      const idx = repo.index(entries);
      const err = await thrown(() => resolveImage(repo, idx.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'too-many-manifests',
        message: `resolving this image would fetch more than ${MAX_MANIFESTS} manifests; an index this large is refused`,
      });
      expect(repo.manifestCalls).toEqual([[idx.digest]]);
    });
  });

  describe('missing content', () => {
    it('throws ManifestError not-found for a missing root', async () => {
      const repo = new MemoryRepo();
      const digest = `sha256:${'a'.repeat(64)}`;
      const err = await thrown(() => resolveImage(repo, digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'not-found',
        message: `manifest ${digest} was not found: check the tag or digest and that it was pushed`,
      });
    });

    it('throws ManifestError not-found for a missing index child by default', async () => {
      const repo = new MemoryRepo();
      const gone = `sha256:${'b'.repeat(64)}`;
      const idx = repo.index([
        entry(repo.image(AMD64), AMD64),
        { mediaType: OCI_MANIFEST, digest: gone, size: 10, platform: ARM64 },
      ]);
      const err = await thrown(() => resolveImage(repo, idx.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'not-found',
        digest: gone,
        message: `child manifest ${gone} was not found in the source: the index refers to content that does not exist`,
      });
    });

    it('records a missing child as ignored with a warning when missingChildren is ignore', async () => {
      const repo = new MemoryRepo();
      const gone = `sha256:${'b'.repeat(64)}`;
      const idx = repo.index([
        entry(repo.image(AMD64), AMD64),
        { mediaType: OCI_MANIFEST, digest: gone, size: 10, platform: ARM64 },
      ]);
      const r = await resolveImage(repo, idx.digest, { missingChildren: 'ignore' });
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.ignored).toEqual([
        {
          digest: gone,
          mediaType: OCI_MANIFEST,
          platform: 'linux/arm64',
          reason: `missing: child manifest ${gone} was not found in the source`,
        },
      ]);
      expect(r.warnings).toEqual([
        `child manifest ${gone} was not found in the source; its platform was not counted`,
      ]);
    });

    it('records a missing config of a child as ignored when missingChildren is ignore', async () => {
      const repo = new MemoryRepo();
      const config = repo.config(ARM64);
      const arm = repo.image(ARM64, { config });
      repo.blobs.delete(config.digest);
      const idx = repo.index([entry(repo.image(AMD64), AMD64), entry(arm, ARM64)]);
      const r = await resolveImage(repo, idx.digest, { missingChildren: 'ignore' });
      expect(r.platforms).toEqual(['linux/amd64']);
      expect(r.ignored[0]?.reason).toBe(
        `missing: config ${config.digest} of ${arm.digest} was not found in the source`,
      );
    });

    it('throws the fetcher ManifestError not-found for a missing config of a single image', async () => {
      const repo = new MemoryRepo();
      const config = repo.config(AMD64);
      const img = repo.image(AMD64, { config });
      repo.blobs.delete(config.digest);
      const err = await thrown(() => resolveImage(repo, img.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({ code: 'not-found', message: `blob ${config.digest} not found` });
    });
  });

  describe('bounds and integrity', () => {
    it('rejects a manifest whose bytes do not match its digest with ManifestError digest-mismatch', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const tampered = encode({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: repo.config(ARM64),
        layers: [],
      });
      repo.manifests.set(img.digest, { digest: img.digest, mediaType: OCI_MANIFEST, bytes: tampered });
      const err = await thrown(() => resolveImage(repo, img.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).code).toBe('digest-mismatch');
      expect((err as ManifestError).message).toMatch(
        new RegExp(`^manifest ${img.digest} does not match its content`),
      );
    });

    it('rejects a config whose bytes do not match its digest', async () => {
      const repo = new MemoryRepo();
      const config = repo.config(AMD64);
      const img = repo.image(AMD64, { config });
      repo.blobs.set(config.digest, encode({ os: 'linux', architecture: 'arm64' }));
      const err = await thrown(() => resolveImage(repo, img.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'digest-mismatch',
        message: expect.stringMatching(new RegExp(`^config ${config.digest} does not match`)),
      });
    });

    it('refuses a manifest larger than MAX_MANIFEST_BYTES with ManifestError too-large', async () => {
      const repo = new MemoryRepo();
      const big = repo.image(AMD64, { extra: { annotations: { pad: 'x'.repeat(MAX_MANIFEST_BYTES) } } });
      const err = await thrown(() => resolveImage(repo, big.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'too-large',
        message: `manifest ${big.digest} is ${big.size} bytes; manifests over ${MAX_MANIFEST_BYTES} bytes are refused`,
      });
    });

    it('refuses an index entry that declares a size over MAX_MANIFEST_BYTES without fetching it', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const idx = repo.index([{ ...entry(img, AMD64), size: MAX_MANIFEST_BYTES + 1 }]);
      const err = await thrown(() => resolveImage(repo, idx.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'too-large',
        message: `manifest ${img.digest} is ${MAX_MANIFEST_BYTES + 1} bytes; manifests over ${MAX_MANIFEST_BYTES} bytes are refused`,
      });
      expect(repo.manifestCalls).toEqual([[idx.digest]]);
    });

    it('refuses a config that declares more than MAX_CONFIG_BYTES without fetching it', async () => {
      const repo = new MemoryRepo();
      const config = repo.config(AMD64);
      const img = repo.image(AMD64, { config: { ...config, size: MAX_CONFIG_BYTES + 1 } });
      const err = await thrown(() => resolveImage(repo, img.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'too-large',
        message: `config ${config.digest} is ${MAX_CONFIG_BYTES + 1} bytes; configs over ${MAX_CONFIG_BYTES} bytes are refused`,
      });
      expect(repo.blobCalls).toEqual([]);
    });

    it('throws ManifestError loop for an index that lists itself (content not verified)', async () => {
      const repo = new MemoryRepo();
      const self = `sha256:${'c'.repeat(64)}`;
      storeIndex(repo, self, self);
      const err = await thrown(() => resolveImage(repo, self, { verifyDigests: false }));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'loop',
        digest: self,
        message: `index ${self} lists itself (directly or through a nested index): the source serves inconsistent content`,
      });
    });

    it('throws ManifestError loop for a cycle through a nested index', async () => {
      const repo = new MemoryRepo();
      const a = `sha256:${'a'.repeat(64)}`;
      const b = `sha256:${'b'.repeat(64)}`;
      storeIndex(repo, a, b);
      storeIndex(repo, b, a);
      const err = await thrown(() => resolveImage(repo, a, { verifyDigests: false }));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({ code: 'loop', digest: a });
    });

    it('throws ManifestError loop for two indexes listing each other when both are listed by the root', async () => {
      const repo = new MemoryRepo();
      const [root, x, y] = ['a', 'b', 'c'].map((c) => `sha256:${c.repeat(64)}`) as [string, string, string];
      storeIndex(repo, root, x, y);
      storeIndex(repo, x, y);
      storeIndex(repo, y, x);
      const err = await thrown(() => resolveImage(repo, root, { verifyDigests: false }));
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).code).toBe('loop');
      expect([x, y]).toContain((err as ManifestError).digest);
    });

    it('rejects a self-referencing index with digest-mismatch when digests are verified', async () => {
      const repo = new MemoryRepo();
      const self = `sha256:${'c'.repeat(64)}`;
      storeIndex(repo, self, self);
      const err = await thrown(() => resolveImage(repo, self));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({ code: 'digest-mismatch' });
    });

    it('rejects a root that is not a digest with ManifestError invalid-manifest', async () => {
      const err = await thrown(() => resolveImage(new MemoryRepo(), 'latest'));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'invalid-manifest',
        message: "cannot resolve latest: 'latest' is not a digest of the form 'sha256:<64 hex>'",
      });
    });
  });

  describe('malformed content', () => {
    it('rejects bytes that are not JSON with ManifestError invalid-json', async () => {
      const repo = new MemoryRepo();
      const bad = repo.manifest('{"schemaVersion": 2,', OCI_MANIFEST);
      const err = await thrown(() => resolveImage(repo, bad.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).code).toBe('invalid-json');
      expect((err as ManifestError).message).toMatch(
        new RegExp(`^manifest ${bad.digest} is not valid JSON: `),
      );
    });

    it("rejects an index whose 'manifests' is not an array with ManifestError invalid-manifest", async () => {
      const repo = new MemoryRepo();
      const bad = repo.manifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: {} }, OCI_INDEX);
      const err = await thrown(() => resolveImage(repo, bad.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'invalid-manifest',
        message: `index ${bad.digest}: 'manifests' must be an array`,
      });
    });

    it('rejects an index entry with a malformed platform', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      const bad = repo.manifest(
        { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...img, platform: 'linux/amd64' }] },
        OCI_INDEX,
      );
      const err = await thrown(() => resolveImage(repo, bad.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'invalid-manifest',
        message: `manifest ${bad.digest}: manifests[0].platform must be an object with string 'os' and 'architecture' (both non-empty to be pulled)`,
      });
    });

    it('rejects a config that is not a JSON object with ManifestError invalid-config', async () => {
      const repo = new MemoryRepo();
      const config = repo.blob('[1,2]');
      const img = repo.image(AMD64, { config });
      const err = await thrown(() => resolveImage(repo, img.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'invalid-config',
        message: `config ${config.digest} must be a JSON object, not an array`,
      });
    });

    it('rejects an unknown root media type with ManifestError unsupported-media-type', async () => {
      const repo = new MemoryRepo();
      const odd = repo.manifest(
        { schemaVersion: 2, mediaType: 'application/vnd.example.thing+json' },
        'application/vnd.example.thing+json',
      );
      const err = await thrown(() => resolveImage(repo, odd.digest));
      expect(err).toBeInstanceOf(ManifestError);
      expect(err).toMatchObject({
        code: 'unsupported-media-type',
        message: `manifest ${odd.digest} has media type 'application/vnd.example.thing+json', which is not an OCI or Docker manifest or index`,
      });
    });

    it('wraps an unexpected fetcher failure in a transient ImageSourceError', async () => {
      const repo = new MemoryRepo();
      const img = repo.image(AMD64);
      repo.getManifests = async () => {
        throw new TypeError('fetch failed');
      };
      const err = await thrown(() => resolveImage(repo, img.digest));
      expect(err).toBeInstanceOf(ImageSourceError);
      expect(err).toMatchObject({
        transient: true,
        message: `fetching manifest ${img.digest} failed: fetch failed`,
      });
    });
  });
});
