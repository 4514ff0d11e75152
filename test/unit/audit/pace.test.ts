import { ImageSourceError, ManifestError } from '@nvcf-ecr/core/errors';
import { describe, expect, it } from 'vitest';
import {
  AdaptiveGate,
  isThrottling,
  isTransient,
  mapLimit,
  withBackoff,
} from '../../../packages/core/src/audit/pace.ts';
import { expectRejection } from '../core/expect-error.ts';

const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });
const denied = () =>
  Object.assign(new Error('not allowed'), {
    name: 'AccessDeniedException',
    $metadata: { httpStatusCode: 403 },
  });

describe('Function: isThrottling', () => {
  it('recognises HTTP 429, throttling error names and a throttling cause behind a wrapper', () => {
    expect(isThrottling(Object.assign(new Error('slow down'), { $metadata: { httpStatusCode: 429 } }))).toBe(
      true,
    );
    expect(isThrottling(throttled())).toBe(true);
    expect(isThrottling(new ImageSourceError('ecr:BatchGetImage failed', true, { cause: throttled() }))).toBe(
      true,
    );
    expect(isThrottling(denied())).toBe(false);
    expect(isThrottling(new ImageSourceError('network', true))).toBe(false);
  });
});

describe('Function: isTransient', () => {
  it('retries throttling, 5xx and self-declared transient failures, not client faults or missing content', () => {
    expect(isTransient(throttled())).toBe(true);
    expect(isTransient(Object.assign(new Error('boom'), { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransient(new ImageSourceError('reset', true))).toBe(true);
    expect(isTransient(new ImageSourceError('no such repository', false))).toBe(false);
    expect(isTransient(new ManifestError('not-found', 'gone'))).toBe(false);
    expect(isTransient(denied())).toBe(false);
  });
});

describe('Function: withBackoff', () => {
  it('retries a throttled call with full-jitter exponential waits until it succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const value = await withBackoff(
      async () => {
        calls++;
        if (calls < 4) throw throttled();
        return 'ok';
      },
      { baseMs: 100, capMs: 250, random: () => 0.5, sleep: async (ms) => void waits.push(ms) },
    );
    expect(value).toBe('ok');
    // random 0.5 × min(cap 250, 100·2^n) for n = 0, 1, 2.
    expect(waits).toEqual([50, 100, 125]);
  });

  it.each([
    {
      name: 'gives up after the attempts and rethrows the last failure',
      failure: throttled,
      attempts: 3,
      message: 'Rate exceeded',
      calls: 3,
    },
    {
      name: 'does not retry a failure that will not pass',
      failure: denied,
      message: 'not allowed',
      calls: 1,
    },
  ])('$name', async ({ failure, attempts, message, calls: expected }) => {
    let calls = 0;
    await expectRejection(
      () =>
        withBackoff(
          async () => {
            calls++;
            throw failure();
          },
          { ...(attempts === undefined ? {} : { attempts }), sleep: async () => {} },
        ),
      Error,
      message,
    );
    expect(calls).toBe(expected);
  });
});

describe('Class: AdaptiveGate', () => {
  it('never runs more calls at once than its limit', async () => {
    const gate = new AdaptiveGate(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        gate.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setImmediate(r));
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('halves its limit on each throttled call and climbs back by one per window of successes', async () => {
    const gate = new AdaptiveGate(8);
    for (const expected of [4, 2, 1, 1]) {
      await gate.run(async () => Promise.reject(throttled())).catch(() => undefined);
      expect(gate.limit).toBe(expected);
    }
    expect(gate.throttled).toBe(4);
    await gate.run(async () => 'ok');
    expect(gate.limit).toBe(2);
    await gate.run(async () => 'ok');
    expect(gate.limit).toBe(2);
    await gate.run(async () => 'ok');
    expect(gate.limit).toBe(3);
  });
});

describe('Function: mapLimit', () => {
  it('keeps input order and bounds concurrency', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
