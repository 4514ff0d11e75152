import { createHash } from 'node:crypto';
import { GetAccessKeyLastUsedCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, createPullKey, createPullUser, withSandbox } from '../../helpers/sandbox.ts';

/**
 * NVCF on the `aws` profile: the credential list's cache, the secret cache new instances start from, and running
 * workloads that keep the credential of their last refresh (`packages/sandbox/README.md`, "Profiles").
 */

const REPO = 'inference';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ROOT = '/v2/nvcf/registry-credentials';

let sb: RunningSandbox;
let aws: ReturnType<typeof clients>;
let host: string;
let image: string;

interface Key {
  userName: string;
  accessKeyId: string;
  value: string;
}

interface Credential {
  registryCredentialId: string;
  lastUpdatedAt: string;
}

async function nvcf(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sb.nvcfEndpoint}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${sb.ngcApiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const advance = (seconds: number) => control(sb, 'POST', 'clock', { advanceSeconds: seconds });

let users = 0;
async function pullUser(): Promise<string> {
  const userName = `nvcf-pull-${++users}`;
  await createPullUser(sb, aws.iam, userName, [REPO]);
  return userName;
}

/** A new key of `userName`, propagated (the aws profile's 10 s). */
const newKey = (userName: string): Promise<Key> => createPullKey(sb, aws.iam, userName, 10);

async function createCredential(key: Key): Promise<Credential> {
  const out = await nvcf('POST', ROOT, {
    registryHostname: host,
    secret: { name: 'ecr', value: key.value },
    artifactTypes: ['CONTAINER'],
  });
  expect(out.status).toBe(200);
  return out.json.registryCredential;
}

async function patch(c: Credential, key: Key): Promise<Credential> {
  const out = await nvcf('PATCH', `${ROOT}/${c.registryCredentialId}`, {
    secret: { name: 'ecr', value: key.value },
  });
  expect(out.status).toBe(200);
  return out.json.registryCredential;
}

const deactivate = (key: Key) =>
  aws.iam.send(
    new UpdateAccessKeyCommand({ UserName: key.userName, AccessKeyId: key.accessKeyId, Status: 'Inactive' }),
  );

const listed = async () =>
  ((await nvcf('GET', ROOT)).json.registryCredentials as Credential[]).map((c) => [
    c.registryCredentialId,
    c.lastUpdatedAt,
  ]);

beforeAll(async () => {
  sb = await withSandbox({ profile: 'aws' });
  aws = clients(sb);
  host = `${sb.accountId}.dkr.ecr.${sb.region}.amazonaws.com`;
  image = `${host}/${REPO}:v1`;
});
afterAll(() => sb.close());
beforeEach(async () => {
  await control(sb, 'POST', 'reset');
  await control(sb, 'POST', 'profile', { profile: 'aws' });
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
      size: config.length,
    },
    layers: [],
  });
  await control(sb, 'POST', 'seed', {
    ecr: { images: [{ repository: REPO, manifest, tags: ['v1'], blobs: [b64(config)] }] },
  });
});

describe('NVCF on the aws profile: caches', () => {
  it('lists and gets credentials as they were nvcfListCacheSeconds ago', async () => {
    const key = await newKey(await pullUser());
    const created = await createCredential(key);
    const get = () => nvcf('GET', `${ROOT}/${created.registryCredentialId}`);
    expect(await listed()).toEqual([]);
    expect((await get()).status).toBe(404);
    await advance(60);
    expect(await listed()).toEqual([[created.registryCredentialId, created.lastUpdatedAt]]);
    const key2 = await newKey(key.userName);
    const patched = await patch(created, key2);
    expect((await get()).json.registryCredential.lastUpdatedAt).toBe(created.lastUpdatedAt);
    await advance(59);
    expect(await listed()).toEqual([[created.registryCredentialId, created.lastUpdatedAt]]);
    await advance(1);
    expect((await get()).json.registryCredential.lastUpdatedAt).toBe(patched.lastUpdatedAt);
    expect((await nvcf('DELETE', `${ROOT}/${created.registryCredentialId}`)).status).toBe(204);
    expect(await listed()).toHaveLength(1);
    await advance(60);
    expect(await listed()).toEqual([]);
  });

  it('keeps answering with the oldest state it kept when the window is raised later', async () => {
    const key = await newKey(await pullUser());
    const created = await createCredential(key);
    await advance(400);
    const patched = await patch(created, await newKey(key.userName));
    await advance(400);
    // A write prunes the states no window in force can read; the first one still stands for what came before.
    await patch(patched, await newKey(await pullUser()));
    await control(sb, 'POST', 'profile', { nvcfListCacheSeconds: 700 });
    expect(await listed()).toEqual([[created.registryCredentialId, patched.lastUpdatedAt]]);
  });

  it('starts a new instance with the secret as it was nvcfCredentialCacheSeconds ago', async () => {
    const key1 = await newKey(await pullUser());
    const c = await createCredential(key1);
    const pull = () =>
      control<{ ok: boolean; stale: boolean; error?: string }>(sb, 'POST', 'nvcf/pull', { image });
    expect(await pull()).toMatchObject({ ok: true, stale: false });
    await advance(300);
    const key2 = await newKey(key1.userName);
    await patch(c, key2);
    await deactivate(key1);
    // Up to five minutes after the PATCH, a new instance may still get the old key: deactivated, it fails.
    const early = await pull();
    expect(early).toMatchObject({ ok: false });
    expect(early.error).toContain(
      `refused key ${maskAccessKeyId(key1.accessKeyId)}: UnrecognizedClientException`,
    );
    await advance(290);
    expect(await pull()).toMatchObject({ ok: false });
    await advance(10);
    expect(await pull()).toMatchObject({ ok: true, stale: false });
  });
});

describe('NVCF on the aws profile: running workloads', () => {
  interface Listed {
    workloads: { id: string; image: string; pulls: number; failures: { at: string; error: string }[] }[];
  }
  const workloads = async () => (await control<Listed>(sb, 'GET', 'nvcf/workloads')).workloads;

  it('pull with the credential of their last refresh, failing once that key is deactivated', async () => {
    const key1 = await newKey(await pullUser());
    const c = await createCredential(key1);
    const { id } = await control<{ id: string }>(sb, 'POST', 'nvcf/workloads', {
      image,
      pullEverySeconds: 600,
    });
    await control(sb, 'POST', 'settle', {});
    expect(await workloads()).toEqual([{ id, image, pulls: 1, failures: [] }]);

    // A rotation: NVCF gets key 2 and key 1 is deactivated 10 minutes later, well before the hourly refresh.
    const key2 = await newKey(key1.userName);
    await patch(c, key2);
    await advance(590);
    await control(sb, 'POST', 'settle', {});
    expect((await workloads())[0]).toMatchObject({ pulls: 2, failures: [] });
    await deactivate(key1);
    const clock = await control<{ now: string }>(sb, 'GET', 'clock');
    await advance(600);
    await control(sb, 'POST', 'settle', {});
    const [failing] = await workloads();
    expect(failing?.pulls).toBe(3);
    expect(failing?.failures).toHaveLength(1);
    expect(failing?.failures[0]?.error).toBe(
      `ECR GetAuthorizationToken refused key ${maskAccessKeyId(key1.accessKeyId)}: UnrecognizedClientException`,
    );
    expect(Date.parse(failing?.failures[0]?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(clock.now));

    // The hourly refresh hands it key 2 (NVCF's secret cache has expired by then): pulls work again.
    await advance(3_600);
    await control(sb, 'POST', 'settle', {});
    const [refreshed] = await workloads();
    expect(refreshed?.pulls).toBe(9);
    // Started at S, deactivated at S+600: the pulls at S+1200 (above), S+1800, S+2400 and S+3000 failed; the
    // refresh due at S+3600 (done late, inside the jump) gave it key 2 for the pulls at S+3600, S+4200, S+4800.
    expect(refreshed?.failures).toHaveLength(4);
    const started = Date.parse(failing?.failures[0]?.at ?? '') - 1_200_000;
    expect(refreshed?.failures.map((f) => (Date.parse(f.at) - started) / 1000)).toEqual([
      1200, 1800, 2400, 3000,
    ]);
    await advance(600);
    await control(sb, 'POST', 'settle', {});
    expect((await workloads())[0]?.failures).toHaveLength(refreshed?.failures.length ?? -1);
  });

  it('record each pull as a use of the key, reported after iamLastUsedLagSeconds', async () => {
    const key = await newKey(await pullUser());
    await createCredential(key);
    await advance(60);
    await control(sb, 'POST', 'nvcf/workloads', { image, pullEverySeconds: 600 });
    await control(sb, 'POST', 'settle', {});
    const started = Date.parse((await control<{ now: string }>(sb, 'GET', 'clock')).now);
    const lastUsed = async () =>
      (await aws.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId })))
        .AccessKeyLastUsed;
    // NVCF's own check of the key on create is a use too: four hours later, the check is what IAM reports.
    expect(await lastUsed()).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
    await advance(14_400 - 60);
    expect((await lastUsed())?.LastUsedDate?.getTime()).toBeLessThan(started - 59_000);
    await advance(60);
    await control(sb, 'POST', 'settle', {});
    const reported = await lastUsed();
    expect(reported?.ServiceName).toBe('ecr');
    expect(Math.abs((reported?.LastUsedDate?.getTime() ?? 0) - started)).toBeLessThan(1_000);
  });

  it('follow NVCF at once on the ideal profile, and refuse a bad request by name', async () => {
    await control(sb, 'POST', 'profile', { profile: 'ideal' });
    const key1 = await newKey(await pullUser());
    const c = await createCredential(key1);
    await control(sb, 'POST', 'nvcf/workloads', { image, pullEverySeconds: 60 });
    const key2 = await newKey(key1.userName);
    await patch(c, key2);
    await deactivate(key1);
    await advance(60);
    await control(sb, 'POST', 'settle', {});
    expect((await workloads())[0]).toMatchObject({ pulls: 2, failures: [] });
    await expect(control(sb, 'POST', 'nvcf/workloads', { image })).rejects.toThrow(
      /400.*pullEverySeconds must be a number of seconds of virtual time, at least 10/,
    );
    await expect(
      control(sb, 'POST', 'nvcf/workloads', {
        image: `${host}/elsewhere`.replace(host, 'registry.example.com'),
        pullEverySeconds: 60,
      }),
    ).rejects.toThrow(/400.*Missing CONTAINER registry credential for hostname 'registry.example.com'/);
  });
});
