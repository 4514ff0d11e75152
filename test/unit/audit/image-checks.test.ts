import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { AdaptiveGate, type EcrAuditApi, type Finding } from '@nvcf-ecr/core/audit';
import { ContentCache } from '@nvcf-ecr/core/image';
import { silentLogger } from '@nvcf-ecr/core/log';
import type { NvcfDeploymentView, NvcfFunctionView } from '@nvcf-ecr/core/ports';
import { describe, expect, it } from 'vitest';
import { imageChecks } from '../../../packages/core/src/audit/checks/image.ts';
import { accountFacts } from '../../../packages/core/src/audit/facts.ts';
import { ImageScanner } from '../../../packages/core/src/audit/images.ts';
import { AMD64, ARM64, type Desc, entry } from '../image/helpers.ts';
import { FakeEcr } from '../validation/fakes.ts';
import { config, fakeClient, HOST, registry } from './fakes.ts';

/**
 * The image checks over a fake ECR (DescribeImages added to the validation's fake BatchGetImage and layer
 * downloads) and a fake NVCF: what one image ECR will not return does to its neighbours, and what a deployed
 * function whose deployment cannot be read gets.
 */

interface Listed {
  readonly tag: string;
  readonly image: Desc;
  /** `imageStatus` as DescribeImages reports it (absent: the field is not in the answer). */
  readonly status?: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
}

/** ECR for the audit: `listed` are the tagged images of `inference`; `inference-gb200` is empty. */
function auditEcr(ecr: FakeEcr, listed: readonly Listed[]): EcrAuditApi {
  const send = async (command: unknown) => {
    if (command instanceof DescribeImagesCommand) {
      const mine = command.input.repositoryName === 'inference' ? listed : [];
      return {
        $metadata: {},
        imageDetails: mine.map((l) => ({
          imageDigest: l.image.digest,
          imageTags: [l.tag],
          imageManifestMediaType: l.image.mediaType,
          ...(l.status ? { imageStatus: l.status } : {}),
        })),
      };
    }
    return ecr.send(command as never);
  };
  return { send } as unknown as EcrAuditApi;
}

function scanner(api: EcrAuditApi, ecr: FakeEcr): ImageScanner {
  return new ImageScanner({
    ecr: () => api,
    ecrPublic: { send: async () => ({ $metadata: {}, imageDetails: [] }) } as never,
    fetch: ecr.fetch,
    cache: new ContentCache(),
    gate: () => new AdaptiveGate(4),
    backoff: { sleep: async () => {} },
    concurrency: 4,
    logger: silentLogger,
  });
}

function account(functions: NvcfFunctionView[], deployments: Record<string, NvcfDeploymentView> = {}) {
  return accountFacts(
    config,
    {
      listRegistryCredentials: async () => [],
      listFunctions: async () => functions,
      getDeployment: async (id, version) => deployments[`${id}/${version}`],
    },
    fakeClient({}),
  );
}

/** Five tagged images: three amd64 images and two indexes; with `deny`, one root and one index child inaccessible. */
function fiveImages(deny = true) {
  const ecr = new FakeEcr();
  const image = (n: number) => ecr.repo.image(AMD64, { extra: { annotations: { n: String(n) } } });
  const [a, b, denied] = [image(1), image(2), image(3)];
  const childAmd = image(4);
  const childArm = ecr.repo.image(ARM64);
  const deniedChild = ecr.repo.image(ARM64, { extra: { annotations: { n: 'denied' } } });
  const index = ecr.repo.index([entry(childAmd, AMD64), entry(childArm, ARM64)]);
  const brokenIndex = ecr.repo.index([entry(childAmd, AMD64), entry(deniedChild, ARM64)]);
  if (deny) {
    ecr.failures.set(denied.digest, { code: 'ImageInaccessible', reason: 'the KMS key is disabled' });
    ecr.failures.set(deniedChild.digest, { code: 'ImageInaccessible', reason: 'the KMS key is disabled' });
  }
  const listed: Listed[] = [
    { tag: 'a', image: a },
    { tag: 'b', image: b },
    { tag: 'denied', image: denied },
    { tag: 'multi', image: index },
    { tag: 'broken', image: brokenIndex },
  ];
  return { ecr, listed, denied, deniedChild, index, brokenIndex };
}

const of = (findings: Finding[], checkId: string) => findings.filter((f) => f.checkId === checkId);

describe('Class: ImageScanner', () => {
  it('keeps a repository scanned when ECR will not return one image, erroring that image alone (review finding 4)', async () => {
    const { ecr, listed, denied, deniedChild, brokenIndex } = fiveImages();
    const scan = await scanner(auditEcr(ecr, listed), ecr).scanRepository(registry, 'inference');
    expect(scan.state).toBe('scanned');
    expect(scan.images).toHaveLength(5);
    const outcome = (tag: string) => scan.images.find((i) => i.tags.includes(tag))?.outcome;
    for (const tag of ['a', 'b', 'multi']) expect(outcome(tag)?.kind).toBe('resolved');
    expect(outcome('denied')).toEqual({
      kind: 'error',
      message: `ECR could not return image ${denied.digest} of repository inference of registry ${registry.accountId} (ImageInaccessible: the KMS key is disabled)`,
    });
    // A child in a shared BatchGetImage fails the index that lists it, not the index resolved beside it.
    const broken = outcome('broken');
    expect(broken?.kind).toBe('error');
    expect(broken?.kind === 'error' ? broken.message : '').toContain(
      `ECR could not return image ${deniedChild.digest}`,
    );
    expect(scan.images.find((i) => i.digest === brokenIndex.digest)?.tags).toEqual(['broken']);
  });
});

describe('Class: ImageScanner and archived images', () => {
  it('judges no image the listing reports ARCHIVED or ACTIVATING: ECR will not serve it', async () => {
    const ecr = new FakeEcr();
    const active = ecr.repo.image(AMD64);
    const archived = ecr.repo.image(AMD64, { extra: { annotations: { n: 'archived' } } });
    const activating = ecr.repo.image(AMD64, { extra: { annotations: { n: 'activating' } } });
    // As ECR answers BatchGetImage of an image it will not serve: the engine would report it unresolved.
    for (const d of [archived, activating])
      ecr.failures.set(d.digest, { code: 'ImageNotFound', reason: 'x' });
    const listed: Listed[] = [
      { tag: 'active', image: active, status: 'ACTIVE' },
      { tag: 'archived', image: archived, status: 'ARCHIVED' },
      { tag: 'restoring', image: activating, status: 'ACTIVATING' },
    ];
    const scan = await scanner(auditEcr(ecr, listed), ecr).scanRepository(registry, 'inference');
    expect(scan.images.map((i) => i.tags)).toEqual([['active']]);
    expect(scan.images[0]?.outcome.kind).toBe('resolved');
  });
});

describe('Function: imageChecks', () => {
  it('judges the other images of a repository and the functions using them when one image cannot be read', async () => {
    const { ecr, listed } = fiveImages();
    const fn: NvcfFunctionView = {
      id: 'f1',
      versionId: 'v1',
      name: 'uses-a',
      status: 'INACTIVE',
      containerImage: `${HOST}/inference:a`,
    };
    const findings = await imageChecks({
      registries: [registry],
      scanner: scanner(auditEcr(ecr, listed), ecr),
      account: account([fn]),
      logger: silentLogger,
      repositoryConcurrency: 2,
      nvcfConcurrency: 2,
    });
    const platforms = of(findings, 'image.platforms').filter((f) =>
      f.resource.startsWith(`${HOST}/inference:`),
    );
    expect(platforms.map((f) => [f.resource, f.status]).sort()).toEqual([
      [`${HOST}/inference:broken`, 'error'],
      [`${HOST}/inference:denied`, 'error'],
    ]);
    expect(of(findings, 'image.function-image-present')).toEqual([
      expect.objectContaining({ status: 'pass', resource: registry.hostname }),
    ]);
  });
});

describe('Check: image.function-architecture', () => {
  const deployed = (status: string): NvcfFunctionView => ({
    id: 'f-arch',
    versionId: 'v-arch',
    name: 'gb200-fn',
    status,
    containerImage: `${HOST}/inference:a`,
  });

  it.each([
    ['is not found', undefined, 'could not be read'],
    [
      'lists no GPU',
      {
        functionId: 'f-arch',
        functionVersionId: 'v-arch',
        deploymentId: 'd-1',
        functionStatus: 'ACTIVE',
        deploymentSpecifications: [],
      },
      'has no deployment specifications',
    ],
  ])(
    'reports an error for a deployed version whose deployment %s (review finding 9)',
    async (_, deployment, why) => {
      const { ecr, listed } = fiveImages(false);
      const findings = await imageChecks({
        registries: [registry],
        scanner: scanner(auditEcr(ecr, listed), ecr),
        account: account([deployed('ACTIVE')], deployment ? { 'f-arch/v-arch': deployment } : {}),
        logger: silentLogger,
        repositoryConcurrency: 2,
        nvcfConcurrency: 2,
      });
      expect(of(findings, 'image.function-architecture')).toEqual([
        expect.objectContaining({
          status: 'error',
          resource: 'nvcf:function/f-arch/version/v-arch',
          message: expect.stringContaining(
            `The deployment of function gb200-fn (f-arch) version v-arch ${why}`,
          ),
        }),
      ]);
      expect(of(findings, 'image.function-architecture')[0]?.message).toContain(
        'its CPU architecture is unknown',
      );
    },
  );
});

describe('Check: image.function-architecture, as containerd selects index entries', () => {
  it('fails a Grace deployment whose image offers arm64 only as linux/arm64/v9 (Linux arm64 hosts report v8)', async () => {
    const ecr = new FakeEcr();
    const amd = ecr.repo.image(AMD64);
    const v9 = { os: 'linux', architecture: 'arm64', variant: 'v9' };
    const arm = ecr.repo.image(v9);
    const listed: Listed[] = [
      { tag: 'v9', image: ecr.repo.index([entry(amd, AMD64), entry(arm, v9)]) },
      { tag: 'v8', image: ecr.repo.index([entry(amd, AMD64), entry(ecr.repo.image(ARM64), ARM64)]) },
    ];
    const fn = (tag: string): NvcfFunctionView => ({
      id: `f-${tag}`,
      versionId: 'v1',
      name: `gb200-${tag}`,
      status: 'ACTIVE',
      containerImage: `${HOST}/inference:${tag}`,
    });
    const deployment = (tag: string, gpu = 'GB200'): NvcfDeploymentView => ({
      functionId: `f-${tag}`,
      functionVersionId: 'v1',
      deploymentId: `d-${tag}`,
      functionStatus: 'ACTIVE',
      deploymentSpecifications: [{ gpu, instanceType: `DGX-${gpu}.1x` }],
    });
    const unknownGpu = { ...fn('v8'), id: 'f-rtx' };
    const findings = await imageChecks({
      registries: [registry],
      scanner: scanner(auditEcr(ecr, listed), ecr),
      account: account([fn('v9'), fn('v8'), unknownGpu], {
        'f-v9/v1': deployment('v9'),
        'f-v8/v1': deployment('v8'),
        'f-rtx/v1': { ...deployment('v8', 'RTX-9000'), functionId: 'f-rtx' },
      }),
      logger: silentLogger,
      repositoryConcurrency: 2,
      nvcfConcurrency: 2,
    });
    const arch = of(findings, 'image.function-architecture');
    expect(arch.map((f) => [f.resource, f.status])).toEqual([
      ['nvcf:function/f-v9/version/v1', 'fail'],
      ['nvcf:function/f-v8/version/v1', 'pass'],
      // A GPU of unknown CPU architecture is not assumed amd64.
      ['nvcf:function/f-rtx/version/v1', 'error'],
    ]);
    expect(arch[2]?.message).toContain('its CPU architecture is unknown');
  });
});
