import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchManifest } from '../../../packages/sandbox/src/services/registry/client.ts';
import { B1, blob, sha256, text } from '../../helpers/regclient.ts';
import { clients, control, userClients, withSandbox } from '../../helpers/sandbox.ts';

/**
 * The OCI distribution API over the ECR storage (distribution-spec `spec.md`), authenticated with ECR tokens
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html): pulls and pushes over HTTP, the
 * spec's error codes and statuses, IAM authorisation of the token's principal, and the same PutImage rules and
 * events as the JSON API.
 */

/** Tag v2's index, and an SBOM artifact whose subject it is (tag a1 in the layout). */
const V2 = 'sha256:dfae8f425735a5e3a72e40d6609e03079995511d48157c74d54801ff4430491e';
const SBOM = 'sha256:0484e93c23cddf24a8400547119558312023295af241d4cd1eaf1b27145c5026';
interface Doc {
  mediaType: string;
  manifests?: { digest: string }[];
  config?: { digest: string };
  layers?: { digest: string }[];
}
const doc = (digest: string) => JSON.parse(text(digest)) as Doc;
const childrenOf = (index: string) => (doc(index).manifests ?? []).map((m) => m.digest);
const blobsOf = (digest: string) => [
  doc(digest).config?.digest ?? '',
  ...(doc(digest).layers ?? []).map((l) => l.digest),
];
const [AMD64 = '', ARM64 = ''] = childrenOf(B1);
const ACCEPT_ALL = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

let counter = 0;
const repoName = (base: string) => `${base}-${++counter}`;

interface OciError {
  errors: { code: string; message: string }[];
}

describe('Sandbox: OCI registry over ECR storage', () => {
  let sb: RunningSandbox;
  let ecr: ECRClient;
  let admin: ReturnType<typeof clients>;
  let token: string;

  async function tokenOf(client: ECRClient): Promise<string> {
    const { authorizationData } = await client.send(new GetAuthorizationTokenCommand({}));
    return authorizationData?.[0]?.authorizationToken ?? '';
  }

  function reg(path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Response> {
    const { auth, headers, ...rest } = init;
    const h = new Headers(headers);
    if (auth !== null) h.set('authorization', `Basic ${auth ?? token}`);
    return fetch(`${sb.registryEndpoint}${path}`, { ...rest, headers: h });
  }

  async function createRepository(base: string, imageTagMutability?: 'IMMUTABLE'): Promise<string> {
    const name = repoName(base);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name, imageTagMutability }));
    return name;
  }

  /** Chunked blob upload: POST, one PATCH per chunk with Content-Range, PUT ?digest= with no body. */
  async function pushBlob(name: string, digest: string, auth?: string): Promise<Response> {
    const head = await reg(`/v2/${name}/blobs/${digest}`, { method: 'HEAD', auth });
    if (head.status === 200) return head;
    const data = blob(digest);
    const start = await reg(`/v2/${name}/blobs/uploads/`, { method: 'POST', auth });
    expect(start.status).toBe(202);
    let location = start.headers.get('location') ?? '';
    const half = Math.ceil(data.length / 2);
    for (const [from, to] of [
      [0, half],
      [half, data.length],
    ] as const) {
      const patch = await reg(location, {
        method: 'PATCH',
        auth,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}` },
        body: data.subarray(from, to),
      });
      expect(patch.status).toBe(202);
      expect(patch.headers.get('range')).toBe(`0-${to - 1}`);
      location = patch.headers.get('location') ?? location;
    }
    return reg(`${location}?digest=${digest}`, { method: 'PUT', auth });
  }

  async function putManifest(
    name: string,
    digest: string,
    reference: string,
    auth?: string,
  ): Promise<Response> {
    return reg(`/v2/${name}/manifests/${reference}`, {
      method: 'PUT',
      auth,
      headers: { 'content-type': doc(digest).mediaType },
      body: text(digest),
    });
  }

  /** Pushes b1 as a registry client does: blobs, children by digest, then the index by tag. */
  async function pushB1(name: string, tag = 'b1'): Promise<void> {
    for (const child of childrenOf(B1)) {
      for (const b of blobsOf(child)) expect((await pushBlob(name, b)).status).toBeLessThan(300);
      expect((await putManifest(name, child, child)).status).toBe(201);
    }
    expect((await putManifest(name, B1, tag)).status).toBe(201);
  }

  async function userToken(
    userName: string,
    actions: string[],
  ): Promise<{ token: string; accessKeyId: string }> {
    const user = await userClients(sb, userName, [
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      { Effect: 'Allow', Action: actions, Resource: `arn:aws:ecr:${sb.region}:${sb.accountId}:repository/*` },
    ]);
    return { token: await tokenOf(user.ecr), accessKeyId: user.credentials.accessKeyId };
  }

  beforeAll(async () => {
    sb = await withSandbox();
    admin = clients(sb);
    ecr = admin.ecr;
    token = await tokenOf(ecr);
  });
  afterAll(() => sb.close());

  describe('Authentication', () => {
    it('challenges a request without credentials with 401 and ECR Basic realm', async () => {
      const res = await reg('/v2/', { auth: null });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        `Basic realm="${sb.registryEndpoint}/",service="ecr.amazonaws.com"`,
      );
      expect(((await res.json()) as OciError).errors[0]?.code).toBe('UNAUTHORIZED');
    });

    it('accepts AWS:<token> from GetAuthorizationToken', async () => {
      const res = await reg('/v2/');
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    });

    it('refuses an unknown password and a user other than AWS', async () => {
      for (const creds of ['AWS:not-a-token', `admin:${Buffer.from(token, 'base64').toString().slice(4)}`]) {
        const res = await reg('/v2/', { auth: Buffer.from(creds).toString('base64') });
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({
          errors: [
            {
              code: 'UNAUTHORIZED',
              message: 'Your authorization token is not valid. Reauthenticate and try again.',
            },
          ],
        });
      }
    });

    it('refuses a token 12 hours after it was issued (virtual clock)', async () => {
      const fresh = await tokenOf(ecr);
      await control(sb, 'POST', 'clock', { advanceSeconds: 12 * 3600 });
      const res = await reg('/v2/', { auth: fresh });
      expect(res.status).toBe(401);
      expect(((await res.json()) as OciError).errors[0]).toEqual({
        code: 'DENIED',
        message: 'Your authorization token has expired. Reauthenticate and try again.',
      });
      token = await tokenOf(ecr);
    });

    it('refuses a token whose access key was deactivated', async () => {
      const user = await userToken('reg-deactivated', ['ecr:BatchGetImage']);
      expect((await reg('/v2/', { auth: user.token })).status).toBe(200);
      await admin.iam.send(
        new UpdateAccessKeyCommand({
          UserName: 'reg-deactivated',
          AccessKeyId: user.accessKeyId,
          Status: 'Inactive',
        }),
      );
      const res = await reg('/v2/', { auth: user.token });
      expect(res.status).toBe(401);
      expect(((await res.json()) as OciError).errors[0]?.code).toBe('DENIED');
    });
  });

  describe('Push', () => {
    it('stores blobs and manifests pushed over HTTP in the ECR repository, with the API seeing the same bytes', async () => {
      const name = await createRepository('push');
      await pushB1(name);
      const { images } = await ecr.send(
        new BatchGetImageCommand({
          repositoryName: name,
          imageIds: [{ imageTag: 'b1' }],
          acceptedMediaTypes: ACCEPT_ALL.split(', '),
        }),
      );
      expect(images?.[0]?.imageManifest).toBe(text(B1));
      expect(images?.[0]?.imageId?.imageDigest).toBe(B1);
    });

    it('answers a manifest PUT with 201, its Location and digest, and emits one event per manifest', async () => {
      const name = await createRepository('events');
      for (const b of blobsOf(ARM64)) await pushBlob(name, b);
      const res = await putManifest(name, ARM64, 'arm');
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v2/${name}/manifests/${sha256(text(ARM64))}`);
      expect(res.headers.get('docker-content-digest')).toBe(ARM64);
      // A client re-pushing what is there succeeds without a second event.
      expect((await putManifest(name, ARM64, 'arm')).status).toBe(201);
      const state = await control<{ ecr: { events: { recent: { detail: Record<string, string> }[] } } }>(
        sb,
        'GET',
        'state',
      );
      const ours = state.ecr.events.recent.map((e) => e.detail).filter((d) => d['repository-name'] === name);
      expect(ours).toEqual([
        {
          result: 'SUCCESS',
          'repository-name': name,
          'image-digest': ARM64,
          'action-type': 'PUSH',
          'image-tag': 'arm',
          'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
          'artifact-media-type': 'application/vnd.oci.image.config.v1+json',
        },
      ]);
    });

    it('accepts a monolithic upload (POST ?digest=) and refuses content that does not match the digest', async () => {
      const name = await createRepository('mono');
      const data = Buffer.from('monolithic layer');
      const ok = await reg(`/v2/${name}/blobs/uploads/?digest=${sha256(data)}`, {
        method: 'POST',
        body: data,
      });
      expect(ok.status).toBe(201);
      expect(ok.headers.get('docker-content-digest')).toBe(sha256(data));
      const bad = await reg(`/v2/${name}/blobs/uploads/?digest=${sha256('other')}`, {
        method: 'POST',
        body: data,
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as OciError).errors[0]).toEqual({
        code: 'DIGEST_INVALID',
        message: `the uploaded content has digest ${sha256(data)}, not ${sha256('other')}`,
      });
    });

    it('answers a chunk that does not continue the upload with 416 and the range received', async () => {
      const name = await createRepository('range');
      const start = await reg(`/v2/${name}/blobs/uploads/`, { method: 'POST' });
      const location = start.headers.get('location') ?? '';
      const res = await reg(location, {
        method: 'PATCH',
        headers: { 'content-range': '10-12' },
        body: 'abc',
      });
      expect(res.status).toBe(416);
      expect(res.headers.get('range')).toBe('0-0');
      expect(((await res.json()) as OciError).errors[0]?.code).toBe('BLOB_UPLOAD_INVALID');
    });

    it('answers BLOB_UPLOAD_UNKNOWN for an upload that does not exist', async () => {
      const name = await createRepository('noupload');
      const res = await reg(`/v2/${name}/blobs/uploads/nope?digest=${sha256('x')}`, { method: 'PUT' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as OciError).errors[0]).toEqual({
        code: 'BLOB_UPLOAD_UNKNOWN',
        message: 'blob upload unknown to registry: nope',
      });
    });

    it("applies PutImage's rules with the registry's codes", async () => {
      const name = await createRepository('rules', 'IMMUTABLE');
      const noBlobs = await putManifest(name, ARM64, 'arm');
      expect(noBlobs.status).toBe(400);
      expect(((await noBlobs.json()) as OciError).errors[0]).toEqual({
        code: 'MANIFEST_BLOB_UNKNOWN',
        message: `Layers with digests '[${blobsOf(ARM64).join(', ')}]' required for pushing image into repository with name '${name}' in the registry with id '${sb.accountId}' do not exist`,
      });
      const noChildren = await putManifest(name, B1, 'b1');
      expect(noChildren.status).toBe(400);
      expect(((await noChildren.json()) as OciError).errors[0]?.message).toBe(
        `Images with digests '[${childrenOf(B1).join(', ')}]' required for pushing image into repository with name '${name}' in the registry with id '${sb.accountId}' do not exist`,
      );
      const junk = await reg(`/v2/${name}/manifests/x`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: '{',
      });
      expect(junk.status).toBe(400);
      expect(((await junk.json()) as OciError).errors[0]?.code).toBe('MANIFEST_INVALID');
      for (const b of blobsOf(ARM64)) await pushBlob(name, b);
      const wrongDigest = await putManifest(name, ARM64, AMD64);
      expect(wrongDigest.status).toBe(400);
      expect(((await wrongDigest.json()) as OciError).errors[0]?.code).toBe('DIGEST_INVALID');
      expect((await putManifest(name, ARM64, 'v1')).status).toBe(201);
      for (const b of blobsOf(AMD64)) await pushBlob(name, b);
      const immutable = await putManifest(name, AMD64, 'v1');
      expect(immutable.status).toBe(400);
      expect(((await immutable.json()) as OciError).errors[0]).toEqual({
        code: 'TAG_INVALID',
        message: `The image tag 'v1' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
      });
    });

    it('lists the referrers of a manifest and says OCI-Subject when one is pushed', async () => {
      const name = await createRepository('referrers');
      for (const child of childrenOf(V2)) {
        for (const b of blobsOf(child)) await pushBlob(name, b);
        await putManifest(name, child, child);
      }
      await putManifest(name, V2, 'v2');
      for (const b of blobsOf(SBOM)) await pushBlob(name, b);
      const put = await putManifest(name, SBOM, SBOM);
      expect(put.headers.get('oci-subject')).toBe(V2);
      const res = await reg(`/v2/${name}/referrers/${V2}`);
      expect(res.status).toBe(200);
      const index = (await res.json()) as { manifests: { digest: string; artifactType: string }[] };
      expect(index.manifests).toEqual([
        expect.objectContaining({
          digest: SBOM,
          artifactType: (JSON.parse(text(SBOM)) as { artifactType: string }).artifactType,
        }),
      ]);
    });
  });

  describe('Pull', () => {
    let name: string;
    beforeAll(async () => {
      name = await createRepository('pull');
      await pushB1(name);
    });

    it('serves a manifest by tag and by digest, byte for byte, with its media type and digest', async () => {
      for (const reference of ['b1', B1]) {
        const res = await reg(`/v2/${name}/manifests/${reference}`, { headers: { accept: ACCEPT_ALL } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
        expect(res.headers.get('docker-content-digest')).toBe(B1);
        expect(await res.text()).toBe(text(B1));
      }
    });

    it('answers HEAD with the headers and length but no body', async () => {
      const res = await reg(`/v2/${name}/manifests/${ARM64}`, {
        method: 'HEAD',
        headers: { accept: ACCEPT_ALL },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(blob(ARM64).length));
      expect(res.headers.get('docker-content-digest')).toBe(ARM64);
      expect(await res.text()).toBe('');
    });

    it('records the pull as lastRecordedPullTime', async () => {
      await reg(`/v2/${name}/manifests/${AMD64}`, { headers: { accept: ACCEPT_ALL } });
      const { imageDetails } = await ecr.send(
        new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: AMD64 }] }),
      );
      expect(imageDetails?.[0]?.lastRecordedPullTime).toBeInstanceOf(Date);
    });

    it('refuses to hand a manifest to a client whose Accept header excludes its type (no conversion)', async () => {
      const res = await reg(`/v2/${name}/manifests/b1`, {
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as OciError).errors[0]).toEqual({
        code: 'MANIFEST_UNKNOWN',
        message:
          "Requested image not found: its manifest media type 'application/vnd.oci.image.index.v1+json' is not in the Accept header",
      });
    });

    it('answers MANIFEST_UNKNOWN, NAME_UNKNOWN and NAME_INVALID with the spec statuses', async () => {
      const tag = await reg(`/v2/${name}/manifests/nope`);
      expect(tag.status).toBe(404);
      expect(((await tag.json()) as OciError).errors[0]).toEqual({
        code: 'MANIFEST_UNKNOWN',
        message: 'Requested image not found',
      });
      const repo = await reg('/v2/ghost/manifests/latest');
      expect(repo.status).toBe(404);
      expect(((await repo.json()) as OciError).errors[0]).toEqual({
        code: 'NAME_UNKNOWN',
        message: `The repository with name 'ghost' does not exist in the registry with id '${sb.accountId}'`,
      });
      const invalid = await reg('/v2/Bad_Name/manifests/latest');
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as OciError).errors[0]?.code).toBe('NAME_INVALID');
    });

    it('serves blobs and answers BLOB_UNKNOWN for others', async () => {
      const config = doc(ARM64).config?.digest ?? '';
      const res = await reg(`/v2/${name}/blobs/${config}`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(blob(config))).toBe(true);
      const missing = await reg(`/v2/${name}/blobs/${sha256('missing')}`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as OciError).errors[0]?.code).toBe('BLOB_UNKNOWN');
    });

    it('lists tags in order, paginated with n and last and a Link header', async () => {
      await putManifest(name, AMD64, 'amd64');
      await putManifest(name, ARM64, 'arm64');
      const first = await reg(`/v2/${name}/tags/list?n=2`);
      expect(await first.json()).toEqual({ name, tags: ['amd64', 'arm64'] });
      expect(first.headers.get('link')).toBe(`</v2/${name}/tags/list?n=2&last=arm64>; rel="next"`);
      const rest = await reg(`/v2/${name}/tags/list?n=2&last=arm64`);
      expect(await rest.json()).toEqual({ name, tags: ['b1'] });
      expect(rest.headers.get('link')).toBeNull();
    });

    it('refuses to delete a child of an index, as ECR does, and has no catalog', async () => {
      const del = await reg(`/v2/${name}/manifests/${ARM64}`, { method: 'DELETE' });
      expect(del.status).toBe(405);
      expect(((await del.json()) as OciError).errors[0]).toEqual({
        code: 'UNSUPPORTED',
        message: `Requested image referenced by manifest list: [${B1}]`,
      });
      const catalog = await reg('/v2/_catalog');
      expect(catalog.status).toBe(405);
      expect(((await catalog.json()) as OciError).errors[0]?.code).toBe('UNSUPPORTED');
    });

    it('is what fetchManifest (the NVCF pull) reads', async () => {
      const pull = (reference: string) =>
        fetchManifest({
          registry: sb.registryEndpoint,
          authorizationToken: token,
          repository: name,
          reference,
        });
      const ok = await pull('b1');
      expect(ok).toEqual({
        ok: true,
        digest: B1,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifest: text(B1),
      });
      const missing = await pull('nope');
      expect(missing).toEqual({
        ok: false,
        status: 404,
        code: 'MANIFEST_UNKNOWN',
        error: 'manifest unknown: Requested image not found',
      });
    });
  });

  describe('Authorisation', () => {
    it("lets a pull-only principal pull and refuses its pushes with AWS's message", async () => {
      const name = await createRepository('authz');
      await pushB1(name);
      const puller = await userToken('reg-puller', [
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
        'ecr:BatchCheckLayerAvailability',
      ]);
      expect(
        (await reg(`/v2/${name}/manifests/b1`, { auth: puller.token, headers: { accept: ACCEPT_ALL } }))
          .status,
      ).toBe(200);
      const arn = `arn:aws:ecr:${sb.region}:${sb.accountId}:repository/${name}`;
      const push = await putManifest(name, B1, 'copy', puller.token);
      expect(push.status).toBe(403);
      expect(((await push.json()) as OciError).errors[0]).toEqual({
        code: 'DENIED',
        message: `User: arn:aws:iam::${sb.accountId}:user/reg-puller is not authorized to perform: ecr:PutImage on resource: ${arn} because no identity-based policy allows the ecr:PutImage action`,
      });
      const upload = await reg(`/v2/${name}/blobs/uploads/`, { method: 'POST', auth: puller.token });
      expect(upload.status).toBe(403);
    });
  });

  describe('Faults', () => {
    it('fails a registry operation with the injected status and code', async () => {
      const name = await createRepository('fault');
      await control(sb, 'POST', 'faults', {
        service: 'registry',
        operation: 'GetManifest',
        error: { status: 503, code: 'UNAVAILABLE', message: 'try later' },
      });
      const res = await reg(`/v2/${name}/manifests/x`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as OciError).errors[0]).toEqual({
        code: 'UNAVAILABLE',
        message: 'try later',
      });
    });
  });
});
