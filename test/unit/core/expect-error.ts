import { expect } from 'vitest';

/**
 * Runs `fn` (sync or async), asserts that it throws an instance of `cls` whose message contains every
 * string and matches every pattern, and returns the error for further assertions.
 */
export async function expectRejection<E extends Error>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => E,
  ...patterns: (string | RegExp)[]
): Promise<E> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  return check(caught, cls, patterns);
}

/** Synchronous form of {@link expectRejection}. */
export function expectThrow<E extends Error>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => E,
  ...patterns: (string | RegExp)[]
): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  return check(caught, cls, patterns);
}

function check<E extends Error>(
  caught: unknown,
  cls: abstract new (...args: never[]) => E,
  patterns: (string | RegExp)[],
): E {
  expect(caught, 'expected an error to be thrown').toBeInstanceOf(cls);
  const err = caught as E;
  for (const p of patterns) {
    if (typeof p === 'string') expect(err.message).toContain(p);
    else expect(err.message).toMatch(p);
  }
  return err;
}
