import { assertConfig } from '@nvcf-ecr/core/config';
import { ecrImageActionEventSchema, pushTarget } from '@nvcf-ecr/core/validation';
import { describe, expect, it } from 'vitest';
import { AWS_PUSH_SAMPLE } from '../../helpers/events.ts';
import { ACCOUNT, HOSTNAME, pushEvent, testConfig } from './fakes.ts';

// The `ECR Image Action` schema (no stricter than AWS's own samples,
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html) and the rules that decide which
// events carry a verdict (packages/core/src/validation/README.md).

const DIGEST = 'sha256:42b526eda7ef7b19a51f97f059ae2eb3134183709e0ff649a36722d5479be367';

describe('Schema: ecrImageActionEventSchema', () => {
  it("accepts AWS's official push sample as published, with its 60-hex digest", () => {
    expect(ecrImageActionEventSchema.safeParse(AWS_PUSH_SAMPLE).success).toBe(true);
  });

  it('accepts the archive sample (no image-tag, EXAMPLE id, extra keys) and keeps unknown keys', () => {
    const archive = {
      version: '0',
      id: '4f5ec4d5-4de4-7aad-a046-EXAMPLE',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '123456789012',
      time: '2019-08-06T00:58:09Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        'action-type': 'UPDATE_STORAGE_CLASS',
        'target-storage-class': 'ARCHIVE',
        'image-digest': 'sha256:f98d67af8e53a536502bfc600de3266556b06ed635a32d60aa7a5fe6d7e609d7',
        'repository-name': 'ubuntu',
        result: 'SUCCESS',
        'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
        'artifact-media-type': 'application/vnd.oci.image.config.v1+json',
      },
    };
    const parsed = ecrImageActionEventSchema.safeParse(archive);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.detail['target-storage-class']).toBe('ARCHIVE');
  });

  it('rejects an event without a detail object or without its account and region', () => {
    const ok = pushEvent('inference', DIGEST, 'v1');
    expect(ecrImageActionEventSchema.safeParse({ ...ok, detail: 'PUSH' }).success).toBe(false);
    const { account: _a, ...noAccount } = ok;
    expect(ecrImageActionEventSchema.safeParse(noAccount).success).toBe(false);
    expect(ecrImageActionEventSchema.safeParse({ ...ok, region: 7 }).success).toBe(false);
    expect(ecrImageActionEventSchema.safeParse(null).success).toBe(false);
  });
});

describe('Function: pushTarget', () => {
  const config = testConfig();

  it('targets a tagged push of a configured repository with its own platform policy', () => {
    expect(pushTarget(pushEvent('inference-gb200', DIGEST, 'v4'), config)).toMatchObject({
      hostname: HOSTNAME,
      repository: 'inference-gb200',
      tag: 'v4',
      digest: DIGEST,
      required: ['linux/amd64', 'linux/arm64'],
    });
    expect(pushTarget(pushEvent('inference', DIGEST, 'v4'), config)).toMatchObject({
      required: ['linux/amd64'],
    });
  });

  it('skips untagged manifests, whether image-tag is empty or absent', () => {
    const empty = pushTarget(pushEvent('inference', DIGEST, ''), config);
    expect(empty).toEqual({
      skip: 'untagged',
      reason:
        'untagged manifest (a child or attestation of an index, or a push by digest): the tagged push carries the verdict',
    });
    const event = pushEvent('inference', DIGEST, 'x');
    delete event.detail['image-tag'];
    expect(pushTarget(event, config)).toMatchObject({ skip: 'untagged' });
  });

  it('skips deletions, archive actions and unsuccessful results', () => {
    expect(pushTarget(pushEvent('inference', DIGEST, 'v1', { 'action-type': 'DELETE' }), config)).toEqual({
      skip: 'not-a-push',
      reason: "action-type 'DELETE' is not a push",
    });
    expect(
      pushTarget(pushEvent('inference', DIGEST, 'v1', { 'action-type': 'UPDATE_STORAGE_CLASS' }), config),
    ).toMatchObject({ skip: 'not-a-push' });
    expect(pushTarget(pushEvent('inference', DIGEST, 'v1', { result: 'FAILED' }), config)).toEqual({
      skip: 'not-successful',
      reason: "result 'FAILED' is not SUCCESS",
    });
  });

  it('skips events that are not ECR Image Actions', () => {
    const scan = { ...pushEvent('inference', DIGEST, 'v1'), 'detail-type': 'ECR Image Scan' };
    expect(pushTarget(scan, config)).toEqual({
      skip: 'not-an-image-action',
      reason:
        "not an ECR Image Action (source 'aws.ecr', detail-type 'ECR Image Scan'): check the rule that routes events to this function",
    });
  });

  it('matches the registry by hostname AND repository: same name in another account or region is not configured', () => {
    const otherAccount = { ...pushEvent('inference', DIGEST, 'v1'), account: '210987654321' };
    expect(pushTarget(otherAccount, config)).toEqual({
      skip: 'not-configured',
      reason:
        'repository inference of 210987654321.dkr.ecr.us-east-1.amazonaws.com is not in the configuration: only configured repositories are validated',
    });
    const otherRegion = { ...pushEvent('inference', DIGEST, 'v1'), region: 'eu-west-1' };
    expect(pushTarget(otherRegion, config)).toMatchObject({ skip: 'not-configured' });
    expect(pushTarget(pushEvent('scratch', DIGEST, 'v1'), config)).toMatchObject({ skip: 'not-configured' });
  });

  it("derives the hostname with the event region's partition", () => {
    const gov = assertConfig({
      ngc: { apiKeySecretName: 'ngc' },
      registries: [
        {
          name: 'gov',
          hostname: `${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`,
          repositories: ['inference'],
          credentialName: 'ecr-gov',
        },
      ],
    });
    const event = { ...pushEvent('inference', DIGEST, 'v1'), region: 'us-gov-west-1' };
    expect(pushTarget(event, gov)).toMatchObject({
      hostname: `${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`,
    });
    // China's hosts end in .amazonaws.com.cn, so a cn-north-1 event never matches a .com registry.
    expect(pushTarget({ ...event, region: 'cn-north-1' }, gov)).toMatchObject({ skip: 'not-configured' });
  });

  it('skips a tagged push whose digest is missing or malformed, naming the problem', () => {
    // The official sample's 60-hex digest cannot be fetched.
    const short = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234';
    expect(pushTarget(pushEvent('inference', short, 'v1'), config)).toEqual({
      skip: 'malformed',
      reason: `detail.image-digest '${short}' is not a valid sha256 digest: expected 64 lower-case hex characters: the image cannot be fetched by it`,
    });
    const event = pushEvent('inference', DIGEST, 'v1');
    delete event.detail['image-digest'];
    expect(pushTarget(event, config)).toEqual({
      skip: 'malformed',
      reason: 'detail.image-digest is missing: the image cannot be fetched by it',
    });
    const noRepo = pushEvent('', DIGEST, 'v1');
    expect(pushTarget(noRepo, config)).toEqual({
      skip: 'malformed',
      reason: 'detail.repository-name is missing or empty',
    });
  });
});
