import type { Config } from '@nvcf-ecr/core/config';
import { FUNCTIONS } from '@nvcf-ecr/core/events';
import type {
  HandlerEnvironment,
  LambdaContextLike,
  LambdaHandler,
  RunningSandbox,
  RuntimeFunction,
} from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prodConfig } from '../../helpers/config.ts';
import { control, withSandbox } from '../../helpers/sandbox.ts';

/**
 * The local runtime enforces each function's timeout as Lambda does: the context counts down to the deadline,
 * the invocation fails with Lambda's `Sandbox.Timedout` error at it, and asynchronous invocations retry that
 * error, then dead-letter the event. Pauses on the virtual clock count against the invocation that makes them.
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

describe('Sandbox: pauses on the virtual clock', () => {
  let sb: RunningSandbox;
  const arn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
  const register = (name: string, timeoutSeconds: number, handler: LambdaHandler) =>
    sb.lambda.register({ arn: arn(name), name, timeoutSeconds, memoryMb: 128, handler });

  beforeAll(async () => {
    sb = await withSandbox({});
  });
  afterAll(() => sb.close());

  it('advances the clock by a pause and charges it to the invocation that paused, not to one running beside it', async () => {
    let paused: () => void = () => {};
    const pausing = new Promise<void>((resolve) => {
      paused = resolve;
    });
    register('pauses', 300, async (_e, context) => {
      const before = context.getRemainingTimeInMillis();
      await sb.lambda.pause(60_000);
      paused();
      return before - context.getRemainingTimeInMillis();
    });
    register('beside', 300, async (_e, context) => {
      await pausing;
      return context.getRemainingTimeInMillis();
    });
    const clockBefore = sb.world.clock.nowMs();
    const [charged, besideLeft] = (await Promise.all([
      sb.lambda.invoke(arn('pauses'), {}),
      sb.lambda.invoke(arn('beside'), {}),
    ])) as [number, number];
    expect(sb.world.clock.nowMs() - clockBefore).toBeGreaterThanOrEqual(60_000);
    expect(charged).toBeGreaterThanOrEqual(60_000);
    expect(charged).toBeLessThan(61_000);
    expect(besideLeft).toBeGreaterThan(299_000);
  });

  it('ends an invocation whose pause outlasts its time left at its deadline, as Lambda stops it', async () => {
    const after: string[] = [];
    register('overlong', 2, async () => {
      await sb.lambda.pause(10_000);
      after.push('ran after the deadline');
    });
    const clockBefore = sb.world.clock.nowMs();
    const err = (await sb.lambda.invoke(arn('overlong'), {}).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ name: 'Sandbox.Timedout', message: 'Task timed out after 2.00 seconds' });
    const advanced = sb.world.clock.nowMs() - clockBefore;
    expect(advanced).toBeGreaterThanOrEqual(1_900);
    expect(advanced).toBeLessThan(10_000);
    expect(after).toEqual([]);
  });

  it('hands functions these pauses with virtualWaits, and real ones without', async () => {
    const config: Config = prodConfig();
    const handlers = {
      retireKeys: (env: HandlerEnvironment) => async () => {
        if (!env.waits) return 'no waits';
        const from = env.waits.monotonic();
        await env.waits.sleep(30_000);
        return env.waits.monotonic() - from;
      },
    };
    const fnArn = arn(FUNCTIONS.retireKeys.name);
    const virtual = await withSandbox({ config, handlers, virtualWaits: true });
    try {
      expect(await virtual.lambda.invoke(fnArn, {})).toBeGreaterThanOrEqual(30_000);
    } finally {
      await virtual.close();
    }
    const real = await withSandbox({ config, handlers });
    try {
      expect(await real.lambda.invoke(fnArn, {})).toBe('no waits');
    } finally {
      await real.close();
    }
  });
});
