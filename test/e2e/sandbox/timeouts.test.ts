import type { Config } from '@nvcf-ecr/core/config';
import { FUNCTIONS } from '@nvcf-ecr/core/events';
import type { LambdaContextLike, RunningSandbox, RuntimeFunction } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prodConfig } from '../../helpers/config.ts';
import { control, withSandbox } from '../../helpers/sandbox.ts';

/**
 * The local runtime enforces each function's timeout as Lambda does: the context counts down to the deadline,
 * the invocation fails with Lambda's `Sandbox.Timedout` error at it, and asynchronous invocations retry that
 * error, then dead-letter the event.
 */

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:slow';

describe('Sandbox: Lambda timeouts', () => {
  let sb: RunningSandbox;
  const seen: number[] = [];

  beforeAll(async () => {
    sb = await withSandbox({ asyncRetryDelaysMs: [10, 10] });
    sb.lambda.register({
      arn: ARN,
      name: 'slow',
      timeoutSeconds: 0.3,
      memoryMb: 128,
      handler: async (_event: unknown, context: LambdaContextLike) => {
        seen.push(context.getRemainingTimeInMillis());
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return 'too late';
      },
    });
  });
  afterAll(() => sb.close());

  it('fails a synchronous invocation at the deadline the context counted down to', async () => {
    seen.length = 0;
    const started = Date.now();
    const err = (await sb.lambda.invoke(ARN, {}).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('Sandbox.Timedout');
    expect(err.message).toBe('Task timed out after 0.30 seconds');
    expect(Date.now() - started).toBeLessThan(900);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeGreaterThan(200);
    expect(seen[0]).toBeLessThanOrEqual(300);
  });

  it('retries a timed-out asynchronous invocation twice, then dead-letters it', async () => {
    seen.length = 0;
    sb.lambda.invokeAsync(ARN, { n: 1 }, 'aws.events');
    await sb.settle(10_000);
    expect(seen).toHaveLength(3);
    expect(sb.lambda.deadLetters.at(-1)).toMatchObject({
      functionArn: ARN,
      attempts: 3,
      error: { name: 'Sandbox.Timedout', message: 'Task timed out after 0.30 seconds' },
    });
  });
});

describe('Sandbox: the runtime registers the stacks’ timeouts', () => {
  const config: Config = prodConfig();
  const remaining = async (sb: RunningSandbox): Promise<number> => {
    const fn = (await control<{ runtime: { functions: RuntimeFunction[] } }>(sb, 'GET', 'state')).runtime
      .functions[0];
    return (await sb.lambda.invoke(fn?.arn ?? '', {})) as number;
  };
  const handlers = {
    retireKeys: () => async (_e: unknown, context: LambdaContextLike) => context.getRemainingTimeInMillis(),
  };

  it('gives each function its deployed timeout, or the one a test sets', async () => {
    const deployed = await withSandbox({ config, handlers });
    try {
      const ms = await remaining(deployed);
      expect(ms).toBeGreaterThan(FUNCTIONS.retireKeys.timeoutSeconds * 1000 - 1_000);
      expect(ms).toBeLessThanOrEqual(FUNCTIONS.retireKeys.timeoutSeconds * 1000);
    } finally {
      await deployed.close();
    }
    const shortened = await withSandbox({ config, handlers, functionTimeoutSeconds: { retireKeys: 2 } });
    try {
      const ms = await remaining(shortened);
      expect(ms).toBeGreaterThan(1_000);
      expect(ms).toBeLessThanOrEqual(2_000);
    } finally {
      await shortened.close();
    }
  });

  it('refuses a timeout Lambda would refuse, naming it', async () => {
    await expect(
      withSandbox({ config, handlers, functionTimeoutSeconds: { retireKeys: 901 } }),
    ).rejects.toThrow(
      "functionTimeoutSeconds.retireKeys must be a number of seconds above 0 and at most 900 (Lambda's maximum), got 901",
    );
  });
});
