import type { EpochMs } from '../clock.js';

/**
 * Sales velocity as an exponentially decayed rate (units per second), kept per level and
 * updated by the ledger when a sale is recorded: no window query on the hot path, O(1) state.
 *
 * With time constant tau = halfLife / ln 2, each sale of q units adds q / tau, and the rate
 * decays by 2^(-dt / halfLife). A steady stream of r units/s converges to a rate of r.
 * Half-life 15 minutes: a burst is remembered for about an hour, the level of a quiet day
 * is forgotten by the next.
 */
export const velocityHalfLifeMs = 15 * 60 * 1000;
const tauSeconds = velocityHalfLifeMs / 1000 / Math.LN2;

export interface Velocity {
  /** Units per second, as of `at`. */
  rate: number;
  at: EpochMs | null;
}

export function decayedRate(velocity: Velocity, now: EpochMs): number {
  if (velocity.at === null || velocity.rate === 0) return 0;
  const elapsed = Math.max(0, now - velocity.at);
  return velocity.rate * 2 ** (-elapsed / velocityHalfLifeMs);
}

/** The velocity after `units` were sold at `now`. */
export function recordSale(velocity: Velocity, units: number, now: EpochMs): Velocity {
  return { rate: decayedRate(velocity, now) + units / tauSeconds, at: now };
}
