import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '@nvcf-ecr/core/log';
import type { VirtualClock } from '../clock.ts';
import { FunctionNotFoundError } from '../errors.ts';
import * as ids from '../ids.ts';
import type { WorkTracker } from '../tracker.ts';
import type { LambdaContextLike, LambdaInvoker } from '../world.ts';

/**
 * Local Lambda: the runtime registers the real handlers (from `functions/`, composed by the CLI or a test) by
 * ARN; Secrets Manager invokes rotation functions synchronously, EventBridge and schedules invoke
 * asynchronously. Asynchronous invocations follow Lambda's semantics: on error, retried twice (3 attempts in
 * all, AWS's default `MaximumRetryAttempts: 2`), then recorded as dead letters — the on-failure destination
 * the stacks configure. Delays between attempts are configurable (AWS waits about 1 and 2 minutes).
 *
 * Each function's timeout is enforced in real time, as Lambda enforces it: the context's
 * `getRemainingTimeInMillis()` counts down to the deadline, and at the deadline the invocation fails with
 * Lambda's `Sandbox.Timedout` error ("Task timed out after 300.00 seconds"), which an asynchronous invocation
 * retries like any error. Lambda then stops the execution environment; a JavaScript promise cannot be
 * stopped in-process, so calls the handler still makes after its deadline reach the sandbox — a handler
 * must not count on its late work, and tests judge it by what it did before the deadline.
 *
 * Pauses on the virtual clock ({@link LambdaRegistry.pause}, what the runtime hands functions as their `sleep`
 * with `virtualWaits`): a pause advances the clock instead of sleeping and is charged to the invocation that
 * paused — its `getRemainingTimeInMillis()` drops by it, as a real pause's would — and to no other invocation
 * running meanwhile. A pause longer than the invocation's time left ends it at its timeout, as Lambda does.
 */

/** One running invocation's time: real elapsed plus its own virtual pauses count against its timeout. */
interface InvocationTime {
  readonly timeoutMs: number;
  readonly startedMs: number;
  pausedMs: number;
  /** The invocation returned or failed: work it left behind pauses like code outside any invocation. */
  done: boolean;
  remaining(): number;
  /** Ends the invocation with Lambda's timeout error now (a pause ran past the deadline). */
  timedOut(): void;
  /** Re-arms the real-time deadline after a pause shortened it. */
  rearm(): void;
}

export type LambdaHandler = (event: unknown, context: LambdaContextLike) => Promise<unknown>;

export interface LambdaFunction {
  readonly arn: string;
  readonly name: string;
  readonly handler: LambdaHandler;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface DeadLetter {
  readonly functionArn: string;
  readonly source: string;
  readonly event: unknown;
  readonly error: { name: string; message: string };
  readonly attempts: number;
  readonly time: string;
}

export interface InvocationRecord {
  readonly functionArn: string;
  readonly source: string;
  readonly mode: 'sync' | 'async';
  readonly attempt: number;
  readonly ok: boolean;
  readonly error?: { name: string; message: string } | undefined;
  readonly time: string;
}

export interface LambdaRegistryOptions {
  tracker: WorkTracker;
  log: Logger;
  now: () => Date;
  /** The virtual clock pauses advance (without it, {@link LambdaRegistry.pause} sleeps in real time). */
  clock?: VirtualClock | undefined;
  /** Delays before the 2nd and 3rd attempt of an asynchronous invocation. */
  asyncRetryDelaysMs?: readonly number[];
}

export class LambdaRegistry implements LambdaInvoker {
  readonly #functions = new Map<string, LambdaFunction>();
  readonly #options: LambdaRegistryOptions;
  readonly deadLetters: DeadLetter[] = [];
  readonly invocations: InvocationRecord[] = [];
  readonly #running = new AsyncLocalStorage<InvocationTime>();

  public constructor(options: LambdaRegistryOptions) {
    this.#options = options;
  }

  public register(fn: LambdaFunction): void {
    this.#functions.set(fn.arn, fn);
  }

  public clear(): void {
    this.#functions.clear();
    this.deadLetters.length = 0;
    this.invocations.length = 0;
  }

  public list(): LambdaFunction[] {
    return [...this.#functions.values()];
  }

  public has(arn: string): boolean {
    return this.#functions.has(arn);
  }

  public async invoke(arn: string, event: unknown, source = 'sync', attempt = 1): Promise<unknown> {
    const fn = this.#functions.get(arn);
    if (!fn) throw new FunctionNotFoundError(arn);
    return this.#options.tracker.track(async () => {
      const started = Date.now();
      const time = startTime(fn.timeoutSeconds * 1000, started);
      const context: LambdaContextLike = {
        awsRequestId: ids.requestId(),
        functionName: fn.name,
        functionVersion: '$LATEST',
        invokedFunctionArn: fn.arn,
        memoryLimitInMB: String(fn.memoryMb),
        logGroupName: `/aws/lambda/${fn.name}`,
        logStreamName: `sandbox/${started}`,
        callbackWaitsForEmptyEventLoop: false,
        getRemainingTimeInMillis: () => time.remaining(),
      };
      const at = this.#options.now().toISOString();
      try {
        const result = await withTimeout(
          () => this.#running.run(time, () => fn.handler(event, context)),
          time,
        );
        this.invocations.push({
          functionArn: arn,
          source,
          mode: source === 'sync' ? 'sync' : 'async',
          attempt,
          ok: true,
          time: at,
        });
        return result;
      } catch (err) {
        const error = {
          name: (err as Error)?.name ?? 'Error',
          message: (err as Error)?.message ?? String(err),
        };
        this.invocations.push({
          functionArn: arn,
          source,
          mode: source === 'sync' ? 'sync' : 'async',
          attempt,
          ok: false,
          error,
          time: at,
        });
        throw err;
      }
    });
  }

  /**
   * A pause of `ms` on the virtual clock (see the class comment): advances the clock and yields once. Inside an
   * invocation it is charged to that invocation; one longer than its time left advances the clock to its
   * deadline and ends it there (`Sandbox.Timedout`), and the pause never returns, as the code of a function Lambda
   * stopped never runs again. Without a virtual clock it sleeps.
   */
  public async pause(ms: number): Promise<void> {
    const clock = this.#options.clock;
    if (!clock) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return;
    }
    const store = this.#running.getStore();
    const time = store?.done === false ? store : undefined;
    const left = time?.remaining();
    if (time && left !== undefined && ms >= left) {
      clock.advance(left / 1000);
      time.pausedMs += left;
      time.timedOut();
      await new Promise(() => {});
    }
    clock.advance(Math.max(0, ms) / 1000);
    if (time) {
      time.pausedMs += Math.max(0, ms);
      time.rearm();
    }
    await new Promise((resolve) => setImmediate(resolve));
  }

  public invokeAsync(arn: string, event: unknown, source: string): void {
    const delays = this.#options.asyncRetryDelaysMs ?? [100, 200];
    const attempt = (n: number): Promise<void> =>
      this.invoke(arn, event, source, n).then(
        () => undefined,
        (err: unknown) => {
          const error = {
            name: (err as Error)?.name ?? 'Error',
            message: (err as Error)?.message ?? String(err),
          };
          if (err instanceof FunctionNotFoundError || n > delays.length) {
            this.deadLetters.push({
              functionArn: arn,
              source,
              event,
              error,
              attempts: n,
              time: this.#options.now().toISOString(),
            });
            this.#options.log.warn('asynchronous invocation failed for good: dead-lettered', {
              functionArn: arn,
              source,
              attempts: n,
              error: error.message,
            });
            return;
          }
          this.#options.tracker.later(delays[n - 1] ?? 0, () => attempt(n + 1));
        },
      );
    this.#options.tracker.later(0, () => attempt(1));
  }
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`Task timed out after ${(ms / 1000).toFixed(2)} seconds`), {
    name: 'Sandbox.Timedout',
  });
}

/** The time of one invocation; {@link withTimeout} arms its deadline. */
function startTime(timeoutMs: number, startedMs: number): InvocationTime {
  return {
    timeoutMs,
    startedMs,
    pausedMs: 0,
    done: false,
    remaining() {
      return Math.max(0, this.timeoutMs - (Date.now() - this.startedMs) - this.pausedMs);
    },
    timedOut: () => {},
    rearm: () => {},
  };
}

/** Races `run()` against the invocation's deadline: real time, moved earlier by the invocation's virtual pauses. */
async function withTimeout<T>(run: () => Promise<T>, time: InvocationTime): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const fire = () => reject(timeoutError(time.timeoutMs));
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(fire, time.remaining());
      timer.unref?.();
    };
    time.timedOut = fire;
    time.rearm = arm;
    arm();
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    if (timer) clearTimeout(timer);
    // Work the handler left behind may still pause: the invocation is over, its deadline no longer fires.
    time.done = true;
    time.timedOut = () => {};
    time.rearm = () => {};
  }
}
