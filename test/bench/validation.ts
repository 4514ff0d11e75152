import { randomUUID } from 'node:crypto';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { loadConfig } from '@nvcf-ecr/core/config';
import { ECR_EVENT_SOURCE, ECR_IMAGE_ACTION, FUNCTIONS, functionArn } from '@nvcf-ecr/core/events';
import { type RunningSandbox, startSandbox } from '@nvcf-ecr/sandbox';
import { sandboxHandlers } from '../../packages/cli/src/compose.ts';
import { type BuiltImage, ImageFactory, seedEntries } from './lib/images.ts';
import { type Call, countByOperation, median, recordCalls, round, seed } from './lib/measure.ts';
import { ms, type Row } from './lib/table.ts';

/**
 * Push validation: the deployed handler (composed as the CLI composes it) invoked with the `ECR Image Action`
 * of a tagged push, warm (its SDK clients and content cache live across invocations, as in a warm Lambda),
 * each sample on a freshly built image so that nothing is answered from the cache.
 *
 * The floor of each kind is the chain of round trips the work cannot avoid, each costing the injected
 * latency (packages/core/src/validation/README.md, "How it works"; `validatePush`'s doc comment):
 * - single manifest: BatchGetImage(manifest) → GetDownloadUrlForLayer(config) → GET config →
 *   BatchGetImage(tag: it still points at the digest) → PutEvents(verdict) = 5 round trips; 5 calls.
 * - index with k runnable children: BatchGetImage(index) → BatchGetImage(all k children, one call) →
 *   GetDownloadUrlForLayer → GET config (the k configs in parallel) → BatchGetImage(tag) → PutEvents = 6 round
 *   trips; 1 + 1 + 2k + 1 + 1 calls. Attestation manifests are never fetched.
 * - index whose declared platforms are verified against the configs (the `mismatch` fixture: an amd64 image
 *   declared arm64): the same chain — verification reads the configs the platforms come from anyway.
 * NVCF's function list and the NGC key it is read with are fetched beside that chain, at most once a minute per
 * warm handler (function-aware validation), so they are left out of the count.
 * The issue's floors (4 × latency for an index, 3 × for a manifest) stop at the config; the handler must also
 * confirm the tag was not moved on by a later push and publish its verdict, so the measured time and the floor
 * both include those two round trips.
 */

export interface ValidationKindResult {
  /** Calls one validation made (ECR, the presigned S3 GETs, EventBridge), the same in every sample. */
  calls: number;
  floorCalls: number;
  /** Median wall time of one invocation. */
  latencyMs: number;
  floorMs: number;
  floorRoundTrips: number;
  /**
   * Median wall time of one trivial call (ECR DescribeRepositories) at the injected latency on this machine:
   * the latency plus the SDK's and the sandbox's fixed cost of a call. `floorRoundTrips × roundTripMs` is what
   * the chain of round trips costs here before any work of ours.
   */
  roundTripMs: number;
  samples: number;
  maxMs: number;
  calledOperations: Record<string, number>;
}

export type ValidationResult = Record<'index' | 'manifest' | 'declaredVsConfig', ValidationKindResult>;

interface Kind {
  readonly key: keyof ValidationResult;
  readonly label: string;
  readonly fixture: string;
  readonly repository: string;
  readonly verdict: string;
  readonly mismatches: number;
}

const KINDS: readonly Kind[] = [
  {
    key: 'index',
    label: 'index (amd64 + arm64 + attestations)',
    fixture: 'attested',
    repository: 'inference-gb200',
    verdict: 'compliant',
    mismatches: 0,
  },
  {
    key: 'manifest',
    label: 'single manifest',
    fixture: 'amd64-oci',
    repository: 'inference',
    verdict: 'compliant',
    mismatches: 0,
  },
  {
    key: 'declaredVsConfig',
    label: 'index, declared vs config',
    fixture: 'mismatch',
    repository: 'inference-gb200',
    verdict: 'non-compliant',
    mismatches: 1,
  },
];

export interface ValidationOptions {
  readonly latencyMs: number;
  /** Measured invocations per kind, after one warm-up (default 20). */
  readonly samples?: number;
  readonly log: (line: string) => void;
}

function pushEvent(sb: RunningSandbox, repository: string, image: BuiltImage, tag: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': ECR_IMAGE_ACTION,
    source: ECR_EVENT_SOURCE,
    account: sb.accountId,
    time: new Date().toISOString(),
    region: sb.region,
    resources: [],
    detail: {
      result: 'SUCCESS',
      'repository-name': repository,
      'image-digest': image.root.digest,
      'action-type': 'PUSH',
      'image-tag': tag,
      'manifest-media-type': image.root.mediaType,
    },
  };
}

/** Median wall time of a trivial ECR call (after a warm-up), with a client configured as the handler's. */
async function trivialRoundTrip(sb: RunningSandbox, samples: number): Promise<number> {
  const ecr = new ECRClient({
    region: sb.region,
    endpoint: sb.awsEndpoint,
    credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
    maxAttempts: 3,
  });
  try {
    const times: number[] = [];
    for (let i = 0; i <= samples; i++) {
      const started = performance.now();
      await ecr.send(new DescribeRepositoriesCommand({}));
      if (i > 0) times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    ecr.destroy();
  }
}

export async function benchValidation(
  options: ValidationOptions,
): Promise<{ result: ValidationResult; rows: Row[] }> {
  const samples = options.samples ?? 20;
  const config = await loadConfig(new URL('../../nvcf-ecr.config.ts', import.meta.url).pathname);
  const validatePush = sandboxHandlers().validatePush;
  if (!validatePush) throw new Error('functions/index.ts registers no validatePush handler');
  const sb = await startSandbox({ config, latencyMs: options.latencyMs, handlers: { validatePush } });
  const arn = functionArn('aws', sb.region, sb.accountId, FUNCTIONS.validatePush.name);
  const factory = new ImageFactory();
  const result = {} as ValidationResult;
  const rows: Row[] = [];
  try {
    const roundTripMs = await trivialRoundTrip(sb, samples);
    options.log(
      `validation: one trivial call takes ${roundTripMs.toFixed(2)} ms at ${options.latencyMs} ms latency`,
    );
    for (const kind of KINDS) {
      const times: number[] = [];
      let calls: Call[] = [];
      let runnable = 0;
      for (let i = 0; i <= samples; i++) {
        const image = factory.image(kind.fixture, `validation-${kind.key}-${i}`);
        runnable = image.runnable;
        const tag = `v${i}`;
        await seed(sb, seedEntries(kind.repository, image, [tag]));
        const recorded = await recordCalls(sb, () =>
          sb.lambda.invoke(arn, pushEvent(sb, kind.repository, image, tag)),
        );
        // The NVCF function list (and the NGC key it is read with) is fetched beside the ECR chain, at most once
        // a minute per warm handler (function-aware validation): it is in no verdict's chain of round trips.
        const run = {
          ...recorded,
          calls: recorded.calls.filter((c) => c.service !== 'nvcf' && c.service !== 'secretsmanager'),
        };
        const outcome = run.value as {
          skipped: boolean;
          detail?: { verdict: string; mismatches: unknown[] };
        };
        if (outcome.skipped || outcome.detail?.verdict !== kind.verdict) {
          throw new Error(
            `validation of the ${kind.key} image gave ${JSON.stringify(outcome)}; expected verdict ${kind.verdict}`,
          );
        }
        if (outcome.detail.mismatches.length !== kind.mismatches) {
          throw new Error(
            `validation of the ${kind.key} image found ${outcome.detail.mismatches.length} mismatches`,
          );
        }
        // Sample 0 warms the handler (first SDK call, connections), as the first invocation of a container does.
        if (i === 0) continue;
        times.push(run.ms);
        if (calls.length > 0 && run.calls.length !== calls.length) {
          throw new Error(
            `validation of the ${kind.key} image made ${run.calls.length} calls, before ${calls.length}`,
          );
        }
        calls = run.calls;
      }
      const single = runnable === 0;
      const floorRoundTrips = single ? 5 : 6;
      const floorCalls = single ? 5 : 4 + 2 * runnable;
      const floorMs = floorRoundTrips * options.latencyMs;
      const latency = median(times);
      result[kind.key] = {
        calls: calls.length,
        floorCalls,
        latencyMs: round(latency, 1),
        floorMs,
        floorRoundTrips,
        roundTripMs: round(roundTripMs, 2),
        samples,
        maxMs: round(Math.max(...times), 1),
        calledOperations: countByOperation(calls),
      };
      options.log(
        `validation.${kind.key}: median ${latency.toFixed(1)} ms over ${samples} (floor ${floorMs} ms), ${calls.length} calls ${JSON.stringify(countByOperation(calls))}`,
      );
      rows.push(
        {
          benchmark: `validation.${kind.key} latency (${kind.label})`,
          measured: `${latency.toFixed(1)} ms`,
          target: `≤ 1.25 × ${ms(floorMs)} = ${ms(1.25 * floorMs)}`,
          pass: latency <= 1.25 * floorMs,
        },
        {
          benchmark: `validation.${kind.key} calls`,
          measured: String(calls.length),
          target: `= ${floorCalls}`,
          pass: calls.length === floorCalls,
        },
      );
    }
  } finally {
    await sb.close();
  }
  return { result, rows };
}
