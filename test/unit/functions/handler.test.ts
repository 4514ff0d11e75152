import { assertConfig, serializeConfig } from '@nvcf-ecr/core/config';
import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV, environmentFromProcess, invocable } from '../../../functions/lib/environment.ts';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import config from '../../../nvcf-ecr.config.ts';

// What every handler factory gets from lib/: the metric sink of its environment and the one way a handler is
// invoked with or without a Lambda context.

const metric = { name: 'RotationSucceeded', value: 1, dimensions: { Registry: 'prod' } } as const;

describe('Handler environment: metrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes EMF lines to stdout in Lambda', () => {
    vi.stubEnv(ENV.config, serializeConfig(assertConfig(config)));
    vi.stubEnv(ENV.eventBus, 'dev-nvcf-ecr-autopilot');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    environmentFromProcess().metrics(metric);
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(doc).toMatchObject({ RotationSucceeded: 1, Registry: 'prod' });
    expect(doc['_aws']).toMatchObject({ CloudWatchMetrics: [{ Metrics: [{ Name: 'RotationSucceeded' }] }] });
  });

  it('logs them at debug on the sandbox, where no CloudWatch reads stdout', () => {
    const sink = memorySink();
    const env = fromSandboxEnvironment({
      config: assertConfig(config),
      accountId: '123456789012',
      region: 'us-east-1',
      endpoints: { aws: 'http://127.0.0.1:1', nvcf: 'http://127.0.0.1:2' },
      credentials: { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'x'.repeat(40) },
      now: () => new Date(0),
      logger: createLogger({ sink, level: 'debug' }),
      eventBusName: 'sandbox-nvcf-ecr-autopilot',
      reportBucket: 'reports',
    });
    env.metrics(metric);
    expect(sink.records).toEqual([
      expect.objectContaining({ level: 'debug', message: 'metric', fields: { metric } }),
    ]);
  });
});

describe('Handler invocation', () => {
  it('passes the event and Lambda context through', async () => {
    const handler = vi.fn(async (event: { n: number }, context: object) => ({ event, context }));
    const context = { awsRequestId: 'r-1', getRemainingTimeInMillis: () => 1000 };
    await expect(invocable(handler)({ n: 1 }, context)).resolves.toEqual({ event: { n: 1 }, context });
  });

  it('gives middy an empty context object when the caller has none (the sandbox, tests)', async () => {
    const handler = vi.fn(async (_event: unknown, context: object) => context);
    await expect(invocable(handler)({})).resolves.toEqual({});
  });
});
