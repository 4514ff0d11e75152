import {
  NvcfApiKeyError,
  NvcfBadRequestError,
  NvcfClient,
  type NvcfClientOptions,
  NvcfConflictError,
  NvcfForbiddenError,
  NvcfNetworkError,
  NvcfNotFoundError,
  NvcfRateLimitError,
  NvcfResponseError,
  NvcfServerError,
  NvcfTimeoutError,
  NvcfUnauthorizedError,
  type RegistryCredential,
} from '@nvcf-ecr/nvcf';
import { describe, expect, it } from 'vitest';
import { fakeFetch, problem, type Step } from './fake-fetch.ts';

const BASE = 'https://api.ngc.nvidia.com';
const KEY = `nvapi-${'k'.repeat(60)}`;
const ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const VALUE = Buffer.from(`AKIAIOSFODNN7EXAMPLE:${SECRET_KEY}`).toString('base64');

const CRED: RegistryCredential = {
  registryCredentialId: ID,
  ncaId: 'nca-1',
  registryCredentialName: 'ecr-prod',
  registryName: 'AWS ECR Private Registry',
  registryHostname: HOST,
  artifactTypes: ['CONTAINER'],
  provisionedBy: 'USER',
  lastUpdatedAt: '2025-02-04T17:41:34.013Z',
  createdAt: '2025-02-04T17:41:34.013Z',
};

interface Harness {
  client: NvcfClient;
  requests: ReturnType<typeof fakeFetch>['requests'];
  sleeps: number[];
  keyReads: () => number;
  logs: string[];
}

function harness(steps: Step[], options: Partial<NvcfClientOptions> = {}, keys: string[] = [KEY]): Harness {
  const f = fakeFetch(steps);
  const sleeps: number[] = [];
  let reads = 0;
  const logs: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  const client = new NvcfClient({
    baseUrl: BASE,
    apiKey: async () => keys[Math.min(reads++, keys.length - 1)] as string,
    fetch: f.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    logger: { debug: log('debug'), warn: log('warn') },
    ...options,
  });
  return { client, requests: f.requests, sleeps, keyReads: () => reads, logs };
}

async function failure(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

describe('Class: NvcfClient', () => {
  describe('Method: constructor', () => {
    it('rejects a team without an org', () => {
      expect(() => new NvcfClient({ baseUrl: BASE, apiKey: async () => KEY, team: 't' })).toThrow(
        new RangeError('team needs org: NGC team paths are /v2/orgs/<org>/teams/<team>/nvcf'),
      );
    });

    it('rejects a base URL that is not absolute', () => {
      expect(() => new NvcfClient({ baseUrl: 'api.ngc.nvidia.com', apiKey: async () => KEY })).toThrow(
        "baseUrl must be an absolute http(s) URL such as https://api.ngc.nvidia.com, got 'api.ngc.nvidia.com'",
      );
    });

    it('rejects retry options that make no sense', () => {
      expect(
        () => new NvcfClient({ baseUrl: BASE, apiKey: async () => KEY, retry: { maxAttempts: 0 } }),
      ).toThrow('retry.maxAttempts must be an integer ≥ 1, got 0');
    });
  });

  describe('Method: listRegistryCredentials', () => {
    it('sends the bearer key to the plain /v2/nvcf path and returns the list', async () => {
      const h = harness([{ status: 200, body: { registryCredentials: [CRED] } }]);
      expect(await h.client.listRegistryCredentials()).toEqual([CRED]);
      expect(h.requests[0]?.url).toBe(`${BASE}/v2/nvcf/registry-credentials`);
      expect(h.requests[0]?.method).toBe('GET');
      expect(h.requests[0]?.headers['authorization']).toBe(`Bearer ${KEY}`);
    });

    it('repeats the artifactType and provisionedBy parameters for a filter', async () => {
      const h = harness([{ status: 200, body: { registryCredentials: [] } }]);
      await h.client.listRegistryCredentials({
        artifactTypes: ['CONTAINER', 'HELM'],
        provisionedBy: ['USER'],
      });
      expect(h.requests[0]?.url).toBe(
        `${BASE}/v2/nvcf/registry-credentials?artifactType=CONTAINER&artifactType=HELM&provisionedBy=USER`,
      );
    });

    it('uses the org- and team-scoped path when configured', async () => {
      const h = harness([{ status: 200, body: { registryCredentials: [] } }], { org: 'my-org', team: 'ml' });
      await h.client.listRegistryCredentials();
      expect(h.requests[0]?.url).toBe(`${BASE}/v2/orgs/my-org/teams/ml/nvcf/registry-credentials`);
    });

    it('throws NvcfResponseError when the answer lacks its wrapper', async () => {
      const h = harness([{ status: 200, body: { credentials: [] } }]);
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfResponseError);
      expect(err.message).toBe(
        "NVCF GET /v2/nvcf/registry-credentials answered 200 with an unexpected body: expected a 'registryCredentials' member",
      );
    });

    it('throws NvcfResponseError when a success answer is not JSON', async () => {
      const h = harness([{ status: 200, body: '<html>', headers: { 'content-type': 'text/html' } }]);
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfResponseError);
      expect(err.message).toBe(
        'NVCF GET /v2/nvcf/registry-credentials answered 200 with an unexpected body: not JSON',
      );
    });
  });

  describe('Method: findRegistryCredential', () => {
    it('matches hostname and name exactly, as NVCF does', async () => {
      const other = { ...CRED, registryCredentialId: 'b', registryCredentialName: 'ECR-PROD' };
      const h = harness([
        { status: 200, body: { registryCredentials: [other, CRED] } },
        { status: 200, body: { registryCredentials: [other] } },
      ]);
      expect(await h.client.findRegistryCredential(HOST, 'ecr-prod')).toEqual(CRED);
      expect(await h.client.findRegistryCredential(HOST, 'ecr-prod')).toBeUndefined();
    });
  });

  describe('Method: updateRegistryCredentialSecret', () => {
    it('reads the credential, then PATCHes the secret under its existing name', async () => {
      const h = harness([
        { status: 200, body: { registryCredential: CRED } },
        { status: 200, body: { registryCredential: { ...CRED, lastUpdatedAt: '2025-03-01T00:00:00.000Z' } } },
      ]);
      const out = await h.client.updateRegistryCredentialSecret(ID, VALUE);
      expect(out.lastUpdatedAt).toBe('2025-03-01T00:00:00.000Z');
      expect(h.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        `GET ${BASE}/v2/nvcf/registry-credentials/${ID}`,
        `PATCH ${BASE}/v2/nvcf/registry-credentials/${ID}`,
      ]);
      expect(JSON.parse(h.requests[1]?.body ?? '')).toEqual({ secret: { name: 'ecr-prod', value: VALUE } });
      expect(h.requests[1]?.headers['content-type']).toBe('application/json');
    });

    it('retries a PATCH after a 503, since sending the same secret again converges', async () => {
      const h = harness([
        { status: 200, body: { registryCredential: CRED } },
        problem(503, 'busy', 'about:blank', 'Service Unavailable'),
        { status: 200, body: { registryCredential: CRED } },
      ]);
      await h.client.updateRegistryCredentialSecret(ID, VALUE);
      expect(h.requests.map((r) => r.method)).toEqual(['GET', 'PATCH', 'PATCH']);
      // Full jitter with random() = 0.5 and base 200 ms: 0.5 × 200.
      expect(h.sleeps).toEqual([100]);
    });

    it('keeps the secret out of the error message and the logs when NVCF refuses it', async () => {
      const aws =
        '{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}';
      const h = harness([{ status: 200, body: { registryCredential: CRED } }, problem(400, aws)]);
      const err = await failure(h.client.updateRegistryCredentialSecret(ID, VALUE));
      expect(err).toBeInstanceOf(NvcfBadRequestError);
      expect(err.message).toBe(
        `NVCF PATCH /v2/nvcf/registry-credentials/${ID} failed with 400 Bad Request: ${aws}`,
      );
      expect(err['awsErrorCode']).toBe('UnrecognizedClientException');
      expect(err['awsErrorMessage']).toBe('The security token included in the request is invalid.');
      const everything = `${err.message} ${JSON.stringify(err)} ${h.logs.join('\n')}`;
      expect(everything).not.toContain(VALUE);
      expect(everything).not.toContain(SECRET_KEY);
      expect(everything).not.toContain(KEY);
    });
  });

  describe('Method: addArtifactTypes', () => {
    it('sends artifactTypeEnums, the member NVCF reads (artifactTypes would be ignored)', async () => {
      const h = harness([
        { status: 200, body: { registryCredential: { ...CRED, artifactTypes: ['CONTAINER', 'HELM'] } } },
      ]);
      await h.client.addArtifactTypes(ID, ['HELM']);
      expect(JSON.parse(h.requests[0]?.body ?? '')).toEqual({ artifactTypeEnums: ['HELM'] });
    });

    it('refuses an empty list, which NVCF would answer with 400', async () => {
      const h = harness([]);
      const err = await failure(h.client.addArtifactTypes(ID, []));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toBe('addArtifactTypes needs at least one artifact type');
    });
  });

  describe('Method: createRegistryCredential', () => {
    const request = {
      registryHostname: HOST,
      secret: { name: 'ecr-prod', value: VALUE },
      artifactTypes: ['CONTAINER' as const],
    };

    it('POSTs the request and returns the created credential', async () => {
      const h = harness([{ status: 200, body: { registryCredential: CRED } }]);
      expect(await h.client.createRegistryCredential(request)).toEqual(CRED);
      expect(h.requests[0]?.method).toBe('POST');
      expect(JSON.parse(h.requests[0]?.body ?? '')).toEqual(request);
    });

    it('retries a 429 and NVCF’s pre-save 502 upstream answer', async () => {
      const h = harness([
        {
          ...problem(429, 'slow down', 'urn:nv-boot:problem-details:too-many-requests', 'Too Many Requests'),
          headers: { 'retry-after': '2' },
        },
        problem(
          502,
          'ECR response with 5xx error 500 INTERNAL_SERVER_ERROR',
          'urn:nv-boot:problem-details:upstream',
          'Bad Gateway',
        ),
        { status: 200, body: { registryCredential: CRED } },
      ]);
      expect(await h.client.createRegistryCredential(request)).toEqual(CRED);
      // Retry-After: 2 → 2000 ms; then full jitter for the second retry: 0.5 × 400.
      expect(h.sleeps).toEqual([2000, 200]);
    });

    it('does not repeat a POST whose outcome is unknown (503)', async () => {
      const h = harness([problem(503, 'unavailable', 'about:blank', 'Service Unavailable')]);
      const err = await failure(h.client.createRegistryCredential(request));
      expect(err).toBeInstanceOf(NvcfServerError);
      expect(err.message).toBe(
        'NVCF POST /v2/nvcf/registry-credentials failed with 503 Service Unavailable: unavailable',
      );
      expect(h.requests).toHaveLength(1);
    });

    it('does not repeat a POST that lost its connection', async () => {
      const h = harness([new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })]);
      const err = await failure(h.client.createRegistryCredential(request));
      expect(err).toBeInstanceOf(NvcfNetworkError);
      expect(err.message).toBe(
        'NVCF POST /v2/nvcf/registry-credentials failed without an answer: fetch failed (ECONNRESET)',
      );
      expect(h.requests).toHaveLength(1);
    });

    it('surfaces a duplicate as NvcfConflictError with NVCF’s detail', async () => {
      const detail =
        "Account 'nca-1': Registry credential 'ecr-prod' for hostname '123456789012.dkr.ecr.us-east-1.amazonaws.com' already exists in the account - Registry credentials must have unique hostname and credential name within an account";
      const h = harness([problem(409, detail, 'urn:nv-boot:problem-details:conflict', 'Conflict')]);
      const err = await failure(h.client.createRegistryCredential(request));
      expect(err).toBeInstanceOf(NvcfConflictError);
      expect(err['detail']).toBe(detail);
      expect(err['awsErrorCode']).toBeUndefined();
    });
  });

  describe('Method: deleteRegistryCredential', () => {
    it('resolves on 204', async () => {
      const h = harness([{ status: 204 }]);
      await expect(h.client.deleteRegistryCredential(ID)).resolves.toBeUndefined();
      expect(h.requests[0]?.method).toBe('DELETE');
    });

    it('treats a 404 after a 503 as the earlier attempt’s success', async () => {
      const h = harness([
        problem(503, 'unavailable', 'about:blank', 'Service Unavailable'),
        problem(404, 'gone', 'urn:nv-boot:problem-details:not-found', 'Not Found'),
      ]);
      await expect(h.client.deleteRegistryCredential(ID)).resolves.toBeUndefined();
      expect(h.requests).toHaveLength(2);
    });

    it('throws NvcfNotFoundError for a 404 on the first attempt', async () => {
      const detail = `Registry Credential '${ID}': Not found in account 'nca-1'`;
      const h = harness([problem(404, detail, 'urn:nv-boot:problem-details:not-found', 'Not Found')]);
      const err = await failure(h.client.deleteRegistryCredential(ID));
      expect(err).toBeInstanceOf(NvcfNotFoundError);
      expect(err.message).toBe(
        `NVCF DELETE /v2/nvcf/registry-credentials/${ID} failed with 404 Not Found: ${detail}`,
      );
    });
  });

  describe('Feature: the API key', () => {
    it('reads the key once and reuses it', async () => {
      const h = harness([
        { status: 200, body: { registryCredentials: [] } },
        { status: 200, body: { registryCredentials: [] } },
      ]);
      await h.client.listRegistryCredentials();
      await h.client.listRegistryCredentials();
      expect(h.keyReads()).toBe(1);
    });

    it('re-reads the key once after a 401 and retries with the new one', async () => {
      const gateway = {
        status: 401,
        body: { requestStatus: { statusCode: 'UNAUTHORIZED', statusDescription: 'Invalid API key.' } },
      };
      const fresh = `nvapi-${'n'.repeat(60)}`;
      const h = harness([gateway, { status: 200, body: { registryCredentials: [] } }], {}, [KEY, fresh]);
      await h.client.listRegistryCredentials();
      expect(h.keyReads()).toBe(2);
      expect(h.requests.map((r) => r.headers['authorization'])).toEqual([`Bearer ${KEY}`, `Bearer ${fresh}`]);
      expect(h.sleeps).toEqual([]);
    });

    it('throws NvcfUnauthorizedError with the gateway body when the re-read key fails too', async () => {
      const gateway = {
        status: 401,
        body: { requestStatus: { statusCode: 'UNAUTHORIZED', statusDescription: 'Invalid API key.' } },
      };
      const h = harness([gateway, gateway]);
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfUnauthorizedError);
      expect(err.message).toBe(
        'NVCF GET /v2/nvcf/registry-credentials failed with 401 UNAUTHORIZED: Invalid API key.',
      );
      expect((err['requestStatus'] as { statusCode: string }).statusCode).toBe('UNAUTHORIZED');
      expect(h.keyReads()).toBe(2);
    });

    it('wraps a failing provider in NvcfApiKeyError and tries again on the next call', async () => {
      let calls = 0;
      const f = fakeFetch([{ status: 200, body: { registryCredentials: [] } }]);
      const client = new NvcfClient({
        baseUrl: BASE,
        fetch: f.fetch,
        apiKey: async () => {
          calls++;
          if (calls === 1) throw new Error("Secrets Manager can't find the specified secret.");
          return KEY;
        },
      });
      const err = await failure(client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfApiKeyError);
      expect(err.message).toBe(
        "the NGC API key provider failed: Secrets Manager can't find the specified secret.",
      );
      await expect(client.listRegistryCredentials()).resolves.toEqual([]);
    });

    it('refuses an empty key', async () => {
      const h = harness([], {}, ['  ']);
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfApiKeyError);
      expect(err.message).toBe('the NGC API key provider returned an empty key');
    });
  });

  describe('Feature: retries', () => {
    it('backs off exponentially with jitter and gives up after maxAttempts', async () => {
      const down = problem(500, 'Internal server error', 'about:blank', 'Internal Server Error');
      const h = harness([down, down, down], {
        retry: { maxAttempts: 3, baseDelayMs: 100 },
        random: () => 0.99,
      });
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfServerError);
      expect(err.message).toBe(
        'NVCF GET /v2/nvcf/registry-credentials failed with 500 Internal Server Error: Internal server error',
      );
      // floor(0.99 × 100), floor(0.99 × 200)
      expect(h.sleeps).toEqual([99, 198]);
    });

    it('caps each wait at maxDelayMs', async () => {
      const down = problem(503, 'x', 'about:blank', 'Service Unavailable');
      const h = harness([down, down, down, down], {
        retry: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 1500 },
        random: () => 0.99,
      });
      await failure(h.client.listRegistryCredentials());
      expect(h.sleeps).toEqual([990, 1485, 1485]);
    });

    it('honours Retry-After given as an HTTP date', async () => {
      const now = Date.parse('2025-01-01T00:00:00Z');
      const h = harness(
        [
          {
            ...problem(429, 'slow', 'urn:nv-boot:problem-details:too-many-requests', 'Too Many Requests'),
            headers: { 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' },
          },
          { status: 200, body: { registryCredentials: [] } },
        ],
        { now: () => now },
      );
      await h.client.listRegistryCredentials();
      expect(h.sleeps).toEqual([3000]);
    });

    it('gives a 429 back at once when Retry-After exceeds maxDelayMs', async () => {
      const h = harness([
        {
          ...problem(429, 'slow', 'urn:nv-boot:problem-details:too-many-requests', 'Too Many Requests'),
          headers: { 'retry-after': '60' },
        },
      ]);
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfRateLimitError);
      expect(err['retryAfterMs']).toBe(60_000);
      expect(h.sleeps).toEqual([]);
    });

    it('stops before a wait would pass maxTotalMs', async () => {
      let t = 0;
      const down = problem(503, 'x', 'about:blank', 'Service Unavailable');
      const h = harness([down, down, down], {
        retry: { maxAttempts: 10, baseDelayMs: 400, maxTotalMs: 1000 },
        random: () => 0.99,
        now: () => t,
        sleep: async (ms) => {
          t += ms;
        },
      });
      await failure(h.client.listRegistryCredentials());
      // Waits of 396 and 792 ms: the second would end at 1188 ms > 1000, so two attempts only.
      expect(h.requests).toHaveLength(2);
    });

    it('retries a GET after a network error', async () => {
      const h = harness([
        new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
        { status: 200, body: { registryCredentials: [] } },
      ]);
      await expect(h.client.listRegistryCredentials()).resolves.toEqual([]);
      expect(h.requests).toHaveLength(2);
    });

    it('does not retry a 400', async () => {
      const h = harness([problem(400, 'Invalid request: Either secret or artifact types must be specified')]);
      const err = await failure(h.client.patchRegistryCredential(ID, {}));
      expect(err).toBeInstanceOf(NvcfBadRequestError);
      expect(h.requests).toHaveLength(1);
    });
  });

  describe('Feature: timeouts', () => {
    it('aborts an attempt after timeoutMs and retries it', async () => {
      const h = harness(['hang', { status: 200, body: { registryCredentials: [] } }], { timeoutMs: 20 });
      await expect(h.client.listRegistryCredentials()).resolves.toEqual([]);
      expect(h.requests).toHaveLength(2);
    });

    it('throws NvcfTimeoutError when every attempt hangs', async () => {
      const h = harness(['hang', 'hang'], { timeoutMs: 20, retry: { maxAttempts: 2 } });
      const err = await failure(h.client.listRegistryCredentials());
      expect(err).toBeInstanceOf(NvcfTimeoutError);
      expect(err.message).toBe('NVCF GET /v2/nvcf/registry-credentials timed out after 20 ms');
    });
  });

  describe('Feature: error parsing', () => {
    it('tells NVCF’s own 403 from an AWS 403 relayed in detail', async () => {
      const awsBody =
        '{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/pull is not authorized"}';
      const h = harness([
        problem(403, 'Access Denied', 'urn:nv-boot:problem-details:forbidden', 'Forbidden'),
        problem(403, awsBody, 'urn:nv-boot:problem-details:forbidden', 'Forbidden'),
      ]);
      const own = await failure(
        h.client.createRegistryCredential({
          registryHostname: HOST,
          secret: { name: 'n', value: VALUE },
          artifactTypes: ['CONTAINER'],
        }),
      );
      const relayed = await failure(
        h.client.createRegistryCredential({
          registryHostname: HOST,
          secret: { name: 'n', value: VALUE },
          artifactTypes: ['CONTAINER'],
        }),
      );
      expect(own).toBeInstanceOf(NvcfForbiddenError);
      expect(own['isAwsRelayed']).toBe(false);
      expect(relayed).toBeInstanceOf(NvcfForbiddenError);
      expect(relayed['isAwsRelayed']).toBe(true);
      expect(relayed['awsErrorCode']).toBe('AccessDeniedException');
    });

    it('keeps a plain-text error body, shortened and scrubbed', async () => {
      const h = harness([{ status: 418, body: `teapot ${KEY}`, headers: { 'content-type': 'text/plain' } }]);
      const err = await failure(h.client.listRegistryCredentials());
      expect(err.message).toBe(
        'NVCF GET /v2/nvcf/registry-credentials failed with 418: teapot nvapi-[redacted]',
      );
    });
  });

  describe('Method: getDeployment', () => {
    it('returns undefined for an undeployed version (404)', async () => {
      const h = harness([
        problem(
          404,
          `Function version '${ID}': Deployment not found`,
          'urn:nv-boot:problem-details:not-found',
          'Not Found',
        ),
      ]);
      await expect(h.client.getDeployment(ID, ID)).resolves.toBeUndefined();
      expect(h.requests[0]?.url).toBe(`${BASE}/v2/nvcf/deployments/functions/${ID}/versions/${ID}`);
    });

    it('returns the deployment', async () => {
      const deployment = {
        functionId: ID,
        functionVersionId: ID,
        deploymentId: ID,
        ncaId: 'nca-1',
        functionStatus: 'ACTIVE',
        deploymentSpecifications: [],
      };
      const h = harness([{ status: 200, body: { deployment } }]);
      await expect(h.client.getDeployment(ID, ID)).resolves.toEqual(deployment);
    });
  });

  describe('Method: listFunctions', () => {
    it('repeats the visibility parameter', async () => {
      const h = harness([{ status: 200, body: { functions: [] } }]);
      await h.client.listFunctions(['private', 'authorized']);
      expect(h.requests[0]?.url).toBe(`${BASE}/v2/nvcf/functions?visibility=private&visibility=authorized`);
    });
  });
});
