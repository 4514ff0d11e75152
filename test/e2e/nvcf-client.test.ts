import { createLogger, type LogRecord } from '@nvcf-ecr/core/log';
import {
  NvcfBadRequestError,
  NvcfClient,
  type NvcfClientOptions,
  NvcfConflictError,
  NvcfForbiddenError,
  NvcfNotFoundError,
  NvcfServerError,
  NvcfUnauthorizedError,
} from '@nvcf-ecr/nvcf';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clients,
  control,
  createPullKey,
  createPullUser,
  type PullKey,
  rejection,
  withSandbox,
} from '../helpers/sandbox.ts';

/**
 * The NVCF client against the sandbox's NVCF emulator: the verbs the rotation, the audit and the CLI use,
 * typed errors as NVCF produces them (including AWS errors relayed from the credential check), the 401 key
 * re-read, and retries of injected 429s and 5xx.
 */

let sb: RunningSandbox;
let aws: ReturnType<typeof clients>;
let HOST: string;
const PROPAGATION_SECONDS = 5;

function client(options: Partial<NvcfClientOptions> = {}): { nvcf: NvcfClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const nvcf = new NvcfClient({
    baseUrl: sb.nvcfEndpoint,
    apiKey: async () => sb.ngcApiKey,
    // Waits are recorded, not slept: the sandbox answers at once and tests stay fast.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { nvcf, sleeps };
}

let userSeq = 0;

async function pullKey(propagate = true): Promise<PullKey> {
  const userName = `client-pull-${++userSeq}`;
  await createPullUser(sb, aws.iam, userName);
  return newKey(userName, propagate);
}

const newKey = (userName: string, propagate = true) =>
  createPullKey(sb, aws.iam, userName, propagate ? PROPAGATION_SECONDS : undefined);

let nameSeq = 0;
const uniqueName = () => `ecr-client-${++nameSeq}`;

/** Creates a CONTAINER credential `name` for the sandbox's ECR holding `key`. */
const createContainerCredential = (nvcf: NvcfClient, key: PullKey, name: string) =>
  nvcf.createRegistryCredential({
    registryHostname: HOST,
    secret: { name, value: key.value },
    artifactTypes: ['CONTAINER'],
  });

beforeAll(async () => {
  sb = await withSandbox({ keyPropagationSeconds: PROPAGATION_SECONDS });
  aws = clients(sb);
  HOST = `${sb.accountId}.dkr.ecr.${sb.region}.amazonaws.com`;
});

afterAll(async () => {
  await sb?.close();
});

beforeEach(async () => {
  await control(sb, 'DELETE', 'faults');
});

describe('Class: NvcfClient (against the sandbox)', () => {
  describe('Feature: the registry-credential lifecycle', () => {
    it('creates, finds, rotates in place, adds a type and deletes a credential', async () => {
      const { nvcf } = client();
      const key1 = await pullKey();
      const name = uniqueName();
      const created = await nvcf.createRegistryCredential({
        registryHostname: HOST,
        secret: { name, value: key1.value },
        artifactTypes: ['CONTAINER'],
        tags: ['managed-by=rotation'],
      });
      expect(created).toMatchObject({
        registryHostname: HOST,
        registryCredentialName: name,
        registryName: 'AWS ECR Private Registry',
        provisionedBy: 'USER',
        tags: ['managed-by=rotation'],
      });

      const found = await nvcf.findRegistryCredential(HOST, name);
      expect(found?.registryCredentialId).toBe(created.registryCredentialId);
      expect(await nvcf.findRegistryCredential(HOST, name.toUpperCase())).toBeUndefined();

      const key2 = await newKey(key1.userName);
      await control(sb, 'POST', 'clock', { advanceSeconds: 1 });
      const rotated = await nvcf.updateRegistryCredentialSecret(created.registryCredentialId, key2.value);
      expect(rotated.registryCredentialId).toBe(created.registryCredentialId);
      expect(rotated.registryCredentialName).toBe(name);
      expect(rotated.createdAt).toBe(created.createdAt);
      expect(Date.parse(rotated.lastUpdatedAt)).toBeGreaterThan(Date.parse(created.lastUpdatedAt));
      const state = await control<{
        nvcf: { credentials: { registryCredentialId: string; username: string }[] };
      }>(sb, 'GET', 'state');
      expect(
        state.nvcf.credentials.find((c) => c.registryCredentialId === created.registryCredentialId)?.username,
      ).toBe(key2.accessKeyId);

      const withHelm = await nvcf.addArtifactTypes(created.registryCredentialId, ['HELM']);
      expect([...withHelm.artifactTypes].sort()).toEqual(['CONTAINER', 'HELM']);

      const helmOnly = await nvcf.listRegistryCredentials({ artifactTypes: ['HELM'] });
      expect(helmOnly.map((c) => c.registryCredentialId)).toContain(created.registryCredentialId);

      await nvcf.deleteRegistryCredential(created.registryCredentialId);
      const gone = await rejection(nvcf.getRegistryCredential(created.registryCredentialId));
      expect(gone).toBeInstanceOf(NvcfNotFoundError);
      expect(gone.message).toContain(
        `failed with 404 Not Found: Registry Credential '${created.registryCredentialId}': Not found in account`,
      );
    });

    it('lists the recognized registries', async () => {
      const { nvcf } = client();
      const r = await nvcf.recognizedRegistries();
      expect(r.CONTAINER).toContainEqual({
        name: 'AWS ECR Private Registry',
        hostname: 'dkr.ecr.amazonaws.com',
      });
    });

    it('works on the org-scoped paths', async () => {
      const { nvcf } = client({ org: 'my-org', team: 'ml' });
      await expect(nvcf.listRegistryCredentials()).resolves.toBeInstanceOf(Array);
    });
  });

  describe('Feature: typed errors', () => {
    it('exposes the AWS code when NVCF relays ECR’s refusal of a key that has not propagated', async () => {
      const { nvcf } = client();
      const key = await pullKey(false);
      const err = await rejection(createContainerCredential(nvcf, key, uniqueName()));
      expect(err).toBeInstanceOf(NvcfBadRequestError);
      expect(err['awsErrorCode']).toBe('UnrecognizedClientException');
      expect(err.message).toBe(
        'NVCF POST /v2/nvcf/registry-credentials failed with 400 Bad Request: {"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}',
      );
      expect(err.message).not.toContain(key.value);
    });

    it('tells NVCF’s own 403 (missing scope) from an AWS 403 relayed by the credential check', async () => {
      await control(sb, 'POST', 'seed', {
        nvcf: { apiKeys: [{ key: 'nvapi-client-list-only-01', scopes: ['list_functions'] }] },
      });
      const { nvcf: scopeless } = client({ apiKey: async () => 'nvapi-client-list-only-01' });
      const own = await rejection(scopeless.listRegistryCredentials());
      expect(own).toBeInstanceOf(NvcfForbiddenError);
      expect(own['awsErrorCode']).toBeUndefined();
      expect(own['detail']).toBe('Access Denied');

      const { nvcf } = client();
      const key = await pullKey();
      await control(sb, 'POST', 'faults', {
        service: 'ecr',
        operation: 'GetAuthorizationToken',
        error: { status: 403, code: 'AccessDeniedException', message: 'denied by SCP' },
      });
      const relayed = await rejection(createContainerCredential(nvcf, key, uniqueName()));
      expect(relayed).toBeInstanceOf(NvcfForbiddenError);
      expect(relayed['awsErrorCode']).toBe('AccessDeniedException');
      expect(relayed['awsErrorMessage']).toBe('denied by SCP');
    });

    it('surfaces a duplicate create as NvcfConflictError', async () => {
      const { nvcf } = client();
      const key = await pullKey();
      const name = uniqueName();
      await createContainerCredential(nvcf, key, name);
      const err = await rejection(createContainerCredential(nvcf, key, name));
      expect(err).toBeInstanceOf(NvcfConflictError);
      expect(err['status']).toBe(409);
    });
  });

  describe('Feature: the API key', () => {
    it('re-reads a revoked key once and continues with the new one', async () => {
      await control(sb, 'POST', 'seed', {
        nvcf: { apiKeys: [{ key: 'nvapi-client-old-key-0001', scopes: ['manage_registry_credentials'] }] },
      });
      await control(sb, 'POST', 'nvcf/api-keys/revoke', { key: 'nvapi-client-old-key-0001' });
      const keys = ['nvapi-client-old-key-0001', sb.ngcApiKey];
      let reads = 0;
      const { nvcf } = client({ apiKey: async () => keys[Math.min(reads++, 1)] as string });
      await expect(nvcf.listRegistryCredentials()).resolves.toBeInstanceOf(Array);
      expect(reads).toBe(2);
    });

    it('throws NvcfUnauthorizedError with the gateway’s description when the key stays invalid', async () => {
      const { nvcf } = client({ apiKey: async () => 'nvapi-client-never-valid-01' });
      const err = await rejection(nvcf.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfUnauthorizedError);
      expect(err.message).toBe(
        'NVCF GET /v2/nvcf/registry-credentials failed with 401 UNAUTHORIZED: Invalid API key.',
      );
    });
  });

  describe('Feature: retries', () => {
    it('waits as Retry-After says after a 429, then succeeds', async () => {
      const { nvcf, sleeps } = client();
      await control(sb, 'POST', 'faults', {
        service: 'nvcf',
        operation: 'ListRegistryCredentials',
        times: 2,
        error: { status: 429, message: 'slow down' },
      });
      await expect(nvcf.listRegistryCredentials()).resolves.toBeInstanceOf(Array);
      // The emulator sends Retry-After: 1 (second).
      expect(sleeps).toEqual([1000, 1000]);
    });

    it('retries a PATCH that NVCF failed with 503 after applying it, converging on the same state', async () => {
      const { nvcf, sleeps } = client();
      const key = await pullKey();
      const created = await createContainerCredential(nvcf, key, uniqueName());
      await control(sb, 'POST', 'faults', {
        service: 'nvcf',
        operation: 'UpdateRegistryCredential',
        afterEffect: true,
        error: { status: 503, message: 'lost answer' },
      });
      const out = await nvcf.updateRegistryCredentialSecret(created.registryCredentialId, key.value);
      expect(out.registryCredentialName).toBe(created.registryCredentialName);
      expect(sleeps).toHaveLength(1);
    });

    it('does not repeat a POST that failed after being applied; the caller finds it by (hostname, name)', async () => {
      const { nvcf, sleeps } = client();
      const key = await pullKey();
      const name = uniqueName();
      await control(sb, 'POST', 'faults', {
        service: 'nvcf',
        operation: 'CreateRegistryCredential',
        afterEffect: true,
        error: { status: 503, message: 'lost answer' },
      });
      const err = await rejection(createContainerCredential(nvcf, key, name));
      expect(err).toBeInstanceOf(NvcfServerError);
      expect(sleeps).toEqual([]);
      expect((await nvcf.findRegistryCredential(HOST, name))?.registryCredentialName).toBe(name);
    });

    it('treats a DELETE whose first answer was lost as done', async () => {
      const { nvcf } = client();
      const key = await pullKey();
      const created = await createContainerCredential(nvcf, key, uniqueName());
      await control(sb, 'POST', 'faults', {
        service: 'nvcf',
        operation: 'DeleteRegistryCredential',
        afterEffect: true,
        error: { status: 502, message: 'lost answer' },
      });
      await expect(nvcf.deleteRegistryCredential(created.registryCredentialId)).resolves.toBeUndefined();
      expect(await nvcf.findRegistryCredential(HOST, created.registryCredentialName)).toBeUndefined();
    });
  });

  describe('Feature: functions and deployments', () => {
    const FID = '7b000000-0000-4000-8000-000000000001';
    const V1 = '7b000000-0000-4000-8000-0000000000a1';
    const V2 = '7b000000-0000-4000-8000-0000000000a2';

    beforeAll(async () => {
      await control(sb, 'POST', 'seed', {
        nvcf: {
          functions: [
            {
              id: FID,
              versionId: V1,
              name: 'gb200-inference',
              status: 'ACTIVE',
              containerImage: `${HOST}/inference-gb200:v1`,
            },
            {
              id: FID,
              versionId: V2,
              name: 'gb200-inference',
              status: 'INACTIVE',
              containerImage: `${HOST}/inference-gb200:v2`,
            },
          ],
          deployments: [
            {
              functionId: FID,
              functionVersionId: V1,
              deploymentSpecifications: [
                { gpu: 'GB200', instanceType: 'AWS.GPU.GB200_4x.x2', minInstances: 1, maxInstances: 1 },
              ],
            },
          ],
        },
      });
    });

    it('lists function versions and reads one', async () => {
      const { nvcf } = client();
      const fns = await nvcf.listFunctions('private');
      expect(
        fns
          .filter((f) => f.id === FID)
          .map((f) => f.versionId)
          .sort(),
      ).toEqual([V1, V2]);
      expect(await nvcf.listFunctionIds()).toContain(FID);
      expect(await nvcf.listFunctionVersions(FID)).toHaveLength(2);
      expect((await nvcf.getFunctionVersion(FID, V2)).containerImage).toBe(`${HOST}/inference-gb200:v2`);
    });

    it('returns a deployment, and undefined for an undeployed version', async () => {
      const { nvcf } = client();
      const d = await nvcf.getDeployment(FID, V1);
      expect(d?.deploymentSpecifications[0]?.gpu).toBe('GB200');
      expect(await nvcf.getDeployment(FID, V2)).toBeUndefined();
    });
  });

  describe('Feature: logging', () => {
    it('never logs the key or a secret', async () => {
      const records: LogRecord[] = [];
      const logger = createLogger({ level: 'debug', sink: (r) => records.push(r) });
      const { nvcf } = client({ logger });
      const key = await pullKey(false);
      await rejection(createContainerCredential(nvcf, key, uniqueName()));
      await control(sb, 'POST', 'faults', {
        service: 'nvcf',
        operation: 'ListRegistryCredentials',
        error: { status: 500, message: 'x' },
      });
      await nvcf.listRegistryCredentials();
      expect(records.map((r) => r.message)).toEqual([
        'nvcf request',
        'nvcf request',
        'nvcf retrying',
        'nvcf request',
      ]);
      const text = JSON.stringify(records);
      expect(text).not.toContain(sb.ngcApiKey);
      expect(text).not.toContain(key.value);
    });
  });
});
