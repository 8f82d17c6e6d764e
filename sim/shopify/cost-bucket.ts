/** Fixed query costs (Shopify's calculator: 1 per object, connections by `first`; mutations 10). */
export const cost = Object.freeze({ mutation: 10, queryMax: 1000, perNode: 3, root: 1, level: 2 });

/**
 * The shop's leaky bucket of query points: refills at `restoreRate` points/s up to
 * `maximumAvailable` (docs/channels/shopify.md, Rate limit: the cost bucket).
 */
export class CostBucket {
  #level: number;
  #at: number;

  constructor(
    readonly maximumAvailable: number,
    readonly restoreRate: number,
    private readonly now: () => number,
  ) {
    this.#level = maximumAvailable;
    this.#at = now();
  }

  /** The points available now, after the refill since the last look. */
  current(): number {
    const now = this.now();
    this.#level = Math.min(this.maximumAvailable, this.#level + ((now - this.#at) / 1000) * this.restoreRate);
    this.#at = now;
    return this.#level;
  }

  /** Admission: the requested cost leaves the bucket before the query runs. */
  take(points: number): void {
    this.#level -= points;
  }

  /** After the run, requested - actual goes back. */
  refund(requested: number, actual: number): void {
    this.#level = Math.min(this.maximumAvailable, this.current() + (requested - actual));
  }

  extension(requested: number, actual: number | null, currentlyAvailable = this.current()) {
    return {
      cost: {
        requestedQueryCost: requested,
        actualQueryCost: actual,
        throttleStatus: {
          maximumAvailable: this.maximumAvailable,
          currentlyAvailable: Math.floor(currentlyAvailable * 100) / 100,
          restoreRate: this.restoreRate,
        },
      },
    };
  }
}
