import type { EpochMs } from '../core/clock.js';
import type { LineEffect } from '../core/orders/line-effect.js';
import type { LineState } from '../core/orders/line-state.js';
import type { Page, SideWrite } from './ledger-store.js';

/** How a channel order line stands: being held or shipped, all settled, information only, or in the intake inbox. */
export type OrderLineStatus = 'open' | 'closed' | 'info' | 'blocked';

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
  /** Steps taken so far: a step's ledger moves are keyed `<line key>:<step>:<index>`. */
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
  /** Several lines of one channel in one query, by line key; lines not stored are absent. */
  getLines(channel: string, lineKeys: readonly string[]): Promise<Map<string, OrderLineRecord>>;
  /**
   * Insert (record.version 0) or update the row whose version is record.version; true when
   * written (the stored version is then record.version + 1), false when another writer was first.
   * For a change that moves no stock (a blocked or information-only line, a duplicate).
   */
  saveLine(record: OrderLineRecord): Promise<boolean>;
  /**
   * The same write as {@link saveLine}, as statements for the ledger batch that applies the
   * line's moves (GroupCommitter.submit's sideWrites): the moves and the line are durable
   * together; a version another writer moved fails the batch with SideWriteConflict.
   */
  lineWrites(record: OrderLineRecord): SideWrite[];
  /**
   * The channels that hold these lines (by the platform's order id and the line key), for
   * naming a ledger movement's channel order line; lines no channel holds are left out. At most
   * one entry per line and channel.
   */
  channelsOfLines(
    lines: readonly { orderId: string; lineKey: string }[],
  ): Promise<{ channel: string; orderId: string; lineKey: string }[]>;
  /** Lines of one channel order. */
  orderLines(channel: string, orderId: string): Promise<OrderLineRecord[]>;
  /** The intake inbox: blocked lines, oldest change first, after a cursor (`<updated_at>:<line key>`). */
  inbox(options: { channel?: string | undefined; limit: number; after?: string | undefined }): Promise<{
    lines: OrderLineRecord[];
    next: string | null;
  }>;
  /** Blocked lines to take up again, oldest change first. */
  linesToRetry(options: {
    channel?: string | undefined;
    limit: number;
  }): Promise<{ channel: string; lineKey: string }[]>;
  /** Orders of a channel with a line still open that has not changed since `updatedBefore`, oldest first. */
  staleOpenOrders(channel: string, options: { updatedBefore: EpochMs; limit: number }): Promise<string[]>;
  /**
   * Lines newest first (created_at, then channel code and line key, descending), filtered by the
   * matched variant, the channel and the status (`all` for every status), a keyset page after
   * the cursor of the previous page; an unknown or edited cursor throws CursorError.
   */
  listLines(options: {
    sku?: string | undefined;
    channel?: string | undefined;
    status: OrderLineStatus | 'all';
    cursor?: string | undefined;
    limit: number;
  }): Promise<Page<OrderLineRecord>>;
  /** Lines counted by status, per channel. */
  countLines(): Promise<{ channel: string; status: OrderLineStatus; lines: number }[]>;
}
