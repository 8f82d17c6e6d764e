import type { EpochMs } from '../clock.js';
import type { ListingQuantityWrite } from '../availability/recompute.js';
import type { CommandAnswer } from './command-answer.js';
import type { MovementType } from './command.js';
import type { Deltas, LevelState, Quantities } from './level.js';
import type { PurchaseOrderLineState, ReservationState } from './ledger-snapshot.js';

/** What a batch writes: every row the store persists in the batch's transaction. */

export interface MovementRecord {
  id: number;
  commandKey: string;
  leg: number;
  type: MovementType;
  variantId: number;
  locationId: number;
  /** Level version after this movement (1 for the first movement on a level). */
  version: number;
  deltas: Deltas;
  after: Quantities;
  /** A request judged against available: the store's CHECK requires available_after >= 0. */
  guarded: boolean;
  /** Units sold beyond available by this fact (0 for everything but oversells). */
  oversold: number;
  occurredAt: EpochMs;
  recordedAt: EpochMs;
  reason: string | null;
  sourceSystem: string | null;
  sourceReference: string | null;
  reservationId: string | null;
  purchaseOrderId: string | null;
  purchaseOrderLine: number | null;
  counterpartLocationId: number | null;
  /**
   * Set on leg 0 of a command whose answer is not stored apart: its answer is rebuilt from its
   * movements (`appliedAnswer`), so the payload hash that decides replay vs. conflict lives
   * here. Null on other legs, on system movements and on commands with a stored answer.
   */
  payloadHash: string | null;
}

export interface LevelWrite {
  level: LevelState;
  /** Version the stored row had when loaded (0 and `created` when the row did not exist). */
  previousVersion: number;
  created: boolean;
}

export interface WriteSet {
  /** Answers to store apart: refusals and commands that changed a reservation (the rest are folded into movements). */
  answers: { key: string; payloadHash: string; answer: CommandAnswer; recordedAt: EpochMs }[];
  movements: MovementRecord[];
  levels: LevelWrite[];
  /** Reservations created or changed, final state; `created` marks inserts. */
  reservations: { reservation: ReservationState; created: boolean }[];
  purchaseOrderLines: PurchaseOrderLineState[];
  /** Listings whose desired quantity changed (only with `snapshot.availability`). */
  listingQuantities: ListingQuantityWrite[];
}

export interface BatchOutcome {
  answers: CommandAnswer[];
  writes: WriteSet;
}
