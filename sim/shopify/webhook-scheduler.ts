/**
 * When the simulator retries a webhook. Shopify spreads 8 retries over 4 hours; tests cannot wait
 * that long, so the simulator takes a scheduler: real timers with a time scale (1 = real time,
 * 1/10_000 = 4 hours in 1.4 s), or a manual one a test advances by hand.
 */
export interface WebhookScheduler {
  /** Run `callback` after `delayMs` of simulated time; returns a cancel function. */
  schedule(callback: () => void, delayMs: number): () => void;
}

export function scaledScheduler(timeScale = 1): WebhookScheduler {
  return {
    schedule(callback, delayMs) {
      const timer = setTimeout(callback, Math.max(0, Math.round(delayMs * timeScale)));
      timer.unref();
      return () => clearTimeout(timer);
    },
  };
}

/** Simulated time that only moves when the test calls `advance`. */
export class ManualScheduler implements WebhookScheduler {
  #now = 0;
  #nextId = 0;
  readonly #due = new Map<number, { at: number; callback: () => void }>();

  get nowMs(): number {
    return this.#now;
  }

  get pending(): number {
    return this.#due.size;
  }

  schedule(callback: () => void, delayMs: number): () => void {
    const id = this.#nextId++;
    this.#due.set(id, { at: this.#now + Math.max(0, delayMs), callback });
    return () => this.#due.delete(id);
  }

  /** Move time forward by `ms`, running every callback that falls due, in time order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, entry] of this.#due) {
        if (entry.at <= until && entry.at < nextAt) {
          nextAt = entry.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const entry = this.#due.get(nextId)!;
      this.#due.delete(nextId);
      this.#now = entry.at;
      entry.callback();
    }
    this.#now = until;
  }
}
