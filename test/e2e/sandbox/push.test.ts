import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { openOciArchive, openOciLayout } from '@nvcf-ecr/core/image';
import { pushImage, type RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, rejection, withSandbox } from '../../helpers/sandbox.ts';

// `pushImage` (the sandbox package's ECR push, used by the demo and the validation tests) against the
// sandbox's ECR, with the project's real images. Expected digests, counts and media types are read from the
// layout's own files.

const LAYOUT = 'test/fixtures/images';
const ARCHIVE = 'test/fixtures/images.tar';

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
const blob = (digest: string) =>
  readFileSync(join(LAYOUT, 'blobs', 'sha256', digest.slice('sha256:'.length)));
const json = (digest: string) => JSON.parse(blob(digest).toString('utf8')) as Record<string, unknown>;
const descriptor = (ref: string) =>
  index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref) as Descriptor;

/** The distinct config and layer digests of the image manifests under `digest`. */
function blobsUnder(digest: string): Set<string> {
  const doc = json(digest);
  const out = new Set<string>();
  for (const child of (doc['manifests'] as Descriptor[] | undefined) ?? [])
    for (const b of blobsUnder(child.digest)) out.add(b);
  if (doc['config']) out.add((doc['config'] as Descriptor).digest);
  for (const layer of (doc['layers'] as Descriptor[] | undefined) ?? []) out.add(layer.digest);
  return out;
}

describe('Function: pushImage', () => {
  let sb: RunningSandbox;
  let ecr: ECRClient;

  beforeAll(async () => {
    sb = await withSandbox();
    ecr = clients(sb).ecr;
    for (const repositoryName of ['multi', 'archive', 'again'])
      await ecr.send(new CreateRepositoryCommand({ repositoryName }));
  });
  afterAll(() => sb.close());

  it('pushes an OCI index from a layout: children untagged, the index tagged, every blob uploaded', async () => {
    const root = descriptor('multi-oci');
    const children = (json(root.digest)['manifests'] as Descriptor[]).map((c) => c.digest);
    const source = await openOciLayout(LAYOUT);
    const pushed = await pushImage(ecr, source, 'multi-oci', { repositoryName: 'multi', tag: 'v1' });
    expect(pushed).toEqual({
      digest: root.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: 1 + children.length,
      blobsUploaded: blobsUnder(root.digest).size,
      blobsPresent: 0,
    });
    const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: 'multi' }));
    const tags = new Map((imageDetails ?? []).map((d) => [d.imageDigest, d.imageTags ?? []]));
    expect(tags.get(root.digest)).toEqual(['v1']);
    for (const child of children) expect(tags.get(child)).toEqual([]);
    // ECR stores the manifest bytes unchanged: the digest of what it returns is the layout's.
    const { images } = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'multi', imageIds: [{ imageTag: 'v1' }] }),
    );
    const stored = images?.[0]?.imageManifest ?? '';
    expect(`sha256:${createHash('sha256').update(stored).digest('hex')}`).toBe(root.digest);
  });

  it('uploads nothing the repository already has, and accepts a re-push of the same tag', async () => {
    const source = await openOciLayout(LAYOUT);
    const first = await pushImage(ecr, source, 'attested', { repositoryName: 'again', tag: 'v1' });
    const second = await pushImage(ecr, source, 'attested', { repositoryName: 'again', tag: 'v1' });
    expect(first.blobsUploaded).toBeGreaterThan(0);
    expect(second).toEqual({ ...first, blobsUploaded: 0, blobsPresent: first.blobsUploaded });
  });

  it('pushes a Docker v2 manifest from an OCI archive with its Docker media type', async () => {
    const root = descriptor('amd64-docker');
    const source = await openOciArchive(ARCHIVE);
    try {
      const pushed = await pushImage(ecr, source, 'amd64-docker', {
        repositoryName: 'archive',
        tag: 'docker',
      });
      expect(pushed.digest).toBe(root.digest);
      expect(pushed.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    } finally {
      await source.close();
    }
    const { images } = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'archive', imageIds: [{ imageTag: 'docker' }] }),
    );
    expect(images?.[0]?.imageManifestMediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('lets ECR refuse a repository that does not exist', async () => {
    const source = await openOciLayout(LAYOUT);
    const err = await rejection(
      pushImage(ecr, source, 'amd64-oci', { repositoryName: 'nowhere', tag: 'v1' }),
    );
    expect(err).toBeInstanceOf(RepositoryNotFoundException);
    expect(err.message).toContain(
      "The repository with name 'nowhere' does not exist in the registry with id '123456789012'",
    );
  });
});

describe('Function: pushImage, layer parts', () => {
  it('uploads a blob in the part size InitiateLayerUpload answers, with exact byte ranges', async () => {
    const layer = Buffer.alloc(25, 7);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:c', size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:l', size: 25 }],
      }),
    );
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const fakeEcr = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command.constructor.name === 'BatchCheckLayerAvailabilityCommand') {
          const digests = command.input['layerDigests'] as string[];
          return {
            layers: digests.map((d) => ({
              layerDigest: d,
              layerAvailability: d === 'sha256:c' ? 'AVAILABLE' : 'UNAVAILABLE',
            })),
          };
        }
        if (command.constructor.name === 'InitiateLayerUploadCommand')
          return { uploadId: 'u1', partSize: 10 };
        return {};
      },
    };
    const source = {
      description: 'fake',
      resolveReference: async () => ({ reference: 'r', digest: 'sha256:m', mediaType: undefined }),
      getManifests: async () =>
        new Map([['sha256:m', { digest: 'sha256:m', mediaType: undefined, bytes: manifest }]]),
      getBlob: async (digest: string) => {
        expect(digest).toBe('sha256:l');
        return layer;
      },
      close: async () => undefined,
    };
    const pushed = await pushImage(fakeEcr as unknown as ECRClient, source, 'r', {
      repositoryName: 'repo',
      tag: 't',
    });
    expect(pushed).toEqual({
      digest: 'sha256:m',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      manifests: 1,
      blobsUploaded: 1,
      blobsPresent: 1,
    });
    const parts = sent
      .filter((c) => c.name === 'UploadLayerPartCommand')
      .map((c) => [c.input['partFirstByte'], c.input['partLastByte']]);
    expect(parts).toEqual([
      [0, 9],
      [10, 19],
      [20, 24],
    ]);
    expect(sent.map((c) => c.name)).toEqual([
      'BatchCheckLayerAvailabilityCommand',
      'InitiateLayerUploadCommand',
      'UploadLayerPartCommand',
      'UploadLayerPartCommand',
      'UploadLayerPartCommand',
      'CompleteLayerUploadCommand',
      'PutImageCommand',
    ]);
    expect(sent.at(-1)?.input).toMatchObject({
      repositoryName: 'repo',
      imageTag: 't',
      imageManifest: manifest.toString(),
    });
  });
});
