import type { EpochMs } from '../clock.js';

/**
 * Ledger commands as they enter the ledger, already validated for shape by the edge (HTTP, CLI,
 * ingest). Variants are named by sku and locations by code; the store resolves them.
 *
 * FACTS (order, sale, shipment, cancellation, return, receipt, count, adjustment, status,
 * transfer_in) record something that already happened: they are applied even when they drive
 * available below zero, and a sale that does so is recorded as an oversell.
 * REQUESTS (reserve, transfer_out) ask for stock: they are judged against available and
 * refused when short, atomically, under any concurrency.
 */

/** Who sent a command: a system name and its own reference (order id, document number). */
export interface Source {
  system: string;
  reference?: string | undefined;
}

interface CommandBase {
  /** Idempotency key, unique per business event. */
  key: string;
  /** Hash of the payload as the client sent it (before defaults), for exact idempotency. */
  payloadHash: string;
  /** When it happened at the source; defaults to the time it is recorded. */
  occurredAt?: EpochMs | undefined;
  source?: Source | undefined;
  note?: string | undefined;
}

interface LevelCommandBase extends CommandBase {
  sku: string;
  location: string;
}

export type StockBucket = 'on_hand' | 'damaged' | 'quarantine';

export interface ReceiptCommand extends LevelCommandBase {
  type: 'receipt';
  quantity: number;
  purchaseOrder?: { id: string; line: number } | undefined;
}
export interface AdjustmentCommand extends LevelCommandBase {
  type: 'adjustment';
  /** Signed, non-zero. */
  quantity: number;
  reason: string;
}
export interface CountCommand extends LevelCommandBase {
  type: 'count';
  /** The absolute on_hand counted at `occurredAt`. */
  onHand: number;
  /** Optional monotonic version of the source's counts; an older one is stale. */
  sourceVersion?: number | undefined;
}
export interface TransferOutCommand extends LevelCommandBase {
  type: 'transfer_out';
  quantity: number;
  toLocation: string;
}
export interface TransferInCommand extends LevelCommandBase {
  type: 'transfer_in';
  quantity: number;
  fromLocation?: string | undefined;
}
export interface StatusCommand extends LevelCommandBase {
  type: 'status';
  quantity: number;
  from: StockBucket;
  to: StockBucket;
}
export interface OrderCommand extends LevelCommandBase {
  type: 'order';
  quantity: number;
  /**
   * The channel's pool: the location codes it sells from, the command's own location included
   * (added when missing). When present, `oversold` is measured over the pool (the units by which
   * the sum of available over these levels went further below zero), not over the one level.
   */
  pool?: string[] | undefined;
  /**
   * Units the same channel order line already held at another location, moved here (a
   * fulfilment from another location): not a new sale, so they feed no velocity and are never
   * counted as an oversell a second time.
   */
  moved?: boolean | undefined;
}
export interface CancellationCommand extends LevelCommandBase {
  type: 'cancellation';
  quantity: number;
}
export interface ShipmentCommand extends LevelCommandBase {
  type: 'shipment';
  quantity: number;
}
export interface SaleCommand extends LevelCommandBase {
  type: 'sale';
  quantity: number;
  /** As for an order: `oversold` measured over these locations' levels. */
  pool?: string[] | undefined;
}
export interface ReturnCommand extends LevelCommandBase {
  type: 'return';
  quantity: number;
  /** Where the returned units land; quarantine (awaiting inspection) by default. */
  to?: StockBucket | undefined;
}
export interface ReserveCommand extends LevelCommandBase {
  type: 'reserve';
  quantity: number;
  /** Hold duration; absent = held until committed or released. */
  expiresInSeconds?: number | undefined;
  /**
   * A reservation for a channel rather than at one location: judged against what the channel
   * may sell and placed in its locations' priority order (`location` is then the first
   * candidate's code).
   */
  channel?: ChannelReserve | undefined;
}

/**
 * What a channel may sell, resolved by the edge from the channel and the active rule set; the
 * ledger judges against it inside its transaction.
 */
export interface ChannelReserve {
  code: string;
  /** The channel's locations that may serve it, in priority order (first = preferred). */
  locations: { code: string; countMaxAgeMs?: number | undefined }[];
  /**
   * Held back for other channels over the pool (their ring-fenced allocations): whole units and
   * a percentage of the pool, applied as the listing computation applies them.
   */
  fence: { units: number; percent: number };
}
export interface CommitCommand extends CommandBase {
  type: 'commit';
  reservationId: string;
  /** Units sold; absent = all. The rest is released. */
  quantity?: number | undefined;
}
export interface ReleaseCommand extends CommandBase {
  type: 'release';
  reservationId: string;
}

export type LevelCommand =
  | ReceiptCommand
  | AdjustmentCommand
  | CountCommand
  | TransferOutCommand
  | TransferInCommand
  | StatusCommand
  | OrderCommand
  | CancellationCommand
  | ShipmentCommand
  | SaleCommand
  | ReturnCommand
  | ReserveCommand;

export type LedgerCommand = LevelCommand | CommitCommand | ReleaseCommand;

export type CommandType = LedgerCommand['type'];

export const movementCommandTypes = [
  'receipt',
  'adjustment',
  'count',
  'transfer_out',
  'transfer_in',
  'status',
  'order',
  'cancellation',
  'shipment',
  'sale',
  'return',
] as const;

/** Movement types recorded in the ledger: the command types plus the reservation lifecycle. */
export type MovementType = (typeof movementCommandTypes)[number] | 'reserve' | 'commit' | 'release' | 'expire';

export function isReservationCommand(command: LedgerCommand): command is CommitCommand | ReleaseCommand {
  return command.type === 'commit' || command.type === 'release';
}

/**
 * Locations whose levels a command reads besides its own: an order's or sale's pool, a channel
 * reservation's candidates. Empty for every other command.
 */
export function poolLocationCodes(command: LedgerCommand): readonly string[] {
  if ((command.type === 'order' || command.type === 'sale') && command.pool) return command.pool;
  if (command.type === 'reserve' && command.channel) return command.channel.locations.map((each) => each.code);
  return [];
}

/** Locations a command names besides its own (a transfer's other end). */
export function otherLocationCode(command: LedgerCommand): string | undefined {
  if (command.type === 'transfer_out') return command.toLocation;
  if (command.type === 'transfer_in') return command.fromLocation;
  return undefined;
}
