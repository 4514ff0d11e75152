/**
 * Counts the background work in flight (rotations, event deliveries, scheduled retries) so that
 * `POST /_sandbox/settle` can wait until the sandbox is quiet. Work registers a promise; timers that will
 * start work later register as pending until they fire.
 */
export class WorkTracker {
  #inFlight = 0;
  #waiters: (() => void)[] = [];

  /** Runs `work` counted as in flight; errors are the caller's to handle (they are re-thrown). */
  public async track<T>(work: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await work();
    } finally {
      this.#done();
    }
  }

  /** Starts `work` after `delayMs`, counted as in flight from now. Returns a canceller. */
  public later(delayMs: number, work: () => Promise<unknown>): () => void {
    this.#inFlight++;
    let cancelled = false;
    const timer = setTimeout(() => {
      if (cancelled) return;
      work()
        .catch(() => {})
        .finally(() => this.#done());
    }, delayMs);
    timer.unref?.();
    return () => {
      if (cancelled) return;
      cancelled = true;
      clearTimeout(timer);
      this.#done();
    };
  }

  public get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves when nothing is in flight (checked after a macrotask so that follow-up work can register). */
  public async settle(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (this.#inFlight === 0) return true;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(remaining, 1000));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  #done(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    }
  }
}
