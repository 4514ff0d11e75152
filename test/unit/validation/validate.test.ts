import { EventPublishError, ImageSourceError } from '@nvcf-ecr/core/errors';
import { ContentCache } from '@nvcf-ecr/core/image';
import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import {
  IMAGE_VALIDATION_SCHEMA_VERSION,
  type ImageValidationDetail,
  imageValidationDetailSchema,
  NOT_FOUND_MAX_WAIT_MS,
  NOT_FOUND_SETTLED_AFTER_MS,
  type ValidatePushDeps,
  validatePush,
} from '@nvcf-ecr/core/validation';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../core/expect-error.ts';
import { AMD64, ARM64, encode, entry, OCI_INDEX, OCI_MANIFEST, UNKNOWN } from '../image/helpers.ts';
import { ACCOUNT, FakeEcr, FakeEvents, HOSTNAME, metricsCollector, pushEvent, testConfig } from './fakes.ts';

// The push-validation verb against fake ECR and EventBridge clients: verdicts, skip rules, the failure
// policy (transient → throw, not found → bounded retries then `error`, malformed → `error`), the cache, the
// calls per image kind, metrics, and the published event's shape.

interface Harness {
  ecr: FakeEcr;
  events: FakeEvents;
  deps: ValidatePushDeps;
  sleeps: number[];
  logs: ReturnType<typeof memorySink>;
  metrics: ReturnType<typeof metricsCollector>;
}

function harness(options: { cache?: ContentCache } = {}): Harness {
  const ecr = new FakeEcr();
  const events = new FakeEvents();
  const sleeps: number[] = [];
  const logs = memorySink();
  const metrics = metricsCollector();
  const deps: ValidatePushDeps = {
    config: testConfig(),
    ecr: () => ecr,
    events,
    eventBusName: 'nvcf-ecr-autopilot',
    cache: options.cache,
    fetch: ecr.fetch,
    logger: createLogger({ sink: logs, level: 'debug' }),
    metrics,
    now: () => new Date('2026-01-02T03:04:05Z'),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return { ecr, events, deps, sleeps, logs, metrics };
}

/** Runs the verb and returns the one detail it published. */
async function verdictOf(
  h: Harness,
  repository: string,
  digest: string,
  tag = 'v1',
): Promise<ImageValidationDetail> {
  // After a push the tag points at the pushed digest: the validation confirms it before publishing.
  h.ecr.tags.set(tag, digest);
  const outcome = await validatePush(pushEvent(repository, digest, tag), h.deps);
  if (outcome.skipped) throw new Error(`expected a verdict, got a skip: ${outcome.reason}`);
  expect(imageValidationDetailSchema.safeParse(outcome.detail).success).toBe(true);
  expect(h.events.details().at(-1)).toEqual(outcome.detail);
  return outcome.detail;
}

describe('Function: validatePush', () => {
  it('publishes a compliant verdict for a multi-platform index, with the documented fields', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    const b = h.ecr.repo.image(ARM64);
    const index = h.ecr.repo.index([entry(a, AMD64), entry(b, ARM64)]);
    const detail = await verdictOf(h, 'inference-gb200', index.digest, 'v2');
    expect(detail).toEqual({
      schemaVersion: IMAGE_VALIDATION_SCHEMA_VERSION,
      registry: HOSTNAME,
      repository: 'inference-gb200',
      tag: 'v2',
      digest: index.digest,
      mediaType: OCI_INDEX,
      kind: 'index',
      platforms: ['linux/amd64', 'linux/arm64'],
      required: ['linux/amd64', 'linux/arm64'],
      missing: [],
      mismatches: [],
      ignored: [],
      warnings: [],
      verdict: 'compliant',
      reasons: [
        'provides every required platform (linux/amd64, linux/arm64) for repository inference-gb200: the image has linux/amd64, linux/arm64',
      ],
      sourceEventId: '446d9337-ebe2-cf4f-42e6-42be36883bbd',
      // The ECR event's time: verdicts of two quick pushes of one tag are ordered by it, not by arrival.
      pushedAt: '2025-09-25T12:38:34.000Z',
      // This harness gives the validation no NVCF client.
      functionCheck: 'skipped',
      functions: [],
    });
    expect(h.events.entries).toEqual([
      {
        Source: 'nvcf-ecr-autopilot',
        DetailType: 'NVCF Image Validation',
        Detail: JSON.stringify(detail),
        Resources: [`arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference-gb200`],
        EventBusName: 'nvcf-ecr-autopilot',
        Time: new Date('2026-01-02T03:04:05Z'),
      },
    ]);
    expect(h.metrics.records).toEqual([
      { name: 'ImageValidations', value: 1, unit: 'Count', dimensions: { Verdict: 'compliant' } },
      // These deps have no NVCF client: the function check is skipped, and counted.
      { name: 'FunctionChecksSkipped', value: 1, unit: 'Count' },
    ]);
  });

  it('calls ECR the minimum number of times per image kind', async () => {
    const h = harness();
    const single = h.ecr.repo.image(AMD64);
    await verdictOf(h, 'inference', single.digest);
    expect([
      h.ecr.count('BatchGetImage'),
      h.ecr.count('GetDownloadUrlForLayer'),
      h.ecr.downloads.length,
    ]).toEqual([2, 1, 1]);
    // The last BatchGetImage is of the tag, right before publishing: it still points at the digest.
    expect(h.ecr.calls.at(-1)?.input['imageIds']).toEqual([{ imageTag: 'v1' }]);

    const k = harness();
    const children = [AMD64, ARM64, { os: 'linux', architecture: 'arm', variant: 'v7' }].map((p) =>
      k.ecr.repo.image(p),
    );
    const attestations = children.map((c) =>
      k.ecr.repo.manifest(
        { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], ref: c.digest },
        OCI_MANIFEST,
      ),
    );
    const index = k.ecr.repo.index([
      ...children.map((c, i) =>
        entry(c, [AMD64, ARM64, { os: 'linux', architecture: 'arm', variant: 'v7' }][i]),
      ),
      ...attestations.map((a, i) =>
        entry(a, UNKNOWN, {
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': children[i]?.digest ?? '',
          },
        }),
      ),
    ]);
    const detail = await verdictOf(k, 'inference', index.digest);
    expect(detail.ignored.map((i) => i.digest)).toEqual(attestations.map((a) => a.digest));
    // 1 BatchGetImage for the index, 1 for the 3 runnable children (attestations are never fetched), and 1
    // of the tag before publishing.
    expect(k.ecr.count('BatchGetImage')).toBe(3);
    expect(k.ecr.calls[1]?.input['imageIds']).toEqual(children.map((c) => ({ imageDigest: c.digest })));
    expect([k.ecr.count('GetDownloadUrlForLayer'), k.ecr.downloads.length]).toEqual([3, 3]);
  });

  it('serves a repeated event with the BatchGetImage calls only (configs from the warm cache) and the identical verdict', async () => {
    const h = harness({ cache: new ContentCache() });
    const a = h.ecr.repo.image(AMD64);
    const b = h.ecr.repo.image(ARM64);
    const index = h.ecr.repo.index([entry(a, AMD64), entry(b, ARM64)]);
    const first = await verdictOf(h, 'inference-gb200', index.digest);
    const [gets, urls, downloads] = [
      h.ecr.count('BatchGetImage'),
      h.ecr.count('GetDownloadUrlForLayer'),
      h.ecr.downloads.length,
    ];
    expect([gets, urls, downloads]).toEqual([3, 2, 2]);
    const second = await verdictOf(h, 'inference-gb200', index.digest);
    expect(second).toEqual(first);
    // The index and its children are confirmed in ECR again (one BatchGetImage each), then the tag; no config
    // is downloaded.
    expect([
      h.ecr.count('BatchGetImage'),
      h.ecr.count('GetDownloadUrlForLayer'),
      h.ecr.downloads.length,
    ]).toEqual([gets + 3, urls, downloads]);
    expect(h.events.entries).toHaveLength(2);
  });

  it('does not take a child deleted since the last validation as present because the warm cache holds it', async () => {
    const h = harness({ cache: new ContentCache() });
    const a = h.ecr.repo.image(AMD64);
    const b = h.ecr.repo.image(ARM64);
    const index = h.ecr.repo.index([entry(a, AMD64), entry(b, ARM64)]);
    expect((await verdictOf(h, 'inference-gb200', index.digest)).verdict).toBe('compliant');
    h.ecr.repo.manifests.delete(b.digest);
    const again = await verdictOf(h, 'inference-gb200', index.digest);
    expect(again.verdict).toBe('error');
    expect(again.reasons[0]).toContain(`child manifest ${b.digest} was not found`);
  });

  it('publishes superseded for a push whose tag moved on before its verdict was ready, naming the new digest', async () => {
    const h = harness();
    const older = h.ecr.repo.image(AMD64);
    const newer = h.ecr.repo.image(ARM64);
    // Two quick pushes of v1: by the time the older one is judged, v1 points at the newer one.
    h.ecr.tags.set('v1', newer.digest);
    const outcome = await validatePush(pushEvent('inference-gb200', older.digest, 'v1'), h.deps);
    if (outcome.skipped) throw new Error(outcome.reason);
    expect(outcome.detail).toMatchObject({
      digest: older.digest,
      verdict: 'superseded',
      platforms: ['linux/amd64'],
    });
    expect(outcome.detail.reasons).toEqual([
      `superseded: inference-gb200:v1 now points at ${newer.digest}, pushed after this one; its own verdict follows`,
      'judged non-compliant before the tag moved: missing linux/arm64 required for repository inference-gb200 (the image has linux/amd64)',
    ]);
    expect(imageValidationDetailSchema.safeParse(outcome.detail).success).toBe(true);
  });

  it('does not answer one repository from the cache of another', async () => {
    const h = harness({ cache: new ContentCache() });
    const a = h.ecr.repo.image(AMD64);
    await verdictOf(h, 'inference', a.digest);
    const before = h.ecr.count('BatchGetImage');
    await verdictOf(h, 'inference-gb200', a.digest);
    // The manifest again (not taken from the other repository's cache), then the tag.
    expect(h.ecr.count('BatchGetImage')).toBe(before + 2);
  });

  it('judges amd64-only non-compliant where arm64 is required, listing it as missing', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    const detail = await verdictOf(h, 'inference-gb200', a.digest);
    expect(detail).toMatchObject({
      verdict: 'non-compliant',
      kind: 'image',
      platforms: ['linux/amd64'],
      missing: ['linux/arm64'],
      reasons: ['missing linux/arm64 required for repository inference-gb200 (the image has linux/amd64)'],
    });
    expect(h.metrics.records.find((m) => m.name === 'ImageValidations')?.dimensions).toEqual({
      Verdict: 'non-compliant',
    });
    const warning = h.logs.records.find((r) => r.message === 'image validated');
    expect(warning?.level).toBe('warn');
  });

  /**
   * A push `ageMs` old (the event's time before the harness's clock), with a clock and a Lambda context that
   * move with every wait, as they do in Lambda.
   */
  function recentPush(h: Harness, ageMs: number, remainingMs = 120_000) {
    const start = Date.parse('2026-01-02T03:04:05Z');
    let waited = 0;
    h.deps = {
      ...h.deps,
      now: () => new Date(start + waited),
      remainingMs: () => remainingMs - waited,
      sleep: async (ms) => {
        h.sleeps.push(ms);
        waited += ms;
      },
    };
    return (digest: string) => ({
      ...pushEvent('inference', digest, 'v1'),
      time: new Date(start - ageMs).toISOString(),
    });
  }

  it('publishes the error verdict at once for an image not found when the push is older than the bound', async () => {
    const h = harness();
    const missing = `sha256:${'c'.repeat(64)}`;
    // The harness's push happened months before its clock: ECR's window is long past.
    const detail = await verdictOf(h, 'inference', missing);
    // One look-up of the digest, then one of the tag before publishing; no wait.
    expect(h.ecr.count('BatchGetImage')).toBe(2);
    expect(h.sleeps).toEqual([]);
    expect(detail).toMatchObject({
      verdict: 'error',
      kind: null,
      mediaType: OCI_INDEX,
      platforms: [],
      required: ['linux/amd64'],
      reasons: [
        `manifest ${missing} was not found: check the tag or digest and that it was pushed`,
        'not found 98 days after the push (1 look-up): the image (or part of it) was deleted after the push, or never fully pushed',
      ],
    });
  });

  it('looks again within the invocation, then throws a recent push not found for Lambda to retry, publishing nothing', async () => {
    const h = harness();
    const missing = `sha256:${'c'.repeat(64)}`;
    const event = recentPush(h, 5_000);
    h.ecr.tags.set('v1', missing);
    const err = await expectRejection(
      () => validatePush(event(missing), h.deps),
      ImageSourceError,
      `manifest ${missing} was not found`,
    );
    expect(err.transient).toBe(true);
    expect(err.message).toContain('ECR may not serve it yet, so the event is retried');
    // Doubling waits up to the invocation's cap; the next one (8 s) would pass it.
    expect(h.sleeps).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(h.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(NOT_FOUND_MAX_WAIT_MS);
    expect(h.ecr.count('BatchGetImage')).toBe(7);
    expect(h.events.entries).toEqual([]);
  });

  it('keeps time to report: stops waiting when the invocation has little left', async () => {
    const h = harness();
    const missing = `sha256:${'c'.repeat(64)}`;
    const event = recentPush(h, 5_000, 12_000);
    await expectRejection(() => validatePush(event(missing), h.deps), ImageSourceError, 'retried');
    // 12 s left: after 0.5 s and 1 s of waiting, a 2 s wait would leave less than the 10 s kept to report.
    expect(h.sleeps).toEqual([500, 1000]);
    expect(h.events.entries).toEqual([]);
  });

  it('publishes the error verdict once the push grows older than the bound while it looks', async () => {
    const h = harness();
    const missing = `sha256:${'c'.repeat(64)}`;
    const event = recentPush(h, NOT_FOUND_SETTLED_AFTER_MS - 10_000);
    h.ecr.tags.set('v1', missing);
    const outcome = await validatePush(event(missing), h.deps);
    // 110 s old: waits of 0.5 + 1 + 2 + 4 s keep it under 120 s; after the 8 s wait it is final.
    expect(h.sleeps).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(outcome.skipped ? outcome.reason : outcome.detail.reasons.at(-1)).toBe(
      'not found 2 min 6 s after the push (6 look-ups): the image (or part of it) was deleted after the push, or never fully pushed',
    );
    expect(h.events.details().map((d) => d.verdict)).toEqual(['error']);
  });

  it('publishes the verdict when the image appears during the look-ups', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    const stored = h.ecr.repo.manifests.get(a.digest);
    h.ecr.repo.manifests.delete(a.digest);
    const event = recentPush(h, 1_000);
    const sleep = h.deps.sleep;
    h.deps = {
      ...h.deps,
      sleep: async (ms) => {
        await sleep?.(ms);
        h.ecr.repo.manifests.set(a.digest, stored as never);
      },
    };
    h.ecr.tags.set('v1', a.digest);
    const outcome = await validatePush(event(a.digest), h.deps);
    expect(outcome.skipped ? outcome.reason : outcome.detail.verdict).toBe('compliant');
    expect(h.sleeps).toEqual([500]);
    expect(h.ecr.count('BatchGetImage')).toBe(3);
  });

  it('throws a transient source error (for Lambda to retry) and publishes nothing', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    h.ecr.errors.push({
      op: 'BatchGetImage',
      error: Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    });
    const err = await expectRejection(
      () => validatePush(pushEvent('inference', a.digest, 'v1'), h.deps),
      ImageSourceError,
      'ThrottlingException: Rate exceeded',
    );
    expect(err.transient).toBe(true);
    expect(h.events.entries).toEqual([]);
    expect(h.metrics.records).toEqual([]);
  });

  it('publishes an error verdict for a malformed manifest', async () => {
    const h = harness();
    const bad = h.ecr.repo.manifest(encode('{"schemaVersion": 2, "manifests": '), OCI_INDEX);
    const detail = await verdictOf(h, 'inference', bad.digest);
    expect(detail.verdict).toBe('error');
    expect(detail.reasons[0]).toMatch(new RegExp(`^manifest ${bad.digest} is not valid JSON`));
  });

  it('terminates on content that lists itself and reports it (a source serving wrong bytes)', async () => {
    const h = harness();
    // A digest that is not the hash of the index listing it: only a lying source can serve this loop.
    const fake = `sha256:${'d'.repeat(64)}`;
    const loop = encode({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_INDEX, digest: fake, size: 200 }],
    });
    h.ecr.repo.manifests.set(fake, { digest: fake, mediaType: OCI_INDEX, bytes: loop });
    const detail = await verdictOf(h, 'inference', fake);
    expect(detail.verdict).toBe('error');
    expect(detail.reasons[0]).toContain(`manifest ${fake} does not match its content`);
    // The digest once (bad content is not retried), then the tag.
    expect(h.ecr.count('BatchGetImage')).toBe(2);
  });

  it('skips an untagged child without any call, event or verdict metric', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    const outcome = await validatePush(pushEvent('inference', a.digest, ''), h.deps);
    expect(outcome).toEqual({
      skipped: true,
      code: 'untagged',
      reason:
        'untagged manifest (a child or attestation of an index, or a push by digest): the tagged push carries the verdict',
    });
    expect(h.ecr.calls).toEqual([]);
    expect(h.events.entries).toEqual([]);
    expect(h.metrics.records).toEqual([
      { name: 'PushEventsSkipped', value: 1, unit: 'Count', dimensions: { Reason: 'untagged' } },
    ]);
    expect(h.logs.records.at(-1)).toMatchObject({
      level: 'info',
      message: `push event skipped: ${outcome.skipped ? outcome.reason : ''}`,
    });
  });

  it('logs a malformed event as an error', async () => {
    const h = harness();
    const outcome = await validatePush(pushEvent('inference', 'sha256:nothex', 'v1'), h.deps);
    expect(outcome).toMatchObject({ skipped: true, code: 'malformed' });
    expect(h.logs.records.at(-1)?.level).toBe('error');
  });

  it('throws EventPublishError when PutEvents fails the entry or the call', async () => {
    const h = harness();
    const a = h.ecr.repo.image(AMD64);
    h.events.answer = () => ({
      $metadata: {},
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    const failed = await expectRejection(
      () => validatePush(pushEvent('inference', a.digest, 'v1'), h.deps),
      EventPublishError,
      'events:PutEvents refused the compliant verdict for inference:v1 on nvcf-ecr-autopilot (ThrottlingException: Rate exceeded)',
    );
    expect(failed.code).toBe('ThrottlingException');
    h.events.answer = () => Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
    await expectRejection(
      () => validatePush(pushEvent('inference', a.digest, 'v1'), h.deps),
      EventPublishError,
      'events:PutEvents of the compliant verdict for inference:v1 on nvcf-ecr-autopilot failed (Error: connect ECONNREFUSED)',
    );
    expect(h.metrics.records).toEqual([]);
  });

  it('keeps the event within bounds whatever the manifest holds', async () => {
    const h = harness();
    const long = 'x'.repeat(5000);
    const entries = Array.from({ length: 100 }, (_, i) => ({
      mediaType: `application/vnd.example.${i}.${long}`,
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      size: 10,
      artifactType: long,
    }));
    const index = h.ecr.repo.index(entries);
    const detail = await verdictOf(h, 'inference', index.digest);
    expect(detail.verdict).toBe('not-runnable');
    expect(detail.ignored).toHaveLength(64);
    // Shortened: the 64 media types and the 64 reasons of the ignored entries kept, and 62 of the reasons kept
    // (after the first, each repeats an ignored entry's long reason).
    expect(detail.reasons.at(-1)).toBe(
      `this event was cut: 36 more ignored entries, 38 more reasons omitted; ${64 + 64 + 62} strings shortened to 256 characters`,
    );
    expect(Buffer.byteLength(h.events.entries[0]?.Detail ?? '')).toBeLessThan(256 * 1024);
  });

  it('publishes a verdict within the EventBridge entry limit when the entries are full of control characters and multi-byte text', async () => {
    const h = harness();
    // Each control character costs 6 bytes once JSON-encoded (`\u0001`), each '中' 3 in UTF-8.
    const control = '\u0001'.repeat(300);
    const wide = '中'.repeat(300);
    const entries = Array.from({ length: 100 }, (_, i) => ({
      mediaType: `application/vnd.example.${i}.${control}`,
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      size: 10,
      artifactType: `${control}${wide}`,
      platform: { os: control, architecture: wide },
      annotations: { note: control },
    }));
    const index = h.ecr.repo.index(entries);
    const detail = await verdictOf(h, 'inference', index.digest);
    expect(detail.verdict).toBe('not-runnable');
    const entry = h.events.entries[0];
    // The size EventBridge counts for an entry (user guide, "Calculating PutEvents event entry size"):
    // 14 bytes for Time, then the UTF-8 bytes of Source, DetailType, Detail and each resource.
    const bytes = (text: string | undefined) => Buffer.byteLength(text ?? '');
    const size =
      14 +
      bytes(entry?.Source) +
      bytes(entry?.DetailType) +
      bytes(entry?.Detail) +
      (entry?.Resources ?? []).reduce((n, r) => n + bytes(r), 0);
    expect(size).toBeLessThan(256 * 1024);
    expect(entry?.Detail).not.toContain('\\u0001');
    expect(detail.ignored[0]).toEqual({
      digest: entries[0]?.digest,
      mediaType: 'application/vnd.example.0.',
      platform: `/${wide.slice(0, 254)}…`,
      reason: `artifact (artifactType ${wide.slice(0, 256 - 'artifact (artifactType '.length - 1)}…`,
    });
    expect(detail.reasons.at(-1)).toMatch(
      /^this event was cut: \d+ more ignored entries, \d+ more reasons omitted; \d+ strings shortened to 256 characters; non-printing characters removed from \d+ strings$/,
    );
  });
});
