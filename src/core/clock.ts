/**
 * Time and identity are injected into the core (docs/ARCHITECTURE.md, The tree): the core never reads a clock
 * and never draws a random number, so every decision is a pure function of its inputs and a
 * test can pin time to a reference timestamp.
 */

/** Milliseconds since the Unix epoch, as an integer. */
export type EpochMs = number;

/** The wall clock, as seen by the composition root (`main.ts`) and passed down. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): EpochMs;
}

/** Source of unique identifiers (reservation ids, token ids). */
export interface IdSource {
  /** A new unique id with the given prefix, e.g. `res_01HZ...`. */
  next(prefix: string): string;
}
