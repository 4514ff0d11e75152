/**
 * Bounded waiting without fixed sleeps. New IAM keys take seconds to work
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency)
 * and NVCF checks a key against ECR before storing it (`RegistryCredentialValidationService` in NVIDIA/nvcf),
 * so several steps poll until something becomes true. Polls start short and grow (100 ms, ×1.5, capped at
 * 500 ms by default): a key that works after 2 s is noticed within one interval of it — the benchmark's
 * "propagation + 1.5 s" — while a slow one costs a few calls per second at most. Every wait has a total
 * budget well inside the Lambda timeout; when it runs out the caller throws and Secrets Manager retries the
 * whole rotation.
 */

export interface BackoffOptions {
  /** First pause (default 100 ms). */
  readonly initialDelayMs: number;
  /** Growth of each pause (default 1.5). */
  readonly factor: number;
  /** Longest pause (default 500 ms). */
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 100, factor: 1.5, maxDelayMs: 500 };

/**
 * One poll: done with a value, or not yet (with why, for the log and the timeout message, and — when the
 * service said how long to stay away, e.g. NVCF's `Retry-After` — the shortest pause before the next poll).
 */
export type Poll<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false; readonly reason: string; readonly retryAfterMs?: number | undefined };

export const done = <T>(value: T): Poll<T> => ({ done: true, value });
export const notYet = (reason: string, options: { retryAfterMs?: number | undefined } = {}): Poll<never> =>
  options.retryAfterMs === undefined
    ? { done: false, reason }
    : { done: false, reason, retryAfterMs: options.retryAfterMs };

export interface WaitOptions {
  /** Total time allowed, polls and pauses included. */
  readonly budgetMs: number;
  readonly backoff?: Partial<BackoffOptions> | undefined;
  /** Pauses between polls (tests pass a fake). */
  readonly sleep: (ms: number) => Promise<void>;
  /** A monotonic clock in milliseconds (real elapsed time: the budget protects the Lambda timeout). */
  readonly monotonic: () => number;
  /** Called before each pause (log lines at debug). */
  readonly onRetry?: ((reason: string, attempt: number, delayMs: number) => void) | undefined;
  /** The error to throw when the budget runs out, given the last reason and the number of polls. */
  readonly onTimeout: (lastReason: string, attempts: number, elapsedMs: number) => Error;
}

/**
 * Polls `poll` until it is done, pausing with growing intervals, and throws `onTimeout(...)` once the budget
 * is spent. Errors thrown by `poll` end the wait at once: a poll reports "not yet" only for answers that
 * waiting can change. The last poll never starts after the budget: a pause that would end past it is
 * shortened to end exactly at it, and one last poll runs there. A poll that was asked to stay away
 * (`retryAfterMs`) pauses at least that long — polling sooner only earns another refusal and hammers the
 * service — and when that pause would end past the budget the wait gives up at once, saying so.
 */
export async function waitUntil<T>(poll: () => Promise<Poll<T>>, options: WaitOptions): Promise<T> {
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const start = options.monotonic();
  let delay = backoff.initialDelayMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const result = await poll();
    if (result.done) return result.value;
    const elapsed = options.monotonic() - start;
    const left = options.budgetMs - elapsed;
    if (left <= 0) throw options.onTimeout(result.reason, attempts, elapsed);
    const asked = result.retryAfterMs ?? 0;
    if (asked > left) {
      throw options.onTimeout(
        `${result.reason}, more than the ${Math.round(left / 1000)} s left of this wait`,
        attempts,
        elapsed,
      );
    }
    const pause = Math.min(Math.max(delay, asked), left);
    options.onRetry?.(result.reason, attempts, pause);
    await options.sleep(pause);
    delay = Math.min(backoff.maxDelayMs, delay * backoff.factor);
  }
}
