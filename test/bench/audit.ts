import {
  BatchGetImageCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  ListImagesCommand,
} from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { assertConfig, type Config } from '@nvcf-ecr/core/config';
import { FUNCTIONS, functionArn } from '@nvcf-ecr/core/events';
import { ACCEPTED_MANIFEST_MEDIA_TYPES } from '@nvcf-ecr/core/image';
import { type RunningSandbox, startSandbox, type ThrottleOptions } from '@nvcf-ecr/sandbox';
import { sandboxHandlers } from '../../packages/cli/src/compose.ts';
import { ImageFactory, type SeedEntry, seedEntries } from './lib/images.ts';
import { type Call, countByOperation, recordCalls, round, seed, throttledCalls } from './lib/measure.ts';
import { ms, type Row } from './lib/table.ts';

/**
 * The compliance audit over 10,000 tagged images in 50 repositories, with ECR-like throttling, against a naive
 * per-image loop run in the same process, on the same sandbox, under the same throttling.
 *
 * The image mix (per repository; the same for each of the 50): 40 distinct images, each under 5 tags (a
 * build number, a git sha, a version, a date and a CI id — a registry that CI pushes to and promotes from),
 * so 200 tags: 20 OCI indexes (amd64 + arm64), 4 Docker manifest lists (amd64 + arm64), 4 BuildKit indexes
 * with provenance attestations, 8 OCI and 4 Docker single-platform amd64 images. Every image is a rebuild
 * (`lib/images.ts`): no two share a config, so each repository holds 98 manifests and 68 distinct configs
 * (3,400 config blobs in all) and the audit's content cache only saves what a real account would let it
 * save. One repository in five is a GB200 repository (amd64 + arm64 required), where the single-platform
 * images are findings.
 */

export const REPOSITORIES = 50;
export const IMAGES_PER_REPOSITORY = 40;
export const TAGS_PER_IMAGE = 5;

export const MIX: readonly (readonly [fixture: string, count: number])[] = [
  ['multi-oci', 20],
  ['multi-docker', 4],
  ['attested', 4],
  ['amd64-oci', 8],
  ['amd64-docker', 4],
];

/**
 * ECR's published rates where https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html gives
 * them, chosen values where it does not (not published:
 * GetDownloadUrlForLayer, DescribeImages, ListImages). Bursts are not published except GetAuthorizationToken's;
 * elsewhere a bucket holds one second of calls. The chosen rates are deliberately low — an order of magnitude
 * under BatchGetImage's — so that the audit runs into throttling and the benchmark shows it slowing down
 * rather than failing; they bound the audit's wall time here, not the naive loop's (which never gets near them).
 */
export const ECR_THROTTLE: ThrottleOptions = {
  'ecr.BatchGetImage': { rate: 2000, burst: 2000 },
  'ecr.GetAuthorizationToken': { rate: 20, burst: 200 },
  'ecr.GetDownloadUrlForLayer': { rate: 200, burst: 200 },
  'ecr.DescribeImages': { rate: 20, burst: 20 },
  'ecr.ListImages': { rate: 20, burst: 20 },
  // S3: 5,500 GET per second per prefix (S3 performance guidelines); the presigned config downloads.
  's3.GetObject': { rate: 5500, burst: 5500 },
};

export interface AuditResult {
  /** Tagged image references audited (tags). */
  images: number;
  /** Distinct tagged images (digests) the audit resolved. */
  distinctImages: number;
  repositories: number;
  wallMs: number;
  /** Every call the audit invocation made (ECR, S3, IAM, Secrets Manager, NVCF, EventBridge). */
  calls: number;
  throttled: number;
  /**
   * The least time the throttle allows for the calls the audit had to make: for each throttled operation,
   * (successful calls − burst) / rate; the largest of those.
   */
  throttleFloorMs: number;
  calledOperations: Record<string, number>;
  naiveWallMs: number;
  /** Tags the naive loop really walked; `naiveWallMs` scales its time to all `images` (it is sequential). */
  naiveImagesMeasured: number;
  naiveMeasuredMs: number;
  naiveCalls: number;
  speedup: number;
}

/** The wall time the token buckets impose on `calls` (only the successful ones count: refusals cost no credit). */
export function throttleFloorMs(calls: readonly Call[], throttle: ThrottleOptions): number {
  let floor = 0;
  for (const [key, limit] of Object.entries(throttle)) {
    const done = calls.filter((c) => `${c.service}.${c.operation}` === key && c.status < 300).length;
    floor = Math.max(floor, (Math.max(0, done - limit.burst) / limit.rate) * 1000);
  }
  return floor;
}

export interface AuditOptions {
  readonly latencyMs: number;
  /** Repositories the naive loop walks for real (default 2); 50 walks all, which takes 10+ minutes. */
  readonly naiveRepositories?: number;
  readonly log: (line: string) => void;
}

const repositoryName = (i: number) => `svc-${String(i).padStart(2, '0')}`;

export function auditConfig(): Config {
  const repositories = Array.from({ length: REPOSITORIES }, (_, i) => repositoryName(i));
  return assertConfig({
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'fleet',
        hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        repositories,
        credentialName: 'ecr-fleet',
        platforms: {
          require: ['linux/amd64'],
          repositories: Object.fromEntries(
            repositories.filter((_, i) => i % 5 === 0).map((r) => [r, ['linux/amd64', 'linux/arm64']]),
          ),
        },
      },
    ],
  });
}

/** The seed entries of one repository: 40 rebuilt images under 5 tags each. */
function repositoryImages(factory: ImageFactory, r: number): SeedEntry[] {
  const repository = repositoryName(r);
  const entries: SeedEntry[] = [];
  let n = 0;
  for (const [fixture, count] of MIX) {
    for (let k = 0; k < count; k++, n++) {
      const build = `${repository}-${n}`;
      const image = factory.image(fixture, build);
      const tags = [
        `build-${1000 + n}`,
        `git-${image.root.digest.slice(7, 14)}`,
        `v1.${r}.${n}`,
        `2025${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}-${n}`,
        `ci-${r * 100 + n}`,
      ].slice(0, TAGS_PER_IMAGE);
      entries.push(...seedEntries(repository, image, tags));
    }
  }
  return entries;
}

interface ImageManifest {
  mediaType?: string;
  config?: { digest: string };
  manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[];
}

/**
 * The naive loop a `crane config` / `skopeo inspect --config` script amounts to, with the ECR API: list the
 * tags, then for each tag, one after the other, fetch its manifest, for an index the linux/amd64 entry's
 * manifest (the tools' default platform), then the config (GetDownloadUrlForLayer + GET). Nothing is shared
 * between tags, as nothing is shared between two runs of the tool. No artificial slowness: the same SDK
 * client settings as the audit (standard retries, 3 attempts).
 */
async function naiveRepository(ecr: ECRClient, registryId: string, repository: string): Promise<number> {
  const tags: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecr.send(
      new ListImagesCommand({
        registryId,
        repositoryName: repository,
        filter: { tagStatus: 'TAGGED' },
        nextToken,
      }),
    );
    for (const id of page.imageIds ?? []) if (id.imageTag) tags.push(id.imageTag);
    nextToken = page.nextToken;
  } while (nextToken);
  const manifest = async (id: { imageTag: string } | { imageDigest: string }): Promise<ImageManifest> => {
    const out = await ecr.send(
      new BatchGetImageCommand({
        registryId,
        repositoryName: repository,
        imageIds: [id],
        acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
      }),
    );
    const text = out.images?.[0]?.imageManifest;
    if (!text) throw new Error(`naive loop: ${repository} ${JSON.stringify(id)} not found`);
    return JSON.parse(text) as ImageManifest;
  };
  for (const tag of tags) {
    let m = await manifest({ imageTag: tag });
    if (m.manifests) {
      const amd64 = m.manifests.find(
        (e) => e.platform?.os === 'linux' && e.platform.architecture === 'amd64',
      );
      if (!amd64) throw new Error(`naive loop: ${repository}:${tag} has no linux/amd64 entry`);
      m = await manifest({ imageDigest: amd64.digest });
    }
    if (!m.config) throw new Error(`naive loop: ${repository}:${tag} has no config`);
    const { downloadUrl } = await ecr.send(
      new GetDownloadUrlForLayerCommand({
        registryId,
        repositoryName: repository,
        layerDigest: m.config.digest,
      }),
    );
    const res = await fetch(downloadUrl ?? '');
    if (!res.ok) throw new Error(`naive loop: config of ${repository}:${tag}: HTTP ${res.status}`);
    const config = (await res.json()) as { architecture?: string };
    if (!config.architecture)
      throw new Error(`naive loop: config of ${repository}:${tag} names no architecture`);
  }
  return tags.length;
}

export async function benchAudit(options: AuditOptions): Promise<{ result: AuditResult; rows: Row[] }> {
  const config = auditConfig();
  const registry = config.registries[0];
  if (registry?.kind !== 'private') throw new Error('the audit configuration has no private registry');
  const { rotateCredential, audit } = sandboxHandlers();
  if (!rotateCredential || !audit)
    throw new Error('functions/index.ts must register rotateCredential and audit');
  const sb: RunningSandbox = await startSandbox({
    config,
    latencyMs: options.latencyMs,
    throttle: ECR_THROTTLE,
    handlers: { rotateCredential, audit },
  });
  try {
    // The runtime's bootstrap rotation puts a current key in the secret and in NVCF, as a fresh deployment.
    await sb.settle(120_000);
    const factory = new ImageFactory();
    let tagCount = 0;
    for (let r = 0; r < REPOSITORIES; r++) {
      const entries = repositoryImages(factory, r);
      tagCount += entries.reduce((n, e) => n + e.tags.length, 0);
      await seed(sb, entries);
    }
    options.log(`audit: seeded ${tagCount} tags over ${REPOSITORIES * IMAGES_PER_REPOSITORY} images`);

    const arn = functionArn('aws', sb.region, sb.accountId, FUNCTIONS.audit.name);
    const run = await recordCalls(sb, () => sb.lambda.invoke(arn, {}));
    const out = run.value as { reports: { bucket: string; json: string }; summary: Record<string, number> };
    const admin = { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey };
    const s3 = new S3Client({
      region: sb.region,
      endpoint: sb.awsEndpoint,
      credentials: admin,
      forcePathStyle: true,
    });
    const object = await s3.send(new GetObjectCommand({ Bucket: out.reports.bucket, Key: out.reports.json }));
    const report = JSON.parse((await object.Body?.transformToString()) ?? '{}') as {
      stats: Record<string, number>;
      findings: { checkId: string; status: string }[];
    };
    s3.destroy();
    const resolved = report.stats['images'] ?? 0;
    if (resolved !== REPOSITORIES * IMAGES_PER_REPOSITORY) {
      throw new Error(
        `the audit resolved ${resolved} images, expected ${REPOSITORIES * IMAGES_PER_REPOSITORY}`,
      );
    }
    options.log(
      `audit: ${Math.round(run.ms)} ms, ${run.calls.length} calls (${throttledCalls(run.calls)} throttled), stats ${JSON.stringify(report.stats)}, summary ${JSON.stringify(out.summary)}`,
    );

    const ecr = new ECRClient({
      region: sb.region,
      endpoint: sb.awsEndpoint,
      credentials: admin,
      maxAttempts: 3,
    });
    const walk = Math.max(1, Math.min(REPOSITORIES, options.naiveRepositories ?? 2));
    const naive = await recordCalls(sb, async () => {
      let tags = 0;
      for (let r = 0; r < walk; r++)
        tags += await naiveRepository(ecr, registry.accountId, repositoryName(r));
      return tags;
    });
    ecr.destroy();
    const naiveWallMs = (naive.ms * tagCount) / naive.value;
    options.log(
      `audit naive loop: ${naive.value} tags in ${Math.round(naive.ms)} ms (${naive.calls.length} calls, ${throttledCalls(naive.calls)} throttled) → ${Math.round(naiveWallMs)} ms for ${tagCount}`,
    );

    const speedup = naiveWallMs / run.ms;
    const result: AuditResult = {
      images: tagCount,
      distinctImages: resolved,
      repositories: REPOSITORIES,
      wallMs: Math.round(run.ms),
      calls: run.calls.length,
      throttled: throttledCalls(run.calls),
      throttleFloorMs: Math.round(throttleFloorMs(run.calls, ECR_THROTTLE)),
      calledOperations: countByOperation(run.calls),
      naiveWallMs: Math.round(naiveWallMs),
      naiveImagesMeasured: naive.value,
      naiveMeasuredMs: Math.round(naive.ms),
      naiveCalls: naive.calls.length,
      speedup: round(speedup, 1),
    };
    const rows: Row[] = [
      {
        benchmark: `audit wall time (${tagCount} tags, ${resolved} images, ${REPOSITORIES} repos)`,
        measured: ms(run.ms),
        target: '< 60,000 ms',
        pass: run.ms < 60_000,
      },
      {
        benchmark: `audit speedup vs naive loop (${naive.value} tags walked, scaled)`,
        measured: `${speedup.toFixed(1)}× (naive ${ms(naiveWallMs)})`,
        target: '≥ 10×',
        pass: speedup >= 10,
      },
      {
        benchmark: 'audit calls (throttled), throttle floor',
        measured: `${run.calls.length} (${throttledCalls(run.calls)}), ${ms(result.throttleFloorMs)}`,
        target: '',
        pass: undefined,
      },
    ];
    return { result, rows };
  } finally {
    await sb.close();
  }
}
