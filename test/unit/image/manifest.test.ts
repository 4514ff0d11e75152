import { readFileSync } from 'node:fs';
import { ManifestError } from '@nvcf-ecr/core/errors';
import {
  ACCEPTED_MANIFEST_MEDIA_TYPES,
  type ContentDescriptor,
  DOCKER_SCHEMA1_SIGNED,
  digestMatches,
  digestProblem,
  indexEntryIgnoreReason,
  isImageConfigMediaType,
  OCI_INDEX,
  OCI_MANIFEST,
  parseConfigPlatform,
  parseDescriptor,
  parseManifest,
  sha256Digest,
  verifyDigest,
} from '@nvcf-ecr/core/image';
import { describe, expect, it } from 'vitest';
import { encode } from './helpers.ts';

const D = `sha256:${'1'.repeat(64)}`;
const E = `sha256:${'2'.repeat(64)}`;

function descriptor(more: Partial<ContentDescriptor> = {}): ContentDescriptor {
  return {
    mediaType: OCI_MANIFEST,
    digest: E,
    size: 10,
    platform: undefined,
    annotations: {},
    artifactType: undefined,
    ...more,
  };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, but it returned');
}

describe('Function: parseManifest', () => {
  it("prefers the document's own mediaType over the source's and warns about the disagreement", () => {
    const bytes = encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const { manifest, warnings } = parseManifest(bytes, D, { fetched: OCI_MANIFEST });
    expect(manifest.kind).toBe('index');
    expect(warnings).toEqual([
      `manifest ${D} is ${OCI_INDEX} but the source said ${OCI_MANIFEST}; judged by its content`,
    ]);
  });

  it('uses the referring descriptor media type when neither the document nor the source has one', () => {
    const bytes = encode({ schemaVersion: 2, manifests: [] });
    const { manifest } = parseManifest(bytes, D, { descriptor: OCI_INDEX });
    expect(manifest).toMatchObject({ kind: 'index', mediaType: OCI_INDEX });
  });

  it('infers a signed schema1 manifest from schemaVersion 1 and signatures', () => {
    const bytes = encode({ schemaVersion: 1, architecture: 'amd64', signatures: [] });
    expect(parseManifest(bytes, D).manifest).toMatchObject({
      kind: 'schema1',
      mediaType: DOCKER_SCHEMA1_SIGNED,
    });
  });

  it('reads artifactType and the subject digest', () => {
    const bytes = encode({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: E, size: 2 },
      subject: { mediaType: OCI_MANIFEST, digest: D, size: 3 },
    });
    expect(parseManifest(bytes, D).manifest).toMatchObject({
      kind: 'image',
      artifactType: 'application/example.sbom',
      subject: D,
    });
  });

  it('rejects a JSON array with ManifestError invalid-manifest', () => {
    const err = caught(() => parseManifest(encode([]), D));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D} must be a JSON object, not an array`,
    });
  });

  it('rejects bytes that are not UTF-8 with ManifestError invalid-json', () => {
    const err = caught(() => parseManifest(new Uint8Array([0xff, 0xfe, 0x7b]), D));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-json',
      message: `manifest ${D} is not UTF-8 text, so not JSON`,
    });
  });

  it('rejects a document of unknown shape without a media type', () => {
    const err = caught(() => parseManifest(encode({ schemaVersion: 2 }), D));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D} has no mediaType and neither 'manifests' nor 'config': not a manifest or index`,
    });
  });

  it('rejects an index with the wrong schemaVersion', () => {
    const err = caught(() =>
      parseManifest(encode({ schemaVersion: 3, mediaType: OCI_INDEX, manifests: [] }), D),
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D}: schemaVersion must be 2, got 3`,
    });
  });

  it('rejects an image manifest without a config descriptor', () => {
    const err = caught(() =>
      parseManifest(encode({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }), D),
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D}: config must be a descriptor object, not a undefined`,
    });
  });

  it('rejects a schema1 manifest without an architecture', () => {
    const bytes = encode({
      schemaVersion: 1,
      mediaType: 'application/vnd.docker.distribution.manifest.v1+json',
    });
    const err = caught(() => parseManifest(bytes, D));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `schema1 manifest ${D}: 'architecture' must be a non-empty string`,
    });
  });
});

describe('Function: parseDescriptor', () => {
  it('normalises the platform of an index entry and keeps string annotations only', () => {
    const d = parseDescriptor(
      {
        mediaType: OCI_MANIFEST,
        digest: E,
        size: 5,
        platform: { os: 'Linux', architecture: 'x86_64' },
        annotations: { a: 'b', n: 1 },
      },
      'manifests[0]',
      D,
      true,
    );
    expect(d).toEqual({
      mediaType: OCI_MANIFEST,
      digest: E,
      size: 5,
      platform: { os: 'linux', architecture: 'amd64', variant: '' },
      annotations: { a: 'b' },
      artifactType: undefined,
    });
  });

  it('rejects a digest that is not sha256 or sha512 hex', () => {
    const err = caught(() =>
      parseDescriptor({ mediaType: OCI_MANIFEST, digest: 'md5:abc', size: 1 }, 'manifests[2]', D, true),
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D}: manifests[2].digest: digest algorithm 'md5' is not supported: use sha256 or sha512`,
    });
  });

  it('rejects a negative size', () => {
    const err = caught(() =>
      parseDescriptor({ mediaType: OCI_MANIFEST, digest: E, size: -1 }, 'config', D, false),
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D}: config.size must be a non-negative integer`,
    });
  });

  it('rejects a missing media type', () => {
    const err = caught(() => parseDescriptor({ digest: E, size: 1 }, 'manifests[0]', D, true));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'invalid-manifest',
      message: `manifest ${D}: manifests[0].mediaType must be a non-empty string`,
    });
  });
});

describe('Function: indexEntryIgnoreReason', () => {
  it('opens a plain image entry', () => {
    expect(
      indexEntryIgnoreReason(descriptor({ platform: { os: 'linux', architecture: 'amd64', variant: '' } })),
    ).toBeUndefined();
  });

  it('opens an entry without a platform (it is judged by its config)', () => {
    expect(indexEntryIgnoreReason(descriptor())).toBeUndefined();
  });

  it('ignores BuildKit attestation manifests by their annotation, naming the image they describe', () => {
    const reason = indexEntryIgnoreReason(
      descriptor({
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': D,
        },
      }),
    );
    expect(reason).toBe(
      `attestation manifest for ${D} (vnd.docker.reference.type=attestation-manifest): not runnable`,
    );
  });

  it('ignores the OCI 1.1-rc artifact manifest type', () => {
    expect(
      indexEntryIgnoreReason(descriptor({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json' })),
    ).toBe('OCI artifact manifest (application/vnd.oci.artifact.manifest.v1+json): not a runnable image');
  });
});

describe('Function: parseConfigPlatform', () => {
  it('reads and normalises os, architecture and variant', () => {
    const r = parseConfigPlatform(encode({ os: 'linux', architecture: 'arm', variant: '7' }), D);
    expect(r).toEqual({ platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
  });

  it('keeps os.version of Windows configs', () => {
    const r = parseConfigPlatform(
      encode({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1040' }),
      D,
    );
    expect(r.platform).toEqual({
      os: 'windows',
      architecture: 'amd64',
      variant: '',
      osVersion: '10.0.17763.1040',
    });
  });

  it('rejects a config that is not JSON with ManifestError invalid-config', () => {
    const err = caught(() => parseConfigPlatform(encode('not json'), D));
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).code).toBe('invalid-config');
    expect((err as ManifestError).message).toMatch(new RegExp(`^config ${D} is not valid JSON: `));
  });
});

describe('Function: digestProblem', () => {
  it('accepts sha256 and sha512 digests', () => {
    expect(digestProblem(`sha256:${'a'.repeat(64)}`)).toBeUndefined();
    expect(digestProblem(`sha512:${'a'.repeat(128)}`)).toBeUndefined();
  });

  it('rejects upper-case hex and wrong lengths', () => {
    expect(digestProblem(`sha256:${'A'.repeat(64)}`)).toBe(
      `'sha256:${'A'.repeat(64)}' is not a valid sha256 digest: expected 64 lower-case hex characters`,
    );
    expect(digestProblem('sha256:abc')).toBe(
      "'sha256:abc' is not a valid sha256 digest: expected 64 lower-case hex characters",
    );
  });

  it('rejects path-like values', () => {
    expect(digestProblem('sha256:../../etc/passwd')).toBe(
      "'sha256:../../etc/passwd' is not a digest of the form 'sha256:<64 hex>'",
    );
  });
});

describe('Function: digestMatches', () => {
  it('matches bytes to their sha256 digest', () => {
    const bytes = encode('{}');
    expect(
      digestMatches('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', bytes),
    ).toBe(true);
    expect(digestMatches(sha256Digest(encode('[]')), bytes)).toBe(false);
  });

  it('matches a signed schema1 manifest to the digest of its payload without signatures (real buildah output)', () => {
    // amd64-schema1 in test/fixtures/images: its file name is the payload digest, its bytes carry a JWS.
    const index = JSON.parse(readFileSync('test/fixtures/images/index.json', 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    const digest =
      index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'amd64-schema1')
        ?.digest ?? '';
    const bytes = new Uint8Array(readFileSync(`test/fixtures/images/blobs/sha256/${digest.slice(7)}`));
    expect(sha256Digest(bytes)).not.toBe(digest);
    expect(digestMatches(digest, bytes, DOCKER_SCHEMA1_SIGNED)).toBe(true);
    expect(digestMatches(digest, bytes, OCI_MANIFEST)).toBe(false);
  });

  it('throws ManifestError digest-mismatch from verifyDigest with both digests in the message', () => {
    const bytes = encode('x');
    const err = caught(() => verifyDigest(D, bytes, 'config'));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err).toMatchObject({
      code: 'digest-mismatch',
      digest: D,
      message: `config ${D} does not match its content (sha256 of the bytes received is ${sha256Digest(bytes)}): the source returned other bytes than the ones pushed; re-push the image or check the source`,
    });
  });
});

describe('Media types', () => {
  it('accepts the five manifest types of AWS containerd resolver plus unsigned schema1', () => {
    expect(ACCEPTED_MANIFEST_MEDIA_TYPES).toEqual([
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      'application/vnd.docker.distribution.manifest.v1+json',
    ]);
  });

  it('treats only OCI and Docker image configs as image configs', () => {
    expect(isImageConfigMediaType('application/vnd.oci.image.config.v1+json')).toBe(true);
    expect(isImageConfigMediaType('application/vnd.docker.container.image.v1+json')).toBe(true);
    expect(isImageConfigMediaType('application/vnd.oci.empty.v1+json')).toBe(false);
    expect(isImageConfigMediaType('application/vnd.cncf.helm.config.v1+json')).toBe(false);
  });
});
