import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ecrPublicImageLister } from '../../../functions/lib/aws/ecr-public.ts';
import { AwsNetworkError, AwsServiceError } from '../../../functions/lib/aws/errors.ts';
import { eventBridgeBus } from '../../../functions/lib/aws/eventbridge.ts';
import {
  awsCaller,
  awsJson,
  endpointFromEnvironment,
  regionalEndpoint,
  retryDelayMs,
} from '../../../functions/lib/aws/request.ts';
import { objectUrl, s3ObjectStore } from '../../../functions/lib/aws/s3.ts';

// The audit bundle's signed AWS calls (functions/lib/aws/) against a local server that records what arrives
// and answers as told: the signature AWS's signer gives the same request, the SDK's standard retries, the
// per-attempt timeout and the error shapes core reads. The same adapters run against the sandbox's S3,
// EventBridge and ECR Public in test/e2e/audit and test/stacks/synth-command.test.ts.

const CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

let server: Server;
let base: string;
let received: Received[] = [];
let answers: Answer[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const answer = answers.shift() ?? { status: 200, body: '' };
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
afterEach(() => {
  received = [];
  answers = [];
  vi.unstubAllEnvs();
});

const sleeps: number[] = [];
const caller = (extra: Partial<Parameters<typeof awsCaller>[0]> = {}) =>
  awsCaller({
    service: 'events',
    region: 'eu-west-1',
    credentials: CREDENTIALS,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    ...extra,
  });
const throttled = { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' };

describe('Signed AWS requests: the signature', () => {
  it('sends the Authorization that AWS’s signer computes for the same request, with the session token', async () => {
    const body = '{"Entries":[]}';
    await awsJson(caller(), new URL(base), 'events:PutEvents', 'AWSEvents.PutEvents', JSON.parse(body));
    const got = received[0] as Received;
    expect(got.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    const date = got.headers['x-amz-date'] as string;
    const signingDate = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const reference = new SignatureV4({
      service: 'events',
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      sha256: Sha256,
    });
    const url = new URL(base);
    const expected = await reference.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        query: {},
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AWSEvents.PutEvents',
        },
        body,
      },
      { signingDate },
    );
    expect(got.body.toString()).toBe(body);
    expect(got.headers['authorization']).toBe(expected.headers['authorization']);
    expect(got.headers['authorization']).toContain(
      `Credential=${CREDENTIALS.accessKeyId}/${date.slice(0, 8)}/eu-west-1/events/aws4_request`,
    );
  });

  it('takes the execution role’s credentials from the Lambda environment when given none', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAENVEXAMPLE000001');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'x'.repeat(40));
    vi.stubEnv('AWS_SESSION_TOKEN', 'env-session');
    await caller({ credentials: undefined })({
      operation: 'events:PutEvents',
      method: 'POST',
      url: new URL(base),
    });
    expect(received[0]?.headers['authorization']).toContain('Credential=ASIAENVEXAMPLE000001/');
    expect(received[0]?.headers['x-amz-security-token']).toBe('env-session');
  });

  it('signs an S3 key as sent, and stores and reads objects path-style against an endpoint override', async () => {
    const store = s3ObjectStore({
      region: 'us-east-1',
      endpoint: base,
      credentials: CREDENTIALS,
      random: () => 0,
    });
    answers = [{ status: 200 }, { status: 200, body: 'pack' }];
    await store.put('reports', 'cache/v1/host:5000/team/app (1).json', '{"a":1}', 'application/json');
    expect(await store.get('reports', 'reports/x.json')).toEqual(new TextEncoder().encode('pack'));
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'PUT /reports/cache/v1/host%3A5000/team/app%20%281%29.json',
      'GET /reports/reports/x.json',
    ]);
    expect(received[0]?.headers['content-type']).toBe('application/json');
    expect(received[0]?.headers['x-amz-content-sha256']).toBe(
      '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862',
    );
  });

  it('addresses AWS virtual-hosted style, and path-style for a bucket with a dot', () => {
    expect(objectUrl('eu-west-1', 'reports-abc', 'reports/a.json').href).toBe(
      'https://reports-abc.s3.eu-west-1.amazonaws.com/reports/a.json',
    );
    expect(objectUrl('cn-north-1', 'my.bucket', 'k').href).toBe(
      'https://s3.cn-north-1.amazonaws.com.cn/my.bucket/k',
    );
  });

  it('gives each partition its own DNS suffix, as the SDK clients it replaces do', () => {
    const host = (region: string) => regionalEndpoint('events', region).host;
    expect(host('us-gov-west-1')).toBe('events.us-gov-west-1.amazonaws.com');
    expect(host('cn-northwest-1')).toBe('events.cn-northwest-1.amazonaws.com.cn');
    expect(host('us-iso-east-1')).toBe('events.us-iso-east-1.c2s.ic.gov');
    expect(host('us-isob-east-1')).toBe('events.us-isob-east-1.sc2s.sgov.gov');
    expect(host('eusc-de-east-1')).toBe('events.eusc-de-east-1.amazonaws.eu');
    expect(objectUrl('us-iso-east-1', 'reports-abc', 'a.json').host).toBe(
      'reports-abc.s3.us-iso-east-1.c2s.ic.gov',
    );
  });
});

describe('Signed AWS requests: the endpoint from the environment, as SDK clients read it', () => {
  it('prefers the service’s variable, then AWS_ENDPOINT_URL, and none when told to ignore them', async () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_ECR_PUBLIC: 'http://127.0.0.1:2' };
    expect(endpointFromEnvironment('ECR_PUBLIC', env)).toBe('http://127.0.0.1:2');
    expect(endpointFromEnvironment('S3', env)).toBe('http://127.0.0.1:1');
    expect(
      endpointFromEnvironment('S3', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }),
    ).toBeUndefined();
    expect(endpointFromEnvironment('S3', {})).toBeUndefined();
    vi.stubEnv('AWS_ENDPOINT_URL_S3', base);
    answers = [{ status: 200, body: 'x' }];
    await s3ObjectStore({ region: 'us-east-1', credentials: CREDENTIALS }).get('b', 'k');
    expect(received.map((r) => r.url)).toEqual(['/b/k']);
  });
});

describe('Signed AWS requests: retries, timeouts and errors', () => {
  afterEach(() => void sleeps.splice(0));

  it('retries 5xx and throttling with the SDK’s jittered backoff, up to maxAttempts', async () => {
    answers = [
      { status: 503, body: '<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>' },
      throttled,
    ];
    const res = await caller()({ operation: 'events:PutEvents', method: 'POST', url: new URL(base) });
    expect(res.status).toBe(200);
    expect(received).toHaveLength(3);
    // SlowDown is throttling (500 ms base), then ThrottlingException on the second attempt: 0.5 × 500 × 2^n.
    expect(sleeps).toEqual([250, 500]);
    expect(retryDelayMs(2, false, () => 0.5)).toBe(200);
    expect(retryDelayMs(30, true, () => 0.999)).toBeCloseTo(19_980);
  });

  it('throws the last error with its AWS code and status once the attempts are spent', async () => {
    answers = [
      { status: 500, headers: { 'x-amzn-errortype': 'InternalException:http://internal' }, body: '{}' },
      { status: 500, body: '{"__type":"com.amazon.coral#InternalException","message":"try later"}' },
    ];
    const err = await caller({ maxAttempts: 2 })({
      operation: 'events:PutEvents',
      method: 'POST',
      url: new URL(base),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsServiceError);
    expect(err).toMatchObject({
      name: 'InternalException',
      message: 'try later (events:PutEvents, HTTP 500)',
      $fault: 'server',
      $metadata: { httpStatusCode: 500, attempts: 2 },
    });
    expect(received).toHaveLength(2);
  });

  it('does not retry a client error, and names no credential in it', async () => {
    answers = [
      { status: 403, body: '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' },
    ];
    const store = s3ObjectStore({ region: 'us-east-1', endpoint: base, credentials: CREDENTIALS });
    const err = await store.get('reports', 'cache/a.json').catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ name: 'AccessDenied', message: 'Access Denied (s3:GetObject, HTTP 403)' });
    expect(received).toHaveLength(1);
    const text = JSON.stringify({ ...(err as object), message: (err as Error).message });
    for (const secret of [CREDENTIALS.secretAccessKey, CREDENTIALS.sessionToken])
      expect(text).not.toContain(secret);
  });

  it('does not follow a redirect: the signature was for this host, and the 3xx is the error', async () => {
    answers = [
      {
        status: 307,
        headers: { location: `${base}/elsewhere/cache/a.json` },
        body: '<Error><Code>TemporaryRedirect</Code><Message>Please re-send this request to the specified temporary endpoint.</Message></Error>',
      },
    ];
    const store = s3ObjectStore({ region: 'us-east-1', endpoint: base, credentials: CREDENTIALS });
    const err = await store.get('reports', 'cache/a.json').catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ name: 'TemporaryRedirect' });
    expect(received.map((r) => r.url)).toEqual(['/reports/cache/a.json']);
  });

  it('answers undefined for NoSuchKey', async () => {
    answers = [
      {
        status: 404,
        body: '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
      },
    ];
    const store = s3ObjectStore({ region: 'us-east-1', endpoint: base, credentials: CREDENTIALS });
    expect(await store.get('reports', 'cache/none.json')).toBeUndefined();
  });

  it('abandons an attempt that gets no answer within the timeout, and retries it', async () => {
    answers = ['hang', 'hang'];
    const err = await caller({ maxAttempts: 2, requestTimeoutMs: 50 })({
      operation: 'events:PutEvents',
      method: 'POST',
      url: new URL(base),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsNetworkError);
    expect(err).toMatchObject({ name: 'TimeoutError', $metadata: { attempts: 2 } });
    expect((err as Error).message).toContain('events:PutEvents to 127.0.0.1:');
    expect(received).toHaveLength(2);
  });

  it('retries a refused connection and names the system error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await caller()({
      operation: 'events:PutEvents',
      method: 'POST',
      url: new URL(`http://127.0.0.1:${port}/`),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ECONNREFUSED', $metadata: { attempts: 3 } });
    expect(sleeps).toHaveLength(2);
  });
});

describe('EventBridge PutEvents over AWS JSON 1.1', () => {
  it('sends Time as epoch seconds and returns the answer, refused entries included', async () => {
    answers = [
      {
        status: 200,
        body: '{"FailedEntryCount":1,"Entries":[{"ErrorCode":"AccessDeniedException","ErrorMessage":"no"}]}',
      },
    ];
    const bus = eventBridgeBus({ region: 'eu-west-1', endpoint: base, credentials: CREDENTIALS });
    const out = await bus.putEvents([
      {
        Source: 's',
        DetailType: 'd',
        Detail: '{}',
        Resources: [],
        EventBusName: 'b',
        Time: new Date(1_700_000_000_500),
      },
    ]);
    expect(out).toEqual({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'no' }],
    });
    expect(received[0]?.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(JSON.parse(received[0]?.body.toString() ?? '')).toEqual({
      Entries: [
        {
          Source: 's',
          DetailType: 'd',
          Detail: '{}',
          Resources: [],
          EventBusName: 'b',
          Time: 1_700_000_000.5,
        },
      ],
    });
  });
});

describe('ECR Public DescribeImages over AWS JSON 1.1', () => {
  it('signs for ecr-public in us-east-1, reads imagePushedAt as epoch seconds, and throws the API’s error by name', async () => {
    answers = [
      {
        status: 200,
        body: '{"imageDetails":[{"imageDigest":"sha256:a","imageTags":["v1"],"imagePushedAt":1700000000}],"nextToken":"n"}',
      },
      {
        status: 400,
        headers: { 'x-amzn-errortype': 'RepositoryNotFoundException' },
        body: '{"message":"The repository with name \'gone\' does not exist"}',
      },
    ];
    const lister = ecrPublicImageLister({ region: 'us-east-1', endpoint: base, credentials: CREDENTIALS });
    expect(await lister.describeImages({ repositoryName: 'app', maxResults: 1000 })).toEqual({
      imageDetails: [
        { imageDigest: 'sha256:a', imageTags: ['v1'], imagePushedAt: new Date(1_700_000_000_000) },
      ],
      nextToken: 'n',
    });
    expect(received[0]?.headers['x-amz-target']).toBe('SpencerFrontendService.DescribeImages');
    expect(received[0]?.headers['authorization']).toMatch(/\/us-east-1\/ecr-public\/aws4_request, /);
    expect(JSON.parse(received[0]?.body.toString() ?? '')).toEqual({
      repositoryName: 'app',
      maxResults: 1000,
    });
    await expect(lister.describeImages({ repositoryName: 'gone' })).rejects.toMatchObject({
      name: 'RepositoryNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
  });
});
