/**
 * Retry policy of the NVCF client: capped exponential backoff with full jitter (the AWS Architecture Blog's
 * "Exponential Backoff and Jitter": `random() * min(maxDelay, base * 2^attempt)`), `Retry-After` honoured
 * when the server sends it, and a total time budget no attempt or wait may exceed.
 */

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts: number;
  /** Backoff base (default 200 ms). */
  baseDelayMs: number;
  /** Longest wait between attempts (default 5 s); a `Retry-After` longer than this ends the retries. */
  maxDelayMs: number;
  /** Budget for the whole call, waits and attempts included (default 30 s). */
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxTotalMs: 30_000,
};

/** Validates and completes retry options; throws RangeError naming the bad member. */
export function resolveRetry(partial: Partial<RetryOptions> | undefined): RetryOptions {
  const r = { ...DEFAULT_RETRY, ...partial };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new RangeError(`retry.${k} must be a non-negative number, got ${String(v)}`);
  }
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1)
    throw new RangeError(`retry.maxAttempts must be an integer ≥ 1, got ${r.maxAttempts}`);
  return r;
}

/** Full-jitter delay before retry number `retry` (1 for the first retry). */
export function backoffDelay(retry: number, options: RetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(Math.min(1, Math.max(0, random())) * ceiling);
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to `nowMs`.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Statuses worth another attempt: throttling and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
