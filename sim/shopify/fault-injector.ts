import type { InjectedFault, ShopifyFaults, ShopStats } from './shop-options.js';

/**
 * Faults on demand: the queued ones (`injectNext`) strike first, else the rates in `faults` roll
 * the shop's seeded dice. The order of the rolls is part of a seed's replay.
 */
export class FaultInjector {
  readonly #injected: InjectedFault[] = [];

  constructor(
    private readonly random: () => number,
    private readonly faults: () => ShopifyFaults,
    private readonly stats: ShopStats,
  ) {}

  injectNext(fault: InjectedFault, count: number): void {
    for (let i = 0; i < count; i += 1) this.#injected.push(fault);
  }

  /** A fault that strikes before anything runs: a 5xx status, a throttle storm, or null. */
  beforeRun(): { status: number } | 'throttle' | null {
    const injected = this.#injected[0];
    if (injected === 'server-error' || (injected === undefined && this.random() < this.faults().serverErrorRate)) {
      if (injected) this.#injected.shift();
      this.stats.injectedServerErrors += 1;
      return { status: [500, 502, 503, 504][Math.floor(this.random() * 4)]! };
    }
    if (injected === 'throttle' || (injected === undefined && this.random() < this.faults().throttleStormRate)) {
      if (injected) this.#injected.shift();
      this.stats.injectedThrottles += 1;
      return 'throttle';
    }
    return null;
  }

  /** Whether the answer of a mutation that was applied is lost. */
  loseAnswer(): boolean {
    const lost =
      this.#injected[0] === 'lost-response'
        ? this.#injected.shift()
        : this.random() < this.faults().lostResponseRate
          ? 'lost-response'
          : undefined;
    if (lost) this.stats.lostResponses += 1;
    return lost !== undefined;
  }
}
