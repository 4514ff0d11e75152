import { createHash } from 'node:crypto';
import {
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { CreateUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clients,
  control,
  createPullKey,
  createPullUser,
  type PullKey,
  withSandbox,
} from '../../helpers/sandbox.ts';

/**
 * Conformance of the NVCF emulator, over plain `fetch` exactly as NVCF is called: routes and statuses, the
 * gateway's 401, scopes, the validation order and messages of the self-hosted service (`NVIDIA/nvcf`; the
 * emulator's `errors.ts` and `routes.ts` say where each comes from), Problem Details, the remote ECR check
 * against the sandbox's real ECR, PATCH and DELETE semantics, functions and deployments, faults,
 * `POST /_sandbox/nvcf/pull` and persistence.
 */

let sb: RunningSandbox;
let aws: ReturnType<typeof clients>;
let HOST: string;
/** The account of the sandbox's own NGC key, as `GET /_sandbox/state` reports it. */
let NCA: string;
const PROPAGATION_SECONDS = 10;
const REPO = 'inference';
const NVCF_ROOT = '/v2/nvcf';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are asserted field by field.
  json: any;
}

async function nvcf(
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string | null; contentType?: string; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const key = options.key === undefined ? sb.ngcApiKey : options.key;
  if (key !== null) headers['authorization'] = `Bearer ${key}`;
  if (body !== undefined || options.raw !== undefined)
    headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(`${sb.nvcfEndpoint}${path}`, {
    method,
    headers,
    body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts a Problem Details answer (RFC 7807) field by field. */
/** {@link expectProblem} for NVCF's 400 of type {@link BAD}. */
function expectBadRequest(a: Answer, detail: string, instance?: string): void {
  expectProblem(a, 400, BAD, detail, instance);
}

function expectProblem(
  a: Answer,
  status: number,
  type: string,
  detail: string,
  instance = `${NVCF_ROOT}/registry-credentials`,
): void {
  expect(a.status).toBe(status);
  expect(a.headers.get('content-type')).toBe('application/problem+json');
  const titles: Record<number, string> = {
    400: 'Bad Request',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  expect(a.json).toEqual({ type, title: titles[status], status, detail, instance });
}

const BAD = 'urn:nv-boot:problem-details:bad-request';
const SPRING = 'about:blank';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

let userSeq = 0;

/** A pull user with NVCF's minimal policy and a key, optionally already propagated. */
async function pullKey(propagate = true): Promise<PullKey> {
  const userName = `nvcf-pull-${++userSeq}`;
  await createPullUser(sb, aws.iam, userName, [REPO]);
  return newKey(userName, propagate);
}

const newKey = (userName: string, propagate = true) =>
  createPullKey(sb, aws.iam, userName, propagate ? PROPAGATION_SECONDS : undefined);

let nameSeq = 0;
const uniqueName = (prefix = 'ecr') => `${prefix}-${++nameSeq}`;

async function createEcrCredential(key: PullKey, name = uniqueName(), types = ['CONTAINER']) {
  const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
    registryHostname: HOST,
    secret: { name, value: key.value },
    artifactTypes: types,
  });
  expect(a.status).toBe(200);
  return a.json.registryCredential as {
    registryCredentialId: string;
    registryCredentialName: string;
    createdAt: string;
    lastUpdatedAt: string;
    artifactTypes: string[];
  };
}

/** A key seeded for scope and account tests. */
async function seedKey(key: string, scopes: string[], account?: string): Promise<string> {
  await control(sb, 'POST', 'seed', {
    nvcf: { apiKeys: [{ key, scopes, ...(account ? { account } : {}) }] },
  });
  return key;
}

// A valid NGC model credential: no remote check for MODEL (`RegistryCredentialValidationService`), so it isolates
// other rules.
const NGC_MODEL_VALUE = b64('$oauthtoken:nvapi-model-key-000000');
const modelBody = (name: string) => ({
  registryHostname: 'api.ngc.nvidia.com',
  secret: { name, value: NGC_MODEL_VALUE },
  artifactTypes: ['MODEL'],
});

beforeAll(async () => {
  sb = await withSandbox({ keyPropagationSeconds: PROPAGATION_SECONDS });
  aws = clients(sb);
  HOST = `${sb.accountId}.dkr.ecr.${sb.region}.amazonaws.com`;
  NCA = (await control<{ nvcf: { defaultNcaId: string } }>(sb, 'GET', 'state')).nvcf.defaultNcaId;
});

afterAll(async () => {
  await sb?.close();
});

beforeEach(async () => {
  await control(sb, 'DELETE', 'faults');
});

describe('NVCF emulator: routes and statuses', () => {
  it('answers create, get, patch with 200 and delete with 204 and no body', async () => {
    const created = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody(uniqueName('model')));
    expect(created.status).toBe(200);
    const id = created.json.registryCredential.registryCredentialId as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await nvcf('GET', `${NVCF_ROOT}/registry-credentials/${id}`)).status).toBe(200);
    expect(
      (await nvcf('PATCH', `${NVCF_ROOT}/registry-credentials/${id}`, { artifactTypeEnums: ['RESOURCE'] }))
        .status,
    ).toBe(200);
    const deleted = await nvcf('DELETE', `${NVCF_ROOT}/registry-credentials/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/registry-credentials/${id}`),
      404,
      'urn:nv-boot:problem-details:not-found',
      `Registry Credential '${id}': Not found in account '${NCA}'`,
      `${NVCF_ROOT}/registry-credentials/${id}`,
    );
  });

  it('returns `RegistryCredentialDetailsDto` with null fields omitted and equal timestamps on create', async () => {
    const name = uniqueName('model');
    const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
      ...modelBody(name),
      tags: ['owner:platform', 'owner:platform'],
    });
    const c = a.json.registryCredential;
    expect(Object.keys(c)).toEqual([
      'registryCredentialId',
      'ncaId',
      'registryCredentialName',
      'registryName',
      'registryHostname',
      'artifactTypes',
      'tags',
      'provisionedBy',
      'lastUpdatedAt',
      'createdAt',
    ]);
    expect(c).toMatchObject({
      registryCredentialName: name,
      registryName: 'NGC Private Registry',
      registryHostname: 'api.ngc.nvidia.com',
      artifactTypes: ['MODEL'],
      tags: ['owner:platform'],
      provisionedBy: 'USER',
    });
    expect(c.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(c.lastUpdatedAt).toBe(c.createdAt);
  });

  it('serves the org- and team-scoped paths of the NGC gateway', async () => {
    const org = await nvcf('GET', '/v2/orgs/my-org/nvcf/registry-credentials');
    const team = await nvcf('GET', '/v2/orgs/my-org/teams/ml/nvcf/registry-credentials');
    const plain = await nvcf('GET', `${NVCF_ROOT}/registry-credentials`);
    expect(org.status).toBe(200);
    expect(team.json).toEqual(plain.json);
    expect(org.json).toEqual(plain.json);
  });

  it('lists the recognized registries per artifact type, sorted by name', async () => {
    const a = await nvcf('GET', `${NVCF_ROOT}/recognized-registries`);
    expect(a.status).toBe(200);
    const r = a.json.recognizedRegistries;
    expect(Object.keys(r).sort()).toEqual(['CONTAINER', 'HELM', 'MODEL', 'RESOURCE']);
    expect(r.CONTAINER).toContainEqual({
      name: 'AWS ECR Private Registry',
      hostname: 'dkr.ecr.amazonaws.com',
    });
    expect(r.CONTAINER).toContainEqual({ name: 'AWS ECR Public Registry', hostname: 'public.ecr.aws' });
    const names = (r.CONTAINER as { name: string }[]).map((x) => x.name);
    expect(names).toEqual([...names].sort());
    expect(r.MODEL).toEqual([{ name: 'NGC Private Registry', hostname: 'api.ngc.nvidia.com' }]);
  });

  it('filters the list by artifactType (any-of, case-insensitive, repeated or comma list) and provisionedBy', async () => {
    const m = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody(uniqueName('model')));
    const id = m.json.registryCredential.registryCredentialId;
    const ids = (a: Answer) =>
      (a.json.registryCredentials as { registryCredentialId: string }[]).map((c) => c.registryCredentialId);
    expect(ids(await nvcf('GET', `${NVCF_ROOT}/registry-credentials?artifactType=model`))).toContain(id);
    expect(
      ids(await nvcf('GET', `${NVCF_ROOT}/registry-credentials?artifactType=helm,resource`)),
    ).not.toContain(id);
    expect(
      ids(await nvcf('GET', `${NVCF_ROOT}/registry-credentials?artifactType=container&artifactType=MODEL`)),
    ).toContain(id);
    expect(ids(await nvcf('GET', `${NVCF_ROOT}/registry-credentials?provisionedBy=SYSTEM`))).not.toContain(
      id,
    );
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/registry-credentials?artifactType=IMAGE`),
      400,
      SPRING,
      "Failed to convert 'artifactType' with value: 'IMAGE'",
    );
  });

  it('answers Spring’s 404, 405, 415 and 400 for unknown paths, wrong methods, non-JSON bodies and bad UUIDs', async () => {
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/registry-creds`),
      404,
      SPRING,
      'No static resource v2/nvcf/registry-creds.',
      `${NVCF_ROOT}/registry-creds`,
    );
    const put = await nvcf(
      'PUT',
      `${NVCF_ROOT}/registry-credentials/3fa85f64-5717-4562-b3fc-2c963f66afa6`,
      {},
    );
    expectProblem(
      put,
      405,
      SPRING,
      "Method 'PUT' is not supported.",
      `${NVCF_ROOT}/registry-credentials/3fa85f64-5717-4562-b3fc-2c963f66afa6`,
    );
    expect(put.headers.get('allow')).toBe('GET, PATCH, DELETE');
    expectProblem(
      await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, undefined, {
        raw: 'x',
        contentType: 'text/plain',
      }),
      415,
      SPRING,
      "Content-Type 'text/plain' is not supported.",
    );
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/registry-credentials/not-a-uuid`),
      400,
      SPRING,
      "Failed to convert 'registryCredentialId' with value: 'not-a-uuid'",
      `${NVCF_ROOT}/registry-credentials/not-a-uuid`,
    );
  });
});

describe('NVCF emulator: authentication and scopes', () => {
  it('answers 401 with the gateway’s requestStatus body without a bearer key', async () => {
    const a = await nvcf('GET', `${NVCF_ROOT}/registry-credentials`, undefined, { key: null });
    expect(a.status).toBe(401);
    expect(a.json.requestStatus.statusCode).toBe('UNAUTHORIZED');
    expect(a.json.requestStatus.statusDescription).toBe(
      'Missing or malformed Authorization header: expected Bearer <API key>',
    );
    expect(a.json.requestStatus.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 401 for an unknown key and for a revoked one', async () => {
    expect(
      (await nvcf('GET', `${NVCF_ROOT}/registry-credentials`, undefined, { key: 'nvapi-unknown-key-0000' }))
        .json.requestStatus.statusDescription,
    ).toBe('Invalid API key.');
    const key = await seedKey('nvapi-revoked-key-0001', ['manage_registry_credentials']);
    expect((await nvcf('GET', `${NVCF_ROOT}/registry-credentials`, undefined, { key })).status).toBe(200);
    await control(sb, 'POST', 'nvcf/api-keys/revoke', { key });
    const a = await nvcf('GET', `${NVCF_ROOT}/registry-credentials`, undefined, { key });
    expect(a.status).toBe(401);
    expect(a.json.requestStatus).toMatchObject({
      statusCode: 'UNAUTHORIZED',
      statusDescription: 'Invalid API key.',
    });
  });

  it('answers 403 "Access Denied" to a key without manage_registry_credentials', async () => {
    const key = await seedKey('nvapi-list-only-key-0001', ['list_functions']);
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/registry-credentials`, undefined, { key }),
      403,
      'urn:nv-boot:problem-details:forbidden',
      'Access Denied',
    );
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/recognized-registries`, undefined, { key }),
      403,
      'urn:nv-boot:problem-details:forbidden',
      'Access Denied',
      `${NVCF_ROOT}/recognized-registries`,
    );
  });

  it('validates the body before the scope: a scope-less key with a bad body gets 400', async () => {
    const key = await seedKey('nvapi-list-only-key-0002', ['list_functions']);
    expectProblem(
      await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, undefined, { key, raw: '{' }),
      400,
      SPRING,
      'Failed to read request',
    );
  });

  it('lists nothing for a key whose account does not exist, and 404s everything else', async () => {
    const key = await seedKey('nvapi-ghost-account-key-01', ['manage_registry_credentials'], 'ghost-nca');
    const list = await nvcf('GET', `${NVCF_ROOT}/registry-credentials`, undefined, { key });
    expect(list.status).toBe(200);
    expect(list.json).toEqual({ registryCredentials: [] });
    const id = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    const notFound = `Registry Credential '${id}': Not found in account 'ghost-nca'`;
    const at = `${NVCF_ROOT}/registry-credentials/${id}`;
    expectProblem(
      await nvcf('GET', at, undefined, { key }),
      404,
      'urn:nv-boot:problem-details:not-found',
      notFound,
      at,
    );
    expectProblem(
      await nvcf('PATCH', at, { artifactTypeEnums: ['MODEL'] }, { key }),
      404,
      'urn:nv-boot:problem-details:not-found',
      notFound,
      at,
    );
    expectProblem(
      await nvcf('DELETE', at, undefined, { key }),
      404,
      'urn:nv-boot:problem-details:not-found',
      notFound,
      at,
    );
    expectProblem(
      await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody('m'), { key }),
      404,
      'urn:nv-boot:problem-details:not-found',
      "Account with ncaId 'ghost-nca' not found",
    );
  });

  it('keeps accounts apart: another account’s credential is not found', async () => {
    const mine = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody(uniqueName('model')));
    const id = mine.json.registryCredential.registryCredentialId;
    await control(sb, 'POST', 'seed', {
      nvcf: {
        accounts: [{ ncaId: 'other-nca' }],
        apiKeys: [
          { key: 'nvapi-other-account-key-1', scopes: ['manage_registry_credentials'], account: 'other-nca' },
        ],
      },
    });
    const a = await nvcf('GET', `${NVCF_ROOT}/registry-credentials/${id}`, undefined, {
      key: 'nvapi-other-account-key-1',
    });
    expect(a.status).toBe(404);
    expect(a.json.detail).toBe(`Registry Credential '${id}': Not found in account 'other-nca'`);
  });
});

describe('NVCF emulator: request validation', () => {
  const post = (body: unknown) => nvcf('POST', `${NVCF_ROOT}/registry-credentials`, body);
  const hostnameRegex = '(?=^.{4,253}$)(^((?!-)[a-zA-Z0-9-]{1,63}(?<!-)\\.)+[a-zA-Z0-9]{2,63}$)';

  it('reports every bean-validation violation in Spring’s shape', async () => {
    const a = await post({
      registryHostname: 'https://x/y',
      secret: { name: 'ok', value: NGC_MODEL_VALUE },
      artifactTypes: [],
    });
    expectProblem(
      a,
      400,
      SPRING,
      `Validation failed: [object=addRegistryCredentialRequest, field=registryHostname, rejected=https://x/y, message=Invalid hostname: Must conform to regex ${hostnameRegex}] ` +
        '[object=addRegistryCredentialRequest, field=artifactTypes, rejected=[], message=must not be empty]',
    );
  });

  it('refuses a missing hostname, secret and artifact types', async () => {
    const a = await post({});
    expectProblem(
      a,
      400,
      SPRING,
      'Validation failed: [object=addRegistryCredentialRequest, field=registryHostname, rejected=null, message=must not be blank] ' +
        '[object=addRegistryCredentialRequest, field=secret, rejected=null, message=must not be null] ' +
        '[object=addRegistryCredentialRequest, field=artifactTypes, rejected=null, message=must not be null] ' +
        '[object=addRegistryCredentialRequest, field=artifactTypes, rejected=null, message=must not be empty]',
    );
  });

  it('enforces the tag, description and secret-name limits', async () => {
    const tooMany = Array.from({ length: 65 }, (_, i) => `t${i}`);
    expect((await post({ ...modelBody('n'), tags: tooMany })).json.detail).toContain(
      'field=tags, rejected=[t0, t1,',
    );
    expect((await post({ ...modelBody('n'), tags: tooMany })).json.detail).toContain(
      'message=Maximum number of tags of 64 is exceeded.]',
    );
    expect((await post({ ...modelBody('n'), tags: ['x'.repeat(129)] })).json.detail).toContain(
      'message=Maximum tag length of 128 is exceeded.]',
    );
    expect((await post({ ...modelBody('n'), tags: ['has space'] })).json.detail).toBe(
      'Validation failed: [object=addRegistryCredentialRequest, field=tags[], rejected=has space, message=must match "[a-zA-Z0-9\\-_:=]+"]',
    );
    expect((await post({ ...modelBody('n'), description: 'd'.repeat(257) })).json.detail).toContain(
      'message=Maximum description length of 256 is exceeded.]',
    );
    expect((await post({ ...modelBody('n'), description: 'd'.repeat(256) })).status).toBe(200);
    const longName = 'n'.repeat(49);
    expect((await post(modelBody(longName))).json.detail).toBe(
      `Validation failed: [object=addRegistryCredentialRequest, field=secret.name, rejected=${longName}, message=Invalid secret name: must be 1 - 48 chars long]`,
    );
    expect((await post(modelBody('-dash'))).json.detail).toContain(
      'message=Invalid secret name: Must conform to regex ^[a-z0-9A-Z][a-z0-9A-Z\\_\\.\\-]*$]',
    );
  });

  it('answers "Failed to read request" to bodies Jackson cannot bind', async () => {
    for (const raw of [
      '{',
      '[]',
      '"x"',
      '{"artifactTypes":"CONTAINER"}',
      '{"artifactTypes":["IMAGE"]}',
      '{"secret":{"value":"x"}}',
      '{"registryHostname":{}}',
    ]) {
      expectProblem(
        await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, undefined, { raw }),
        400,
        SPRING,
        'Failed to read request',
      );
    }
  });

  it('accepts enum values in any case and ignores unknown members', async () => {
    const a = await post({
      ...modelBody(uniqueName('model')),
      artifactTypes: ['model', 'Resource'],
      provisionedBy: 'SYSTEM',
      extra: 1,
    });
    expect(a.status).toBe(200);
    expect(a.json.registryCredential.artifactTypes).toEqual(['MODEL', 'RESOURCE']);
    expect(a.json.registryCredential.provisionedBy).toBe('USER');
  });

  it('applies NVCF’s secret-format rules with its exact messages', async () => {
    const format =
      'Invalid request: Registry credential secret must be base64 encoded username:password format';
    const host = { registryHostname: 'api.ngc.nvidia.com', artifactTypes: ['MODEL'] };
    for (const value of [
      { user: 'a' },
      'not base64!',
      b64('a:b:c'),
      b64('user::pass'),
      b64('no-colon'),
      b64(' :pass'),
      `${b64('$oauthtoken:k')}\n`,
    ]) {
      expectProblem(await post({ ...host, secret: { name: 'n', value } }), 400, BAD, format);
    }
    expectBadRequest(
      await post({ ...host, secret: { name: 'n', value: b64('user:key') } }),
      'Invalid request: Missing $oauthtoken username in NGC registry credential',
    );
    // Java's split drops trailing empty strings: "user:pass:" is two parts (`validateSecretFormat`).
    expect(
      (
        await post({
          ...host,
          registryHostname: 'docker.io',
          artifactTypes: ['CONTAINER'],
          secret: { name: uniqueName('dh'), value: b64('user:pass:') },
        })
      ).status,
    ).toBe(200);
  });

  it('refuses hostnames NVCF does not recognise for the type', async () => {
    const body = (registryHostname: string, artifactTypes = ['CONTAINER']) => ({
      registryHostname,
      secret: { name: 'n', value: b64('AKIAIOSFODNN7EXAMPLE:s') },
      artifactTypes,
    });
    // The hostname test of `shouldThrowBadRequestForAddRegistryCredentialsWithInvalidRegion`.
    expectBadRequest(
      await post(body('123456789012.dkr.ecr.invalid-region.amazonaws.com')),
      'Invalid request: CONTAINER registry with hostname 123456789012.dkr.ecr.invalid-region.amazonaws.com is not yet recognized',
    );
    expectBadRequest(
      await post(body('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com')),
      'Invalid request: CONTAINER registry with hostname 123456789012.dkr.ecr-fips.us-east-1.amazonaws.com is not yet recognized',
    );
    expectBadRequest(
      await post(body(HOST, ['MODEL'])),
      `Invalid request: MODEL registry with hostname ${HOST} is not yet recognized`,
    );
  });

  it('checks the secret format before the registry, and the registry before the limit', async () => {
    const a = await post({
      registryHostname: 'unknown.example.com',
      secret: { name: 'n', value: 'bad!' },
      artifactTypes: ['CONTAINER'],
    });
    expect(a.json.detail).toBe(
      'Invalid request: Registry credential secret must be base64 encoded username:password format',
    );
  });

  it('enforces the account limit with count >= max, before uniqueness', async () => {
    await control(sb, 'POST', 'seed', {
      nvcf: {
        accounts: [{ ncaId: 'small-nca', maxRegistryCredentials: 2 }],
        apiKeys: [
          { key: 'nvapi-small-account-key-1', scopes: ['manage_registry_credentials'], account: 'small-nca' },
        ],
      },
    });
    const key = 'nvapi-small-account-key-1';
    expect((await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody('a'), { key })).status).toBe(
      200,
    );
    expect((await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody('b'), { key })).status).toBe(
      200,
    );
    // A duplicate name on a full account: the limit is checked first.
    expectBadRequest(
      await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, modelBody('a'), { key }),
      "Account 'small-nca': Cannot add registry credential - maximum allowed registry credentials (2) exceeded. Current count: 2",
    );
  });

  it('answers 409 for a duplicate (hostname, name) but allows the same name on another host', async () => {
    const name = uniqueName('dup');
    expect((await post(modelBody(name))).status).toBe(200);
    expectProblem(
      await post(modelBody(name)),
      409,
      'urn:nv-boot:problem-details:conflict',
      `Account '${NCA}': Registry credential '${name}' for hostname 'api.ngc.nvidia.com' already exists in the account - Registry credentials must have unique hostname and credential name within an account`,
    );
    expect(
      (
        await post({
          registryHostname: 'docker.io',
          secret: { name, value: b64('user:pat') },
          artifactTypes: ['CONTAINER'],
        })
      ).status,
    ).toBe(200);
  });
});

describe('NVCF emulator: the remote ECR credential check', () => {
  it('creates an ECR credential whose propagated key gets an ECR token', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    expect(c.artifactTypes).toEqual(['CONTAINER']);
    const state = await control<{
      nvcf: { credentials: { registryCredentialId: string; username: string }[] };
    }>(sb, 'GET', 'state');
    expect(
      state.nvcf.credentials.find((x) => x.registryCredentialId === c.registryCredentialId)?.username,
    ).toBe(key.accessKeyId);
  });

  it('relays ECR’s 400 UnrecognizedClientException for a key that has not propagated, then accepts it', async () => {
    const key = await pullKey(false);
    const body = {
      registryHostname: HOST,
      secret: { name: uniqueName(), value: key.value },
      artifactTypes: ['CONTAINER'],
    };
    const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, body);
    expect(a.status).toBe(400);
    expect(a.json.type).toBe(BAD);
    expect(JSON.parse(a.json.detail)).toEqual({
      __type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
    await control(sb, 'POST', 'clock', { advanceSeconds: PROPAGATION_SECONDS });
    expect((await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, body)).status).toBe(200);
  });

  it('refuses an unknown or inactive key the same way', async () => {
    const unknown = b64('AKIAAAAAAAAAAAAAAAAA:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
      registryHostname: HOST,
      secret: { name: uniqueName(), value: unknown },
      artifactTypes: ['CONTAINER'],
    });
    expect(JSON.parse(a.json.detail).__type).toBe('UnrecognizedClientException');
    const key = await pullKey();
    await aws.iam.send(
      new UpdateAccessKeyCommand({
        UserName: key.userName,
        AccessKeyId: key.accessKeyId,
        Status: 'Inactive',
      }),
    );
    const b = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
      registryHostname: HOST,
      secret: { name: uniqueName(), value: key.value },
      artifactTypes: ['CONTAINER'],
    });
    expect(b.status).toBe(400);
    expect(JSON.parse(b.json.detail).__type).toBe('UnrecognizedClientException');
  });

  it('relays a user without ecr:GetAuthorizationToken as ECR’s AccessDeniedException', async () => {
    await aws.iam.send(new CreateUserCommand({ UserName: 'no-ecr-user' }));
    const key = await newKey('no-ecr-user');
    const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
      registryHostname: HOST,
      secret: { name: uniqueName(), value: key.value },
      artifactTypes: ['CONTAINER'],
    });
    const aws4xx = JSON.parse(a.json.detail);
    expect(aws4xx.__type).toBe('AccessDeniedException');
    expect(aws4xx.message).toContain('is not authorized to perform: ecr:GetAuthorizationToken');
  });

  it('passes an AWS 403 through as 403 and maps AWS 5xx to 502', async () => {
    const key = await pullKey();
    const body = () => ({
      registryHostname: HOST,
      secret: { name: uniqueName(), value: key.value },
      artifactTypes: ['CONTAINER'],
    });
    await control(sb, 'POST', 'faults', {
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      error: { status: 403, code: 'AccessDeniedException', message: 'denied' },
    });
    const forbidden = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, body());
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.type).toBe('urn:nv-boot:problem-details:forbidden');
    expect(JSON.parse(forbidden.json.detail)).toEqual({ __type: 'AccessDeniedException', message: 'denied' });
    await control(sb, 'POST', 'faults', {
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      error: { status: 500, code: 'ServerException', message: 'boom' },
    });
    const upstream = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, body());
    expectProblem(
      upstream,
      502,
      'urn:nv-boot:problem-details:upstream',
      'ECR response with 5xx error 500 INTERNAL_SERVER_ERROR - {"__type":"ServerException","message":"boom"}',
    );
  });

  it('checks CONTAINER and HELM but not MODEL/RESOURCE (one ECR call per checked type)', async () => {
    const key = await pullKey();
    await control(sb, 'POST', 'faults', {
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      skip: 1,
      error: { status: 500, message: 'second call' },
    });
    const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
      registryHostname: HOST,
      secret: { name: uniqueName(), value: key.value },
      artifactTypes: ['HELM', 'CONTAINER'],
    });
    expect(a.status).toBe(502);
  });
});

describe('NVCF emulator: PATCH', () => {
  it('replaces the secret in place: renames, bumps lastUpdatedAt, keeps id and createdAt', async () => {
    const key1 = await pullKey();
    const c = await createEcrCredential(key1);
    const key2 = await newKey(key1.userName);
    await control(sb, 'POST', 'clock', { advanceSeconds: 5 });
    const a = await nvcf('PATCH', `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`, {
      secret: { name: 'renamed', value: key2.value },
    });
    expect(a.status).toBe(200);
    const p = a.json.registryCredential;
    expect(p.registryCredentialId).toBe(c.registryCredentialId);
    expect(p.createdAt).toBe(c.createdAt);
    expect(p.registryCredentialName).toBe('renamed');
    expect(Date.parse(p.lastUpdatedAt)).toBeGreaterThan(Date.parse(c.lastUpdatedAt));
    expect(a.text).not.toContain(key2.value);
    const state = await control<{
      nvcf: { credentials: { registryCredentialId: string; username: string }[] };
    }>(sb, 'GET', 'state');
    expect(
      state.nvcf.credentials.find((x) => x.registryCredentialId === c.registryCredentialId)?.username,
    ).toBe(key2.accessKeyId);
  });

  it('reads only secret and artifactTypeEnums: the wrong name artifactTypes makes an empty update', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    const at = `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`;
    expectBadRequest(
      await nvcf('PATCH', at, { artifactTypes: ['HELM'], registryHostname: 'docker.io' }),
      'Invalid request: Either secret or artifact types must be specified',
      at,
    );
    expectBadRequest(
      await nvcf('PATCH', at, {}),
      'Invalid request: Either secret or artifact types must be specified',
      at,
    );
  });

  it('adds artifact types, never removes them, and re-checks the stored secret for the new types', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    const at = `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`;
    const a = await nvcf('PATCH', at, { artifactTypeEnums: ['helm'] });
    expect(a.json.registryCredential.artifactTypes).toEqual(['CONTAINER', 'HELM']);
    expectBadRequest(
      await nvcf('PATCH', at, { artifactTypeEnums: ['MODEL'] }),
      `Invalid request: 'AWS ECR Private Registry' with hostname '${HOST}' not recognized for artifact type 'MODEL'`,
      at,
    );
    await aws.iam.send(
      new UpdateAccessKeyCommand({
        UserName: key.userName,
        AccessKeyId: key.accessKeyId,
        Status: 'Inactive',
      }),
    );
    const b = await nvcf('PATCH', at, { artifactTypeEnums: ['HELM'] });
    expect(b.status).toBe(400);
    expect(JSON.parse(b.json.detail).__type).toBe('UnrecognizedClientException');
  });

  it('answers 409 with NVCF’s trailing space when a rename collides', async () => {
    const key = await pullKey();
    const first = await createEcrCredential(key);
    const second = await createEcrCredential(key);
    const at = `${NVCF_ROOT}/registry-credentials/${second.registryCredentialId}`;
    expectProblem(
      await nvcf('PATCH', at, { secret: { name: first.registryCredentialName, value: key.value } }),
      409,
      'urn:nv-boot:problem-details:conflict',
      `Account '${NCA}': Registry credential '${second.registryCredentialId}' with name '${first.registryCredentialName}' for hostname '${HOST}' exists - Registry credentials must have unique hostname and credential name within an account `,
      at,
    );
  });

  it('checks a new secret against ECR before storing it', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    const fresh = await newKey(key.userName, false);
    const at = `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`;
    const a = await nvcf('PATCH', at, { secret: { name: c.registryCredentialName, value: fresh.value } });
    expect(a.status).toBe(400);
    expect(JSON.parse(a.json.detail).__type).toBe('UnrecognizedClientException');
    const state = await control<{
      nvcf: { credentials: { registryCredentialId: string; username: string }[] };
    }>(sb, 'GET', 'state');
    expect(
      state.nvcf.credentials.find((x) => x.registryCredentialId === c.registryCredentialId)?.username,
    ).toBe(key.accessKeyId);
  });
});

describe('NVCF emulator: DELETE', () => {
  const FID = '11111111-2222-4333-8444-555555555555';

  it('refuses to delete a SYSTEM credential', async () => {
    const id = '0b7d4f1e-2f9a-4a4c-9d3e-1a2b3c4d5e6f';
    await control(sb, 'POST', 'seed', {
      nvcf: {
        credentials: [
          {
            registryCredentialId: id,
            registryHostname: 'nvcr.io',
            secret: { name: 'bootstrap', value: b64('$oauthtoken:nvapi-x') },
            artifactTypes: ['CONTAINER'],
            provisionedBy: 'SYSTEM',
          },
        ],
      },
    });
    const at = `${NVCF_ROOT}/registry-credentials/${id}`;
    expectBadRequest(
      await nvcf('DELETE', at),
      'Invalid request: Cannot delete system provisioned registry credential',
      at,
    );
  });

  it('refuses while any function version uses the host, listing every version', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    const v1 = 'aaaaaaaa-0000-4000-8000-000000000001';
    const v2 = 'aaaaaaaa-0000-4000-8000-000000000002';
    await control(sb, 'POST', 'seed', {
      nvcf: {
        functions: [
          { id: FID, versionId: v1, containerImage: `${HOST}/${REPO}:v1`, status: 'INACTIVE' },
          { id: FID, versionId: v2, containerImage: `${HOST}:443/${REPO}:v2`, status: 'ACTIVE' },
        ],
      },
    });
    const at = `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`;
    const msg = (vid: string) =>
      `Registry Credential '${c.registryCredentialId}': Cannot be deleted as it is in use by Function id '${FID}', version '${vid}' - Delete the function first to be able to delete the registry credential.`;
    expectProblem(await nvcf('DELETE', at), 400, BAD, `[${msg(v1)}, ${msg(v2)}]`, at);
  });

  it('deletes an unused credential with 204', async () => {
    const a = await nvcf('POST', `${NVCF_ROOT}/registry-credentials`, {
      registryHostname: 'docker.io',
      secret: { name: uniqueName('dh'), value: b64('u:p') },
      artifactTypes: ['CONTAINER'],
    });
    const at = `${NVCF_ROOT}/registry-credentials/${a.json.registryCredential.registryCredentialId}`;
    expect((await nvcf('DELETE', at)).status).toBe(204);
    expect((await nvcf('DELETE', at)).status).toBe(404);
  });
});

describe('NVCF emulator: secrets never leave', () => {
  it('returns no secret value from any endpoint, and state shows only the username', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    const texts = [
      (await nvcf('GET', `${NVCF_ROOT}/registry-credentials`)).text,
      (await nvcf('GET', `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`)).text,
    ];
    // The IAM section of the state shows access keys on purpose; NVCF's must not show the credential.
    const state = JSON.stringify((await control<{ nvcf: unknown }>(sb, 'GET', 'state')).nvcf);
    for (const t of [...texts, state]) {
      expect(t).not.toContain(key.value);
      expect(t).not.toContain(key.secretAccessKey);
    }
    expect(state).not.toContain(sb.ngcApiKey);
  });
});

describe('NVCF emulator: functions and deployments', () => {
  const F1 = '6a1b3c5d-0000-4000-8000-00000000f001';
  const F1V1 = '6a1b3c5d-0000-4000-8000-00000000f1a1';
  const F1V2 = '6a1b3c5d-0000-4000-8000-00000000f1a2';
  const PUB = '6a1b3c5d-0000-4000-8000-0000000000b1';
  const PUBV = '6a1b3c5d-0000-4000-8000-0000000000b2';

  beforeAll(async () => {
    await control(sb, 'POST', 'seed', {
      nvcf: {
        functions: [
          {
            id: F1,
            versionId: F1V1,
            name: 'inference',
            status: 'ACTIVE',
            containerImage: `${HOST}/inference:v1`,
          },
          {
            id: F1,
            versionId: F1V2,
            name: 'inference',
            status: 'INACTIVE',
            containerImage: `${HOST}/inference:v2`,
          },
          {
            id: PUB,
            versionId: PUBV,
            name: 'nvidia-public',
            ncaId: 'nvidia-nca',
            status: 'ACTIVE',
            containerImage: 'nvcr.io/nvidia/x:1',
            visibility: 'public',
          },
        ],
        deployments: [
          {
            functionId: F1,
            functionVersionId: F1V1,
            functionStatus: 'ACTIVE',
            deploymentSpecifications: [
              {
                gpu: 'GB200',
                instanceType: 'AWS.GPU.GB200_4x.x2',
                minInstances: 1,
                maxInstances: 2,
                cpuArch: 'arm64',
              },
            ],
          },
        ],
      },
    });
  });

  it('lists one entry per version and filters by visibility', async () => {
    const all = await nvcf('GET', `${NVCF_ROOT}/functions`);
    expect(all.status).toBe(200);
    const mine = (all.json.functions as { id: string; versionId: string }[])
      .filter((f) => f.id === F1)
      .map((f) => f.versionId);
    expect(mine.sort()).toEqual([F1V1, F1V2].sort());
    const priv = await nvcf('GET', `${NVCF_ROOT}/functions?visibility=private`);
    expect((priv.json.functions as { id: string }[]).some((f) => f.id === PUB)).toBe(false);
    const pub = await nvcf('GET', `${NVCF_ROOT}/functions?visibility=public`);
    expect(pub.json.functions).toEqual([expect.objectContaining({ id: PUB, ownedByDifferentAccount: true })]);
    expect(pub.json.functions[0].containerImage).toBeUndefined();
  });

  it('lists distinct function ids, versions of one function and one version', async () => {
    const ids = (await nvcf('GET', `${NVCF_ROOT}/functions/ids?visibility=private`)).json
      .functionIds as string[];
    expect(ids.filter((x) => x === F1)).toHaveLength(1);
    expect((await nvcf('GET', `${NVCF_ROOT}/functions/${F1}/versions`)).json.functions).toHaveLength(2);
    const one = await nvcf('GET', `${NVCF_ROOT}/functions/${F1}/versions/${F1V2}`);
    expect(one.json.function).toMatchObject({
      id: F1,
      versionId: F1V2,
      status: 'INACTIVE',
      containerImage: `${HOST}/inference:v2`,
    });
    const missing = '6a1b3c5d-0000-4000-8000-00000000dead';
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/functions/${missing}/versions`),
      404,
      'urn:nv-boot:problem-details:not-found',
      `Function id '${missing}': Not found in account '${NCA}'`,
      `${NVCF_ROOT}/functions/${missing}/versions`,
    );
  });

  it('returns the deployment of a deployed version and 404 for an undeployed one', async () => {
    const d = await nvcf('GET', `${NVCF_ROOT}/deployments/functions/${F1}/versions/${F1V1}`);
    expect(d.status).toBe(200);
    expect(d.json.deployment).toMatchObject({
      functionId: F1,
      functionVersionId: F1V1,
      deploymentSpecifications: [{ gpu: 'GB200', cpuArch: 'arm64' }],
    });
    expectProblem(
      await nvcf('GET', `${NVCF_ROOT}/deployments/functions/${F1}/versions/${F1V2}`),
      404,
      'urn:nv-boot:problem-details:not-found',
      `Function version '${F1V2}': Deployment not found`,
      `${NVCF_ROOT}/deployments/functions/${F1}/versions/${F1V2}`,
    );
  });

  it('requires list_functions for functions and deploy_function for deployments', async () => {
    const key = await seedKey('nvapi-registry-only-key-1', ['manage_registry_credentials']);
    expect((await nvcf('GET', `${NVCF_ROOT}/functions`, undefined, { key })).status).toBe(403);
    const lister = await seedKey('nvapi-lister-only-key-01', ['list_functions']);
    expect((await nvcf('GET', `${NVCF_ROOT}/functions`, undefined, { key: lister })).status).toBe(200);
    expect(
      (
        await nvcf('GET', `${NVCF_ROOT}/deployments/functions/${F1}/versions/${F1V1}`, undefined, {
          key: lister,
        })
      ).status,
    ).toBe(403);
  });
});

describe('NVCF emulator: fault injection', () => {
  it('answers an injected 429 with Retry-After and Problem Details', async () => {
    await control(sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'ListRegistryCredentials',
      error: { status: 429, message: 'Client is doing too many requests' },
    });
    const a = await nvcf('GET', `${NVCF_ROOT}/registry-credentials`);
    expectProblem(
      a,
      429,
      'urn:nv-boot:problem-details:too-many-requests',
      'Client is doing too many requests',
    );
    expect(a.headers.get('retry-after')).toBe('1');
    expect((await nvcf('GET', `${NVCF_ROOT}/registry-credentials`)).status).toBe(200);
  });

  it('relays an injected error with a code as AWS JSON in detail', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    await control(sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'UpdateRegistryCredential',
      error: {
        status: 400,
        code: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      },
    });
    const a = await nvcf('PATCH', `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`, {
      secret: { name: c.registryCredentialName, value: key.value },
    });
    expect(a.status).toBe(400);
    expect(JSON.parse(a.json.detail)).toEqual({
      __type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it('applies the call before failing it with afterEffect', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    await control(sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'UpdateRegistryCredential',
      afterEffect: true,
      error: { status: 503, message: 'gateway lost the answer' },
    });
    const a = await nvcf('PATCH', `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`, {
      secret: { name: 'after-effect', value: key.value },
    });
    expect(a.status).toBe(503);
    const got = await nvcf('GET', `${NVCF_ROOT}/registry-credentials/${c.registryCredentialId}`);
    expect(got.json.registryCredential.registryCredentialName).toBe('after-effect');
  });

  it('delays a call by delayMs', async () => {
    await control(sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'ListRecognizedRegistries',
      delayMs: 50,
    });
    const a = await nvcf('GET', `${NVCF_ROOT}/recognized-registries`);
    expect(a.status).toBe(200);
    const faults = await control<{ faults: unknown[] }>(sb, 'GET', 'faults');
    expect(faults.faults).toEqual([]);
  });
});

describe('NVCF emulator: POST /_sandbox/nvcf/pull and stale-cache mode', () => {
  let digest: string;

  /** Pushes a one-layer image through the real ECR push API. */
  async function pushImage(tag: string): Promise<string> {
    const upload = async (bytes: Buffer): Promise<string> => {
      const d = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const { uploadId } = await aws.ecr.send(new InitiateLayerUploadCommand({ repositoryName: REPO }));
      await aws.ecr.send(
        new UploadLayerPartCommand({
          repositoryName: REPO,
          uploadId,
          partFirstByte: 0,
          partLastByte: bytes.length - 1,
          layerPartBlob: bytes,
        }),
      );
      await aws.ecr.send(
        new CompleteLayerUploadCommand({ repositoryName: REPO, uploadId, layerDigests: [d] }),
      );
      return d;
    };
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const layer = Buffer.from(`layer of ${tag}`);
    const configDigest = await upload(config);
    const layerDigest = await upload(layer);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
      ],
    });
    await aws.ecr.send(
      new PutImageCommand({
        repositoryName: REPO,
        imageManifest: manifest,
        imageTag: tag,
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      }),
    );
    return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  }

  beforeAll(async () => {
    await aws.ecr.send(new CreateRepositoryCommand({ repositoryName: REPO }));
    digest = await pushImage('v1');
  });

  it('pulls with NVCF’s stored credential: ECR token, then the manifest', async () => {
    const key = await pullKey();
    const c = await createEcrCredential(key);
    const out = await control<{ ok: boolean; credentialId: string; digest: string }>(
      sb,
      'POST',
      'nvcf/pull',
      { image: `${HOST}/${REPO}:v1` },
    );
    expect(out.ok).toBe(true);
    expect(out.digest).toBe(digest);
    expect(typeof out.credentialId).toBe('string');
    expect(c.registryCredentialId).toBeDefined();
  });

  it('says which part failed: no credential for the host, a refused key, a missing image', async () => {
    const none = await control<{ ok: boolean; error: string }>(sb, 'POST', 'nvcf/pull', {
      image: `999999999999.dkr.ecr.us-east-1.amazonaws.com/${REPO}:v1`,
    });
    expect(none).toEqual({
      ok: false,
      error:
        "Missing CONTAINER registry credential for hostname '999999999999.dkr.ecr.us-east-1.amazonaws.com'",
      attempts: [],
    });
    const missing = await control<{ ok: boolean; error: string }>(sb, 'POST', 'nvcf/pull', {
      image: `${HOST}/${REPO}:no-such-tag`,
    });
    expect(missing.ok).toBe(false);
    expect(missing.error).toContain('registry answered 404');
  });

  it('serves the previous secret after a PATCH while stale-cache mode lasts', async () => {
    // An account of its own, so that its one credential is the only one NVCF can pull with.
    const key = 'nvapi-stale-account-key-01';
    await control(sb, 'POST', 'seed', {
      nvcf: {
        accounts: [{ ncaId: 'stale-nca' }],
        apiKeys: [{ key, scopes: ['manage_registry_credentials'], account: 'stale-nca' }],
      },
    });
    const key1 = await pullKey();
    const created = await nvcf(
      'POST',
      `${NVCF_ROOT}/registry-credentials`,
      { registryHostname: HOST, secret: { name: 'stale', value: key1.value }, artifactTypes: ['CONTAINER'] },
      { key },
    );
    const id = created.json.registryCredential.registryCredentialId;
    const pull = () =>
      control<{ ok: boolean; stale: boolean; error: string; attempts: { stale: boolean }[] }>(
        sb,
        'POST',
        'nvcf/pull',
        { image: `${HOST}/${REPO}:v1`, ncaId: 'stale-nca' },
      );
    expect(await pull()).toMatchObject({ ok: true, stale: false });
    await control(sb, 'POST', 'nvcf/stale-cache', { seconds: 300 });
    const key2 = await newKey(key1.userName);
    expect(
      (
        await nvcf(
          'PATCH',
          `${NVCF_ROOT}/registry-credentials/${id}`,
          { secret: { name: 'stale', value: key2.value } },
          { key },
        )
      ).status,
    ).toBe(200);
    // NVCF still hands out the old key: it works while active...
    expect(await pull()).toMatchObject({ ok: true, stale: true });
    // ...and a rotation that deactivates it too early breaks new instances.
    await aws.iam.send(
      new UpdateAccessKeyCommand({
        UserName: key1.userName,
        AccessKeyId: key1.accessKeyId,
        Status: 'Inactive',
      }),
    );
    const stale = await pull();
    expect(stale.ok).toBe(false);
    expect(stale.attempts[0]?.stale).toBe(true);
    expect(stale.error).toBe(
      `ECR GetAuthorizationToken refused key ${key1.accessKeyId.slice(0, 4)}…${key1.accessKeyId.slice(-4)}: UnrecognizedClientException`,
    );
    await control(sb, 'POST', 'clock', { advanceSeconds: 301 });
    expect(await pull()).toMatchObject({ ok: true, stale: false });
    await control(sb, 'POST', 'nvcf/stale-cache', { seconds: 0 });
  });

  it('refuses to pull from another account’s registry even when the key gets an ECR token', async () => {
    // An account of its own, so that this credential is the only one NVCF holds for that host.
    const key = 'nvapi-other-registry-key-01';
    await control(sb, 'POST', 'seed', {
      nvcf: {
        accounts: [{ ncaId: 'other-registry-nca' }],
        apiKeys: [{ key, scopes: ['manage_registry_credentials'], account: 'other-registry-nca' }],
      },
    });
    const other = `999999999999.dkr.ecr.${sb.region}.amazonaws.com`;
    const pull = await pullKey();
    // NVCF's check only exchanges the key for a token (`EcrCredentialValidationService`): it cannot tell whose
    // registry it is.
    const created = await nvcf(
      'POST',
      `${NVCF_ROOT}/registry-credentials`,
      { registryHostname: other, secret: { name: 'other', value: pull.value }, artifactTypes: ['CONTAINER'] },
      { key },
    );
    expect(created.status).toBe(200);
    const out = await control(sb, 'POST', 'nvcf/pull', {
      image: `${other}/${REPO}:v1`,
      ncaId: 'other-registry-nca',
    });
    expect(out).toEqual({
      ok: false,
      error: `registry ${other} is not served by this sandbox (account ${sb.accountId}, partition aws): it is account 999999999999's registry, and the sandbox emulates one account without cross-account repository policies, so NVCF's pull would fail`,
      attempts: [],
    });
  });

  it('refuses to pull from a region outside the sandbox’s partition', async () => {
    const gov = `${sb.accountId}.dkr.ecr.us-gov-west-1.amazonaws.com`;
    // Seeded (no remote check): NVCF recognises GovCloud hostnames, the sandbox's ECR does not serve them.
    await control(sb, 'POST', 'seed', {
      nvcf: {
        accounts: [{ ncaId: 'gov-registry-nca' }],
        credentials: [
          {
            ncaId: 'gov-registry-nca',
            registryHostname: gov,
            secret: { name: 'gov', value: (await pullKey()).value },
            artifactTypes: ['CONTAINER'],
          },
        ],
      },
    });
    const out = await control(sb, 'POST', 'nvcf/pull', {
      image: `${gov}/${REPO}:v1`,
      ncaId: 'gov-registry-nca',
    });
    expect(out).toEqual({
      ok: false,
      error: `registry ${gov} is not served by this sandbox (account ${sb.accountId}, partition aws): region us-gov-west-1 is not a region of partition aws`,
      attempts: [],
    });
  });

  it('refuses a pull request without an image', async () => {
    const res = await fetch(`${sb.controlEndpoint}/_sandbox/nvcf/pull`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'body must be {"image": "<registry>/<repository>:<tag>"}' });
  });
});

describe('NVCF emulator: robustness and persistence', () => {
  it('never crashes on malformed input', async () => {
    const bodies = [
      '',
      'null',
      '{"secret":null}',
      '{"secret":{"name":1,"value":[]}}',
      '{"artifactTypes":[null]}',
      '\u0000',
      '{"tags":{}}',
      `{"registryHostname":"${'a'.repeat(10_000)}"}`,
    ];
    for (const raw of bodies) {
      for (const [method, path] of [
        ['POST', `${NVCF_ROOT}/registry-credentials`],
        ['PATCH', `${NVCF_ROOT}/registry-credentials/3fa85f64-5717-4562-b3fc-2c963f66afa6`],
      ] as const) {
        const a = await nvcf(method, path, undefined, { raw });
        expect(a.status).toBeGreaterThanOrEqual(400);
        expect(a.status).toBeLessThan(500);
      }
    }
    expect((await nvcf('GET', '/v2/nvcf/registry-credentials/%zz')).status).toBe(400);
    expect((await nvcf('GET', '/')).status).toBe(404);
  });

  it('round-trips its state through JSON (snapshot and restore)', async () => {
    const m = sb.modules.find((x) => x.name === 'nvcf');
    if (!m) throw new Error('nvcf module missing');
    const before = JSON.stringify(m.inspect());
    const snap = JSON.parse(JSON.stringify(m.snapshot()));
    m.reset();
    expect(JSON.stringify(m.inspect())).not.toBe(before);
    m.restore(snap);
    expect(JSON.stringify(m.inspect())).toBe(before);
  });

  it('reports bad seeds as control-plane errors', async () => {
    const res = await fetch(`${sb.controlEndpoint}/_sandbox/seed`, {
      method: 'POST',
      body: JSON.stringify({ nvcf: { functions: [{ id: 'x' }] } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'nvcf seed: functions[0] needs string id and versionId (one entry per function version)',
    });
  });
});
