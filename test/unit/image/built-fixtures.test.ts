/**
 * The images test/fixtures/build-images.sh builds with buildah (committed output; buildah is not needed
 * here). Expected platforms come from the script: the --os/--arch/--variant each image was built with,
 * and the index entries it writes by hand.
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  digestMatches,
  evaluatePlatforms,
  type ImageSource,
  openOciArchive,
  openOciLayout,
  type ResolvedImage,
  resolveImage,
} from '@nvcf-ecr/core/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LAYOUT = 'test/fixtures/images';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

interface Expected {
  mediaType: string;
  kind: ResolvedImage['kind'];
  platforms: string[];
  /** Verdict for the GB200 policy (linux/amd64 + linux/arm64). */
  gb200: 'compliant' | 'non-compliant' | 'not-runnable';
}

const EXPECTED: Record<string, Expected> = {
  'amd64-oci': { mediaType: OCI_MANIFEST, kind: 'image', platforms: ['linux/amd64'], gb200: 'non-compliant' },
  'amd64-docker': {
    mediaType: DOCKER_MANIFEST,
    kind: 'image',
    platforms: ['linux/amd64'],
    gb200: 'non-compliant',
  },
  // containerd 2.0+ and Docker 26+ refuse schema1 pulls: no runnable platform.
  'amd64-schema1': { mediaType: SCHEMA1, kind: 'image', platforms: [], gb200: 'not-runnable' },
  'arm64-oci': { mediaType: OCI_MANIFEST, kind: 'image', platforms: ['linux/arm64'], gb200: 'non-compliant' },
  'arm64-v8': { mediaType: OCI_MANIFEST, kind: 'image', platforms: ['linux/arm64'], gb200: 'non-compliant' },
  'arm-v6': { mediaType: OCI_MANIFEST, kind: 'image', platforms: ['linux/arm/v6'], gb200: 'non-compliant' },
  'arm-v7': { mediaType: OCI_MANIFEST, kind: 'image', platforms: ['linux/arm/v7'], gb200: 'non-compliant' },
  '386': { mediaType: OCI_MANIFEST, kind: 'image', platforms: ['linux/386'], gb200: 'non-compliant' },
  'windows-amd64': {
    mediaType: OCI_MANIFEST,
    kind: 'image',
    platforms: ['windows/amd64'],
    gb200: 'non-compliant',
  },
  'multi-oci': {
    mediaType: OCI_INDEX,
    kind: 'index',
    platforms: ['linux/amd64', 'linux/arm64'],
    gb200: 'compliant',
  },
  'multi-docker': {
    mediaType: DOCKER_LIST,
    kind: 'index',
    platforms: ['linux/amd64', 'linux/arm64'],
    gb200: 'compliant',
  },
  'multi-arm': {
    mediaType: OCI_INDEX,
    kind: 'index',
    platforms: ['linux/arm/v6', 'linux/arm/v7', 'linux/arm64'],
    gb200: 'non-compliant',
  },
  mismatch: { mediaType: OCI_INDEX, kind: 'index', platforms: ['linux/amd64'], gb200: 'non-compliant' },
  nested: {
    mediaType: OCI_INDEX,
    kind: 'index',
    platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
    gb200: 'compliant',
  },
  empty: { mediaType: OCI_INDEX, kind: 'index', platforms: [], gb200: 'not-runnable' },
  attested: {
    mediaType: OCI_INDEX,
    kind: 'index',
    platforms: ['linux/amd64', 'linux/arm64'],
    gb200: 'compliant',
  },
};

const index = JSON.parse(readFileSync(`${LAYOUT}/index.json`, 'utf8')) as {
  manifests: { digest: string; mediaType: string; annotations: Record<string, string> }[];
};
const refs = index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'] as string);

describe('Fixture: images built by build-images.sh', () => {
  let source: ImageSource;
  const resolved = new Map<string, ResolvedImage>();
  beforeAll(async () => {
    source = await openOciLayout(LAYOUT);
    for (const ref of refs) {
      const root = await source.resolveReference(ref);
      resolved.set(ref, await resolveImage(source, root.digest));
    }
  });

  it('has an expectation for every image of the layout', () => {
    expect([...refs].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('stores every blob under the digest of its content', () => {
    const files = readdirSync(`${LAYOUT}/blobs/sha256`);
    const wrong = files.filter(
      (hex) => !digestMatches(`sha256:${hex}`, new Uint8Array(readFileSync(`${LAYOUT}/blobs/sha256/${hex}`))),
    );
    expect(wrong).toEqual([]);
  });

  it.each(refs)('resolves %s to the platforms it was built for', (ref) => {
    const expected = EXPECTED[ref] as Expected;
    const r = resolved.get(ref) as ResolvedImage;
    expect({ mediaType: r.mediaType, kind: r.kind, platforms: r.platforms }).toEqual({
      mediaType: expected.mediaType,
      kind: expected.kind,
      platforms: expected.platforms,
    });
    expect(evaluatePlatforms(r, ['linux/amd64', 'linux/arm64']).verdict).toBe(expected.gb200);
  });

  it('ignores the schema1 image as one runtimes refuse, keeping the architecture it declares', () => {
    expect(resolved.get('amd64-schema1')?.ignored).toEqual([
      expect.objectContaining({
        platform: 'linux/amd64',
        reason: expect.stringMatching(/is a legacy Docker schema1 manifest, which containerd 2\.0\+/),
      }),
    ]);
  });

  it('records the mismatch between the declared linux/arm64 and the amd64 config, and fails even linux/amd64', () => {
    const r = resolved.get('mismatch') as ResolvedImage;
    const docker = index.manifests.find(
      (m) => m.annotations['org.opencontainers.image.ref.name'] === 'amd64-docker',
    )?.digest;
    expect(r.mismatches).toEqual([{ digest: docker, declared: 'linux/arm64', actual: 'linux/amd64' }]);
    expect(evaluatePlatforms(r, ['linux/amd64', 'linux/arm64']).reasons).toEqual([
      'missing linux/arm64 required (the image has linux/amd64)',
      `index entry ${docker} declares linux/arm64 but its config says linux/amd64: a linux/arm64 host would pull a linux/amd64 binary, so the entry counts for no platform; fix the index (docker buildx imagetools create, or docker manifest annotate) or rebuild`,
    ]);
    // linux/amd64 is provided by the honest entry, but the lying one still fails the verdict.
    expect(evaluatePlatforms(r, ['linux/amd64'])).toMatchObject({ verdict: 'non-compliant', missing: [] });
  });

  it('ignores the two attestation manifests of the attested index', () => {
    const r = resolved.get('attested') as ResolvedImage;
    const digestOf = (ref: string) =>
      index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === ref)?.digest;
    expect(r.ignored.map((i) => i.reason)).toEqual([
      `attestation manifest for ${digestOf('amd64-oci')} (vnd.docker.reference.type=attestation-manifest): not runnable`,
      `attestation manifest for ${digestOf('arm64-oci')} (vnd.docker.reference.type=attestation-manifest): not runnable`,
    ]);
  });

  it('is non-compliant for windows/amd64 when linux/amd64 is required', () => {
    const e = evaluatePlatforms(resolved.get('windows-amd64') as ResolvedImage, ['linux/amd64']);
    expect(e).toMatchObject({ verdict: 'non-compliant', missing: ['linux/amd64'] });
  });

  it('satisfies a plain linux/arm64 requirement with the arm64 image whose config says v8', () => {
    expect(evaluatePlatforms(resolved.get('arm64-v8') as ResolvedImage, ['linux/arm64']).verdict).toBe(
      'compliant',
    );
  });
});

describe('Fixture: images.tar (OCI archive)', () => {
  let source: ImageSource;
  beforeAll(async () => {
    source = await openOciArchive('test/fixtures/images.tar');
  });
  afterAll(async () => {
    await source.close();
  });

  it('holds multi-oci and amd64-docker with the same digests as the layout', async () => {
    for (const ref of ['multi-oci', 'amd64-docker']) {
      const fromArchive = await source.resolveReference(ref);
      const fromLayout = index.manifests.find(
        (m) => m.annotations['org.opencontainers.image.ref.name'] === ref,
      );
      expect(fromArchive.digest).toBe(fromLayout?.digest);
      expect((await resolveImage(source, fromArchive.digest)).platforms).toEqual(EXPECTED[ref]?.platforms);
    }
  });
});
