import type { EpochMs } from '../clock.js';
import type { VerdictStatus } from '../verdicts.js';
import type { MovementType, StockBucket } from './command.js';
import type { Deltas } from './level.js';
import type { PurchaseOrderLineState, ReservationState } from './ledger-snapshot.js';

/**
 * What a judge decides about one command: a refusal, or the legs to record and what else
 * changes. The fold in apply-commands.ts turns it into movements and an answer.
 */

/** One level a command moves. Every field is always set (one object shape for every leg). */
export interface Leg {
  variantId: number;
  locationId: number;
  deltas: Deltas;
  /** Change of the units held by pending reservations (reserve +q; commit, release, expire -q). */
  held: number;
  /** Units sold by this leg (order, sale, committed reservation): feeds the sales velocity. */
  sold: number;
  guarded: boolean;
  counterpartLocationId: number | null;
  /**
   * Units this leg oversold, when the judge measured them over a pool; null = measured on the
   * leg's own level by the fold (orders and sales only).
   */
  oversold: number | null;
}

export type RefusalStatus = Exclude<VerdictStatus, 'applied' | 'exists' | 'conflict'>;

export interface Refusal {
  status: RefusalStatus;
  detail: string;
}

/** The source time and version of an applied count, stamped on its level. */
export interface CountMark {
  at: EpochMs;
  sourceVersion: number | null;
}

/**
 * An applied command. Built by {@link applied} with every field present (null when unused), so
 * the fold reads one shape; a judge sets the optional parts it needs.
 */
export interface Applied {
  status: 'applied';
  type: MovementType;
  legs: Leg[];
  /** Sku and location code of leg 0's level, as the answer shows it. */
  sku: string;
  location: string;
  /** The reservation created or resolved, final state. */
  reservation: ReservationState | null;
  /** The purchase-order line a receipt books against, final state. */
  purchaseOrderLine: PurchaseOrderLineState | null;
  count: CountMark | null;
  /** The bundle a sales fact was recorded for (its legs are the components'). */
  bundleSku: string | null;
  /** The pool an order or sale was measured over (location codes), when it named one. */
  pool: string[] | null;
  /**
   * A channel reservation's parts, one per location it was placed at, in priority order; leg i
   * holds part i. `reservation` is part 0. Null for every other command.
   */
  parts: ReservationState[] | null;
}

export type Judgement = Refusal | Applied;

export function refuse(status: RefusalStatus, detail: string): Refusal {
  return { status, detail };
}

export function futureRefusal(occurredAt: EpochMs): Refusal {
  return refuse('invalid', `occurred_at ${new Date(occurredAt).toISOString()} lies in the future`);
}

export function applied(type: MovementType, legs: Leg[], sku: string, location: string): Applied {
  return {
    status: 'applied',
    type,
    legs,
    sku,
    location,
    reservation: null,
    purchaseOrderLine: null,
    count: null,
    bundleSku: null,
    pool: null,
    parts: null,
  };
}

/** A leg with no held or sold units; a judge sets those on the leg it returns. */
export function leg(
  variantId: number,
  locationId: number,
  deltas: Deltas,
  guarded = false,
  counterpartLocationId: number | null = null,
): Leg {
  return { variantId, locationId, deltas, held: 0, sold: 0, guarded, counterpartLocationId, oversold: null };
}

export function deltas(partial: Partial<Deltas>): Deltas {
  return {
    onHand: partial.onHand ?? 0,
    reserved: partial.reserved ?? 0,
    damaged: partial.damaged ?? 0,
    quarantine: partial.quarantine ?? 0,
    inTransit: partial.inTransit ?? 0,
  };
}

export const bucketField: Record<StockBucket, 'onHand' | 'damaged' | 'quarantine'> = {
  on_hand: 'onHand',
  damaged: 'damaged',
  quarantine: 'quarantine',
};
