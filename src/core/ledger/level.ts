import assert from 'node:assert';
import type { EpochMs } from '../clock.js';

/** Identity of one stock level: one variant at one location (internal ids). */
export interface LevelId {
  variantId: number;
  locationId: number;
}

export function levelKey(variantId: number, locationId: number): string {
  return `${variantId}:${locationId}`;
}

/** Quantities of one (variant, location). `available = onHand - reserved`. */
export interface Quantities {
  onHand: number;
  reserved: number;
  damaged: number;
  quarantine: number;
  inTransit: number;
}

export interface LevelState extends LevelId, Quantities {
  /**
   * Units of `reserved` held by PENDING reservations (requests). The rest of `reserved` belongs
   * to orders (facts, and committed reservations): only that part may be cancelled or shipped,
   * so an order fact can never consume a hold that a later release or expiry gives back.
   * Invariant: 0 <= held <= reserved.
   */
  held: number;
  /** Sales velocity (units/s, exponentially decayed; see availability/velocity.ts) as of velocityAt. */
  velocityRate: number;
  velocityAt: EpochMs | null;
  /** Number of movements recorded on this level; the version of the level. */
  version: number;
  /** Source time of the newest applied count, or null. */
  lastCountAt: EpochMs | null;
  /** Source version of the newest applied count, or null. */
  lastCountSourceVersion: number | null;
}

export const zeroQuantities: Readonly<Quantities> = Object.freeze({
  onHand: 0,
  reserved: 0,
  damaged: 0,
  quarantine: 0,
  inTransit: 0,
});

export const quantityFields = ['onHand', 'reserved', 'damaged', 'quarantine', 'inTransit'] as const;

export function emptyLevel(variantId: number, locationId: number): LevelState {
  return {
    variantId,
    locationId,
    ...zeroQuantities,
    held: 0,
    velocityRate: 0,
    velocityAt: null,
    version: 0,
    lastCountAt: null,
    lastCountSourceVersion: null,
  };
}

export function available(level: Quantities): number {
  return level.onHand - level.reserved;
}

/** Deltas of one movement on one level. */
export type Deltas = Quantities;

export function addDeltas(level: Quantities, deltas: Deltas): Quantities {
  return {
    onHand: level.onHand + deltas.onHand,
    reserved: level.reserved + deltas.reserved,
    damaged: level.damaged + deltas.damaged,
    quarantine: level.quarantine + deltas.quarantine,
    inTransit: level.inTransit + deltas.inTransit,
  };
}

/**
 * The invariants every stored level keeps, whatever facts arrive. on_hand may go negative
 * only through facts (a channel or store sold what the ledger did not know it had) and is
 * then visible as an oversell; the other buckets never go negative.
 */
export function assertLevelInvariants(level: Quantities): void {
  // Unrolled, and the message built only on failure: this runs for every leg of every command.
  if (
    !Number.isSafeInteger(level.onHand) ||
    !Number.isSafeInteger(level.reserved) ||
    !Number.isSafeInteger(level.damaged) ||
    !Number.isSafeInteger(level.quarantine) ||
    !Number.isSafeInteger(level.inTransit)
  ) {
    const field = quantityFields.find((name) => !Number.isSafeInteger(level[name]));
    assert.fail(`${field} is an integer`);
  }
  assert(level.reserved >= 0, 'reserved >= 0');
  assert(level.damaged >= 0, 'damaged >= 0');
  assert(level.quarantine >= 0, 'quarantine >= 0');
  assert(level.inTransit >= 0, 'in_transit >= 0');
}

/** {@link assertLevelInvariants} plus the held part of reserved. */
export function assertHeldInvariant(level: LevelState): void {
  assert(Number.isSafeInteger(level.held) && level.held >= 0, 'held >= 0');
  assert(level.held <= level.reserved, 'held <= reserved');
}
