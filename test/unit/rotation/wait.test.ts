import { done, notYet, type Poll, waitUntil } from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';

/** A fake clock that sleeping advances, and a record of the pauses. */
function fakeTime(pollCostMs = 0) {
  let now = 0;
  const pauses: number[] = [];
  return {
    pauses,
    monotonic: () => now,
    sleep: async (ms: number) => {
      pauses.push(ms);
      now += ms;
    },
    spend: () => {
      now += pollCostMs;
    },
  };
}

class TimedOut extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'TimedOut';
  }
}

describe('Function: waitUntil', () => {
  it('polls with pauses growing from 100 ms by half each time, capped at 500 ms', async () => {
    const t = fakeTime();
    let polls = 0;
    const value = await waitUntil(
      async (): Promise<Poll<string>> => (++polls === 8 ? done('ready') : notYet('not yet')),
      { budgetMs: 60_000, sleep: t.sleep, monotonic: t.monotonic, onTimeout: () => new TimedOut('x') },
    );
    expect(value).toBe('ready');
    // 100 × 1.5^n: 100, 150, 225, 337.5, then the 500 ms cap.
    expect(t.pauses).toEqual([100, 150, 225, 337.5, 500, 500, 500]);
  });

  it('notices a condition that becomes true at 2 s within one capped pause of it', async () => {
    const t = fakeTime();
    await waitUntil(async () => (t.monotonic() >= 2000 ? done(undefined) : notYet('propagating')), {
      budgetMs: 60_000,
      sleep: t.sleep,
      monotonic: t.monotonic,
      onTimeout: () => new TimedOut('x'),
    });
    expect(t.monotonic()).toBeGreaterThanOrEqual(2000);
    expect(t.monotonic()).toBeLessThan(2000 + 500);
  });

  it('throws the caller’s error with the last reason once the budget is spent, without pausing past it', async () => {
    const t = fakeTime(10);
    let n = 0;
    const err = await waitUntil(
      async () => {
        t.spend();
        return notYet(`reason ${++n}`);
      },
      {
        budgetMs: 1000,
        sleep: t.sleep,
        monotonic: t.monotonic,
        onTimeout: (reason, attempts, elapsed) =>
          new TimedOut(`${reason} after ${attempts} polls and ${elapsed} ms`),
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimedOut);
    expect((err as Error).message).toBe(`reason ${n} after ${n} polls and ${t.monotonic()} ms`);
    // The last pause ends exactly at the budget, and one last poll runs there.
    expect(t.monotonic()).toBe(1000 + 10);
  });

  it('ends the wait at once when a poll throws', async () => {
    const t = fakeTime();
    const boom = new TimedOut('boom');
    await expect(
      waitUntil(
        async () => {
          throw boom;
        },
        { budgetMs: 1000, sleep: t.sleep, monotonic: t.monotonic, onTimeout: () => new TimedOut('x') },
      ),
    ).rejects.toBe(boom);
    expect(t.pauses).toEqual([]);
  });

  it('uses the backoff it is given', async () => {
    const t = fakeTime();
    let polls = 0;
    await waitUntil(async () => (++polls === 4 ? done(1) : notYet('no')), {
      budgetMs: 1000,
      backoff: { initialDelayMs: 5, factor: 2, maxDelayMs: 12 },
      sleep: t.sleep,
      monotonic: t.monotonic,
      onTimeout: () => new TimedOut('x'),
    });
    expect(t.pauses).toEqual([5, 10, 12]);
  });

  it('pauses at least as long as the answer asked (Retry-After), then goes back to its own backoff', async () => {
    const t = fakeTime();
    let polls = 0;
    await waitUntil(
      async () => {
        polls++;
        if (polls === 1) return notYet('throttled', { retryAfterMs: 3_000 });
        return polls === 3 ? done(undefined) : notYet('not yet');
      },
      { budgetMs: 60_000, sleep: t.sleep, monotonic: t.monotonic, onTimeout: () => new TimedOut('x') },
    );
    // The first pause is the 3 s asked for, not the 100 ms backoff; the backoff then goes on from its next step.
    expect(t.pauses).toEqual([3_000, 150]);
  });

  it('gives up at once, saying so, when the wait asked for would pass its budget', async () => {
    const t = fakeTime();
    let polls = 0;
    const err = await waitUntil(
      async () => {
        polls++;
        return notYet('throttled; NVCF asked to wait 30 s', { retryAfterMs: 30_000 });
      },
      {
        budgetMs: 10_000,
        sleep: t.sleep,
        monotonic: t.monotonic,
        onTimeout: (reason, attempts) => new TimedOut(`${reason} (${attempts} polls)`),
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimedOut);
    expect((err as Error).message).toBe(
      'throttled; NVCF asked to wait 30 s, more than the 10 s left of this wait (1 polls)',
    );
    expect(polls).toBe(1);
    expect(t.pauses).toEqual([]);
  });
});
