import { DescribeRepositoriesCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ListUsersCommand } from '@aws-sdk/client-iam';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { type RunningSandbox, SandboxError, startSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Throttle, validateLatency, withLatency } from '../../../packages/sandbox/src/pacing.ts';
import type { SandboxRequest } from '../../../packages/sandbox/src/server/http.ts';
import { clients, control, rejection } from '../../helpers/sandbox.ts';

/**
 * The benchmark options of the sandbox: a per-call latency on the emulated services' listeners and
 * per-operation token buckets that refuse calls as the throttled service does
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html). Both
 * are off unless asked for. No timing is asserted: the latency is observed through the order of events.
 */

interface CallView {
  service: string;
  operation: string;
  status: number;
  code?: string;
  fault: boolean;
}

async function callsOf(sb: RunningSandbox, service: string): Promise<CallView[]> {
  return (await control<{ calls: CallView[] }>(sb, 'GET', `calls?service=${service}`)).calls;
}

describe('Class: Throttle', () => {
  it('lets `burst` calls through from a full bucket, refuses the next, and refills at `rate` per second', () => {
    let now = 0;
    const throttle = new Throttle({ 'ecr.DescribeImages': { rate: 2, burst: 3 } }, () => now);
    const take = () => throttle.take('ecr', 'DescribeImages');
    expect([take(), take(), take(), take()]).toEqual([true, true, true, false]);
    now = 499; // 0.998 credits at 2 per second: still not one whole credit
    expect(take()).toBe(false);
    now = 500; // one credit
    expect([take(), take()]).toEqual([true, false]);
    now = 100_000; // refill stops at the burst
    expect([take(), take(), take(), take()]).toEqual([true, true, true, false]);
  });

  it('never throttles an operation without a bucket, nor anything when none is configured', () => {
    const throttle = new Throttle({ 'ecr.DescribeImages': { rate: 1, burst: 1 } }, () => 0);
    expect(Array.from({ length: 50 }, () => throttle.take('ecr', 'BatchGetImage')).every(Boolean)).toBe(true);
    const none = new Throttle();
    expect(none.enabled).toBe(false);
    expect(Array.from({ length: 50 }, () => none.take('s3', 'GetObject')).every(Boolean)).toBe(true);
  });

  it('rejects a key that does not name a known service and an operation', () => {
    const make = (key: string) => () => new Throttle({ [key]: { rate: 1, burst: 1 } });
    expect(make('DescribeImages')).toThrow(SandboxError);
    expect(make('dynamodb.GetItem')).toThrow(
      `throttle key 'dynamodb.GetItem' must be "<service>.<Operation>" with a service among ecr, ecr-public, iam, sts, secretsmanager, events, s3, registry, nvcf, e.g. "ecr.DescribeImages"`,
    );
    expect(make('ecr.')).toThrow(SandboxError);
  });

  it('rejects a rate that is not positive and a burst that is not a positive whole number', () => {
    expect(() => new Throttle({ 'ecr.BatchGetImage': { rate: 0, burst: 1 } })).toThrow(
      "throttle['ecr.BatchGetImage'].rate must be a positive number of calls per second",
    );
    expect(() => new Throttle({ 'ecr.BatchGetImage': { rate: 5, burst: 0.5 } })).toThrow(
      "throttle['ecr.BatchGetImage'].burst must be a positive whole number of calls",
    );
  });
});

describe('Function: withLatency', () => {
  const request = { method: 'GET', rawPath: '/' } as SandboxRequest;

  it('waits latencyMs before handing each request to the handler', async () => {
    const events: string[] = [];
    const handler = withLatency(
      async () => {
        events.push('handled');
        return { status: 200 };
      },
      20,
      async (ms) => {
        events.push(`slept ${ms}`);
      },
    );
    await handler(request);
    await handler(request);
    expect(events).toEqual(['slept 20', 'handled', 'slept 20', 'handled']);
  });

  it('returns the handler itself when latencyMs is 0', () => {
    const handler = async () => ({ status: 204 });
    expect(withLatency(handler, 0)).toBe(handler);
  });
});

describe('Function: validateLatency', () => {
  it('rejects a negative or unbounded latency, naming the option', () => {
    expect(() => validateLatency(-1)).toThrow(SandboxError);
    expect(() => validateLatency(Number.POSITIVE_INFINITY)).toThrow(
      'latencyMs must be a number of milliseconds from 0 to 60000, got Infinity',
    );
    expect(validateLatency(undefined)).toBe(0);
  });
});

describe('Sandbox: throttling', () => {
  let sb: RunningSandbox;
  let admin: ReturnType<typeof clients>;
  // Rates so low that no credit comes back during the test: the burst alone decides.
  const slow = { rate: 0.001, burst: 2 };

  beforeAll(async () => {
    sb = await startSandbox({
      throttle: {
        'ecr.DescribeRepositories': slow,
        'iam.ListUsers': slow,
        's3.ListBuckets': slow,
        'registry.Ping': slow,
        'nvcf.ListRegistryCredentials': slow,
      },
    });
    admin = clients(sb);
  });
  afterAll(() => sb.close());

  it('answers ECR ThrottlingException (400, "Rate exceeded") once the operation’s bucket is empty', async () => {
    await admin.ecr.send(new DescribeRepositoriesCommand({}));
    await admin.ecr.send(new DescribeRepositoriesCommand({}));
    const err = await rejection(admin.ecr.send(new DescribeRepositoriesCommand({})));
    expect(err.name).toBe('ThrottlingException');
    expect(err.message).toBe('Rate exceeded');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    // Other operations of the service keep their own (absent) limit.
    await expect(admin.ecr.send(new GetAuthorizationTokenCommand({}))).resolves.toBeDefined();
    const log = (await callsOf(sb, 'ecr')).filter((c) => c.operation === 'DescribeRepositories');
    expect(log.map((c) => [c.status, c.code ?? null, c.fault])).toEqual([
      [200, null, false],
      [200, null, false],
      [400, 'ThrottlingException', false],
    ]);
  });

  it('answers the Query services’ Throttling and S3’s SlowDown', async () => {
    await admin.iam.send(new ListUsersCommand({}));
    await admin.iam.send(new ListUsersCommand({}));
    const iam = await rejection(admin.iam.send(new ListUsersCommand({})));
    expect([iam.name, iam.message, iam.$metadata?.httpStatusCode]).toEqual([
      'Throttling',
      'Rate exceeded',
      400,
    ]);

    await admin.s3.send(new ListBucketsCommand({}));
    await admin.s3.send(new ListBucketsCommand({}));
    const s3 = await rejection(admin.s3.send(new ListBucketsCommand({})));
    expect([s3.name, s3.message, s3.$metadata?.httpStatusCode]).toEqual([
      'SlowDown',
      'Please reduce your request rate.',
      503,
    ]);
  });

  it('answers the registry’s 429 TOOMANYREQUESTS', async () => {
    const { authorizationData } = await admin.ecr.send(new GetAuthorizationTokenCommand({}));
    const ping = () =>
      fetch(`${sb.registryEndpoint}/v2/`, {
        headers: { authorization: `Basic ${authorizationData?.[0]?.authorizationToken}` },
      });
    expect((await ping()).status).toBe(200);
    expect((await ping()).status).toBe(200);
    const refused = await ping();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      errors: [expect.objectContaining({ code: 'TOOMANYREQUESTS', message: 'Rate exceeded' })],
    });
  });

  it('answers NVCF’s 429 with Retry-After', async () => {
    const list = () =>
      fetch(`${sb.nvcfEndpoint}/v2/nvcf/registry-credentials`, {
        headers: { authorization: `Bearer ${sb.ngcApiKey}` },
      });
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    const refused = await list();
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '1']);
    expect(await refused.json()).toMatchObject({ status: 429, detail: 'Rate exceeded' });
  });

  it('refuses to start with a malformed throttle', async () => {
    await expect(startSandbox({ throttle: { 'ecr.BatchGetImage': { rate: -1, burst: 1 } } })).rejects.toThrow(
      "throttle['ecr.BatchGetImage'].rate must be a positive number of calls per second",
    );
  });
});

describe('Sandbox: latency', () => {
  let sb: RunningSandbox;
  const LATENCY_MS = 1500;

  beforeAll(async () => {
    sb = await startSandbox({ latencyMs: LATENCY_MS });
  });
  afterAll(() => sb.close());

  it('holds each call before the service handles it, while the control plane answers at once', async () => {
    const admin = clients(sb);
    let answered = false;
    const call = admin.ecr.send(new DescribeRepositoriesCommand({})).then(() => {
      answered = true;
    });
    // The control plane is not delayed: it answers while the ECR call is still on its way, unhandled.
    const during = await callsOf(sb, 'ecr');
    expect([answered, during]).toEqual([false, []]);
    await call;
    expect((await callsOf(sb, 'ecr')).map((c) => [c.operation, c.status])).toEqual([
      ['DescribeRepositories', 200],
    ]);
  });

  it('refuses to start with a negative latency', async () => {
    await expect(startSandbox({ latencyMs: -5 })).rejects.toThrow(
      'latencyMs must be a number of milliseconds from 0 to 60000, got -5',
    );
  });
});

describe('Sandbox: request log', () => {
  let sb: RunningSandbox;

  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());

  it('records calls refused at authentication, with the key that signed them', async () => {
    const stranger = clients(sb, {
      credentials: {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
    });
    const err = await rejection(stranger.ecr.send(new DescribeRepositoriesCommand({})));
    expect(err.name).toBe('UnrecognizedClientException');
    await rejection(stranger.iam.send(new ListUsersCommand({})));
    const log = await control<{ calls: (CallView & { accessKeyId?: string })[] }>(sb, 'GET', 'calls');
    expect(log.calls.map((c) => [c.service, c.operation, c.status, c.code, c.accessKeyId])).toEqual([
      ['ecr', 'DescribeRepositories', 400, 'UnrecognizedClientException', 'AKIAIOSFODNN7EXAMPLE'],
      ['iam', 'ListUsers', 403, 'InvalidClientTokenId', 'AKIAIOSFODNN7EXAMPLE'],
    ]);
  });
});
