import { Sha256 } from '@aws-crypto/sha256-js';
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  ListImagesCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { B1, blob, sha256, text } from '../../helpers/regclient.ts';
import { clients, control, rejection, userClients, withSandbox } from '../../helpers/sandbox.ts';

/**
 * ECR (private) conformance: the real ECR client against the sandbox, asserting codes, statuses, messages and
 * shapes (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html). Images are the real regclient
 * fixture (read in place); expected digests and sizes are computed from its bytes.
 */

/** The children of an index (b1's: amd64, arm64, arm/v7, arm/v6), read from the layout. */
const childrenOf = (index: string): string[] =>
  (JSON.parse(text(index)) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
interface ManifestDoc {
  config: { digest: string; mediaType: string };
  layers: { digest: string }[];
}
const manifestOf = (digest: string): ManifestDoc => JSON.parse(text(digest)) as ManifestDoc;
const blobsOf = (digest: string): string[] => {
  const m = manifestOf(digest);
  return [m.config.digest, ...m.layers.map((l) => l.digest)];
};
const [AMD64 = '', ARM64 = ''] = childrenOf(B1);

const ECR_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

let counter = 0;
const repoName = (base: string) => `${base}-${++counter}`;

/** Sends `data` as the part of `uploadId` that starts at byte `first`. */
function uploadPart(
  ecr: ECRClient,
  repositoryName: string,
  uploadId: string | undefined,
  first: number,
  data: Buffer,
) {
  return ecr.send(
    new UploadLayerPartCommand({
      repositoryName,
      uploadId,
      partFirstByte: first,
      partLastByte: first + data.length - 1,
      layerPartBlob: data,
    }),
  );
}

async function uploadBlob(ecr: ECRClient, repositoryName: string, digest: string): Promise<void> {
  const data = blob(digest);
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  await uploadPart(ecr, repositoryName, uploadId, 0, data);
  await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
}

/** Pushes a fixture manifest as a client does: its missing blobs through the layer API, then PutImage. */
async function pushManifest(
  ecr: ECRClient,
  repositoryName: string,
  digest: string,
  imageTag?: string,
): Promise<void> {
  const blobs = blobsOf(digest);
  const { layers } = await ecr.send(
    new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: blobs }),
  );
  for (const l of layers ?? [])
    if (l.layerAvailability !== 'AVAILABLE' && l.layerDigest)
      await uploadBlob(ecr, repositoryName, l.layerDigest);
  await ecr.send(new PutImageCommand({ repositoryName, imageManifest: text(digest), imageTag }));
}

/** Pushes b1 the way buildx/skopeo do: every child untagged, then the index under its tag. */
async function pushB1(ecr: ECRClient, repositoryName: string, imageTag = 'b1'): Promise<void> {
  for (const child of childrenOf(B1)) await pushManifest(ecr, repositoryName, child);
  await ecr.send(new PutImageCommand({ repositoryName, imageManifest: text(B1), imageTag }));
}

describe('Sandbox: ECR conformance', () => {
  let sb: RunningSandbox;
  let ecr: ECRClient;
  let admin: ReturnType<typeof clients>;

  /** A signed ECR JSON request with a body the SDK would never send (wrong member types). */
  async function rawEcr(
    operation: string,
    body: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = new URL(sb.awsEndpoint);
    const headers = {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AmazonEC2ContainerRegistry_V20150921.${operation}`,
    };
    const signer = new SignatureV4({
      credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
      region: sb.region,
      service: 'ecr',
      sha256: Sha256,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers,
        body,
      }),
    );
    const { host: _host, ...sendHeaders } = signed.headers;
    const res = await fetch(`${sb.awsEndpoint}/`, { method: 'POST', headers: sendHeaders, body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  async function createRepository(base: string, mutability?: 'MUTABLE' | 'IMMUTABLE'): Promise<string> {
    const name = repoName(base);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name, imageTagMutability: mutability }));
    return name;
  }

  /** An IAM user allowed exactly `actions` on `resource`, and an ECR client signing as it. */
  async function userClient(name: string, actions: string[], resource: string): Promise<ECRClient> {
    return (await userClients(sb, name, [{ Effect: 'Allow', Action: actions, Resource: resource }])).ecr;
  }

  const repoArn = (name: string) => `arn:aws:ecr:${sb.region}:${sb.accountId}:repository/${name}`;

  beforeAll(async () => {
    sb = await withSandbox();
    admin = clients(sb);
    ecr = admin.ecr;
  });
  afterAll(() => sb.close());

  describe('Repositories', () => {
    it('creates a repository with the account and region in its ARN and URI, and ECR defaults', async () => {
      const name = repoName('team/app');
      const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
      expect(repository).toMatchObject({
        repositoryArn: repoArn(name),
        registryId: sb.accountId,
        repositoryName: name,
        repositoryUri: `${sb.accountId}.dkr.ecr.${sb.region}.amazonaws.com/${name}`,
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: false },
        encryptionConfiguration: { encryptionType: 'AES256' },
      });
      expect(repository?.createdAt).toBeInstanceOf(Date);
    });

    it('rejects a duplicate repository with RepositoryAlreadyExistsException', async () => {
      const name = await createRepository('dup');
      const err = await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: name })));
      expect(err.name).toBe('RepositoryAlreadyExistsException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `The repository with name '${name}' already exists in the registry with id '${sb.accountId}'`,
      );
    });

    it('rejects a name outside ECR pattern with InvalidParameterException quoting the pattern', async () => {
      const err = await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Bad_Name!' })));
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*''",
      );
    });

    it('answers RepositoryNotFoundException naming the repository and registry', async () => {
      const err = await rejection(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['ghost'] })));
      expect(err.name).toBe('RepositoryNotFoundException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `The repository with name 'ghost' does not exist in the registry with id '${sb.accountId}'`,
      );
    });

    it('paginates DescribeRepositories with maxResults and nextToken', async () => {
      const names = [
        await createRepository('page'),
        await createRepository('page'),
        await createRepository('page'),
      ];
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const out = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, nextToken }));
        expect(out.repositories?.length).toBeLessThanOrEqual(2);
        seen.push(...(out.repositories ?? []).map((r) => r.repositoryName ?? ''));
        nextToken = out.nextToken;
      } while (nextToken);
      expect(seen).toEqual(expect.arrayContaining(names));
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('rejects a nextToken it did not issue', async () => {
      const err = await rejection(ecr.send(new DescribeRepositoriesCommand({ nextToken: 'not-a-token' })));
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken provided'",
      );
    });

    it('refuses to delete a repository with images unless forced', async () => {
      const name = await createRepository('full');
      await pushManifest(ecr, name, ARM64, 'arm');
      const err = await rejection(ecr.send(new DeleteRepositoryCommand({ repositoryName: name })));
      expect(err.name).toBe('RepositoryNotEmptyException');
      expect(err.message).toBe(
        `The repository with name '${name}' in registry with id '${sb.accountId}' cannot be deleted because it still contains images`,
      );
      const { repository } = await ecr.send(
        new DeleteRepositoryCommand({ repositoryName: name, force: true }),
      );
      expect(repository?.repositoryName).toBe(name);
      expect(
        (await rejection(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })))).name,
      ).toBe('RepositoryNotFoundException');
    });
  });

  describe('Layer upload API', () => {
    it('assembles consecutive parts and completes with the digest of the bytes', async () => {
      const name = await createRepository('layers');
      const data = Buffer.concat([Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from('tail')]);
      const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: name }));
      expect(uploadId).toMatch(/^[0-9a-f-]{36}$/);
      expect(partSize).toBeGreaterThanOrEqual(5 * 1024 * 1024);
      const cut = 5 * 1024 * 1024;
      const first = await uploadPart(ecr, name, uploadId, 0, data.subarray(0, cut));
      expect(first.lastByteReceived).toBe(cut - 1);
      await uploadPart(ecr, name, uploadId, cut, data.subarray(cut));
      const done = await ecr.send(
        new CompleteLayerUploadCommand({ repositoryName: name, uploadId, layerDigests: [sha256(data)] }),
      );
      expect(done.layerDigest).toBe(sha256(data));
      const { layers } = await ecr.send(
        new BatchCheckLayerAvailabilityCommand({ repositoryName: name, layerDigests: [sha256(data)] }),
      );
      expect(layers).toEqual([
        { layerDigest: sha256(data), layerAvailability: 'AVAILABLE', layerSize: data.length },
      ]);
    });

    it('refuses a part after one smaller than 5 MiB with LayerPartTooSmallException', async () => {
      const name = await createRepository('small');
      const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: name }));
      await uploadPart(ecr, name, uploadId, 0, Buffer.from('abc'));
      const err = await rejection(uploadPart(ecr, name, uploadId, 3, Buffer.from('def')));
      expect(err.name).toBe('LayerPartTooSmallException');
      expect(err.message).toBe('Layer parts must be at least 5 MiB in size.');
    });

    it('refuses a part that does not start at the next byte with InvalidLayerPartException', async () => {
      const name = await createRepository('gap');
      const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: name }));
      const err = await rejection(uploadPart(ecr, name, uploadId, 5, Buffer.from('abc')));
      expect(err.name).toBe('InvalidLayerPartException');
      expect(err.message).toBe(
        'The layer part size is not valid, or the first byte specified is not consecutive to the last byte of a previous layer part upload: partFirstByte 5 is not 0, the byte after the last one received',
      );
      expect(err['lastValidByteReceived']).toBe(-1);
      expect(err['uploadId']).toBe(uploadId);
    });

    it('refuses completion with another digest (InvalidLayerException) and an empty upload (EmptyUploadException)', async () => {
      const name = await createRepository('digest');
      const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: name }));
      await uploadPart(ecr, name, uploadId, 0, Buffer.from('abc'));
      const wrong = sha256('xyz');
      const bad = await rejection(
        ecr.send(new CompleteLayerUploadCommand({ repositoryName: name, uploadId, layerDigests: [wrong] })),
      );
      expect(bad.name).toBe('InvalidLayerException');
      expect(bad.message).toBe(
        `The layer digest calculation performed by Amazon ECR upon receipt of the image layer does not match the digest specified: specified '${wrong}', calculated '${sha256('abc')}'`,
      );
      const empty = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: name }));
      const err = await rejection(
        ecr.send(
          new CompleteLayerUploadCommand({
            repositoryName: name,
            uploadId: empty.uploadId,
            layerDigests: [sha256('')],
          }),
        ),
      );
      expect(err.name).toBe('EmptyUploadException');
      expect(err.message).toBe(
        `The layer upload with id '${empty.uploadId}' does not contain any layer parts.`,
      );
    });

    it('answers LayerAlreadyExistsException for a blob the repository has, and UploadNotFoundException for a finished upload', async () => {
      const name = await createRepository('again');
      const config = manifestOf(ARM64).config.digest;
      await uploadBlob(ecr, name, config);
      const data = blob(config);
      const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: name }));
      await uploadPart(ecr, name, uploadId, 0, data);
      const err = await rejection(
        ecr.send(new CompleteLayerUploadCommand({ repositoryName: name, uploadId, layerDigests: [config] })),
      );
      expect(err.name).toBe('LayerAlreadyExistsException');
      expect(err.message).toBe(`The image layer '${config}' already exists in the associated repository.`);
      const gone = await rejection(
        ecr.send(new CompleteLayerUploadCommand({ repositoryName: name, uploadId, layerDigests: [config] })),
      );
      expect(gone.name).toBe('UploadNotFoundException');
      expect(gone.message).toBe(
        `The upload with id '${uploadId}' could not be found, or is not valid for the repository with name '${name}' in the registry with id '${sb.accountId}'`,
      );
    });

    it('reports missing layers as UNAVAILABLE and malformed digests as failures', async () => {
      const name = await createRepository('check');
      const missing = sha256('missing');
      const out = await ecr.send(
        new BatchCheckLayerAvailabilityCommand({
          repositoryName: name,
          layerDigests: [missing, 'sha256:xyz'],
        }),
      );
      expect(out.layers).toEqual([{ layerDigest: missing, layerAvailability: 'UNAVAILABLE' }]);
      expect(out.failures).toEqual([
        {
          layerDigest: 'sha256:xyz',
          failureCode: 'InvalidLayerDigest',
          failureReason: 'Invalid layer digest',
        },
      ]);
    });
  });

  describe('PutImage', () => {
    it('stores the manifest under the sha256 of its bytes and reports the layer media types it learned', async () => {
      const name = await createRepository('put');
      await pushManifest(ecr, name, ARM64, 'arm64');
      const { images } = await ecr.send(
        new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'arm64' }] }),
      );
      expect(images?.[0]?.imageId).toEqual({ imageDigest: sha256(text(ARM64)), imageTag: 'arm64' });
      expect(images?.[0]?.imageManifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      const m = manifestOf(ARM64);
      const { layers } = await ecr.send(
        new BatchCheckLayerAvailabilityCommand({ repositoryName: name, layerDigests: [m.config.digest] }),
      );
      expect(layers?.[0]?.mediaType).toBe(m.config.mediaType);
    });

    it('verifies imageDigest (ImageDigestDoesNotMatchException)', async () => {
      const name = await createRepository('digest');
      for (const b of blobsOf(ARM64)) await uploadBlob(ecr, name, b);
      const wrong = sha256('other');
      const err = await rejection(
        ecr.send(
          new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageDigest: wrong }),
        ),
      );
      expect(err.name).toBe('ImageDigestDoesNotMatchException');
      expect(err.message).toBe(
        `The specified image digest '${wrong}' does not match the digest that Amazon ECR calculated for the image: '${sha256(text(ARM64))}'`,
      );
    });

    it('requires every referenced blob (LayersNotFoundException lists the missing ones)', async () => {
      const name = await createRepository('nolayers');
      const [config, layer] = blobsOf(ARM64);
      await uploadBlob(ecr, name, config ?? '');
      const err = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageTag: 'x' })),
      );
      expect(err.name).toBe('LayersNotFoundException');
      expect(err.message).toBe(
        `Layers with digests '[${layer}]' required for pushing image into repository with name '${name}' in the registry with id '${sb.accountId}' do not exist`,
      );
    });

    it('requires the children of an index (ReferencedImagesNotFoundException)', async () => {
      const name = await createRepository('orphans');
      await pushManifest(ecr, name, AMD64);
      const missing = childrenOf(B1).filter((d) => d !== AMD64);
      const err = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: text(B1), imageTag: 'b1' })),
      );
      expect(err.name).toBe('ReferencedImagesNotFoundException');
      expect(err.message).toBe(
        `Images with digests '[${missing.join(', ')}]' required for pushing image into repository with name '${name}' in the registry with id '${sb.accountId}' do not exist`,
      );
    });

    it('refuses a re-push with nothing new (ImageAlreadyExistsException)', async () => {
      const name = await createRepository('same');
      await pushManifest(ecr, name, ARM64, 'v1');
      const err = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageTag: 'v1' })),
      );
      expect(err.name).toBe('ImageAlreadyExistsException');
      expect(err.message).toBe(
        `Image with digest '${sha256(text(ARM64))}' and tag 'v1' already exists in the repository with name '${name}' in registry with id '${sb.accountId}'`,
      );
    });

    it('refuses to move a tag in an IMMUTABLE repository (ImageTagAlreadyExistsException)', async () => {
      const name = await createRepository('pinned', 'IMMUTABLE');
      await pushManifest(ecr, name, ARM64, 'v1');
      for (const b of blobsOf(AMD64)) if (b !== blobsOf(ARM64)[1]) await uploadBlob(ecr, name, b);
      const err = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: text(AMD64), imageTag: 'v1' })),
      );
      expect(err.name).toBe('ImageTagAlreadyExistsException');
      expect(err.message).toBe(
        `The image tag 'v1' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
      );
    });

    it('lets exclusion filters of IMMUTABLE_WITH_EXCLUSION keep matching tags movable', async () => {
      const name = repoName('excluded');
      await ecr.send(
        new CreateRepositoryCommand({
          repositoryName: name,
          imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
          imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest*' }],
        }),
      );
      await pushManifest(ecr, name, ARM64, 'latest-arm');
      await ecr.send(
        new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageTag: 'v1' }),
      );
      await pushManifest(ecr, name, AMD64, 'latest-arm');
      const err = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: text(AMD64), imageTag: 'v1' })),
      );
      expect(err.name).toBe('ImageTagAlreadyExistsException');
      const { imageIds } = await ecr.send(
        new ListImagesCommand({ repositoryName: name, filter: { tagStatus: 'TAGGED' } }),
      );
      expect(imageIds).toEqual(
        expect.arrayContaining([
          { imageDigest: AMD64, imageTag: 'latest-arm' },
          { imageDigest: ARM64, imageTag: 'v1' },
        ]),
      );
    });

    it('moves a tag in a MUTABLE repository and leaves the previous image untagged', async () => {
      const name = await createRepository('moving');
      await pushManifest(ecr, name, ARM64, 'latest');
      await pushManifest(ecr, name, AMD64, 'latest');
      const { imageIds } = await ecr.send(new ListImagesCommand({ repositoryName: name }));
      expect(imageIds).toEqual(
        expect.arrayContaining([{ imageDigest: ARM64 }, { imageDigest: AMD64, imageTag: 'latest' }]),
      );
      expect(imageIds).toHaveLength(2);
    });

    it('refuses malformed manifests with InvalidParameterException', async () => {
      const name = await createRepository('junk');
      const json = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: '{not json' })),
      );
      expect(json.name).toBe('InvalidParameterException');
      expect(json.message).toBe(
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
      );
      const mismatch = await rejection(
        ecr.send(
          new PutImageCommand({
            repositoryName: name,
            imageManifest: text(ARM64),
            imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          }),
        ),
      );
      expect(mismatch.name).toBe('InvalidParameterException');
      expect(mismatch.message).toBe(
        "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'the manifest's mediaType 'application/vnd.oci.image.manifest.v1+json' does not match the declared media type 'application/vnd.docker.distribution.manifest.v2+json''",
      );
      const huge = JSON.stringify({ schemaVersion: 2, padding: 'x'.repeat(4 * 1024 * 1024) });
      const big = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: huge })),
      );
      expect(big.name).toBe('InvalidParameterException');
      expect(big.message).toBe(
        "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length less than or equal to 4194304'",
      );
    });
  });

  describe('BatchGetImage', () => {
    it('returns the stored bytes by digest and records the pull time on the virtual clock', async () => {
      const name = await createRepository('get');
      await pushB1(ecr, name);
      await control(sb, 'POST', 'clock', { advanceSeconds: 3600 });
      const { now } = await control<{ now: string }>(sb, 'GET', 'clock');
      const { images, failures } = await ecr.send(
        new BatchGetImageCommand({
          repositoryName: name,
          imageIds: [{ imageDigest: B1 }],
          acceptedMediaTypes: ECR_TYPES,
        }),
      );
      expect(failures).toEqual([]);
      expect(images?.[0]?.imageManifest).toBe(text(B1));
      expect(images?.[0]?.imageId).toEqual({ imageDigest: B1 });
      const { imageDetails } = await ecr.send(
        new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: B1 }] }),
      );
      const pulled = imageDetails?.[0]?.lastRecordedPullTime?.getTime() ?? 0;
      expect(Math.abs(pulled - Date.parse(now))).toBeLessThan(5_000);
    });

    it('reports per-image problems as failures with ECR codes and reasons', async () => {
      const name = await createRepository('fail');
      await pushManifest(ecr, name, ARM64, 'arm');
      await pushManifest(ecr, name, AMD64, 'amd');
      const missing = sha256('missing');
      const { images, failures } = await ecr.send(
        new BatchGetImageCommand({
          repositoryName: name,
          imageIds: [
            { imageTag: 'nope' },
            {},
            { imageDigest: 'sha256:XYZ!' },
            { imageDigest: ARM64, imageTag: 'amd' },
            { imageDigest: missing },
          ],
        }),
      );
      expect(images).toEqual([]);
      expect(failures).toEqual([
        {
          imageId: { imageTag: 'nope' },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
        {
          imageId: {},
          failureCode: 'MissingDigestAndTag',
          failureReason: 'Invalid request parameters: both tag and digest cannot be null',
        },
        {
          imageId: { imageDigest: 'sha256:XYZ!' },
          failureCode: 'InvalidImageDigest',
          failureReason:
            "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        },
        {
          imageId: { imageDigest: ARM64, imageTag: 'amd' },
          failureCode: 'ImageTagDoesNotMatchDigest',
          failureReason: 'Invalid request parameters: the image tag does not reference the image digest',
        },
        {
          imageId: { imageDigest: missing },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
      ]);
    });

    it('does not convert: an index asked for without the index types is a failure naming its type', async () => {
      const name = await createRepository('accept');
      await pushB1(ecr, name);
      const { images, failures } = await ecr.send(
        new BatchGetImageCommand({
          repositoryName: name,
          imageIds: [{ imageTag: 'b1' }],
          acceptedMediaTypes: ['application/vnd.docker.distribution.manifest.v2+json'],
        }),
      );
      expect(images).toEqual([]);
      expect(failures).toEqual([
        {
          imageId: { imageTag: 'b1' },
          failureCode: 'ImageNotFound',
          failureReason:
            "Requested image not found: its manifest media type 'application/vnd.oci.image.index.v1+json' is not in acceptedMediaTypes",
        },
      ]);
    });

    it('answers RepositoryNotFoundException for an unknown repository', async () => {
      const err = await rejection(
        ecr.send(new BatchGetImageCommand({ repositoryName: 'ghost-repo', imageIds: [{ imageTag: 'x' }] })),
      );
      expect(err.name).toBe('RepositoryNotFoundException');
      expect(err.message).toBe(
        `The repository with name 'ghost-repo' does not exist in the registry with id '${sb.accountId}'`,
      );
    });
  });

  describe('BatchDeleteImage', () => {
    it('refuses to delete a child of an index (ImageReferencedByManifestList)', async () => {
      const name = await createRepository('child');
      await pushB1(ecr, name);
      const { imageIds, failures } = await ecr.send(
        new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: ARM64 }] }),
      );
      expect(imageIds).toEqual([]);
      expect(failures).toEqual([
        {
          imageId: { imageDigest: ARM64 },
          failureCode: 'ImageReferencedByManifestList',
          failureReason: `Requested image referenced by manifest list: [${B1}]`,
        },
      ]);
    });

    it('removes only the tag when the image has others, and the image with its last tag', async () => {
      const name = await createRepository('tags');
      await pushManifest(ecr, name, ARM64, 'a');
      await ecr.send(
        new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageTag: 'b' }),
      );
      const first = await ecr.send(
        new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'a' }] }),
      );
      expect(first.imageIds).toEqual([{ imageDigest: ARM64, imageTag: 'a' }]);
      expect((await ecr.send(new ListImagesCommand({ repositoryName: name }))).imageIds).toEqual([
        { imageDigest: ARM64, imageTag: 'b' },
      ]);
      const second = await ecr.send(
        new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'b' }] }),
      );
      expect(second.imageIds).toEqual([{ imageDigest: ARM64, imageTag: 'b' }]);
      expect((await ecr.send(new ListImagesCommand({ repositoryName: name }))).imageIds).toEqual([]);
    });

    it('deletes an index, then its children, and announces each deletion', async () => {
      const name = await createRepository('gone');
      await pushB1(ecr, name);
      const out = await ecr.send(
        new BatchDeleteImageCommand({
          repositoryName: name,
          imageIds: [{ imageDigest: B1 }, ...childrenOf(B1).map((d) => ({ imageDigest: d }))],
        }),
      );
      expect(out.failures).toEqual([]);
      expect(out.imageIds).toEqual([
        { imageDigest: B1, imageTag: 'b1' },
        ...childrenOf(B1).map((d) => ({ imageDigest: d })),
      ]);
      const { events } = await control<{ events: { event: { detail: Record<string, string> } }[] }>(
        sb,
        'GET',
        'events?source=aws.ecr',
      );
      const deletes = events
        .map((e) => e.event.detail)
        .filter((d) => d['repository-name'] === name && d['action-type'] === 'DELETE');
      expect(deletes.map((d) => [d['image-digest'], d['image-tag']])).toEqual([
        [B1, 'b1'],
        ...childrenOf(B1).map((d) => [d, '']),
      ]);
    });
  });

  describe('DescribeImages and ListImages', () => {
    it('derives sizes, media types and tags from what was pushed', async () => {
      const name = await createRepository('describe');
      await pushB1(ecr, name);
      const { imageDetails } = await ecr.send(
        new DescribeImagesCommand({
          repositoryName: name,
          imageIds: [{ imageTag: 'b1' }, { imageDigest: ARM64 }],
        }),
      );
      const size = (d: string) => blobsOf(d).reduce((sum, b) => sum + blob(b).length, 0);
      expect(imageDetails?.[0]).toMatchObject({
        registryId: sb.accountId,
        repositoryName: name,
        imageDigest: B1,
        imageTags: ['b1'],
        imageManifestMediaType: 'application/vnd.oci.image.index.v1+json',
        imageSizeInBytes: Math.max(...childrenOf(B1).map(size)),
      });
      expect(imageDetails?.[0]?.artifactMediaType).toBeUndefined();
      expect(imageDetails?.[0]?.imagePushedAt).toBeInstanceOf(Date);
      expect(imageDetails?.[1]).toMatchObject({
        imageDigest: ARM64,
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactMediaType: manifestOf(ARM64).config.mediaType,
        imageSizeInBytes: size(ARM64),
      });
      expect(imageDetails?.[1]?.imageTags).toBeUndefined();
    });

    it('filters by tag status and paginates with maxResults', async () => {
      const name = await createRepository('filter');
      await pushB1(ecr, name);
      const tagged = await ecr.send(
        new DescribeImagesCommand({ repositoryName: name, filter: { tagStatus: 'TAGGED' } }),
      );
      expect(tagged.imageDetails?.map((d) => d.imageDigest)).toEqual([B1]);
      const pages: string[][] = [];
      let nextToken: string | undefined;
      do {
        const out = await ecr.send(
          new DescribeImagesCommand({
            repositoryName: name,
            filter: { tagStatus: 'UNTAGGED' },
            maxResults: 3,
            nextToken,
          }),
        );
        pages.push((out.imageDetails ?? []).map((d) => d.imageDigest ?? ''));
        nextToken = out.nextToken;
      } while (nextToken);
      expect(pages.map((p) => p.length)).toEqual([3, 1]);
      expect(pages.flat()).toEqual(childrenOf(B1));
    });

    it('answers ImageNotFoundException for a requested image that is not there', async () => {
      const name = await createRepository('missing');
      const err = await rejection(
        ecr.send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageTag: 'nope' }] })),
      );
      expect(err.name).toBe('ImageNotFoundException');
      expect(err.message).toBe(
        `The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name '${name}' in the registry with id '${sb.accountId}'`,
      );
    });

    it('refuses maxResults outside 1-1000', async () => {
      const name = await createRepository('max');
      const err = await rejection(
        ecr.send(new DescribeImagesCommand({ repositoryName: name, maxResults: 1001 })),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'",
      );
    });

    it('lists one image id per tag and paginates', async () => {
      const name = await createRepository('list');
      await pushManifest(ecr, name, ARM64, 'a');
      await ecr.send(
        new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageTag: 'b' }),
      );
      await pushManifest(ecr, name, AMD64);
      const first = await ecr.send(new ListImagesCommand({ repositoryName: name, maxResults: 2 }));
      expect(first.imageIds).toEqual([
        { imageDigest: ARM64, imageTag: 'a' },
        { imageDigest: ARM64, imageTag: 'b' },
      ]);
      const second = await ecr.send(
        new ListImagesCommand({ repositoryName: name, maxResults: 2, nextToken: first.nextToken }),
      );
      expect(second.imageIds).toEqual([{ imageDigest: AMD64 }]);
      expect(second.nextToken).toBeUndefined();
      const untagged = await ecr.send(
        new ListImagesCommand({ repositoryName: name, filter: { tagStatus: 'UNTAGGED' } }),
      );
      expect(untagged.imageIds).toEqual([{ imageDigest: AMD64 }]);
    });
  });

  describe('GetDownloadUrlForLayer', () => {
    it('returns a presigned S3 URL that serves the exact config blob', async () => {
      const name = await createRepository('dl');
      await pushManifest(ecr, name, ARM64, 'arm');
      const config = manifestOf(ARM64).config.digest;
      const { downloadUrl, layerDigest } = await ecr.send(
        new GetDownloadUrlForLayerCommand({ repositoryName: name, layerDigest: config }),
      );
      expect(layerDigest).toBe(config);
      const url = new URL(downloadUrl ?? '');
      expect(url.origin).toBe(sb.awsEndpoint);
      expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(blob(config))).toBe(true);
    });

    it('refuses a tampered URL with SignatureDoesNotMatch (403)', async () => {
      const name = await createRepository('tamper');
      await pushManifest(ecr, name, ARM64, 'arm');
      const config = manifestOf(ARM64).config.digest;
      const { downloadUrl } = await ecr.send(
        new GetDownloadUrlForLayerCommand({ repositoryName: name, layerDigest: config }),
      );
      const layer = manifestOf(ARM64).layers[0]?.digest ?? '';
      const res = await fetch((downloadUrl ?? '').replace(config, layer));
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    });

    it('answers LayersNotFoundException for an unknown blob and LayerInaccessibleException for one no image uses', async () => {
      const name = await createRepository('nolayer');
      const unknown = sha256('unknown');
      const err = await rejection(
        ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: name, layerDigest: unknown })),
      );
      expect(err.name).toBe('LayersNotFoundException');
      expect(err.message).toBe(
        `The specified layer '${unknown}' could not be found in the repository with name '${name}' in the registry with id '${sb.accountId}'`,
      );
      const config = manifestOf(ARM64).config.digest;
      await uploadBlob(ecr, name, config);
      const loose = await rejection(
        ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: name, layerDigest: config })),
      );
      expect(loose.name).toBe('LayerInaccessibleException');
      expect(loose.message).toBe(
        `The specified layer '${config}' is not available because it is not associated with an image. Unassociated image layers may be cleaned up at any time.`,
      );
    });
  });

  describe('GetAuthorizationToken', () => {
    it('returns base64 AWS:<password>, a 12-hour expiry on the virtual clock, and the registry endpoint', async () => {
      const { now } = await control<{ now: string }>(sb, 'GET', 'clock');
      const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
      expect(authorizationData).toHaveLength(1);
      const data = authorizationData?.[0];
      const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
      expect(decoded).toMatch(/^AWS:[A-Za-z0-9_-]{20,}$/);
      const hours = ((data?.expiresAt?.getTime() ?? 0) - Date.parse(now)) / 3_600_000;
      expect(hours).toBeGreaterThan(11.99);
      expect(hours).toBeLessThan(12.01);
      expect(data?.proxyEndpoint).toBe(sb.registryEndpoint);
    });
  });

  describe('Authorisation', () => {
    it("allows what the user's policy grants on the repository ARN and denies the rest with AWS's message", async () => {
      const name = await createRepository('authz');
      await pushManifest(ecr, name, ARM64, 'arm');
      const puller = await userClient('ecr-puller', ['ecr:BatchGetImage'], repoArn(name));
      const { images } = await puller.send(
        new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'arm' }] }),
      );
      expect(images?.[0]?.imageManifest).toBe(text(ARM64));
      const err = await rejection(
        puller.send(new PutImageCommand({ repositoryName: name, imageManifest: text(AMD64) })),
      );
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/ecr-puller is not authorized to perform: ecr:PutImage on resource: ${repoArn(name)} because no identity-based policy allows the ecr:PutImage action`,
      );
      const token = await rejection(puller.send(new GetAuthorizationTokenCommand({})));
      expect(token.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/ecr-puller is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action`,
      );
    });

    it('denies before saying whether the repository exists', async () => {
      const outsider = await userClient('ecr-outsider', ['ecr:BatchGetImage'], repoArn('only-this'));
      const err = await rejection(
        outsider.send(
          new BatchGetImageCommand({ repositoryName: 'does-not-exist', imageIds: [{ imageTag: 'x' }] }),
        ),
      );
      expect(err.name).toBe('AccessDeniedException');
    });
  });

  describe('Events', () => {
    it('announces each stored manifest, children untagged before the tagged index', async () => {
      const name = await createRepository('events');
      await pushB1(ecr, name);
      const state = await control<{ ecr: { events: { recent: { detail: Record<string, string> }[] } } }>(
        sb,
        'GET',
        'state',
      );
      const ours = state.ecr.events.recent.map((e) => e.detail).filter((d) => d['repository-name'] === name);
      const childEvent = (digest: string) => ({
        result: 'SUCCESS',
        'repository-name': name,
        'image-digest': digest,
        'action-type': 'PUSH',
        'image-tag': '',
        'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
        'artifact-media-type': manifestOf(digest).config.mediaType,
      });
      const expected = [
        ...childrenOf(B1).map(childEvent),
        {
          result: 'SUCCESS',
          'repository-name': name,
          'image-digest': B1,
          'action-type': 'PUSH',
          'image-tag': 'b1',
          'manifest-media-type': 'application/vnd.oci.image.index.v1+json',
        },
      ];
      expect(ours).toEqual(expected);
      // The same events went onto the default bus as `aws.ecr` / `ECR Image Action`.
      const { events } = await control<{ events: { bus: string; event: Record<string, unknown> }[] }>(
        sb,
        'GET',
        'events?source=aws.ecr',
      );
      const delivered = events.filter(
        (e) => (e.event['detail'] as Record<string, string>)['repository-name'] === name,
      );
      expect(delivered.map((e) => e.event['detail'])).toEqual(expected);
      expect(delivered[0]).toMatchObject({
        bus: 'default',
        event: {
          'detail-type': 'ECR Image Action',
          source: 'aws.ecr',
          account: sb.accountId,
          region: sb.region,
          resources: [],
        },
      });
    });
  });

  describe('Control plane', () => {
    it('seeds repositories and images without events unless asked, and shows them in state', async () => {
      const name = repoName('seeded');
      const images = [...childrenOf(B1), B1].map((d) => ({
        repository: name,
        manifest: text(d),
        ...(d === B1 ? { tags: ['b1'] } : { blobs: blobsOf(d).map((b) => blob(b).toString('base64')) }),
      }));
      const before = (await control<{ ecr: { events: { emitted: number } } }>(sb, 'GET', 'state')).ecr.events
        .emitted;
      const out = await control<{ ecr: { repositories: string[]; images: { digest: string }[] } }>(
        sb,
        'POST',
        'seed',
        { ecr: { images } },
      );
      expect(out.ecr.repositories).toEqual([name]);
      expect(out.ecr.images.map((i) => i.digest)).toEqual([...childrenOf(B1), B1]);
      const state = await control<{
        ecr: {
          events: { emitted: number };
          repositories: { name: string; images: { digest: string; tags: string[] }[] }[];
        };
      }>(sb, 'GET', 'state');
      expect(state.ecr.events.emitted).toBe(before);
      const repo = state.ecr.repositories.find((r) => r.name === name);
      expect(repo?.images.find((i) => i.digest === B1)?.tags).toEqual(['b1']);
      await control(sb, 'POST', 'seed', {
        ecr: { emitEvents: true, images: [{ repository: name, manifest: text(B1), tags: ['again'] }] },
      });
      expect(
        (await control<{ ecr: { events: { emitted: number } } }>(sb, 'GET', 'state')).ecr.events.emitted,
      ).toBe(before + 1);
    });

    it('refuses a seed item ECR would refuse, naming the item', async () => {
      const err = await rejection(
        control(sb, 'POST', 'seed', {
          ecr: { images: [{ repository: repoName('bad'), manifest: text(ARM64) }] },
        }),
      );
      expect(err.message).toContain('ecr.images[0]: LayersNotFoundException: Layers with digests');
    });

    it('expires an index child as a lifecycle policy would, leaving the index', async () => {
      const name = await createRepository('expire');
      await pushB1(ecr, name);
      const out = await control<{ expired: { imageDigest: string }[] }>(sb, 'POST', 'ecr/expire', {
        repository: name,
        digest: ARM64,
      });
      expect(out.expired).toEqual([{ imageDigest: ARM64 }]);
      const { imageIds } = await ecr.send(new ListImagesCommand({ repositoryName: name }));
      expect(imageIds?.map((i) => i.imageDigest)).toEqual(expect.arrayContaining([B1]));
      expect(imageIds?.map((i) => i.imageDigest)).not.toContain(ARM64);
    });

    it('round-trips its state through snapshot and restore', async () => {
      const name = await createRepository('persist');
      await pushB1(ecr, name);
      const module = sb.modules.find((m) => m.name === 'ecr');
      const saved = JSON.parse(JSON.stringify(module?.snapshot()));
      module?.reset();
      expect((await rejection(ecr.send(new ListImagesCommand({ repositoryName: name })))).name).toBe(
        'RepositoryNotFoundException',
      );
      module?.restore(saved);
      const { images } = await ecr.send(
        new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'b1' }] }),
      );
      expect(images?.[0]?.imageManifest).toBe(text(B1));
      const refused = await ecr.send(
        new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: ARM64 }] }),
      );
      expect(refused.failures?.[0]?.failureCode).toBe('ImageReferencedByManifestList');
    });
  });

  describe('Malformed input', () => {
    it('answers members of the wrong type with InvalidParameterException, never a server error', async () => {
      const name = await createRepository('types');
      const cases: [string, string, string][] = [
        [
          'BatchGetImage',
          JSON.stringify({ repositoryName: 5, imageIds: [{ imageTag: 'x' }] }),
          "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must be a string'",
        ],
        [
          'BatchGetImage',
          JSON.stringify({ repositoryName: name, imageIds: 'x' }),
          "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must be a list'",
        ],
        [
          'BatchGetImage',
          JSON.stringify({ repositoryName: name, imageIds: [7] }),
          "Invalid parameter at 'imageIds.1' failed to satisfy constraint: 'Member must be a structure'",
        ],
        [
          'PutImage',
          JSON.stringify({ repositoryName: name }),
          "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must not be null'",
        ],
        [
          'UploadLayerPart',
          JSON.stringify({
            repositoryName: name,
            uploadId: 'u',
            partFirstByte: 'a',
            partLastByte: 1,
            layerPartBlob: 'AA==',
          }),
          "Invalid parameter at 'partFirstByte' failed to satisfy constraint: 'Member must be an integer'",
        ],
        [
          'DescribeImages',
          JSON.stringify({ repositoryName: name, filter: { tagStatus: 'SOME' } }),
          "Invalid parameter at 'tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'",
        ],
      ];
      for (const [operation, body, message] of cases) {
        const res = await rawEcr(operation, body);
        expect({ operation, status: res.status, json: res.json }).toEqual({
          operation,
          status: 400,
          json: { __type: 'InvalidParameterException', message },
        });
      }
    });

    it('answers a body that is not a JSON object with SerializationException', async () => {
      const res = await rawEcr('ListImages', '[1,2]');
      expect(res.status).toBe(400);
      expect(res.json['__type']).toBe('SerializationException');
    });
  });

  describe('Faults', () => {
    it('applies an afterEffect fault: the image is stored but the caller sees the error', async () => {
      const name = await createRepository('fault');
      for (const b of blobsOf(ARM64)) await uploadBlob(ecr, name, b);
      await control(sb, 'POST', 'faults', {
        service: 'ecr',
        operation: 'PutImage',
        afterEffect: true,
        error: { status: 500, code: 'ServerException', message: 'lost answer' },
      });
      const err = await rejection(
        ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: text(ARM64), imageTag: 'v1' })),
      );
      expect(err.name).toBe('ServerException');
      expect(err.$metadata?.httpStatusCode).toBe(500);
      const { imageIds } = await ecr.send(new ListImagesCommand({ repositoryName: name }));
      expect(imageIds).toEqual([{ imageDigest: ARM64, imageTag: 'v1' }]);
    });
  });
});
