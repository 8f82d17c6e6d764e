import type { EpochMs } from '../clock.js';
import type { AvailabilityContext } from '../availability/recompute.js';
import type { StoredAnswer } from './command-answer.js';
import type { LedgerCommand } from './command.js';
import type { LevelState } from './level.js';

/**
 * What the ledger's decision procedure reads: the rows of a batch, loaded by a store under its
 * write lock, and the batch itself.
 */

export type ReservationStatus = 'pending' | 'committed' | 'released' | 'expired';

export interface VariantRef {
  id: number;
  sku: string;
  isBundle: boolean;
  /** A bundle's components (the store loads them for bundles named in a batch). */
  components?: readonly { variantId: number; sku: string; quantity: number }[] | undefined;
}

export interface LocationRef {
  id: number;
  code: string;
}

export interface ReservationState {
  id: string;
  key: string;
  variantId: number;
  locationId: number;
  sku: string;
  locationCode: string;
  quantity: number;
  committedQuantity: number;
  status: ReservationStatus;
  expiresAt: EpochMs | null;
  createdAt: EpochMs;
  resolvedAt: EpochMs | null;
  /** The channel a reservation by channel was made for (each of its parts); absent at a location. */
  channel?: string | undefined;
}

export interface PurchaseOrderLineState {
  purchaseOrderId: string;
  line: number;
  variantId: number;
  locationId: number;
  quantityOrdered: number;
  quantityReceived: number;
  expectedAt: EpochMs | null;
  status: 'open' | 'closed' | 'cancelled';
}

export function purchaseOrderLineKey(purchaseOrderId: string, line: number): string {
  return `${purchaseOrderId}#${line}`;
}

/** What a store loads (under its write lock) before calling `applyCommands`. */
export interface LedgerSnapshot {
  /** By sku; a sku missing here is unknown. */
  variants: ReadonlyMap<string, VariantRef>;
  /** By code; a code missing here is unknown. */
  locations: ReadonlyMap<string, LocationRef>;
  /** By `levelKey`; every level the batch touches, when it exists (absent = empty). */
  levels: ReadonlyMap<string, LevelState>;
  /** By id; every reservation the batch names. */
  reservations: ReadonlyMap<string, ReservationState>;
  /** By level key: pending reservations with expiresAt <= now, in (expiresAt, createdAt) order. */
  dueReservations: ReadonlyMap<string, readonly ReservationState[]>;
  /** By idempotency key: answers stored by earlier transactions. */
  answers: ReadonlyMap<string, StoredAnswer>;
  /**
   * By count command key: sum of on_hand deltas of STORED movements on that level that occurred
   * after the count's time (a late count is applied under them, never over them).
   */
  countBaselines: ReadonlyMap<string, number>;
  /** By `${purchaseOrderId}#${line}`. */
  purchaseOrderLines: ReadonlyMap<string, PurchaseOrderLineState>;
  /**
   * When present, the listings of every variant whose levels the batch changes (and of the
   * bundles containing them) are recomputed from the batch's final levels, in the same
   * transaction. It must hold the stored levels of those variants at ALL locations (and of
   * the bundles' components), locked like the touched ones.
   */
  availability?: AvailabilityContext | undefined;
}

export interface ApplyContext {
  now: EpochMs;
  /** Unique id for a new reservation. */
  newReservationId: () => string;
  /** Next movement id; ids increase within a batch. */
  newMovementId: () => number;
}

/** Keys the ledger uses for its own movements (reservation expiry); refused from clients. */
export const systemKeyPrefix = 'sys:';

/** Tidy command used by the sweeper: touches a level so its due reservations expire. */
export interface TidyCommand {
  type: 'tidy';
  variantId: number;
  locationId: number;
}

export type BatchItem = LedgerCommand | TidyCommand;
