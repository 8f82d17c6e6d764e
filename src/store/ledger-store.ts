import type { OrderLinePort } from './order-lines-port.js';
import type { KpiPort } from './kpis-port.js';
import type { AlertPort } from './alerts-port.js';
import type { EpochMs } from '../core/clock.js';
import type { BatchItem, CommandAnswer, LevelView, ReservationView } from '../core/ledger/apply-commands.js';
import type { AvailabilityPort } from './availability-store.js';
import type { OutboxPort } from './outbox-port.js';

/**
 * The storage port's records and views; the port itself is {@link LedgerStore}, at the end.
 * Two adapters implement it: `sqlite/` (embedded default, better-sqlite3, single writer) and `postgres/` (pg, several processes). Engine differences
 * live only under `store/<engine>/`; callers read {@link StoreCapabilities}, never the engine
 * name. One conformance suite (`test/conformance/store/`) runs on both.
 *
 * Times are epoch milliseconds (integers) in both engines, so the two produce identical
 * canonical dumps for the same command sequence.
 */

export type LocationKind = 'warehouse' | 'store' | 'dropship' | '3pl' | 'marketplace_fulfilment';
export const locationKinds: readonly LocationKind[] = [
  'warehouse',
  'store',
  'dropship',
  '3pl',
  'marketplace_fulfilment',
];

export type TokenScope = 'read' | 'write' | 'admin';
export const tokenScopes: readonly TokenScope[] = ['read', 'write', 'admin'];

export type PurchaseOrderStatus = 'open' | 'closed' | 'cancelled';

export interface StoreCapabilities {
  /** `sqlite` or `postgres`: for logs and reports only; behaviour follows the flags below. */
  engine: 'sqlite' | 'postgres';
  /** One writer at a time for the whole database (SQLite). */
  singleWriter: boolean;
  /** `SELECT ... FOR UPDATE SKIP LOCKED` is available (PostgreSQL). */
  supportsSkipLocked: boolean;
  /** Several processes may share the database safely. */
  multiProcess: boolean;
}

export interface VariantInput {
  sku: string;
  name: string;
  barcode?: string | null | undefined;
  productGroup?: string | null | undefined;
  attributes?: Record<string, string> | undefined;
  /** Present and non-empty: the variant is a bundle made of these components. */
  components?: { sku: string; quantity: number }[] | undefined;
}

export interface VariantRecord {
  id: number;
  sku: string;
  name: string;
  barcode: string | null;
  productGroup: string | null;
  attributes: Record<string, string>;
  isBundle: boolean;
  components: { sku: string; quantity: number }[];
  createdAt: EpochMs;
  updatedAt: EpochMs;
  /** Null while active. */
  deactivatedAt?: EpochMs | null;
}

export interface LocationInput {
  code: string;
  name: string;
  kind: LocationKind;
}

export interface LocationRecord extends LocationInput {
  id: number;
  createdAt: EpochMs;
  updatedAt: EpochMs;
  /** Null while active. */
  deactivatedAt?: EpochMs | null;
}

export interface UpsertReport {
  created: number;
  updated: number;
}

export interface PurchaseOrderInput {
  id: string;
  supplier?: string | null | undefined;
  status: PurchaseOrderStatus;
  lines: { line: number; sku: string; location: string; quantity: number; expectedAt: EpochMs | null }[];
}

export interface PurchaseOrderRecord {
  id: string;
  supplier: string | null;
  status: PurchaseOrderStatus;
  lines: {
    line: number;
    sku: string;
    location: string;
    quantityOrdered: number;
    quantityReceived: number;
    /** Still expected: ordered - received while the order is open, else 0. */
    incoming: number;
    expectedAt: EpochMs | null;
  }[];
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

export interface IncomingView {
  purchase_order: string;
  line: number;
  location: string;
  quantity: number;
  expected_at: string | null;
}

export interface StockLocationView extends Omit<LevelView, 'sku'> {
  last_count_at: string | null;
  incoming: number;
}

export interface StockView {
  sku: string;
  name: string;
  is_bundle: boolean;
  components?: { sku: string; quantity: number }[];
  locations: StockLocationView[];
  total: {
    on_hand: number;
    reserved: number;
    available: number;
    damaged: number;
    quarantine: number;
    in_transit: number;
    incoming: number;
  };
  incoming: IncomingView[];
}

export interface MovementView {
  id: number;
  key: string;
  leg: number;
  type: string;
  sku: string;
  location: string;
  counterpart_location: string | null;
  quantities: { on_hand: number; reserved: number; damaged: number; quarantine: number; in_transit: number };
  resulting: {
    on_hand: number;
    reserved: number;
    available: number;
    damaged: number;
    quarantine: number;
    in_transit: number;
  };
  version: number;
  oversold: number;
  reason: string | null;
  source: { system: string | null; reference: string | null };
  reservation_id: string | null;
  purchase_order: { id: string; line: number } | null;
  occurred_at: string;
  recorded_at: string;
}

/** One level as the stock export pages through them (plain variants only: a bundle has no level). */
export interface LevelListing {
  sku: string;
  location: string;
  onHand: number;
  reserved: number;
  damaged: number;
  quarantine: number;
  inTransit: number;
  lastCountAt: EpochMs | null;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; null at the end. */
  next_cursor: string | null;
}

/** Which records a list shows: the active ones (the default), the deactivated ones, or all. */
export type ActiveFilter = 'true' | 'false' | 'all';

/** What can be deactivated: history of each stays readable, nothing is deleted. */
export type ActivationKind = 'variant' | 'location' | 'channel' | 'listing';
export const activationKinds: readonly ActivationKind[] = ['variant', 'location', 'channel', 'listing'];

/** A record's state after an activate or deactivate (`changed` false: it was already so). */
export interface ActivationRecord {
  kind: ActivationKind;
  /** The sku, location code, channel code or listing id. */
  ref: string;
  active: boolean;
  changed: boolean;
  deactivatedAt: EpochMs | null;
  deactivatedBy: string | null;
}

/** `GET /v1/reservations`' status filter: `active` is pending and not past its expiry. */
export type ReservationListStatus = 'active' | 'committed' | 'released' | 'expired' | 'all';
export const reservationListStatuses: readonly ReservationListStatus[] = [
  'active',
  'committed',
  'released',
  'expired',
  'all',
];

/** A page of the movements feed, oldest first. */
export interface FeedPage<T> {
  items: T[];
  /**
   * Where the next page starts: after the last item, or where this one started when it is
   * empty, so a tail keeps polling with it; null once `until` is reached.
   */
  next_cursor: string | null;
  /** More movements are readable now (false: the feed has caught up, poll again later). */
  has_more: boolean;
}

/** What `GET /v1/stock` asks of the ledger: filters, sort and one page. */
export interface StockListQuery {
  /** Only this location's levels (and its figures filter and sort); unknown: `location_found` false. */
  location?: string | undefined;
  /** Only skus starting with this text. */
  skuPrefix?: string | undefined;
  /** Only variants whose sku or name contains this text (case-insensitive for ASCII). */
  q?: string | undefined;
  /** Only variants with at most `lowStockAvailableMax` units available. */
  lowStock?: boolean | undefined;
  lowStockAvailableMax: number;
  /** @default 'sku' (byte order); 'available' sorts ascending, then by sku. */
  sort?: 'sku' | 'available' | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** One row of the stock grid: a plain variant's levels by location and its listings by channel. */
export interface StockListRow {
  sku: string;
  name: string;
  locations: { location: string; on_hand: number; reserved: number; available: number; incoming: number }[];
  /** Sums over `locations`. */
  total: { on_hand: number; reserved: number; available: number; incoming: number };
  /** `shown` is what the channel was last seen showing (null: never read); `drift` is shown - desired. */
  channels: {
    channel: string;
    /** As every other view names a listing: its id as text. */
    listing_id: string;
    external_id: string;
    desired: number;
    shown: number | null;
    drift: number | null;
    state: 'pending' | 'done' | 'dead';
  }[];
}

export interface StockListPage extends Page<StockListRow> {
  /** False when `location` names no location (the page is then empty). */
  location_found: boolean;
}

export interface TokenRecord {
  id: string;
  name: string;
  scope: TokenScope;
  createdAt: EpochMs;
  revokedAt: EpochMs | null;
  lastUsedAt: EpochMs | null;
}

export interface VerifyReport {
  levelsChecked: number;
  movementsChecked: number;
  mismatches: { sku: string; location: string; field: string; stored: number; recomputed: number }[];
}

export interface MigrationReport {
  applied: string[];
  current: string;
}

/** The error a store throws for bad catalogue input; the edge maps it to a 4xx problem. */
export class CatalogueError extends Error {
  readonly code: 'ONH_ERR_CATALOGUE';
  constructor(
    message: string,
    readonly errors: { path: string; message: string }[],
  ) {
    super(message);
    this.code = 'ONH_ERR_CATALOGUE';
  }
}

/**
 * The ledger slice (`store.ledger`): the batch transaction that judges and records commands,
 * the read views over what it recorded, and the maintenance that tidies it.
 */
export interface LedgerPort {
  /**
   * Apply a batch in ONE durable transaction, each command judged on its own; resolves once
   * the transaction is committed. Throws only for IO faults and bugs (the batch then changed
   * nothing).
   * @param now the transaction's time (reservation expiry, recorded_at)
   * @param newReservationId ids for reservations created by the batch
   */
  /**
   * `sideWrites`, when given, is called inside the batch's transaction with the batch's answers
   * (one per command, in order) and returns statements written in that same transaction (the
   * state of the channel order lines the commands move). A statement whose changed-row count is
   * not its `expectRows` (a row version that moved) fails the whole transaction with
   * {@link SideWriteConflict}: nothing of the batch is written.
   */
  /**
   * `checks`, when given, are verified inside the transaction before anything is applied; when
   * one fails the transaction is rolled back and {@link BatchChecksFailed} names the failures.
   */
  applyBatch(
    items: readonly BatchItem[],
    now: EpochMs,
    newReservationId: () => string,
    sideWrites?: (answers: readonly CommandAnswer[]) => readonly SideWrite[],
    checks?: BatchChecks,
  ): Promise<CommandAnswer[]>;
  /** Stock of a variant per location and in total; available counts expired holds as released. */
  getStock(sku: string, now: EpochMs): Promise<StockView | null>;
  /**
   * Available units of plain variants per location, in one query for all of them; a bundle or
   * an unknown sku maps to null.
   */
  availableByLocation(skus: readonly string[], now: EpochMs): Promise<Map<string, Map<string, number> | null>>;
  /**
   * The stock grid: plain variants with their levels and listings, filtered and keyset-paged.
   * Throws CursorError (ONH_ERR_CURSOR) for a cursor it did not issue or issued for another sort.
   * @example await store.ledger.listStock({ skuPrefix: 'TS-', lowStock: true, lowStockAvailableMax: 5, limit: 50 }, now)
   */
  listStock(query: StockListQuery, now: EpochMs): Promise<StockListPage>;
  /** History of a variant, newest first. */
  listMovements(
    sku: string,
    options: { location?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<Page<MovementView> | null>;
  getReservation(id: string, now: EpochMs): Promise<ReservationView | null>;
  /**
   * Reservations newest first (created_at, then id, descending), filtered; a keyset cursor.
   * Throws CursorError for a cursor this server did not issue.
   * @example listReservations({ status: 'active', sku: 'TEE-M', limit: 100 }, now)
   */
  listReservations(
    options: {
      status: ReservationListStatus;
      sku?: string | undefined;
      location?: string | undefined;
      channel?: string | undefined;
      cursor?: string | undefined;
      limit: number;
    },
    now: EpochMs,
  ): Promise<Page<ReservationView>>;
  /**
   * Every movement oldest first, from the first one recorded at or after `since` (or from the
   * cursor): no movement is skipped or repeated between pages, even while batches commit
   * (migration 0014 says how on PostgreSQL). Throws CursorError for a foreign cursor.
   * @example movementFeed({ since: Date.parse('2026-12-01T00:00:00Z'), limit: 500 })
   */
  movementFeed(options: {
    since?: EpochMs | undefined;
    until?: EpochMs | undefined;
    type?: string | undefined;
    location?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<FeedPage<MovementView>>;
  /** Sales facts that drove available below zero, newest first. */
  listOversells(options: { cursor?: string | undefined; limit: number }): Promise<Page<MovementView>>;
  /** Levels holding pending reservations due at `now` (for the sweeper to tidy). */
  dueReservationLevels(now: EpochMs, limit: number): Promise<{ variantId: number; locationId: number }[]>;
  /** Delete stored idempotency answers recorded before `before`; returns how many. */
  pruneAnswers(before: EpochMs, limit: number): Promise<number>;
  /** Recompute every level from its movements and compare with the stored level. */
  verify(): Promise<VerifyReport>;
  /**
   * Levels ordered by sku, then location code (byte order), after `after`: the pages the stock
   * export streams, so no caller holds the whole table.
   * @example await store.ledger.listLevels({ after: { sku: 'A', location: 'WH1' }, limit: 1000 })
   */
  listLevels(options: {
    after?: { sku: string; location: string } | undefined;
    /** Only the levels of these variants (a CSV import reading the levels its rows count). */
    skus?: readonly string[] | undefined;
    limit: number;
  }): Promise<LevelListing[]>;
  /**
   * Movements recorded in [since, until) (either bound optional), oldest id first, after id
   * `afterId`: the pages the movement export streams.
   */
  listMovementsRecorded(options: {
    since?: EpochMs | undefined;
    until?: EpochMs | undefined;
    afterId?: number | undefined;
    limit: number;
  }): Promise<MovementView[]>;
}

/** The catalogue slice (`store.catalogue`): variants and bundles, locations, purchase orders. */
export interface CataloguePort {
  /** Bulk upsert by sku, all-or-nothing: a bad item throws {@link CatalogueError} and nothing changes. */
  upsertVariants(variants: readonly VariantInput[], now: EpochMs): Promise<UpsertReport>;
  /** Bulk upsert by code, all-or-nothing. */
  upsertLocations(locations: readonly LocationInput[], now: EpochMs): Promise<UpsertReport>;
  getVariant(sku: string): Promise<VariantRecord | null>;
  /**
   * The variants with these skus, in one read (unknown skus are left out): bulk checks such as a
   * CSV import resolving thousands of rows at a time, where one getVariant per row took 0.2 ms on
   * SQLite and 1.1 ms on PostgreSQL.
   * @example await store.catalogue.getVariants(['A', 'B'])
   */
  getVariants(skus: readonly string[]): Promise<VariantRecord[]>;
  /** Variants ordered by sku, after `afterSku`; `active` @default 'true'. */
  listVariants(options: {
    afterSku?: string | undefined;
    limit: number;
    active?: ActiveFilter | undefined;
  }): Promise<VariantRecord[]>;
  /** `active` @default 'true'. */
  listLocations(options?: { active?: ActiveFilter | undefined }): Promise<LocationRecord[]>;
  /**
   * Purchase orders in id order (byte order), filtered by status and by a sku on any line;
   * a keyset cursor. Throws CursorError for a foreign cursor.
   */
  listPurchaseOrders(options: {
    status?: PurchaseOrderStatus | undefined;
    sku?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<Page<PurchaseOrderRecord>>;
  /** Which of these skus and location codes are deactivated (unknown ones are not listed). */
  inactiveAmong(refs: { skus: readonly string[]; locations: readonly string[] }): Promise<{
    skus: string[];
    locations: string[];
  }>;
  /** Create or replace a purchase order; received quantities are kept per line. All-or-nothing. */
  upsertPurchaseOrder(order: PurchaseOrderInput, now: EpochMs): Promise<PurchaseOrderRecord>;
  getPurchaseOrder(id: string): Promise<PurchaseOrderRecord | null>;
}

/** The token slice (`store.tokens`): API tokens, stored as hashes only. */
export interface TokenPort {
  createToken(token: { id: string; name: string; scope: TokenScope; hash: string; createdAt: EpochMs }): Promise<void>;
  /** The live (not revoked) token with this hash. */
  findTokenByHash(hash: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  /** Returns false when no live token has this id. */
  revokeToken(id: string, at: EpochMs): Promise<boolean>;
  countTokens(): Promise<number>;
  /** Record a dashboard session: the SHA-256 of its secret, never the secret (nor the token). */
  createSession(session: { hash: string; tokenId: string; createdAt: EpochMs; expiresAt: EpochMs }): Promise<void>;
  /**
   * The session with this hash and its token, when the token is live and the session neither
   * idle since `idleSince` nor past its expiry at `now`; else null.
   */
  findSession(hash: string, now: EpochMs, idleSince: EpochMs): Promise<SessionRecord | null>;
  /** Record a use of the session (its idle bound counts from here). */
  touchSession(hash: string, at: EpochMs): Promise<void>;
  /** End a session; false when there was none. */
  deleteSession(hash: string): Promise<boolean>;
  /** Delete sessions expired or idle (a tidy at each sign-in); returns how many. */
  pruneSessions(now: EpochMs, idleSince: EpochMs): Promise<number>;
}

/** A live dashboard session and the token it acts with. */
export interface SessionRecord {
  token: TokenRecord;
  createdAt: EpochMs;
  lastUsedAt: EpochMs;
  expiresAt: EpochMs;
}

/** A statement written in a ledger batch's transaction (shared SQL: `$n` placeholders). */
export interface SideWrite {
  sql: string;
  params: readonly unknown[];
  /** Rows it must change, else the transaction fails with {@link SideWriteConflict}. */
  expectRows?: number | undefined;
}

/**
 * What a batch's transaction checks before applying it (GroupCommitter's preconditions, the
 * union over its submissions): tokens that must still be live, variants, locations and channels
 * that must still be active.
 */
export interface BatchChecks {
  tokenIds: readonly string[];
  skus: readonly string[];
  locations: readonly string[];
  channels: readonly string[];
}

/** The checks of a batch that failed. */
export interface BatchCheckFailures {
  revokedTokens: readonly string[];
  inactiveSkus: readonly string[];
  inactiveLocations: readonly string[];
  inactiveChannels: readonly string[];
}

/** A batch's checks failed: nothing of it was written. */
export class BatchChecksFailed extends Error {
  constructor(readonly failures: BatchCheckFailures) {
    super('a precondition of the ledger batch failed');
  }
}

/** A side write's row was changed by another writer first: the batch was not written. */
export class SideWriteConflict extends Error {
  constructor(readonly statement: string) {
    super('a row written with the ledger batch was changed by another writer first');
  }
}

/**
 * THE storage port: one object per database, its methods grouped in slices so that a consumer
 * takes only the slice it uses (the dispatcher an {@link OutboxPort}, the token check a
 * {@link TokenPort}...).
 *
 * | slice | holds |
 * |---|---|
 * | `ledger` | applyBatch, stock / movement / reservation / oversell views, expiry and answer pruning, verify |
 * | `catalogue` | variants, bundles, locations, purchase orders |
 * | `availability` | channels, listings, mappings, rule sets, stored desired quantities, recompute |
 * | `outbox` | channel leases, claims and results, sync status, dead letters, poll cursors, drift notices, drift per listing, last reconcile run per channel |
 * | `tokens` | API tokens |
 * | `orders` | channel order lines: folded state, applied effect, the intake inbox |
 *
 * What belongs to the database as a whole (migrations, closing, the cross-engine dump) stays
 * on the store itself. The slices of one store share its connections and transactions: a
 * catalogue write recomputes the availability it changes in the same transaction.
 */
export interface LedgerStore {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  readonly ledger: LedgerPort;
  readonly catalogue: CataloguePort;
  readonly availability: AvailabilityPort;
  readonly outbox: OutboxPort;
  readonly tokens: TokenPort;
  readonly orders: OrderLinePort;
  readonly kpis: KpiPort;
  readonly alerts: AlertPort;

  /** Apply pending numbered migrations. Safe to call concurrently from several processes. */
  migrate(): Promise<MigrationReport>;
  /** Release connections and file handles. */
  close(): Promise<void>;
  /** Every table's rows in a canonical order, for cross-engine comparison in tests. */
  canonicalDump(): Promise<Record<string, unknown[]>>;
}
