import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  ImageNotFoundException,
  ImageStorageClassUpdateNotSupportedException,
  ListImagesCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';
import { BUILT, entriesOf, Layout, pushWithApi } from '../validation/helpers.ts';

/**
 * ECR's archival storage class on the sandbox (https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html):
 * an archived image cannot be pulled (404), is still described and listed when asked for by status, and comes
 * back with a restore or a push. The choices where ECR documents nothing are in
 * `packages/sandbox/src/services/ecr/archive.ts`.
 */

const built = new Layout(BUILT);
const INDEX = built.digest('multi-oci');
const [AMD64 = '', ARM64 = ''] = entriesOf(built, INDEX).map((e) => e.digest);

describe('Sandbox: ECR image archive', () => {
  let sb: RunningSandbox;
  let ecr: ECRClient;
  const repositoryName = 'archive-test';

  beforeAll(async () => {
    sb = await withSandbox();
    ecr = clients(sb).ecr;
    await ecr.send(new CreateRepositoryCommand({ repositoryName }));
    await pushWithApi(ecr, built, 'multi-oci', repositoryName, 'v1');
  });
  afterAll(() => sb.close());

  const archive = (digest: string, targetStorageClass: 'ARCHIVE' | 'STANDARD') =>
    ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName,
        imageId: { imageDigest: digest },
        targetStorageClass,
      }),
    );
  const pull = (digest: string) =>
    ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }));
  const described = async (imageStatus?: 'ARCHIVED' | 'ANY') =>
    (
      await ecr.send(
        new DescribeImagesCommand({ repositoryName, ...(imageStatus ? { filter: { imageStatus } } : {}) }),
      )
    ).imageDetails ?? [];

  it('archives an image: it cannot be pulled, and is described and listed only when asked for by status', async () => {
    const answer = await archive(ARM64, 'ARCHIVE');
    expect(answer).toMatchObject({
      repositoryName,
      imageId: { imageDigest: ARM64 },
      imageStatus: 'ARCHIVED',
    });

    const pulled = await pull(ARM64);
    expect(pulled.images).toEqual([]);
    expect(pulled.failures).toEqual([
      {
        imageId: { imageDigest: ARM64 },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    expect((await pull(AMD64)).images?.map((i) => i.imageId?.imageDigest)).toEqual([AMD64]);

    // Without a filter, ACTIVE images only.
    expect((await described()).map((d) => d.imageDigest).sort()).toEqual([AMD64, INDEX].sort());
    const [detail] = await described('ARCHIVED');
    expect(detail).toMatchObject({ imageDigest: ARM64, imageStatus: 'ARCHIVED' });
    expect(detail?.lastArchivedAt).toBeInstanceOf(Date);
    const byId = await ecr.send(
      new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: ARM64 }] }),
    );
    expect(byId.imageDetails?.[0]?.imageStatus).toBe('ARCHIVED');
    const listed = async (imageStatus?: 'ANY') =>
      (
        await ecr.send(
          new ListImagesCommand({ repositoryName, ...(imageStatus ? { filter: { imageStatus } } : {}) }),
        )
      ).imageIds?.map((i) => i.imageDigest);
    expect(await listed()).not.toContain(ARM64);
    expect(await listed('ANY')).toContain(ARM64);

    // The registry API answers a pull of it with 404 MANIFEST_UNKNOWN.
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const res = await fetch(`${sb.registryEndpoint}/v2/${repositoryName}/manifests/${ARM64}`, {
      headers: { authorization: `Basic ${authorizationData?.[0]?.authorizationToken ?? ''}` },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('MANIFEST_UNKNOWN');

    const again = await rejection(archive(ARM64, 'ARCHIVE'));
    expect(again).toBeInstanceOf(ImageStorageClassUpdateNotSupportedException);
  });

  it('restores an archived image after a while (ACTIVATING meanwhile), and refuses an unknown one', async () => {
    expect((await archive(ARM64, 'STANDARD')).imageStatus).toBe('ACTIVATING');
    expect((await pull(ARM64)).failures?.[0]?.failureCode).toBe('ImageNotFound');
    await control(sb, 'POST', 'clock', { advanceSeconds: 1800 });
    expect((await pull(ARM64)).images?.map((i) => i.imageId?.imageDigest)).toEqual([ARM64]);
    const detail = (await described()).find((d) => d.imageDigest === ARM64);
    expect(detail?.imageStatus).toBe('ACTIVE');
    expect(detail?.lastActivatedAt).toBeInstanceOf(Date);

    expect(await rejection(archive(`sha256:${'9'.repeat(64)}`, 'ARCHIVE'))).toBeInstanceOf(
      ImageNotFoundException,
    );
  });

  it('restores an archived image at once when it is pushed again', async () => {
    await archive(AMD64, 'ARCHIVE');
    expect((await pull(AMD64)).failures?.[0]?.failureCode).toBe('ImageNotFound');
    await pushWithApi(ecr, built, 'multi-oci', repositoryName, 'v1');
    expect((await pull(AMD64)).images).toHaveLength(1);
    expect((await described('ARCHIVED')).map((d) => d.imageDigest)).toEqual([]);
  });
});
