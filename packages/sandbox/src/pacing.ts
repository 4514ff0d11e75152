import { SandboxError } from './errors.ts';
import { FAULT_SERVICES, type FaultService } from './faults.ts';
import type { RequestHandler } from './server/http.ts';

/**
 * Pacing for benchmarks: a uniform per-call latency (what an AWS API round trip costs, so that a run on
 * 127.0.0.1 shows how many round trips the code waits for) and per-operation token buckets that refuse calls
 * the way a throttled AWS API does. Both are off by default: tests and the demo run at loopback speed.
 *
 * Throttling follows AWS's documented model for ECR
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html): each operation has a bucket of
 * `burst` credits refilled at `rate` per second; a call takes one credit, and a call that finds none is refused —
 * it is never queued, the client has to back off and retry.
 */

/** `rate` calls per second sustained, `burst` calls at once from a full bucket. */
export interface RateLimit {
  readonly rate: number;
  readonly burst: number;
}

/** Buckets by `"<service>.<Operation>"`, e.g. `{"ecr.DescribeImages": {"rate": 10, "burst": 20}}`. */
export type ThrottleOptions = Readonly<Record<string, RateLimit>>;

/** Longest latency accepted: a minute is already far beyond any API round trip. */
export const MAX_LATENCY_MS = 60_000;

/** Checks `latencyMs`; throws {@link SandboxError} naming the option. */
export function validateLatency(latencyMs: unknown): number {
  if (latencyMs === undefined) return 0;
  if (
    typeof latencyMs !== 'number' ||
    !Number.isFinite(latencyMs) ||
    latencyMs < 0 ||
    latencyMs > MAX_LATENCY_MS
  ) {
    throw new SandboxError(
      `latencyMs must be a number of milliseconds from 0 to ${MAX_LATENCY_MS}, got ${String(latencyMs)}`,
    );
  }
  return latencyMs;
}

/**
 * Delays every request `handler` receives by `latencyMs` before handling it: the request's travel to the
 * service. One delay per request, whatever the answer (an error costs a round trip too).
 */
export function withLatency(
  handler: RequestHandler,
  latencyMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): RequestHandler {
  if (latencyMs <= 0) return handler;
  return async (req) => {
    await sleep(latencyMs);
    return handler(req);
  };
}

/** A token bucket: full at start, refilled continuously. */
class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  public constructor(limit: RateLimit, now: number) {
    this.#rate = limit.rate;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#last = now;
  }

  public take(now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * The sandbox's throttle: one bucket per configured operation, shared by every caller (AWS meters per account
 * and region; the sandbox emulates one of each). Operations without a bucket are never throttled.
 */
export class Throttle {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #now: () => number;

  /**
   * @param options buckets by `"<service>.<Operation>"`; validated here (throws {@link SandboxError})
   * @param now milliseconds of a monotonic clock (real time: rates are per real second, not virtual)
   */
  public constructor(options: ThrottleOptions = {}, now: () => number = () => performance.now()) {
    this.#now = now;
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new SandboxError(
        'throttle must be an object of {"<service>.<Operation>": {rate, burst}}, e.g. {"ecr.DescribeImages": {"rate": 10, "burst": 20}}',
      );
    }
    for (const [key, limit] of Object.entries(options)) {
      const dot = key.indexOf('.');
      const service = key.slice(0, dot) as FaultService;
      if (dot <= 0 || dot === key.length - 1 || !FAULT_SERVICES.includes(service)) {
        throw new SandboxError(
          `throttle key '${key}' must be "<service>.<Operation>" with a service among ${FAULT_SERVICES.join(', ')}, e.g. "ecr.DescribeImages"`,
        );
      }
      const { rate, burst } = (limit ?? {}) as Partial<RateLimit>;
      if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
        throw new SandboxError(`throttle['${key}'].rate must be a positive number of calls per second`);
      }
      if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1) {
        throw new SandboxError(`throttle['${key}'].burst must be a positive whole number of calls`);
      }
      this.#buckets.set(key, new TokenBucket({ rate, burst }, now()));
    }
  }

  /** Whether any operation is throttled. */
  public get enabled(): boolean {
    return this.#buckets.size > 0;
  }

  /** Takes a credit for one call; false means "refuse it as throttled". */
  public take(service: FaultService, operation: string): boolean {
    const bucket = this.#buckets.get(`${service}.${operation}`);
    return bucket === undefined || bucket.take(this.#now());
  }
}
