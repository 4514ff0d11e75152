import { BatchDeleteImageCommand, UpdateImageStorageClassCommand } from '@aws-sdk/client-ecr';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type AuditReport,
  type ComplianceAuditDetail,
  cacheKey,
  DEFAULT_DEADLINE_RESERVE_MS,
} from '@nvcf-ecr/core/audit';
import { assertConfig, type Config } from '@nvcf-ecr/core/config';
import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import { type EventLogEntry, type LambdaHandler, startSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxHandlers } from '../../../packages/cli/src/compose.ts';
import { clients, control } from '../../helpers/sandbox.ts';
import {
  type AuditRun,
  type AuditSandbox,
  childrenOf,
  findingOn,
  findingsOf,
  invokeAudit,
  pushFixture,
  readObject,
} from './helpers.ts';

/**
 * The resolution cache and the deadline, end to end: the deployed audit handler on the sandbox, its calls
 * counted in the sandbox's request log. The cases build on each other in order (one sandbox, one bucket): a
 * first run fills the cache, later runs must read no manifest or config they already know, must not trust a
 * tampered, corrupt or foreign cache object, and must see retags, deletions and deleted children at once,
 * because the listing is live. Timing is never asserted.
 */

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const REPOSITORIES = ['apps', 'edge', 'tools', 'batch', 'ml'];
const config: Config = assertConfig({
  ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
  registries: [
    {
      name: 'prod',
      hostname: HOST,
      repositories: REPOSITORIES,
      credentialName: 'ecr-prod',
      platforms: { require: ['linux/amd64'], repositories: { edge: ['linux/amd64', 'linux/arm64'] } },
    },
  ],
});

/** What the audit's `getRemainingTimeInMillis` answers; `undefined` passes the runtime's own clock through. */
let fakeRemainingMs: number | undefined;

let s: AuditSandbox;
let bucket: string;

beforeAll(async () => {
  const sink = memorySink();
  const all = sandboxHandlers();
  const audit = all.audit;
  if (!all.rotateCredential || !audit)
    throw new Error('functions/index.ts must register rotateCredential and audit');
  const sb = await startSandbox({
    config,
    handlers: {
      rotateCredential: all.rotateCredential,
      // The deployed handler, with the invocation's clock replaced when a case asks for little time left.
      audit: (env) => {
        const handler = audit(env);
        const wrapped: LambdaHandler = (event, context) =>
          handler(event, {
            ...context,
            getRemainingTimeInMillis: () => fakeRemainingMs ?? context.getRemainingTimeInMillis(),
          });
        return wrapped;
      },
    },
    logger: createLogger({ sink, level: 'debug' }),
  });
  await sb.settle(60_000);
  s = { sb, aws: clients(sb), logs: sink.records };
}, 120_000);
afterAll(async () => {
  await s?.sb.close();
});

/** One audit run with the ECR and S3 calls it made, by operation. */
async function audit(): Promise<AuditRun & { ecr: Record<string, number>; s3: Record<string, number> }> {
  await control(s.sb, 'DELETE', 'calls');
  const run = await invokeAudit(s);
  bucket = run.result.reports.bucket;
  const count = async (service: string) => {
    const log = await control<{ calls: { operation: string }[] }>(s.sb, 'GET', `calls?service=${service}`);
    const out: Record<string, number> = {};
    for (const c of log.calls) out[c.operation] = (out[c.operation] ?? 0) + 1;
    return out;
  };
  return { ...run, ecr: await count('ecr'), s3: await count('s3') };
}

const platformFindings = (report: AuditReport) =>
  findingsOf(report, 'image.platforms')
    .map((f) => `${f.status} ${f.resource}`)
    .sort();

const registry = config.registries[0] as Config['registries'][number];

async function readPack(
  repository: string,
): Promise<{ entries: Record<string, unknown>[] } & Record<string, unknown>> {
  return JSON.parse(await readObject(s, bucket, cacheKey(registry, repository)));
}

async function writePack(repository: string, body: string): Promise<void> {
  await s.aws.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: cacheKey(registry, repository), Body: body }),
  );
}

let indexDigest: string;
let amd64Digest: string;

describe('Audit: the resolution cache', () => {
  let first: Awaited<ReturnType<typeof audit>>;

  it('resolves every image on the first run and keeps one cache object per repository', async () => {
    indexDigest = await pushFixture(s, 'apps', 'multi-oci', ['v1']);
    amd64Digest = await pushFixture(s, 'edge', 'amd64-oci', ['old']);
    await pushFixture(s, 'tools', 'multi-docker', ['stable']);
    first = await audit();
    expect(first.report.stats).toMatchObject({ images: 3, cachedImages: 0 });
    expect(first.ecr['BatchGetImage']).toBeGreaterThan(0);
    expect(first.ecr['GetDownloadUrlForLayer']).toBe(5); // 2 + 1 + 2 configs
    expect(findingOn(first.report, 'image.platforms', `${HOST}/edge:old`).status).toBe('fail');
    const pack = await readPack('apps');
    expect(pack).toMatchObject({ version: 1, registry: HOST, repository: 'apps' });
    expect(pack.entries.map((e) => e['digest'])).toEqual([indexDigest]);
    expect(pack.entries[0]).toMatchObject({ kind: 'index', manifests: [...childrenOf('multi-oci')].sort() });
  });

  it('reads no manifest or config of a digest it already resolved, and judges it the same', async () => {
    const second = await audit();
    // Listing stays live: one DescribeImages per repository, nothing else from ECR.
    expect(second.ecr).toEqual({ DescribeImages: REPOSITORIES.length });
    expect(second.report.stats).toMatchObject({ images: 3, cachedImages: 3, cacheRejected: 0 });
    expect(platformFindings(second.report)).toEqual(platformFindings(first.report));
    // Nothing changed, so no cache object is rewritten: the three reports are the only writes.
    expect(second.s3['PutObject']).toBe(3);
  });

  it('reads only what a new push adds', async () => {
    await pushFixture(s, 'apps', 'arm-v7', ['arm']);
    const run = await audit();
    // The new single-platform image: its root in one BatchGetImage, its config in one download.
    expect(run.ecr).toEqual({
      DescribeImages: REPOSITORIES.length,
      BatchGetImage: 1,
      GetDownloadUrlForLayer: 1,
    });
    expect(run.report.stats).toMatchObject({ images: 4, cachedImages: 3 });
    expect((await readPack('apps')).entries).toHaveLength(2);
  });

  it('resolves a tampered entry again instead of trusting it, and rewrites it', async () => {
    // Claim arm64 for the amd64-only image of the repository that requires arm64: trusted, it would pass.
    const pack = await readPack('edge');
    const entry = pack.entries[0] as { digest: string; platforms: string[] };
    expect(entry.digest).toBe(amd64Digest);
    entry.platforms = ['linux/amd64', 'linux/arm64'];
    await writePack('edge', JSON.stringify(pack));

    const run = await audit();
    expect(run.report.stats).toMatchObject({ cacheRejected: 1, cachedImages: 3 });
    expect(run.ecr).toEqual({
      DescribeImages: REPOSITORIES.length,
      BatchGetImage: 1,
      GetDownloadUrlForLayer: 1,
    });
    const f = findingOn(run.report, 'image.platforms', `${HOST}/edge:old`);
    expect(f.status).toBe('fail');
    expect(f.message).toContain('missing linux/arm64');
    expect(((await readPack('edge')).entries[0] as { platforms: string[] }).platforms).toEqual([
      'linux/amd64',
    ]);

    // Rewritten with a valid entry: the next run trusts it again.
    expect((await audit()).report.stats).toMatchObject({ cacheRejected: 0, cachedImages: 4 });
  });

  it('ignores a corrupt object and a foreign one (another repository’s) whole', async () => {
    await writePack('apps', '{"format":"nvcf-ecr/resolution-cache","version":1,"entries":[');
    await writePack('tools', JSON.stringify(await readPack('edge')));
    const run = await audit();
    // apps (2 images) and tools (1 image) resolved again; edge's entry still used.
    expect(run.report.stats).toMatchObject({ images: 4, cachedImages: 1 });
    expect(run.ecr['GetDownloadUrlForLayer']).toBe(5); // apps: 2 + 1, tools: 2
    expect(platformFindings(run.report)).toEqual(platformFindings((await audit()).report));
  });

  it('sees a retagged image, a deleted image and a deleted index child on the next run', async () => {
    // Retag: edge:old now names a multi-platform index; the amd64-only image is no longer tagged.
    await pushFixture(s, 'edge', 'multi-oci', ['old']);
    // Delete: tools:stable is gone.
    await s.aws.ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'tools', imageIds: [{ imageTag: 'stable' }] }),
    );
    // A lifecycle rule deletes the arm64 child of the cached index apps:v1.
    const [, arm64] = childrenOf('multi-oci');
    await control(s.sb, 'POST', 'ecr/expire', { repository: 'apps', digest: arm64 });

    const { report } = await audit();
    expect(findingOn(report, 'image.platforms', `${HOST}/edge`).status).toBe('pass');
    expect(findingsOf(report, 'image.platforms').some((f) => f.resource === `${HOST}/edge:old`)).toBe(false);
    expect(findingOn(report, 'image.platforms', `${HOST}/tools`).message).toBe(
      `${HOST}/tools has no tagged image.`,
    );
    const child = findingOn(report, 'image.index-children-present', `${HOST}/apps:v1`);
    expect(child.status).toBe('fail');
    expect(child.message).toContain(arm64);
    // The incomplete index is not cached: it is resolved again until it is whole.
    expect((await readPack('apps')).entries.map((e) => e['digest'])).not.toContain(indexDigest);
  });

  it('takes an index child archived by a lifecycle rule as missing on the next run, and whole again once pushed', async () => {
    const index = await pushFixture(s, 'ml', 'multi-oci', ['v1']);
    expect(findingOn((await audit()).report, 'image.index-children-present', `${HOST}/ml`).status).toBe(
      'pass',
    );
    expect((await readPack('ml')).entries.map((e) => e['digest'])).toEqual([index]);

    // ECR's lifecycle archive moves the arm64 child to the archival storage class: it cannot be pulled.
    const [, arm64] = childrenOf('multi-oci');
    const archived = await s.aws.ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: 'ml',
        imageId: { imageDigest: arm64 },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    expect(archived.imageStatus).toBe('ARCHIVED');
    const { report } = await audit();
    const child = findingOn(report, 'image.index-children-present', `${HOST}/ml:v1`);
    expect(child).toMatchObject({ status: 'fail', severity: 'high' });
    expect(child.message).toContain(`refers to 1 child that does not exist in ml: ${arm64}`);
    expect(child.message).toContain('archived: an archived image cannot be pulled');
    // The incomplete index is not cached, so the next run resolves it again.
    expect((await readPack('ml')).entries.map((e) => e['digest'])).not.toContain(index);

    // Pushing the image again restores the archived child.
    await pushFixture(s, 'ml', 'multi-oci', ['v1']);
    expect(findingOn((await audit()).report, 'image.index-children-present', `${HOST}/ml`).status).toBe(
      'pass',
    );
  });
});

describe('Audit: the deadline', () => {
  afterAll(() => {
    fakeRemainingMs = undefined;
  });

  it('with too little time left, reads no repository but still writes its reports and event, naming what it missed', async () => {
    // Exactly the reserve: no repository may start (the reserve is kept for the reports and the event).
    fakeRemainingMs = DEFAULT_DEADLINE_RESERVE_MS;
    const run = await audit();
    expect(run.ecr).toEqual({});
    const f = findingOn(run.report, 'audit.incomplete', HOST);
    expect(f).toMatchObject({ status: 'fail', severity: 'high', registry: 'prod' });
    expect(f.evidence['unreached']).toEqual(REPOSITORIES);
    for (const r of REPOSITORIES) expect(f.message).toContain(r);
    // No image finding claims a repository it did not read.
    expect(findingsOf(run.report, 'image.platforms')).toEqual([]);
    // The reports are stored (invokeAudit read the JSON one) and the event names the finding.
    expect(await readObject(s, bucket, run.result.reports.markdown)).toContain('audit.incomplete');
    const { events } = await control<{ events: EventLogEntry[] }>(s.sb, 'GET', 'events');
    const detail = events
      .map((e) => e.event as unknown as { 'detail-type'?: string; detail?: ComplianceAuditDetail })
      .filter((e) => e['detail-type'] === DETAIL_TYPES.complianceAudit)
      .at(-1)?.detail;
    expect(detail?.summary.failed).toBeGreaterThan(0);
    expect(detail?.topFindings.map((t) => t.checkId)).toContain('audit.incomplete');
  });

  it('passes audit.incomplete when every repository was reached', async () => {
    fakeRemainingMs = 600_000;
    const { report } = await audit();
    expect(findingOn(report, 'audit.incomplete', HOST).status).toBe('pass');
  });
});
