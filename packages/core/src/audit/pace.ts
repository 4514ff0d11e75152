/**
 * Pacing for an audit that reads thousands of images: bounded concurrency, an adaptive limit on calls to a
 * throttled API, and backoff with full jitter. The SDK's own retries (standard mode, 3 attempts) stop once its
 * retry quota is spent, which a burst of throttling on a large registry spends in seconds; these helpers keep
 * the audit going at the rate the service allows instead.
 */

import { isServerError, isThrottlingError } from '../aws-errors.ts';

/** Sleeps; tests pass a fake that advances nothing. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `items` with at most `limit` in flight; results in input order; rejects with the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** True for an answer that says "slow down" (HTTP 429 or a throttling error name, here or in a cause). */
export const isThrottling = isThrottlingError;

/** True for failures worth retrying: throttling, 5xx, and errors that declare themselves transient. */
export function isTransient(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  if (isThrottlingError(err) || isServerError(err)) return true;
  if ((err as { transient?: unknown }).transient === true) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isTransient(cause);
}

export interface BackoffOptions {
  /** Attempts in all, the first included (default 6). */
  attempts?: number;
  /** First delay before jitter (default 200 ms); doubles per attempt. */
  baseMs?: number;
  /** Longest delay before jitter (default 10 s). */
  capMs?: number;
  sleep?: Sleep;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /** Which failures to retry (default {@link isTransient}). */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait (metrics, logs). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Calls `fn` until it succeeds or a failure is not retryable or the attempts are spent, waiting with
 * exponential backoff and full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog: a random wait
 * in [0, min(cap, base·2^n)) spreads retries of many concurrent callers best).
 */
export async function withBackoff<T>(fn: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 6);
  const base = options.baseMs ?? 200;
  const cap = options.capMs ?? 10_000;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const retryable = options.retryable ?? isTransient;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      const delay = Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      options.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}

/**
 * A concurrency limit that adapts to throttling (additive increase, multiplicative decrease, as TCP does):
 * each throttled call halves the limit, each run of `limit` successful calls raises it by one, between 1 and
 * `max`. All calls to one API share one gate, so a throttled audit slows down as a whole instead of every
 * worker retrying at full speed.
 */
export class AdaptiveGate {
  private readonly max: number;
  private current: number;
  private inFlight = 0;
  private successes = 0;
  private readonly waiting: (() => void)[] = [];
  /** Times the limit was lowered (reported in the audit's stats). */
  public throttled = 0;

  public constructor(max: number) {
    this.max = Math.max(1, Math.floor(max));
    this.current = this.max;
  }

  /** The current limit. */
  public get limit(): number {
    return this.current;
  }

  /** Runs `fn` when a slot is free; records whether it was throttled. */
  public async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      const value = await fn();
      this.succeeded();
      return value;
    } catch (err) {
      if (isThrottling(err)) this.slowDown();
      throw err;
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.current) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.inFlight++;
        resolve();
      });
    });
  }

  private release(): void {
    this.inFlight--;
    while (this.inFlight < this.current && this.waiting.length > 0) this.waiting.shift()?.();
  }

  private succeeded(): void {
    this.successes++;
    if (this.successes >= this.current && this.current < this.max) {
      this.current++;
      this.successes = 0;
    }
  }

  private slowDown(): void {
    this.throttled++;
    this.successes = 0;
    this.current = Math.max(1, Math.floor(this.current / 2));
  }
}

/** Memoises an async computation: every caller shares the first call's promise. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn();
    return p;
  };
}
