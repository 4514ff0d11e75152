/**
 * Property tests of the deployed handler on the sandbox: random `ECR Image Action` events (valid, invalid,
 * odd fields) and random manifests stored in the sandbox's ECR never make the real handler (middy, event
 * schema, verb) throw or publish more than one verdict; every verdict matches the detail schema.
 */
import { createHash } from 'node:crypto';
import { imageValidationDetailSchema, type ValidationOutcome } from '@nvcf-ecr/core/validation';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prodConfig } from '../../helpers/config.ts';
import { ecrImageAction } from '../../helpers/events.ts';
import { control } from '../../helpers/sandbox.ts';
import { startValidationSandbox, type ValidationSandbox, verdictsFor } from './helpers.ts';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

const sha256 = (data: string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

// Mostly plausible values, so that runs reach every verdict, with a share of odd and malformed ones.
const platform = fc.oneof(
  {
    arbitrary: fc.record({
      os: fc.oneof(
        { arbitrary: fc.constant('linux'), weight: 4 },
        fc.constantFrom('windows', 'unknown', 'LINUX'),
      ),
      architecture: fc.oneof(
        { arbitrary: fc.constantFrom('amd64', 'arm64'), weight: 4 },
        fc.constantFrom('x86_64', 'aarch64', 'arm', 'unknown', 's390x'),
      ),
      variant: fc.oneof(
        { arbitrary: fc.constant(''), weight: 3 },
        fc.constantFrom('v7', 'v8', '8', 'v9.0', 'v3'),
      ),
    }),
    weight: 6,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
);

/** An image (config + manifest) and an index over some of them, in the shapes ECR accepts. */
const repository = fc.record({
  images: fc.array(
    fc.record({
      config: platform,
      configType: fc.oneof(
        {
          arbitrary: fc.constantFrom(
            'application/vnd.oci.image.config.v1+json',
            'application/vnd.docker.container.image.v1+json',
          ),
          weight: 4,
        },
        fc.constant('application/vnd.example.sbom+json'),
      ),
      docker: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  entries: fc.array(
    fc.record({
      image: fc.nat(3),
      platform: fc.option(platform, { nil: undefined, freq: 5 }),
      annotations: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 4 },
        fc.constant({ 'vnd.docker.reference.type': 'attestation-manifest' }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })),
      ),
      artifactType: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 5 },
        fc.constant('application/vnd.example'),
      ),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  rootIsIndex: fc.boolean(),
  docker: fc.boolean(),
});

describe('Property: the validation handler on the sandbox', () => {
  let v: ValidationSandbox;
  let counter = 0;

  beforeAll(async () => {
    v = await startValidationSandbox(
      prodConfig({
        repositories: ['random', 'random-gb200'],
        platforms: { repositories: { 'random-gb200': ['linux/amd64', 'linux/arm64'] } },
      }),
    );
  });
  afterAll(() => v.sb.close());

  /** Invokes the registered function synchronously: a throw would reject here. */
  const invoke = (event: unknown) => v.sb.lambda.invoke(v.arn, event) as Promise<ValidationOutcome>;

  it('never throws and publishes at most one verdict for random events', async () => {
    const event = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          version: fc.oneof(fc.constant('0'), fc.jsonValue({ maxDepth: 0 })),
          id: fc.oneof(fc.uuid(), fc.string({ maxLength: 8 })),
          'detail-type': fc.constantFrom('ECR Image Action', 'ECR Image Scan', ''),
          source: fc.constantFrom('aws.ecr', 'aws.ecr', 'custom'),
          account: fc.oneof(fc.constant('123456789012'), fc.string({ maxLength: 12 }), fc.integer()),
          time: fc.oneof(fc.constant('2023-02-29T02:36:48Z'), fc.string({ maxLength: 5 })),
          region: fc.constantFrom('us-east-1', 'us-east-1', 'eu-west-1', 'cn-north-1', ''),
          resources: fc.oneof(fc.constant([]), fc.jsonValue({ maxDepth: 1 })),
          detail: fc.oneof(
            fc.record(
              {
                result: fc.constantFrom('SUCCESS', 'FAILED', ''),
                'repository-name': fc.constantFrom('random', 'random-gb200', 'other', ''),
                'image-digest': fc.oneof(
                  fc.constant(`sha256:${'a'.repeat(64)}`),
                  fc.constant('sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234'),
                  fc.string({ maxLength: 10 }),
                ),
                'action-type': fc.constantFrom('PUSH', 'DELETE', 'UPDATE_STORAGE_CLASS'),
                'image-tag': fc.oneof(fc.constantFrom('', 'v1'), fc.jsonValue({ maxDepth: 0 })),
                'manifest-media-type': fc.string({ maxLength: 10 }),
                'target-storage-class': fc.constant('ARCHIVE'),
              },
              { requiredKeys: [] },
            ),
            fc.jsonValue({ maxDepth: 1 }),
          ),
        },
        { requiredKeys: ['detail'] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const before =
          (await verdictsFor(v.sb, 'random')).length + (await verdictsFor(v.sb, 'random-gb200')).length;
        const outcome = await invoke(e);
        const after =
          (await verdictsFor(v.sb, 'random')).length + (await verdictsFor(v.sb, 'random-gb200')).length;
        expect(typeof outcome).toBe('object');
        expect(after - before).toBe(outcome.skipped === false ? 1 : 0);
      }),
      { numRuns: 60 },
    );
  });

  it('never throws and publishes one schema-valid verdict for random manifests pushed to ECR', async () => {
    const verdicts = new Set<string>();
    await fc.assert(
      fc.asyncProperty(repository, fc.constantFrom('random', 'random-gb200'), async (r, repo) => {
        const salt = `run-${++counter}`;
        const blobs: string[] = [];
        const images: { manifest: string; mediaType: string; digest: string; tags?: string[] }[] = [];
        for (const img of r.images) {
          // The salt keeps every run's content new, so the handler's warm cache never answers for it.
          const config = JSON.stringify({
            ...(typeof img.config === 'object' ? img.config : { value: img.config }),
            salt,
          });
          blobs.push(Buffer.from(config).toString('base64'));
          const mediaType = img.docker ? DOCKER_MANIFEST : OCI_MANIFEST;
          const manifest = JSON.stringify({
            schemaVersion: 2,
            mediaType,
            config: { mediaType: img.configType, digest: sha256(config), size: config.length },
            layers: [],
          });
          images.push({ manifest, mediaType, digest: sha256(manifest) });
        }
        let root = images[0] as (typeof images)[0];
        if (r.rootIsIndex) {
          const mediaType = r.docker ? DOCKER_LIST : OCI_INDEX;
          const manifests = r.entries.map((entry) => {
            const child = images[entry.image % images.length] as (typeof images)[0];
            return {
              mediaType: child.mediaType,
              digest: child.digest,
              size: child.manifest.length,
              ...(entry.platform !== undefined ? { platform: entry.platform } : {}),
              ...(entry.annotations !== undefined ? { annotations: entry.annotations } : {}),
              ...(entry.artifactType !== undefined ? { artifactType: entry.artifactType } : {}),
            };
          });
          const manifest = JSON.stringify({ schemaVersion: 2, mediaType, manifests, annotations: { salt } });
          root = { manifest, mediaType, digest: sha256(manifest) };
          images.push(root);
        }
        await control(v.sb, 'POST', 'seed', {
          ecr: {
            blobs: blobs.map((data) => ({ repository: repo, data })),
            images: images.map((i) => ({
              repository: repo,
              manifest: i.manifest,
              mediaType: i.mediaType,
              ...(i === root ? { tags: [salt] } : {}),
            })),
          },
        });
        const outcome = await invoke(
          ecrImageAction(
            {
              result: 'SUCCESS',
              'repository-name': repo,
              'image-digest': root.digest,
              'action-type': 'PUSH',
              'image-tag': salt,
              'manifest-media-type': root.mediaType,
            },
            { id: salt },
          ),
        );
        if (outcome.skipped) throw new Error(`unexpected skip: ${outcome.reason}`);
        expect(imageValidationDetailSchema.safeParse(outcome.detail).success).toBe(true);
        const published = (await verdictsFor(v.sb, repo)).filter((d) => d.tag === salt);
        expect(published).toEqual([outcome.detail]);
        verdicts.add(outcome.detail.verdict);
      }),
      // A fixed seed: the check below asks that the runs reach every kind of verdict, which random runs
      // do only most of the time since an entry counts only when its config agrees with its declared platform.
      { numRuns: 60, seed: 20261207 },
    );
    expect([...verdicts].sort()).toEqual(
      expect.arrayContaining(['compliant', 'non-compliant', 'not-runnable']),
    );
  });
});
