/**
 * Every image of the regclient test repository (real buildx and regctl output,
 * `regclient/regclient:testdata/testrepo`) resolves to a result. Expectations were derived by reading the blobs
 * under test/fixtures/regclient-testrepo: each index's entries, each child's config `architecture`/`os`/`variant`,
 * and each manifest's `artifactType`, `subject` and config media type.
 */
import { readFileSync } from 'node:fs';
import { ManifestError } from '@nvcf-ecr/core/errors';
import {
  evaluatePlatforms,
  type ImageSource,
  openOciLayout,
  type ResolvedImage,
  resolveImage,
} from '@nvcf-ecr/core/image';
import { beforeAll, describe, expect, it } from 'vitest';

const LAYOUT = 'test/fixtures/regclient-testrepo';
const REF = 'org.opencontainers.image.ref.name';

interface Expected {
  kind: ResolvedImage['kind'];
  platforms: string[];
  /** One pattern per ignored entry, in order. */
  ignored: RegExp[];
}

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6'];
const referrerOf = (digest: string): RegExp => new RegExp(`^referrer: has a subject \\(sha256:${digest}`);
const artifactEntry = (type: string): RegExp =>
  new RegExp(`^artifact \\(artifactType ${type.replace(/[.+]/g, '\\$&')}\\)`);
const artifactType = (type: string): RegExp =>
  new RegExp(`^artifact: artifactType ${type.replace(/[.+]/g, '\\$&')} is set$`);

/** Keyed by ref name, or by digest for the two entries index.json leaves unnamed. */
const EXPECTED: Record<string, Expected> = {
  b1: { kind: 'index', platforms: FOUR, ignored: [] },
  b2: { kind: 'index', platforms: FOUR, ignored: [] },
  b3: { kind: 'index', platforms: FOUR, ignored: [] },
  // The builder-annotated unknown/unknown entries are dropped by their vnd.docker.reference.type annotation.
  v1: {
    kind: 'index',
    platforms: ['linux/amd64', 'linux/arm64'],
    ignored: [
      /^BuildKit builder entry for sha256:1effc9d4.* \(vnd\.docker\.reference\.type=builder\): not runnable$/,
      /^BuildKit builder entry for sha256:7e87ffc9.* \(vnd\.docker\.reference\.type=builder\): not runnable$/,
    ],
  },
  v2: { kind: 'index', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], ignored: [] },
  v3: { kind: 'index', platforms: FOUR, ignored: [] },
  'sha256-7ceb9b6bcc274697d0c38be6214b50cec79d601bc61708747d3f6cb772f6c6fa.6fe828b32b9b4572.meta': {
    kind: 'index',
    platforms: FOUR,
    ignored: [],
  },
  // A builder manifest: image config media type, but the config is the empty `{}`.
  'a-docker': {
    kind: 'artifact',
    platforms: [],
    ignored: [/^artifact: config sha256:44136fa3.* declares no os\/architecture/],
  },
  'a-docker-oci': { kind: 'artifact', platforms: [], ignored: [referrerOf('7e87ffc91b9c')] },
  'sha256-7e87ffc91b9ceafa85be2777b16b1be10e4664fd4f3acc86e4295b97da5163ba': {
    kind: 'index',
    platforms: [],
    ignored: [artifactEntry('application/vnd.oci.image.config.v1+json')],
  },
  a1: { kind: 'artifact', platforms: [], ignored: [referrerOf('dfae8f425735')] },
  a2: { kind: 'artifact', platforms: [], ignored: [referrerOf('dfae8f425735')] },
  'sha256-dfae8f425735a5e3a72e40d6609e03079995511d48157c74d54801ff4430491e': {
    kind: 'index',
    platforms: [],
    ignored: [artifactEntry('application/example.sbom'), artifactEntry('application/example.signature')],
  },
  'sha256-ee378b79279b57eb5ac1f3b892c9ad2a9be9d9ccabe1a29a9cbaed8cad182358': {
    kind: 'index',
    platforms: [],
    ignored: [artifactEntry('application/example.arms')],
  },
  'sha256-36ed7f4ec4545a40ca043f60d76653ef3d2a76f58a051c0f3a256aaab26fb847': {
    kind: 'index',
    platforms: [],
    ignored: [artifactEntry('application/example.arms')],
  },
  'sha256-6bed79d0800a0d3a1d0e0e8105a6a5f7f7758ce09e160a8f142574c418302467': {
    kind: 'index',
    platforms: [],
    ignored: [artifactEntry('application/example.arms')],
  },
  a3: { kind: 'artifact', platforms: [], ignored: [artifactType('application/example.layers')] },
  ai: { kind: 'artifact', platforms: [], ignored: [artifactType('application/example.artifacts')] },
  'a-example': { kind: 'artifact', platforms: [], ignored: [artifactType('application/example')] },
  child: { kind: 'artifact', platforms: [], ignored: [artifactType('application/example.child')] },
  // The "loop" is a referrer index whose subject is `child` and which the referrers index of `child`
  // lists: a cycle through `subject`, which the engine never follows, so it terminates at once.
  loop: { kind: 'artifact', platforms: [], ignored: [referrerOf('8e54c6754f08')] },
  'sha256-8e54c6754f08d22f85c7552bb1951b228b8194d29b14a1639dbe50868da0273e': {
    kind: 'index',
    platforms: [],
    ignored: [artifactEntry('application/example.loop')],
  },
  mirror: { kind: 'artifact', platforms: [], ignored: [artifactType('application/example.mirror')] },
  'sha256-0514ce64171e869a0b065fa1ce1b533e82808c9228d5b97ea6e3ef2e026d9aed': {
    kind: 'artifact',
    platforms: [],
    ignored: [artifactType('application/example.mirror')],
  },
  'sha256:819ff4564a5d4a1c07b4e25bbba420cace378d4ed32671e6ee4eea95df1b8c4c': {
    kind: 'artifact',
    platforms: [],
    ignored: [referrerOf('6fe828b32b9b')],
  },
  'sha256:ad460bc30198d65c14708aa6ec4445498243bc642fce8b64ea7ce21ba559cc79': {
    kind: 'artifact',
    platforms: [],
    ignored: [referrerOf('6fe828b32b9b')],
  },
};

const index = JSON.parse(readFileSync(`${LAYOUT}/index.json`, 'utf8')) as {
  manifests: { digest: string; annotations?: Record<string, string> }[];
};
const refs = index.manifests.map((m) => m.annotations?.[REF] ?? m.digest);

describe('Fixture: regclient test repository', () => {
  let source: ImageSource;
  beforeAll(async () => {
    source = await openOciLayout(LAYOUT);
  });

  it('has an expectation for every entry of index.json', () => {
    expect([...refs].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(refs)('resolves %s', async (ref) => {
    const expected = EXPECTED[ref] as Expected;
    const root = await source.resolveReference(ref);
    const r = await resolveImage(source, root.digest);
    expect(r.kind).toBe(expected.kind);
    expect(r.platforms).toEqual(expected.platforms);
    expect(r.ignored.map((i) => i.reason)).toEqual(expected.ignored.map((p) => expect.stringMatching(p)));
    expect(r.mismatches).toEqual([]);
    const verdict = evaluatePlatforms(r, ['linux/amd64', 'linux/arm64']).verdict;
    const noPlatform = expected.kind === 'artifact' ? 'artifact' : 'not-runnable';
    expect(verdict).toBe(expected.platforms.length > 0 ? 'compliant' : noPlatform);
  });

  it('lists the four runnable children of b1 with the platforms of their configs', async () => {
    const r = await resolveImage(
      source,
      'sha256:119b4a63feeda91d4874578e7883994fc45772dd912aa49ba380f87507f6ad07',
    );
    expect(r.children).toEqual([
      {
        digest: 'sha256:2f295c8e37f19a4fb8d49a3f2130863ec40288cb010f721742748e3dde5b1819',
        platform: 'linux/amd64',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      },
      {
        digest: 'sha256:35f35d912637b75c6e27b0a27a94741609dd25ca2b58b16ac4c1c559a3b481ac',
        platform: 'linux/arm64',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      },
      {
        digest: 'sha256:a347aaec7c49a7c78201d6f0deded045079bfb27044e02c7b062de7b676e243a',
        platform: 'linux/arm/v7',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      },
      {
        digest: 'sha256:431e0e3ba987dcf584fb5374d21313aa958c30b2d97b743d06c39ad9a7d983a4',
        platform: 'linux/arm/v6',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      },
    ]);
  });

  it('is non-compliant for v2 when linux/arm/v6 is required (v2 dropped it)', async () => {
    const root = await source.resolveReference('v2');
    const e = evaluatePlatforms(await resolveImage(source, root.digest), ['linux/arm/v6']);
    expect(e).toMatchObject({ verdict: 'non-compliant', missing: ['linux/arm/v6'] });
  });

  it('reports a child missing from a copy of the layout as not-found, or as ignored when asked to', async () => {
    const missing = 'sha256:431e0e3ba987dcf584fb5374d21313aa958c30b2d97b743d06c39ad9a7d983a4';
    const partial = {
      getManifests: async (digests: readonly string[]) => {
        const got = await source.getManifests(digests);
        got.delete(missing);
        return got;
      },
      getBlob: (d: string, max: number) => source.getBlob(d, max),
    };
    const b1 = 'sha256:119b4a63feeda91d4874578e7883994fc45772dd912aa49ba380f87507f6ad07';
    await expect(resolveImage(partial, b1)).rejects.toThrow(ManifestError);
    await expect(resolveImage(partial, b1)).rejects.toThrow(
      `child manifest ${missing} was not found in the source`,
    );
    const r = await resolveImage(partial, b1, { missingChildren: 'ignore' });
    expect(r.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    expect(r.ignored).toEqual([
      {
        digest: missing,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        platform: 'linux/arm/v6',
        reason: `missing: child manifest ${missing} was not found in the source`,
      },
    ]);
  });
});
