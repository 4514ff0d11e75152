/**
 * The sandbox's virtual clock: real time plus an offset the control plane can advance. Everything the
 * emulated services date (key creation, last use, rotation dates, schedules, NVCF timestamps) reads it, so a
 * test can age a key by 91 days in a millisecond. Request signatures are checked against *real* time, because
 * SDK clients sign with the machine clock and would otherwise see every request as skewed.
 */
export class VirtualClock {
  #offsetMs = 0;
  readonly #listeners = new Set<() => void>();

  /** Current virtual time. */
  public now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  public nowMs(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Seconds the virtual clock is ahead of real time. */
  public get offsetSeconds(): number {
    return this.#offsetMs / 1000;
  }

  /** Moves virtual time forward (never backward: keys and versions must not predate their creation). */
  public advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(`advanceSeconds must be a non-negative number of seconds, got ${seconds}`);
    }
    this.#offsetMs += seconds * 1000;
    for (const l of this.#listeners) l();
  }

  /** Restores the offset saved with the state (persistence). */
  public restore(offsetSeconds: number): void {
    this.#offsetMs = Math.max(0, offsetSeconds) * 1000;
  }

  /** Called after every advance (schedules re-evaluate at once instead of at the next tick). */
  public onAdvance(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
