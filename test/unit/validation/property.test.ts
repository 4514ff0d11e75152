/**
 * Property tests of the push validation: whatever event arrives (valid, invalid, odd fields) and whatever
 * the repository serves (random manifests, indexes and configs, failure entries, API errors), the verb
 * returns — a skip, or one published verdict whose detail matches its schema — or throws a *transient*
 * ImageSourceError for Lambda to retry. Never anything else: no crash loop.
 */
import { ServerException } from '@aws-sdk/client-ecr';
import { ImageSourceError } from '@nvcf-ecr/core/errors';
import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import {
  ecrImageActionEventSchema,
  imageValidationDetailSchema,
  validatePush,
} from '@nvcf-ecr/core/validation';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '../image/helpers.ts';
import { FakeEcr, FakeEvents, metricsCollector, pushEvent, testConfig } from './fakes.ts';

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const CONFIG_TYPES = [
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.empty.v1+json',
];

/** Mostly `usual`, sometimes one of `odd`: runs reach verdicts while every skip rule still gets exercised. */
const mostly = <T>(usual: T, ...odd: T[]) =>
  fc.oneof(
    { arbitrary: fc.constant(usual), weight: 6 },
    { arbitrary: fc.constantFrom(usual, ...odd), weight: 1 },
  );

const platform = fc.oneof(
  {
    arbitrary: fc.record({
      os: fc.oneof({ arbitrary: fc.constant('linux'), weight: 4 }, fc.constantFrom('windows', 'unknown')),
      architecture: fc.oneof(
        { arbitrary: fc.constantFrom('amd64', 'arm64'), weight: 4 },
        fc.constantFrom('arm', 'unknown', 'x86_64', 'aarch64'),
      ),
      variant: fc.oneof({ arbitrary: fc.constant(''), weight: 3 }, fc.constantFrom('v7', 'v8', 'v9.0')),
    }),
    weight: 6,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
);
const annotations = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 5 },
  { arbitrary: fc.constant({ 'vnd.docker.reference.type': 'attestation-manifest' }), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 },
);
/** Nodes refer to earlier nodes (content addressing forbids cycles), or to digests nobody stores. */
const node = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('index' as const),
      mediaType: fc.constantFrom(...INDEX_TYPES),
      entries: fc.array(
        fc.record({
          // Which earlier node the entry points at; `missing` makes it a digest nobody stores.
          back: fc.nat(7),
          missing: mostly(false, true),
          mediaType: fc.constantFrom(...INDEX_TYPES, ...MANIFEST_TYPES, 'text/plain'),
          platform: fc.option(platform, { nil: undefined }),
          annotations,
        }),
        { maxLength: 4 },
      ),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('image' as const),
      mediaType: fc.constantFrom(...MANIFEST_TYPES),
      config: fc.nat(4),
      configType: fc.constantFrom(...CONFIG_TYPES),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('junk' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
    weight: 1,
  },
);
const graph = fc.record({
  nodes: fc.array(node, { minLength: 1, maxLength: 8 }),
  configs: fc.array(fc.oneof({ arbitrary: platform, weight: 8 }, fc.constant('not json')), {
    minLength: 1,
    maxLength: 4,
  }),
});
/** What the repository does besides serving content. */
const trouble = mostly(
  'none',
  'throttled',
  'server-error',
  'denied',
  'failure-entry',
  'transient-failure-entry',
  'download-500',
);

/** Events: the real shape with random values, and random JSON. */
const event = fc.oneof(
  {
    arbitrary: fc.record({
      repository: fc.oneof(fc.constantFrom('inference', 'inference-gb200'), mostly('inference', 'other', '')),
      tag: fc.oneof(
        { arbitrary: fc.constant('v1'), weight: 4 },
        { arbitrary: fc.string({ maxLength: 4 }), weight: 1 },
      ),
      action: mostly('PUSH', 'DELETE', 'UPDATE_STORAGE_CLASS'),
      result: mostly('SUCCESS', 'FAILED'),
      region: mostly('us-east-1', 'eu-west-1', 'cn-north-1', 'mars-1'),
      odd: fc.oneof(
        { arbitrary: fc.constant({}), weight: 4 },
        {
          arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), {
            maxKeys: 2,
          }),
          weight: 1,
        },
      ),
      // undefined: the digest of the stored root.
      digest: mostly<string | undefined>(undefined, 'sha256:short', `sha256:${'0'.repeat(64)}`),
    }),
    weight: 8,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ raw: value })), weight: 1 },
);

/** The value type of an arbitrary. */
type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never;

function store(ecr: FakeEcr, g: Generated<typeof graph>): string {
  const configs = g.configs.map((c) => ecr.repo.blob(encode(c)));
  const digests: string[] = [];
  const missing = (i: number) => `sha256:${i.toString(16).padStart(64, 'f')}`;
  g.nodes.forEach((n, i) => {
    const ref = (back: number, gone: boolean) =>
      i > 0 && !gone ? (digests[back % i] as string) : missing(back);
    if (n.kind === 'junk') {
      digests.push(ecr.repo.manifest(n.value, 'application/vnd.oci.image.manifest.v1+json').digest);
    } else if (n.kind === 'image') {
      const c = configs[n.config % configs.length];
      digests.push(
        ecr.repo.manifest(
          { schemaVersion: 2, mediaType: n.mediaType, config: { ...c, mediaType: n.configType }, layers: [] },
          n.mediaType,
        ).digest,
      );
    } else {
      const manifests = n.entries.map((e) => ({
        mediaType: e.mediaType,
        digest: ref(e.back, e.missing),
        size: 100,
        ...(e.platform !== undefined ? { platform: e.platform } : {}),
        ...(e.annotations !== undefined ? { annotations: e.annotations } : {}),
      }));
      digests.push(
        ecr.repo.manifest({ schemaVersion: 2, mediaType: n.mediaType, manifests }, n.mediaType).digest,
      );
    }
  });
  return digests.at(-1) as string;
}

function makeTrouble(ecr: FakeEcr, kind: Generated<typeof trouble>, root: string): void {
  const apiError = (name: string, status: number, fault: 'client' | 'server') =>
    Object.assign(new Error(`${name} injected`), {
      name,
      $fault: fault,
      $metadata: { httpStatusCode: status },
    });
  switch (kind) {
    case 'throttled':
      ecr.errors.push({ op: 'BatchGetImage', error: apiError('ThrottlingException', 400, 'client') });
      break;
    case 'server-error':
      ecr.errors.push({
        op: 'GetDownloadUrlForLayer',
        error: new ServerException({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
      });
      break;
    case 'denied':
      ecr.errors.push({ op: 'BatchGetImage', error: apiError('AccessDeniedException', 400, 'client') });
      break;
    case 'failure-entry':
      ecr.failures.set(root, { code: 'ImageInaccessible', reason: 'injected' });
      break;
    case 'transient-failure-entry':
      ecr.failures.set(root, { code: 'KmsError', reason: 'injected' });
      break;
    case 'download-500':
      ecr.respond = async () => new Response('oops', { status: 500 });
      break;
  }
}

describe('Property: validatePush returns a skip or one valid verdict, or throws a transient error', () => {
  it('for random events and random repository content and failures', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(event, graph, trouble, async (e, g, t) => {
        const ecr = new FakeEcr();
        const events = new FakeEvents();
        const root = store(ecr, g);
        makeTrouble(ecr, t, root);
        const raw: unknown =
          'raw' in e
            ? e.raw
            : (() => {
                const base = pushEvent(e.repository, e.digest ?? root, e.tag, {
                  'action-type': e.action,
                  result: e.result,
                  ...e.odd,
                });
                return { ...base, region: e.region };
              })();
        // What the handler does: the schema (parseEvent, onInvalid: skip), then the verb.
        const parsed = ecrImageActionEventSchema.safeParse(raw);
        if (!parsed.success) {
          outcomes.add('malformed-event');
          return;
        }
        try {
          const outcome = await validatePush(parsed.data, {
            config: testConfig(),
            ecr: () => ecr,
            events,
            eventBusName: 'nvcf-ecr-autopilot',
            fetch: ecr.fetch,
            logger: createLogger({ sink: memorySink() }),
            metrics: metricsCollector(),
            now: () => new Date(0),
            sleep: async () => {},
          });
          if (outcome.skipped) {
            expect(events.entries).toEqual([]);
            outcomes.add(`skipped:${outcome.code}`);
          } else {
            expect(events.entries).toHaveLength(1);
            expect(imageValidationDetailSchema.safeParse(outcome.detail).success).toBe(true);
            outcomes.add(`verdict:${outcome.detail.verdict}`);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(ImageSourceError);
          expect((err as ImageSourceError).transient).toBe(true);
          expect(events.entries).toEqual([]);
          outcomes.add('transient');
        }
      }),
      { numRuns: 400 },
    );
    // The generators reach every kind of outcome, not only early rejections.
    for (const o of [
      'malformed-event',
      'skipped:untagged',
      'skipped:not-configured',
      'verdict:compliant',
      'verdict:non-compliant',
      'verdict:not-runnable',
      'verdict:error',
      'transient',
    ]) {
      expect(outcomes).toContain(o);
    }
  });
});
