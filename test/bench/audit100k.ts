import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { assertConfig } from '@nvcf-ecr/core/config';
import { FUNCTIONS } from '@nvcf-ecr/core/events';
import { type HandlerEnvironment, type RunningSandbox, startSandbox } from '@nvcf-ecr/sandbox';
import { sandboxHandlers } from '../../packages/cli/src/compose.ts';
import { ECR_THROTTLE, MIX, TAGS_PER_IMAGE, throttleFloorMs } from './audit.ts';
import { ImageFactory, type SeedEntry, seedEntries } from './lib/images.ts';
import { type Call, countByOperation, recordCalls, seed, throttledCalls } from './lib/measure.ts';
import { ms, type Row } from './lib/table.ts';

/**
 * The audit at 100,000 tags: 20,000 images in 200 repositories (the 10k benchmark's mix scaled to 100
 * images of 5 tags per repository), the same ECR-like throttling and latency. Two invocations of the deployed
 * handler: `cold` with an empty resolution cache, then `warm` after 1 % new pushes (one new image of 5 tags in
 * every repository). Each invocation runs the deployed handler in a process of its own
 * (`lib/audit-process.ts`) against the sandbox served from this one, so `peakRssBytes` is the audit's peak
 * resident set alone (Node, the SDK, the handler), as a Lambda sandbox would hold it, not the emulator's store.
 */

export const REPOSITORIES_100K = 200;
export const IMAGES_PER_REPOSITORY_100K = 100;
/** The 10k mix (40 images per repository) scaled to 100. */
const SCALE = IMAGES_PER_REPOSITORY_100K / 40;

export interface Audit100kResult {
  tags: number;
  images: number;
  repositories: number;
  coldMs: number;
  warmMs: number;
  /** Every call each invocation made (ECR, S3, IAM, Secrets Manager, NVCF, EventBridge). */
  calls: { cold: number; warm: number };
  throttled: { cold: number; warm: number };
  throttleFloorMs: { cold: number; warm: number };
  /** Images pushed between the runs, and how many images the warm run took from the cache. */
  newImages: number;
  warmCachedImages: number;
  /** CPU time (user + system) the audit process used in each run: the part a slower or busier CPU stretches. */
  cpuMs: { cold: number; warm: number };
  /** The deployed function's timeout, for comparison with `coldMs` (the benchmark itself runs to the end). */
  functionTimeoutMs: number;
  /** The audit process's peak resident set (getrusage `ru_maxrss`), the larger of the two runs. */
  peakRssBytes: number;
  peakRssBytesByRun: { cold: number; warm: number };
  calledOperations: { cold: Record<string, number>; warm: Record<string, number> };
}

const repositoryName = (i: number) => `svc-${String(i).padStart(3, '0')}`;

/** The configuration as a user writes it (the child process validates it again, as the handler's init does). */
function config100k(count: number) {
  const repositories = Array.from({ length: count }, (_, i) => repositoryName(i));
  return {
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
  };
}

/** Images `from`..`from + count - 1` of repository `r`, in the mix's proportions, 5 tags each. */
function images(factory: ImageFactory, r: number, from: number, count: number): SeedEntry[] {
  const repository = repositoryName(r);
  const kinds = MIX.flatMap(([fixture, n]) => Array.from({ length: Math.round(n * SCALE) }, () => fixture));
  const entries: SeedEntry[] = [];
  for (let n = from; n < from + count; n++) {
    const fixture = kinds[n % kinds.length] as string;
    const image = factory.image(fixture, `${repository}-${n}`);
    const tags = [
      `build-${10_000 + n}`,
      `git-${image.root.digest.slice(7, 14)}`,
      `v1.${r}.${n}`,
      `2025${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}-${n}`,
      `ci-${r * 1000 + n}`,
    ].slice(0, TAGS_PER_IMAGE);
    entries.push(...seedEntries(repository, image, tags));
  }
  return entries;
}

interface Report {
  stats: Record<string, number>;
  findings: { checkId: string; status: string; message: string }[];
}

const BENCH_BUDGET_MS = 3_600_000;
const CHILD = fileURLToPath(new URL('./lib/audit-process.ts', import.meta.url));

interface ChildRun {
  readonly result: { reports: { bucket: string; json: string } };
  readonly maxRssBytes: number;
  readonly cpuMs: number;
}

/**
 * Starts the audit handler in a child process with the sandbox's handler environment and waits until it is
 * built (its init, not timed); `run()` then invokes it once and resolves its output.
 */
function startChild(env: HandlerEnvironment, config: unknown): Promise<{ run: () => Promise<ChildRun> }> {
  const { now, logger, ...plain } = env;
  void logger;
  const input = {
    env: { ...plain, config },
    clockOffsetMs: now().getTime() - Date.now(),
    // The invocation's clock as the benchmark presents it: an hour, so that the run is measured to its end
    // even on a machine slower than Lambda (the deadline itself is tested in test/e2e/audit/cache.test.ts).
    // `coldMs` above FUNCTIONS.audit.timeoutSeconds would mean a deployed cold run finishes on a later run.
    timeoutMs: BENCH_BUDGET_MS,
  };
  const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onLine: ((line: string) => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      onLine?.(line);
      nl = out.indexOf('\n');
    }
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      onLine = resolve;
      child.once('close', (code) => reject(new Error(`the audit process exited with ${code}`)));
    });
  const ready = next();
  child.stdin.write(`${JSON.stringify(input)}\n`);
  return ready.then(() => ({
    run: async () => {
      const answer = next();
      child.stdin.end('go\n');
      return JSON.parse(await answer) as ChildRun;
    },
  }));
}

async function invoke(sb: RunningSandbox, s3: S3Client, env: HandlerEnvironment, config: unknown) {
  const child = await startChild(env, config);
  const run = await recordCalls(sb, () => child.run());
  const out = run.value.result;
  const object = await s3.send(new GetObjectCommand({ Bucket: out.reports.bucket, Key: out.reports.json }));
  const report = JSON.parse((await object.Body?.transformToString()) ?? '{}') as Report;
  const incomplete = report.findings.filter((f) => f.checkId === 'audit.incomplete' && f.status !== 'pass');
  if (incomplete.length > 0) throw new Error(`the audit did not finish: ${incomplete[0]?.message}`);
  return { ms: run.ms, calls: run.calls, report, maxRssBytes: run.value.maxRssBytes, cpuMs: run.value.cpuMs };
}

const floor = (calls: readonly Call[]) => Math.round(throttleFloorMs(calls, ECR_THROTTLE));

export async function benchAudit100k(options: {
  readonly latencyMs: number;
  readonly log: (line: string) => void;
  /** Repositories seeded (default 200); fewer makes a quick trial of the benchmark itself. */
  readonly repositories?: number;
}): Promise<{ result: Audit100kResult; rows: Row[] }> {
  const repositories = options.repositories ?? REPOSITORIES_100K;
  const { rotateCredential, audit } = sandboxHandlers();
  if (!rotateCredential || !audit)
    throw new Error('functions/index.ts must register rotateCredential and audit');
  // The environment the runtime hands the audit function: the child process builds the same handler from it.
  let auditEnv: HandlerEnvironment | undefined;
  const sb = await startSandbox({
    config: assertConfig(config100k(repositories)),
    latencyMs: options.latencyMs,
    throttle: ECR_THROTTLE,
    handlers: {
      rotateCredential,
      audit: (env) => {
        auditEnv = env;
        return audit(env);
      },
    },
  });
  const s3 = new S3Client({
    region: sb.region,
    endpoint: sb.awsEndpoint,
    credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
    forcePathStyle: true,
  });
  try {
    await sb.settle(120_000);
    const factory = new ImageFactory();
    let tags = 0;
    for (let r = 0; r < repositories; r++) {
      const entries = images(factory, r, 0, IMAGES_PER_REPOSITORY_100K);
      tags += entries.reduce((n, e) => n + e.tags.length, 0);
      await seed(sb, entries);
    }
    const count = repositories * IMAGES_PER_REPOSITORY_100K;
    options.log(`audit100k: seeded ${tags} tags over ${count} images in ${repositories} repositories`);
    const env = auditEnv;
    if (!env) throw new Error('the sandbox runtime did not build the audit handler');
    const cold = await invoke(sb, s3, env, config100k(repositories));
    options.log(
      `audit100k cold: ${Math.round(cold.ms)} ms (audit CPU ${Math.round(cold.cpuMs)} ms), ${cold.calls.length} calls (${throttledCalls(cold.calls)} throttled), stats ${JSON.stringify(cold.report.stats)}`,
    );
    if (cold.report.stats['images'] !== count)
      throw new Error(`the cold audit judged ${cold.report.stats['images']} images, expected ${count}`);
    // 1 % new pushes: one new image (5 tags) in every repository.
    for (let r = 0; r < repositories; r++) await seed(sb, images(factory, r, IMAGES_PER_REPOSITORY_100K, 1));
    const warm = await invoke(sb, s3, env, config100k(repositories));
    options.log(
      `audit100k warm: ${Math.round(warm.ms)} ms (audit CPU ${Math.round(warm.cpuMs)} ms), ${warm.calls.length} calls (${throttledCalls(warm.calls)} throttled), stats ${JSON.stringify(warm.report.stats)}`,
    );
    if (warm.report.stats['images'] !== count + repositories)
      throw new Error(`the warm audit judged ${warm.report.stats['images']} images`);
    const peak = Math.max(cold.maxRssBytes, warm.maxRssBytes);
    const result: Audit100kResult = {
      tags,
      images: count,
      repositories: repositories,
      coldMs: Math.round(cold.ms),
      warmMs: Math.round(warm.ms),
      calls: { cold: cold.calls.length, warm: warm.calls.length },
      throttled: { cold: throttledCalls(cold.calls), warm: throttledCalls(warm.calls) },
      throttleFloorMs: { cold: floor(cold.calls), warm: floor(warm.calls) },
      newImages: repositories,
      warmCachedImages: warm.report.stats['cachedImages'] ?? 0,
      cpuMs: { cold: Math.round(cold.cpuMs), warm: Math.round(warm.cpuMs) },
      functionTimeoutMs: FUNCTIONS.audit.timeoutSeconds * 1000,
      peakRssBytes: peak,
      peakRssBytesByRun: { cold: cold.maxRssBytes, warm: warm.maxRssBytes },
      calledOperations: { cold: countByOperation(cold.calls), warm: countByOperation(warm.calls) },
    };
    const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
    const rows: Row[] = [
      {
        benchmark: `audit cold (${tags} tags, ${count} images, ${repositories} repos, empty cache)`,
        measured: `${ms(cold.ms)} (${cold.calls.length} calls)`,
        target: '< 300,000 ms',
        pass: cold.ms < 300_000,
      },
      {
        benchmark: `audit warm (after ${repositories} new images)`,
        measured: `${ms(warm.ms)} (${warm.calls.length} calls)`,
        target: `≤ cold / 10 (${ms(cold.ms / 10)})`,
        pass: warm.ms <= cold.ms / 10,
      },
      {
        benchmark: 'audit 100k peak RSS (the audit process)',
        measured: `${mib(peak)} (cold ${mib(cold.maxRssBytes)}, warm ${mib(warm.maxRssBytes)})`,
        target: '< 512 MiB',
        pass: peak < 512 * 1024 * 1024,
      },
    ];
    return { result, rows };
  } finally {
    s3.destroy();
    await sb.close();
  }
}
