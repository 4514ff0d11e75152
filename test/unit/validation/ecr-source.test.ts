import { RepositoryNotFoundException, ServerException } from '@aws-sdk/client-ecr';
import { isTransientAwsError } from '@nvcf-ecr/core/aws-errors';
import { ImageSourceError, ManifestError } from '@nvcf-ecr/core/errors';
import {
  ACCEPTED_MANIFEST_MEDIA_TYPES,
  BATCH_GET_IMAGE_MAX_IDS,
  ecrFetcher,
  openEcrSource,
  resolveImage,
} from '@nvcf-ecr/core/image';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../core/expect-error.ts';
import { AMD64, ARM64, entry, OCI_INDEX } from '../image/helpers.ts';
import { ACCOUNT, FakeEcr, URL_SIGNATURE } from './fakes.ts';

// The ECR image source (packages/core/src/validation/README.md) against a fake ECR client: one BatchGetImage per
// 100 digests with every manifest type accepted, config blobs through GetDownloadUrlForLayer and a capped, timed
// GET, and every failure sorted into transient or not.

const awsError = (name: string, status: number, fault: 'client' | 'server', message = `${name} happened`) =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: status } });

function source(ecr: FakeEcr, blobTimeoutMs?: number) {
  return ecrFetcher({ ecr, repository: 'inference', registryId: ACCOUNT, fetch: ecr.fetch, blobTimeoutMs });
}

describe('Function: ecrFetcher', () => {
  describe('Method: getManifests', () => {
    it('fetches by digest with every manifest media type accepted, in one BatchGetImage', async () => {
      const ecr = new FakeEcr();
      const a = ecr.repo.image(AMD64);
      const b = ecr.repo.image(ARM64);
      const got = await source(ecr).getManifests([a.digest, b.digest, a.digest]);
      expect([...got.keys()]).toEqual([a.digest, b.digest]);
      expect(new TextDecoder().decode(got.get(a.digest)?.bytes)).toBe(
        new TextDecoder().decode(ecr.repo.manifests.get(a.digest)?.bytes),
      );
      expect(ecr.calls).toEqual([
        {
          op: 'BatchGetImage',
          input: {
            repositoryName: 'inference',
            registryId: ACCOUNT,
            imageIds: [{ imageDigest: a.digest }, { imageDigest: b.digest }],
            acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
          },
        },
      ]);
      // The five types AWS's containerd resolver accepts (`awslabs/amazon-ecr-containerd-resolver:ecr/base.go`),
      // plus unsigned schema1.
      expect(ACCEPTED_MANIFEST_MEDIA_TYPES).toEqual(
        expect.arrayContaining([
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
          'application/vnd.docker.distribution.manifest.v2+json',
          'application/vnd.docker.distribution.manifest.v1+prettyjws',
        ]),
      );
    });

    it('splits more than 100 digests into batches of at most 100', async () => {
      const ecr = new FakeEcr();
      const digests = Array.from(
        { length: 2 * BATCH_GET_IMAGE_MAX_IDS + 5 },
        (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`,
      );
      const got = await source(ecr).getManifests(digests);
      expect(got.size).toBe(0);
      expect(ecr.calls.map((c) => (c.input['imageIds'] as unknown[]).length)).toEqual([100, 100, 5]);
    });

    it('leaves an ImageNotFound digest out of the answer (the engine reports it)', async () => {
      const ecr = new FakeEcr();
      const a = ecr.repo.image(AMD64);
      const missing = `sha256:${'e'.repeat(64)}`;
      const got = await source(ecr).getManifests([a.digest, missing]);
      expect([...got.keys()]).toEqual([a.digest]);
    });

    it('throws a transient ImageSourceError for UpstreamUnavailable and KmsError failures', async () => {
      for (const code of ['UpstreamUnavailable', 'KmsError', 'UpstreamTooManyRequests']) {
        const ecr = new FakeEcr();
        const a = ecr.repo.image(AMD64);
        ecr.failures.set(a.digest, { code, reason: 'try later' });
        const err = await expectRejection(
          () => source(ecr).getManifests([a.digest]),
          ImageSourceError,
          `ECR could not return image ${a.digest} of repository inference of registry ${ACCOUNT} (${code}: try later)`,
        );
        expect(err.transient).toBe(true);
      }
    });

    it('throws a lasting ImageSourceError for ImageInaccessible', async () => {
      const ecr = new FakeEcr();
      const a = ecr.repo.image(AMD64);
      ecr.failures.set(a.digest, { code: 'ImageInaccessible', reason: 'no access' });
      const err = await expectRejection(
        () => source(ecr).getManifests([a.digest]),
        ImageSourceError,
        '(ImageInaccessible: no access)',
      );
      expect(err.transient).toBe(false);
    });

    it('classifies API errors: throttling and 5xx transient, a missing repository not', async () => {
      const ecr = new FakeEcr();
      const d = ecr.repo.image(AMD64).digest;
      ecr.errors.push(
        { op: 'BatchGetImage', error: awsError('ThrottlingException', 400, 'client', 'Rate exceeded') },
        {
          op: 'BatchGetImage',
          error: new ServerException({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
        },
        {
          op: 'BatchGetImage',
          error: new RepositoryNotFoundException({
            message: 'no such repository',
            $metadata: { httpStatusCode: 400 },
          }),
        },
        { op: 'BatchGetImage', error: awsError('AccessDeniedException', 400, 'client', 'not authorized') },
      );
      const throttled = await expectRejection(
        () => source(ecr).getManifests([d]),
        ImageSourceError,
        `ecr:BatchGetImage of manifest ${d} in repository inference of registry ${ACCOUNT} failed (ThrottlingException: Rate exceeded); retrying later may help`,
      );
      expect(throttled.transient).toBe(true);
      const server = await expectRejection(
        () => source(ecr).getManifests([d]),
        ImageSourceError,
        'ServerException',
      );
      expect(server.transient).toBe(true);
      const gone = await expectRejection(
        () => source(ecr).getManifests([d]),
        ImageSourceError,
        `repository inference does not exist in registry ${ACCOUNT}; check the name and the region`,
      );
      expect(gone.transient).toBe(false);
      const denied = await expectRejection(
        () => source(ecr).getManifests([d]),
        ImageSourceError,
        'was denied (not authorized): the caller needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository',
      );
      expect(denied.transient).toBe(false);
    });
  });

  describe('Method: getBlob', () => {
    it('reads the blob through GetDownloadUrlForLayer and one GET of the presigned URL', async () => {
      const ecr = new FakeEcr();
      const config = ecr.repo.config(ARM64);
      const bytes = await source(ecr).getBlob(config.digest, 1024 * 1024);
      expect(bytes).toEqual(ecr.repo.blobs.get(config.digest));
      expect(ecr.calls).toEqual([
        {
          op: 'GetDownloadUrlForLayer',
          input: { repositoryName: 'inference', registryId: ACCOUNT, layerDigest: config.digest },
        },
      ]);
      expect(ecr.downloads).toEqual([config.digest]);
    });

    it('refuses a blob whose Content-Length is over the cap without reading it', async () => {
      const ecr = new FakeEcr();
      const config = ecr.repo.config(AMD64);
      await expectRejection(
        () => source(ecr).getBlob(config.digest, 10),
        ManifestError,
        `blob ${config.digest} is ${config.size} bytes; at most 10 are read`,
      );
    });

    it('stops reading a body without Content-Length once it passes the cap', async () => {
      const ecr = new FakeEcr();
      const config = ecr.repo.config(AMD64);
      let pulled = 0;
      ecr.respond = async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled++;
              controller.enqueue(new Uint8Array(64));
            },
          }),
          { status: 200 },
        );
      const err = await expectRejection(
        () => source(ecr).getBlob(config.digest, 200),
        ManifestError,
        `blob ${config.digest} is over 200 bytes; at most 200 are read`,
      );
      expect(err.code).toBe('too-large');
      expect(pulled).toBeLessThan(10);
    });

    it('gives up on a download after the timeout with a transient error', async () => {
      const ecr = new FakeEcr();
      const config = ecr.repo.config(AMD64);
      ecr.respond = (_d, _b, init) =>
        new Promise((_, reject) =>
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        );
      const err = await expectRejection(
        () => source(ecr, 20).getBlob(config.digest, 1024),
        ImageSourceError,
        `downloading blob ${config.digest} from its presigned URL timed out after 20 ms`,
      );
      expect(err.transient).toBe(true);
    });

    it('maps the download status: 404 not found, 403 and 5xx transient, never quoting the URL', async () => {
      const ecr = new FakeEcr();
      const config = ecr.repo.config(AMD64);
      const cases: [number, boolean][] = [
        [403, true],
        [503, true],
        [400, false],
      ];
      for (const [status, transient] of cases) {
        ecr.respond = async () => new Response('no', { status });
        const err = await expectRejection(
          () => source(ecr).getBlob(config.digest, 1024),
          ImageSourceError,
          `downloading blob ${config.digest} from its presigned URL failed with HTTP ${status}`,
        );
        expect(err.transient).toBe(transient);
        expect(err.message).not.toContain(URL_SIGNATURE);
      }
      ecr.respond = async () => new Response('', { status: 404 });
      const missing = await expectRejection(
        () => source(ecr).getBlob(config.digest, 1024),
        ManifestError,
        'the object does not exist (HTTP 404)',
      );
      expect(missing.code).toBe('not-found');
    });

    it('reports a network failure as transient, naming the cause but not the URL', async () => {
      const ecr = new FakeEcr();
      const config = ecr.repo.config(AMD64);
      ecr.respond = async () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      };
      const err = await expectRejection(
        () => source(ecr).getBlob(config.digest, 1024),
        ImageSourceError,
        `downloading blob ${config.digest} from its presigned URL failed (ECONNRESET)`,
      );
      expect(err.transient).toBe(true);
      expect(err.message).not.toContain(URL_SIGNATURE);
    });

    it('answers ManifestError not-found for a layer ECR does not hold', async () => {
      const ecr = new FakeEcr();
      const digest = `sha256:${'a'.repeat(64)}`;
      const err = await expectRejection(
        () => source(ecr).getBlob(digest, 1024),
        ManifestError,
        `blob ${digest} is not in repository inference of registry ${ACCOUNT} (LayersNotFoundException)`,
      );
      expect(err.code).toBe('not-found');
    });
  });

  it('lets the manifest engine resolve an index in 2 BatchGetImage calls and one download per child', async () => {
    const ecr = new FakeEcr();
    const a = ecr.repo.image(AMD64);
    const b = ecr.repo.image(ARM64);
    const index = ecr.repo.index([entry(a, AMD64), entry(b, ARM64)], { mediaType: OCI_INDEX });
    const resolved = await resolveImage(source(ecr), index.digest);
    expect(resolved.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(ecr.count('BatchGetImage')).toBe(2);
    expect(ecr.count('GetDownloadUrlForLayer')).toBe(2);
    expect(ecr.downloads).toHaveLength(2);
  });
});

describe('Function: openEcrSource', () => {
  const open = (ecr: FakeEcr) =>
    openEcrSource({ ecr, repository: 'inference', registryId: ACCOUNT, fetch: ecr.fetch });

  it('resolves a tag with one BatchGetImage and hands its manifest to the engine', async () => {
    const ecr = new FakeEcr();
    const a = ecr.repo.image(AMD64);
    ecr.tags.set('v1', a.digest);
    const src = open(ecr);
    const root = await src.resolveReference('v1');
    expect(root).toMatchObject({ reference: 'v1', digest: a.digest, mediaType: a.mediaType });
    const resolved = await resolveImage(src, root.digest, { root: root.blob });
    expect(resolved.platforms).toEqual(['linux/amd64']);
    expect(ecr.count('BatchGetImage')).toBe(1);
    expect(ecr.calls[0]?.input['imageIds']).toEqual([{ imageTag: 'v1' }]);
  });

  it('passes a digest through without a call', async () => {
    const ecr = new FakeEcr();
    const d = `sha256:${'b'.repeat(64)}`;
    expect(await open(ecr).resolveReference(d)).toEqual({ reference: d, digest: d, mediaType: undefined });
    expect(ecr.calls).toEqual([]);
  });

  it('rejects an unknown tag with ManifestError not-found naming the repository', async () => {
    const err = await expectRejection(
      () => open(new FakeEcr()).resolveReference('nope'),
      ManifestError,
      `tag 'nope' was not found in repository inference of registry ${ACCOUNT}: check the tag, or push the image`,
    );
    expect(err.code).toBe('not-found');
  });

  it('rejects a missing reference and a malformed digest', async () => {
    await expectRejection(
      () => open(new FakeEcr()).resolveReference(undefined),
      ImageSourceError,
      'an ECR image needs a tag or a digest: name one, e.g. inference:latest or inference@sha256:...',
    );
    await expectRejection(
      () => open(new FakeEcr()).resolveReference('sha256:abc'),
      ManifestError,
      "cannot resolve sha256:abc: 'sha256:abc' is not a valid sha256 digest",
    );
  });
});

describe('Function: isTransientAwsError', () => {
  it('treats throttling, server faults and errors without a service answer as transient', () => {
    expect(isTransientAwsError(awsError('ThrottlingException', 400, 'client'))).toBe(true);
    expect(isTransientAwsError(awsError('TooManyRequests', 429, 'client'))).toBe(true);
    expect(isTransientAwsError(awsError('ServerException', 500, 'server'))).toBe(true);
    expect(
      isTransientAwsError(Object.assign(new Error('socket hang up'), { $metadata: { attempts: 3 } })),
    ).toBe(true);
    expect(isTransientAwsError('not even an error')).toBe(true);
  });

  it('treats client faults as lasting', () => {
    expect(isTransientAwsError(awsError('InvalidParameterException', 400, 'client'))).toBe(false);
    expect(isTransientAwsError(awsError('AccessDeniedException', 400, 'client'))).toBe(false);
  });
});
