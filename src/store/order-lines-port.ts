import type { EpochMs } from '../core/clock.js';
import type { LineEffect } from '../core/orders/line-effect.js';
import type { LineMove } from '../core/orders/line-moves.js';
import type { LineState } from '../core/orders/line-state.js';

/** How a channel order line stands: being held or shipped, all settled, information only, or in the intake inbox. */
export type OrderLineStatus = 'open' | 'closed' | 'info' | 'blocked';

/** The moves of one step, written before they are submitted, so a crash replays them under the same keys. */
export interface PendingMoves {
  /** The line's step number: the moves' keys are `<line key>:<step>:<index>`. */
  step: number;
  sku: string;
  /** The channel's pool when the moves were computed (true oversells are judged against it). */
  pool: string[];
  moves: LineMove[];
  /** The effect once every move is applied. */
  target: LineEffect;
  occurredAt: EpochMs;
}

export interface OrderLineRecord {
  channel: string;
  lineKey: string;
  orderId: string;
  lineId: string;
  item: { externalId: string; sku: string | null; barcode: string | null };
  /** The onhand variant the line was matched to; null until it is. */
  sku: string | null;
  state: LineState;
  applied: LineEffect;
  pending: PendingMoves | null;
  /** Steps taken so far. */
  seq: number;
  /** Row version for compare-and-set; 0 for a line not stored yet. */
  version: number;
  status: OrderLineStatus;
  reason: string | null;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

/**
 * The order-line slice (`store.orders`): each channel order line's folded state and applied
 * effect (src/core/orders), written with compare-and-set on the row version, so two deliveries
 * of one line in two processes never both write from the same state.
 */
export interface OrderLinePort {
  getLine(channel: string, lineKey: string): Promise<OrderLineRecord | null>;
  /**
   * Insert (record.version 0) or update the row whose version is record.version; true when
   * written (the stored version is then record.version + 1), false when another writer was first.
   */
  saveLine(record: OrderLineRecord): Promise<boolean>;
  /** Lines of one channel order. */
  orderLines(channel: string, orderId: string): Promise<OrderLineRecord[]>;
  /** The intake inbox: blocked lines, oldest change first, after a cursor (`<updated_at>:<line key>`). */
  inbox(options: { channel?: string | undefined; limit: number; after?: string | undefined }): Promise<{
    lines: OrderLineRecord[];
    next: string | null;
  }>;
  /** Lines to take up again: blocked, or with moves pending older than `pendingBefore`. */
  linesToRetry(options: {
    channel?: string | undefined;
    pendingBefore: EpochMs;
    limit: number;
  }): Promise<{ channel: string; lineKey: string }[]>;
  /** Lines counted by status, per channel. */
  countLines(): Promise<{ channel: string; status: OrderLineStatus; lines: number }[]>;
}
