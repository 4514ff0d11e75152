import { type ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import type { Config } from '@nvcf-ecr/core/config';
import {
  DETAIL_TYPES,
  EVENT_SOURCE,
  NOTIFICATION_RULE_PREFIX,
  PROJECT_EVENT_BUS_NAME,
} from '@nvcf-ecr/core/events';
import { redactString } from '@nvcf-ecr/core/redact';
import { imageValidationDetailSchema } from '@nvcf-ecr/core/validation';
import type { DeadLetter } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, prodConfig } from '../../helpers/config.ts';
import { ecrImageAction } from '../../helpers/events.ts';
import { b1Compliant } from '../../helpers/regclient.ts';
import { clients, control } from '../../helpers/sandbox.ts';
import {
  BUILT,
  ecrEvents,
  entriesOf,
  handlerCalls,
  Layout,
  lastCall,
  pushWithApi,
  pushWithSkopeo,
  REGCLIENT,
  registryPassword,
  startValidationSandbox,
  type ValidationSandbox,
  verdictEvents,
  verdictsFor,
} from './helpers.ts';

/**
 * Push validation end to end (packages/core/src/validation/README.md): real images pushed into the sandbox's ECR —
 * through the layer-upload API and with skopeo — make ECR emit one `ECR Image Action` per manifest; the runtime
 * delivers them through the push rule to the real handler, which publishes `NVCF Image Validation` verdicts on the
 * project bus. Expected platforms come from the fixtures' documentation (`test/fixtures/README.md`, regclient's
 * `SOURCE.md`) and the repository policies below, never from the code under test.
 */

const GB200 = ['linux/amd64', 'linux/arm64'];
const regclient = new Layout(REGCLIENT);
const built = new Layout(BUILT);
const crafted = new Layout('test/fixtures/crafted');
const NOTIFY_RULE = `arn:aws:events:us-east-1:123456789012:rule/${PROJECT_EVENT_BUS_NAME}/${NOTIFICATION_RULE_PREFIX}image-not-compliant`;

/** Every test pushes into its own repository, so call counts and the handler's warm cache do not mix. */
const POLICIES: Record<string, string[]> = {
  'calls-single': ['linux/amd64'],
  'calls-index': GB200,
  multi: GB200,
  'amd64-only': GB200,
  attested: GB200,
  artifacts: ['linux/amd64'],
  signed: GB200,
  race: ['linux/amd64'],
  windows: ['linux/amd64'],
  mismatch: GB200,
  nested: GB200,
  'docker-list': GB200,
  redelivery: GB200,
  throttled: ['linux/amd64'],
  broken: ['linux/amd64'],
  gone: ['linux/amd64'],
  oversized: ['linux/amd64'],
};

function config(): Config {
  return prodConfig({
    repositories: Object.keys(POLICIES),
    platforms: { require: ['linux/amd64'], repositories: POLICIES },
  });
}

describe('Push validation on the sandbox', () => {
  let v: ValidationSandbox;
  let ecr: ECRClient;
  let password: string;

  beforeAll(async () => {
    v = await startValidationSandbox(config());
    ecr = clients(v.sb).ecr;
    password = await registryPassword(ecr);
  });
  afterAll(() => v.sb.close());

  /** Pushes through the API, lets the runtime deliver every event, and returns the one verdict of the push. */
  async function pushAndJudge(layout: Layout, ref: string, repository: string, tag = ref) {
    await pushWithApi(ecr, layout, ref, repository, tag);
    await v.sb.settle();
    const verdicts = await verdictsFor(v.sb, repository);
    expect(verdicts).toHaveLength(1);
    return verdicts[0] as NonNullable<(typeof verdicts)[0]>;
  }

  describe('Verdicts', () => {
    it('judges the regclient 4-platform index compliant for amd64+arm64', async () => {
      const verdict = await pushAndJudge(regclient, 'b1', 'multi');
      expect(verdict).toEqual({
        schemaVersion: 1,
        registry: HOST,
        repository: 'multi',
        tag: 'b1',
        digest: regclient.digest('b1'),
        ...b1Compliant('multi'),
        sourceEventId: expect.any(String),
        pushedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        // The sandbox's NVCF was read with the stored NGC key: no function runs this tag.
        functionCheck: 'checked',
        functions: [],
      });
    });

    it('judges an amd64-only image non-compliant where arm64 is required, and routes it to the notification rule', async () => {
      await pushWithApi(ecr, built, 'amd64-oci', 'amd64-only', 'v1');
      await v.sb.settle();
      const [event, ...more] = (await verdictEvents(v.sb)).filter(
        (e) => e.detail.repository === 'amd64-only',
      );
      expect(more).toEqual([]);
      expect(event?.event.source).toBe(EVENT_SOURCE);
      expect(event?.event['detail-type']).toBe(DETAIL_TYPES.imageValidation);
      expect(event?.detail).toMatchObject({
        verdict: 'non-compliant',
        kind: 'image',
        platforms: ['linux/amd64'],
        missing: ['linux/arm64'],
      });
      // The Notifications stack's rule (SNS, e-mail) matches it.
      expect(event?.matchedRules).toContain(NOTIFY_RULE);
    });

    it('judges a buildx-style attested index (pushed with skopeo) compliant, its attestations ignored', async () => {
      const digest = await pushWithSkopeo(v.sb, password, built, 'attested', 'attested', 'v1');
      await v.sb.settle();
      const [verdict, ...more] = await verdictsFor(v.sb, 'attested');
      expect(more).toEqual([]);
      const attestations = entriesOf(built, digest).filter(
        (e) => e.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest',
      );
      expect(attestations).toHaveLength(2);
      expect(verdict).toMatchObject({ digest, verdict: 'compliant', platforms: GB200, missing: [] });
      expect(verdict?.ignored.map((i) => [i.digest, i.platform])).toEqual(
        attestations.map((a) => [a.digest, 'unknown/unknown']),
      );
    });

    it('gives no verdict to the untagged children and attestations of an index', async () => {
      const events = await ecrEvents(v.sb, 'attested');
      const untagged = events.filter((e) => (e.event.detail as Record<string, unknown>)['image-tag'] === '');
      // Two images and two attestation manifests, then the tagged index.
      expect(untagged).toHaveLength(entriesOf(built, built.digest('attested')).length);
      expect(events).toHaveLength(untagged.length + 1);
      expect(await verdictsFor(v.sb, 'attested')).toHaveLength(1);
      const skipped = v.logs.filter((r) => r.message.startsWith('push event skipped: untagged manifest'));
      expect(skipped.length).toBeGreaterThanOrEqual(untagged.length);
    });

    it('gives artifacts the artifact verdict: an SBOM, an artifact index, and the regclient loop (which terminates)', async () => {
      for (const ref of ['a1', 'ai', 'loop']) await pushWithApi(ecr, regclient, ref, 'artifacts', ref);
      await v.sb.settle();
      const verdicts = await verdictsFor(v.sb, 'artifacts');
      // a1 is an SBOM manifest (empty config, subject); ai an index with artifactType; loop a referrer index
      // whose subject is its own child — it is never followed, so the loop is never entered.
      expect(
        verdicts.map((d) => [d.tag, d.verdict, d.kind, d.platforms, d.ignored.map((i) => i.digest)]),
      ).toEqual(
        ['a1', 'ai', 'loop'].map((ref) => [ref, 'artifact', 'artifact', [], [regclient.digest(ref)]]),
      );
    });

    it('publishes a verdict for a cosign signature tag that no notification rule matches', async () => {
      const image = crafted.digest('multi');
      const sigTag = `${image.replace(':', '-')}.sig`;
      await pushWithApi(ecr, crafted, 'multi', 'signed', 'v1');
      await pushWithApi(ecr, crafted, sigTag, 'signed', sigTag);
      await v.sb.settle();
      const events = (await verdictEvents(v.sb)).filter((e) => e.detail.repository === 'signed');
      expect(events.map((e) => [e.detail.tag, e.detail.verdict, e.detail.kind])).toEqual([
        ['v1', 'compliant', 'index'],
        [sigTag, 'artifact', 'artifact'],
      ]);
      expect(events.map((e) => e.matchedRules.includes(NOTIFY_RULE))).toEqual([false, false]);
    });

    it('never counts windows/amd64 as linux/amd64', async () => {
      const verdict = await pushAndJudge(built, 'windows-amd64', 'windows');
      expect(verdict).toMatchObject({
        verdict: 'non-compliant',
        platforms: ['windows/amd64'],
        missing: ['linux/amd64'],
      });
      expect(verdict.reasons[0]).toContain('windows/amd64 does not count: NVCF runs linux containers');
    });

    it('reports an index entry that contradicts its config in mismatches and counts it for no platform', async () => {
      const verdict = await pushAndJudge(built, 'mismatch', 'mismatch');
      const lying = entriesOf(built, built.digest('mismatch')).find(
        (e) => e.platform?.architecture === 'arm64',
      );
      // The index declares linux/arm64 for amd64-docker, whose config says amd64 (README of the fixtures).
      expect(verdict).toMatchObject({
        verdict: 'non-compliant',
        platforms: ['linux/amd64'],
        missing: ['linux/arm64'],
        mismatches: [{ digest: lying?.digest, declared: 'linux/arm64', actual: 'linux/amd64' }],
      });
    });

    it('resolves nested indexes', async () => {
      const verdict = await pushAndJudge(built, 'nested', 'nested');
      expect(verdict).toMatchObject({
        verdict: 'compliant',
        kind: 'index',
        platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      });
    });

    it('reads a Docker manifest list and its Docker v2 children', async () => {
      const verdict = await pushAndJudge(built, 'multi-docker', 'docker-list');
      expect(verdict).toMatchObject({
        digest: built.digest('multi-docker'),
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        verdict: 'compliant',
        platforms: GB200,
      });
    });
  });

  describe('Size', () => {
    it('publishes a verdict for an index whose entries are full of control characters and multi-byte text', async () => {
      // The sandbox's EventBridge refuses an entry over 256 KB as AWS does
      // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). Each control
      // character costs 6 bytes once JSON-encoded (`\u0001`), each '中' 3 in UTF-8; 100 such entries make a
      // verdict far over the limit unless it is cut by bytes.
      const child = await pushWithApi(ecr, built, 'amd64-oci', 'oversized', 'child');
      const ctrl = '\u0001'.repeat(300);
      const wide = '中'.repeat(300);
      const manifests = Array.from({ length: 100 }, (_, i) => ({
        mediaType: `application/vnd.example.${i}.${ctrl}`,
        digest: child,
        size: built.bytes(child).length,
        artifactType: `application/vnd.example.${i}.${ctrl}${wide}`,
        platform: { os: ctrl, architecture: ctrl },
        annotations: { note: ctrl },
      }));
      await ecr.send(
        new PutImageCommand({
          repositoryName: 'oversized',
          imageManifest: JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests,
          }),
          imageManifestMediaType: 'application/vnd.oci.image.index.v1+json',
          imageTag: 'v1',
        }),
      );
      await v.sb.settle();
      const verdict = (await verdictsFor(v.sb, 'oversized')).find((d) => d.tag === 'v1');
      expect(verdict).toMatchObject({ verdict: 'not-runnable', kind: 'index', platforms: [] });
      expect(verdict?.ignored[0]?.digest).toBe(child);
      expect(JSON.stringify(verdict)).not.toContain('\\u0001');
      expect(verdict?.reasons.at(-1)).toMatch(/^this event was cut: /);
      const { runtime } = await control<{ runtime: { deadLetters: DeadLetter[] } }>(v.sb, 'GET', 'state');
      expect(
        runtime.deadLetters.filter(
          (d) =>
            (d.event as { detail?: Record<string, unknown> }).detail?.['repository-name'] === 'oversized',
        ),
      ).toEqual([]);
    });
  });

  describe('Calls per verdict (the minimum the architecture allows)', () => {
    it('single manifest: 2 BatchGetImage (the manifest, then the tag), 1 GetDownloadUrlForLayer, 1 presigned GET, 1 PutEvents', async () => {
      const since = await lastCall(v.sb);
      await pushAndJudge(built, 'amd64-docker', 'calls-single');
      expect(await handlerCalls(v.sb, since)).toEqual({
        'ecr.BatchGetImage': 2,
        'ecr.GetDownloadUrlForLayer': 1,
        's3.GetObject': 1,
        'events.PutEvents': 1,
      });
    });

    it('index with k runnable children: 3 BatchGetImage (index, children, tag) and k config downloads; attestations never fetched', async () => {
      const since = await lastCall(v.sb);
      const digest = await pushWithSkopeo(v.sb, password, built, 'attested', 'calls-index', 'v1');
      await v.sb.settle();
      const k = entriesOf(built, digest).filter((e) => e.platform?.os === 'linux').length;
      expect(k).toBe(2);
      expect(await handlerCalls(v.sb, since)).toEqual({
        'ecr.BatchGetImage': 3,
        'ecr.GetDownloadUrlForLayer': k,
        's3.GetObject': k,
        'events.PutEvents': 1,
      });
    });
  });

  describe('Delivery', () => {
    it('gives one identical verdict per delivery of one event: manifests confirmed in ECR, configs from the warm cache', async () => {
      const first = await pushAndJudge(regclient, 'b2', 'redelivery', 'v1');
      const tagged = (await ecrEvents(v.sb, 'redelivery')).find(
        (e) => (e.event.detail as Record<string, unknown>)['image-tag'] === 'v1',
      );
      const since = await lastCall(v.sb);
      for (let i = 0; i < 2; i++) v.sb.lambda.invokeAsync(v.arn, tagged?.event, 'redelivery');
      await v.sb.settle();
      const verdicts = await verdictsFor(v.sb, 'redelivery');
      expect(verdicts).toEqual([first, first, first]);
      // b2 is an index: per delivery, one BatchGetImage for it and one for its children prove they still exist,
      // one of the tag confirms it still points at b2; no config is downloaded again.
      expect(await handlerCalls(v.sb, since)).toEqual({ 'ecr.BatchGetImage': 6, 'events.PutEvents': 2 });
    });

    it('publishes superseded, never notified, for a push whose tag moved on before its verdict was published', async () => {
      const older = await pushAndJudge(built, 'amd64-oci', 'race', 'v1');
      const olderEvent = (await ecrEvents(v.sb, 'race')).find(
        (e) => (e.event.detail as Record<string, unknown>)['image-digest'] === older.digest,
      );
      const newerDigest = await pushWithApi(ecr, built, 'multi-oci', 'race', 'v1');
      await v.sb.settle();
      const newer = { digest: newerDigest };
      // The older push's event arrives (or is retried) after the newer push: its verdict must not pass as current.
      v.sb.lambda.invokeAsync(v.arn, olderEvent?.event, 'late');
      await v.sb.settle();
      const events = (await verdictEvents(v.sb)).filter((e) => e.detail.repository === 'race');
      expect(events.map((e) => [e.detail.digest, e.detail.verdict])).toEqual([
        [older.digest, 'compliant'],
        [newer.digest, 'compliant'],
        [older.digest, 'superseded'],
      ]);
      expect(events[2]?.detail.reasons[0]).toBe(
        `superseded: race:v1 now points at ${newer.digest}, pushed after this one; its own verdict follows`,
      );
      expect(events[2]?.matchedRules.includes(NOTIFY_RULE)).toBe(false);
    });

    /** The next `times` BatchGetImage calls of the sandbox's ECR fail with `error`. */
    const failBatchGetImage = (error: { status: number; code: string; message: string }, times: number) =>
      control(v.sb, 'POST', 'faults', { service: 'ecr', operation: 'BatchGetImage', error, times });

    it('retries a throttled resolution through Lambda and then publishes the verdict', async () => {
      // Three throttled answers exhaust the SDK's three attempts: the first invocation throws.
      await failBatchGetImage({ status: 400, code: 'ThrottlingException', message: 'Rate exceeded' }, 3);
      await pushAndJudge(built, 'amd64-oci', 'throttled');
      const attempts = v.sb.lambda.invocations.filter((i) => i.functionArn === v.arn && !i.ok);
      expect(attempts.at(-1)?.error).toMatchObject({ name: 'ImageSourceError' });
      expect(attempts.at(-1)?.error?.message).toContain('ThrottlingException: Rate exceeded');
    });

    it('sends an event that keeps failing to the dead-letter destination after the last retry, with no verdict', async () => {
      await failBatchGetImage({ status: 500, code: 'ServerException', message: 'injected outage' }, 9);
      await pushWithApi(ecr, built, 'amd64-oci', 'broken', 'v1');
      await v.sb.settle();
      await control(v.sb, 'DELETE', 'faults');
      expect(await verdictsFor(v.sb, 'broken')).toEqual([]);
      const { runtime } = await control<{ runtime: { deadLetters: DeadLetter[] } }>(v.sb, 'GET', 'state');
      const letter = runtime.deadLetters.find(
        (d) => (d.event as { detail?: Record<string, unknown> }).detail?.['repository-name'] === 'broken',
      );
      expect(letter).toMatchObject({ functionArn: v.arn, attempts: 3, error: { name: 'ImageSourceError' } });
      expect(letter?.error.message).toContain('ServerException: injected outage');
    });

    it('publishes an error verdict at once for an image not found when the push is older than ECR’s window', async () => {
      const digest = `sha256:${'0'.repeat(64)}`;
      const event = ecrImageAction(
        {
          result: 'SUCCESS',
          'repository-name': 'gone',
          'image-digest': digest,
          'action-type': 'PUSH',
          'image-tag': 'v1',
          'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
        },
        {
          id: 'f0f0f0f0-0000-4000-8000-000000000000',
          // Three minutes before the sandbox's clock: past the two minutes after which "not found" is final.
          time: new Date(v.sb.world.clock.nowMs() - 180_000).toISOString(),
        },
      );
      const since = await lastCall(v.sb);
      v.sb.lambda.invokeAsync(v.arn, event, 'test');
      await v.sb.settle();
      const verdicts = await verdictsFor(v.sb, 'gone');
      expect(verdicts).toMatchObject([
        {
          verdict: 'error',
          digest,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          kind: null,
        },
      ]);
      expect(verdicts[0]?.reasons[0]).toBe(
        `manifest ${digest} was not found: check the tag or digest and that it was pushed`,
      );
      expect(verdicts[0]?.reasons[1]).toMatch(
        /^not found 3 min( \d+ s)? after the push \(1 look-up\): the image \(or part of it\) was deleted after the push, or never fully pushed$/,
      );
      // One look-up of the digest, then one of the tag (gone too: the error verdict stands, with a warning).
      expect(await handlerCalls(v.sb, since)).toEqual({ 'ecr.BatchGetImage': 2, 'events.PutEvents': 1 });
    });

    it('skips a malformed event with a logged error, no verdict and no retry', async () => {
      const before = v.sb.lambda.invocations.length;
      v.sb.lambda.invokeAsync(
        v.arn,
        { 'detail-type': 'ECR Image Action', source: 'aws.ecr', detail: 'PUSH' },
        'test',
      );
      await v.sb.settle();
      const runs = v.sb.lambda.invocations.slice(before);
      expect(runs.map((r) => r.ok)).toEqual([true]);
      const logged = v.logs.filter((r) => r.level === 'error' && r.message.startsWith('Malformed event:'));
      expect(logged.at(-1)?.message).toBe(
        'Malformed event: account expected string; region expected string; detail expected object',
      );
    });
  });

  describe('Every verdict', () => {
    it('matches the versioned detail schema and carries no secret in events, logs or dead letters', async () => {
      const events = await verdictEvents(v.sb);
      expect(events.length).toBeGreaterThanOrEqual(15);
      for (const e of events) expect(imageValidationDetailSchema.safeParse(e.detail).success).toBe(true);

      const { events: all } = await control<{ events: unknown[] }>(v.sb, 'GET', 'events');
      const state = await control<Record<string, unknown>>(v.sb, 'GET', 'state');
      const secrets = [v.sb.secretAccessKey, v.sb.world.serviceKey.secretAccessKey, v.sb.ngcApiKey, password];
      const forms = secrets.flatMap((s) => [
        s,
        Buffer.from(s).toString('base64'),
        Buffer.from(`AWS:${s}`).toString('base64'),
      ]);
      forms.push(
        Buffer.from(`${v.sb.accessKeyId}:${v.sb.secretAccessKey}`).toString('base64'),
        Buffer.from(`${v.sb.world.serviceKey.accessKeyId}:${v.sb.world.serviceKey.secretAccessKey}`).toString(
          'base64',
        ),
      );
      const haystack = JSON.stringify({
        all,
        logs: v.logs,
        deadLetters: (state['runtime'] as { deadLetters: unknown }).deadLetters,
      });
      for (const f of forms)
        expect(haystack.includes(f), `a secret (${redactString(f).slice(0, 12)}…) leaked`).toBe(false);
    });
  });
});
