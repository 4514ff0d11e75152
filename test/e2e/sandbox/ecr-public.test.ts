import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetAuthorizationTokenCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blob } from '../../helpers/regclient.ts';
import {
  type Credentials,
  clients,
  control,
  rejection,
  userClients,
  withSandbox,
} from '../../helpers/sandbox.ts';

/**
 * ECR Public conformance (https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html, the
 * `@aws-sdk/client-ecr-public` model): the single-object token without `proxyEndpoint` that needs both
 * `ecr-public:GetAuthorizationToken` and `sts:GetServiceBearerToken`, us-east-1 only, public repository ARNs and
 * URIs, and images stored with the private ECR's rules (without events: none are documented for ECR Public).
 */

const ARM64 = 'sha256:35f35d912637b75c6e27b0a27a94741609dd25ca2b58b16ac4c1c559a3b481ac';
const manifest = JSON.parse(blob(ARM64).toString('utf8')) as {
  config: { digest: string; mediaType: string };
  layers: { digest: string }[];
};
const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];

describe('Sandbox: ECR Public conformance', () => {
  let sb: RunningSandbox;
  let pub: ECRPUBLICClient;
  let admin: ReturnType<typeof clients>;

  async function userCredentials(userName: string, actions: string[]): Promise<Credentials> {
    return (await userClients(sb, userName, [{ Effect: 'Allow', Action: actions, Resource: '*' }]))
      .credentials;
  }

  async function push(repositoryName: string, imageTag: string): Promise<void> {
    for (const digest of blobs) {
      const data = blob(digest);
      const { uploadId } = await pub.send(new InitiateLayerUploadCommand({ repositoryName }));
      await pub.send(
        new UploadLayerPartCommand({
          repositoryName,
          uploadId,
          partFirstByte: 0,
          partLastByte: data.length - 1,
          layerPartBlob: data,
        }),
      );
      await pub.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
    }
    await pub.send(
      new PutImageCommand({ repositoryName, imageManifest: blob(ARM64).toString('utf8'), imageTag }),
    );
  }

  beforeAll(async () => {
    sb = await withSandbox();
    admin = clients(sb);
    pub = admin.ecrPublic;
  });
  afterAll(() => sb.close());

  describe('GetAuthorizationToken', () => {
    it('returns a single token object without proxyEndpoint, valid 12 hours', async () => {
      const { now } = await control<{ now: string }>(sb, 'GET', 'clock');
      const { authorizationData } = await pub.send(new GetAuthorizationTokenCommand({}));
      expect(Array.isArray(authorizationData)).toBe(false);
      expect(Object.keys(authorizationData ?? {}).sort()).toEqual(['authorizationToken', 'expiresAt']);
      expect(Buffer.from(authorizationData?.authorizationToken ?? '', 'base64').toString()).toMatch(
        /^AWS:.+/,
      );
      const hours = ((authorizationData?.expiresAt?.getTime() ?? 0) - Date.parse(now)) / 3_600_000;
      expect(hours).toBeGreaterThan(11.99);
      expect(hours).toBeLessThan(12.01);
    });

    it('is refused outside us-east-1 with UnsupportedCommandException', async () => {
      const west = new ECRPUBLICClient({
        region: 'us-west-2',
        endpoint: sb.awsEndpoint,
        credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
        maxAttempts: 1,
      });
      const err = await rejection(west.send(new GetAuthorizationTokenCommand({})));
      expect(err.name).toBe('UnsupportedCommandException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe("The action isn't supported in this Region.");
    });

    it('needs sts:GetServiceBearerToken as well as ecr-public:GetAuthorizationToken', async () => {
      const half = await userCredentials('public-half', ['ecr-public:GetAuthorizationToken']);
      const err = await rejection(
        clients(sb, { credentials: half }).ecrPublic.send(new GetAuthorizationTokenCommand({})),
      );
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/public-half is not authorized to perform: sts:GetServiceBearerToken on resource: * because no identity-based policy allows the sts:GetServiceBearerToken action`,
      );
      const both = await userCredentials('public-both', [
        'ecr-public:GetAuthorizationToken',
        'sts:GetServiceBearerToken',
      ]);
      const { authorizationData } = await clients(sb, { credentials: both }).ecrPublic.send(
        new GetAuthorizationTokenCommand({}),
      );
      expect(authorizationData?.authorizationToken).toBeTruthy();
    });
  });

  describe('Repositories and images', () => {
    it('creates a repository with the public ARN and the public.ecr.aws URI of its alias', async () => {
      const { repository, catalogData } = await pub.send(
        new CreateRepositoryCommand({ repositoryName: 'tools' }),
      );
      expect(repository).toMatchObject({
        repositoryArn: `arn:aws:ecr-public::${sb.accountId}:repository/tools`,
        registryId: sb.accountId,
        repositoryName: 'tools',
        repositoryUri: `public.ecr.aws/sandbox-${sb.accountId}/tools`,
      });
      expect(catalogData).toEqual({});
      const { registries } = await pub.send(new DescribeRegistriesCommand({}));
      expect(registries?.[0]?.aliases?.[0]?.name).toBe(`sandbox-${sb.accountId}`);
    });

    it('answers RepositoryNotFoundException for an unknown repository', async () => {
      const err = await rejection(pub.send(new DescribeRepositoriesCommand({ repositoryNames: ['ghost'] })));
      expect(err.name).toBe('RepositoryNotFoundException');
      expect(err.message).toBe(
        `The repository with name 'ghost' does not exist in the registry with id '${sb.accountId}'`,
      );
    });

    it('stores images pushed through the layer API and describes them, without events', async () => {
      await pub.send(new CreateRepositoryCommand({ repositoryName: 'cli' }));
      const before = await control<{ ecr: { events: { emitted: number } } }>(sb, 'GET', 'state');
      await push('cli', 'v1');
      const { imageDetails } = await pub.send(new DescribeImagesCommand({ repositoryName: 'cli' }));
      expect(imageDetails).toEqual([
        {
          registryId: sb.accountId,
          repositoryName: 'cli',
          imageDigest: ARM64,
          imageTags: ['v1'],
          imageSizeInBytes: blobs.reduce((sum, d) => sum + blob(d).length, 0),
          imagePushedAt: expect.any(Date),
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactMediaType: manifest.config.mediaType,
        },
      ]);
      const after = await control<{ ecr: { events: { emitted: number } } }>(sb, 'GET', 'state');
      expect(after.ecr.events.emitted).toBe(before.ecr.events.emitted);
    });

    it('applies the layer rules of ECR (a missing blob is UNAVAILABLE; PutImage needs every blob)', async () => {
      await pub.send(new CreateRepositoryCommand({ repositoryName: 'empty' }));
      const { layers } = await pub.send(
        new BatchCheckLayerAvailabilityCommand({
          repositoryName: 'empty',
          layerDigests: [manifest.config.digest],
        }),
      );
      expect(layers).toEqual([{ layerDigest: manifest.config.digest, layerAvailability: 'UNAVAILABLE' }]);
      const err = await rejection(
        pub.send(
          new PutImageCommand({ repositoryName: 'empty', imageManifest: blob(ARM64).toString('utf8') }),
        ),
      );
      expect(err.name).toBe('LayersNotFoundException');
    });

    it('is seeded and shown through its own control-plane section', async () => {
      await control(sb, 'POST', 'seed', {
        'ecr-public': {
          images: [
            {
              repository: 'seeded',
              manifest: blob(ARM64).toString('utf8'),
              tags: ['v1'],
              blobs: blobs.map((d) => blob(d).toString('base64')),
            },
          ],
        },
      });
      const state = await control<{
        'ecr-public': {
          alias: string;
          repositories: { name: string; uri: string; images: { digest: string }[] }[];
        };
      }>(sb, 'GET', 'state');
      const repo = state['ecr-public'].repositories.find((r) => r.name === 'seeded');
      expect(repo?.uri).toBe(`public.ecr.aws/${state['ecr-public'].alias}/seeded`);
      expect(repo?.images.map((i) => i.digest)).toEqual([ARM64]);
    });
  });
});
