import assert from 'node:assert';
import Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import { checkVariantUpsert, type ExistingVariantFacts } from '../../core/catalogue.js';
import {
  applyCommands,
  collectNeeds,
  countQueries,
  purchaseOrderLineKey,
  reservationView,
  touchedLevels,
  type BatchItem,
  type CommandAnswer,
  type LedgerSnapshot,
  type LocationRef,
  type PurchaseOrderLineState,
  type ReservationState,
  type StoredAnswer,
  type VariantRef,
  type WriteSet,
} from '../../core/ledger/apply-commands.js';
import { levelKey, type LevelState } from '../../core/ledger/level.js';
import {
  CatalogueError,
  type LedgerStore,
  type LocationInput,
  type LocationRecord,
  type MigrationReport,
  type MovementView,
  type Page,
  type PurchaseOrderInput,
  type PurchaseOrderRecord,
  type StockView,
  type TokenRecord,
  type TokenScope,
  type UpsertReport,
  type VariantInput,
  type VariantRecord,
  type VerifyReport,
} from '../ledger-store.js';
import { readMigrations } from '../migration-files.js';
import { SqliteAvailability, recomputeChunkVariants } from './sqlite-availability.js';
import { SqliteDispatch } from './sqlite-dispatch.js';
import type { ChannelSyncStatus, DeadLetter, DispatchResult, DispatchRow } from '../../sync/dispatch-store.js';
import {
  UnknownRuleSetError,
  type ChannelInput,
  type ChannelRecord,
  type DryRunReport,
  type ListingExplanation,
  type ListingInput,
  type ListingQuantity,
  type ListingRecord,
  type ListingUpsertReport,
  type RecomputeReport,
  type RuleSetEvent,
  type RuleSetVersion,
  type UnmappedItem,
} from '../availability-store.js';
import type { RuleSet } from '../../core/availability/rule-set.js';
import {
  commandLegColumns,
  compareLevels,
  foldedAnswers,
  levelFromRow,
  levelMissingSql,
  pushAnswerValues,
  pushMovementValues,
  pushReservationValues,
  purchaseOrderLineFromRow,
  reservationFromRow,
  tokenFromRow,
  type CommandLegRow,
  type ReservationRow,
  type SqlValue,
} from '../rows.js';
import {
  bundleStockView,
  CursorError,
  decodeCursor,
  movementView,
  pageOf,
  stockView,
  type IncomingRow,
  type LevelRow,
  type MovementRow,
} from '../views.js';

/**
 * The embedded default store: one SQLite file, WAL, synchronous=FULL.
 *
 * Concurrency: every write transaction is `BEGIN IMMEDIATE`, i.e. it takes SQLite's single
 * write lock before its first read, so the snapshot the core judges is the state it writes
 * over (no check-then-write). Other connections and processes wait (busy_timeout).
 * better-sqlite3 is synchronous: a batch of 1,000 commands runs without yielding, which is
 * what makes group commit cheap here (one fsync per batch).
 */

const movementSelect = `
  SELECT m.*, v.sku AS sku, l.code AS location_code, c.code AS counterpart_code
  FROM movements m
  JOIN variants v ON v.id = m.variant_id
  JOIN locations l ON l.id = m.location_id
  LEFT JOIN locations c ON c.id = m.counterpart_location_id`;

const commandLegSelect = `SELECT ${commandLegColumns}
  FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id`;

const reservationSelect = `
  SELECT r.*, v.sku AS sku, l.code AS location_code
  FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id`;

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. */
  filename: string;
  /** Milliseconds a connection waits for the write lock held by another connection. @default 10000 */
  busyTimeoutMs?: number;
}

export class SqliteStore implements LedgerStore {
  readonly name = 'sqlite';
  readonly capabilities = { engine: 'sqlite', singleWriter: true, supportsSkipLocked: false, multiProcess: true } as const;
  private readonly db: Database.Database;
  private readonly availability: SqliteAvailability;
  private readonly dispatch: SqliteDispatch;
  private prepared: ReturnType<SqliteStore['prepare']> | undefined;

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.filename);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    if (options.filename !== ':memory:') {
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      assert.equal(mode, 'wal', 'SQLite must run in WAL mode');
    }
    this.db.pragma('synchronous = FULL');
    // 64 MiB page cache (default 2 MiB): levels and answer keys of a 100k-variant catalogue stay
    // in memory. Measured on bench:ledger spread: see bench/README.md.
    this.db.pragma('cache_size = -65536');
    // Checkpoint every ~16 MiB of WAL instead of ~4 MiB: fewer, larger checkpoints on the commit path.
    this.db.pragma('wal_autocheckpoint = 4000');
    this.db.pragma('foreign_keys = ON');
    // Durability guard (RELIABILITY 0.5): an acknowledged command must survive a power cut.
    const synchronous = this.db.pragma('synchronous', { simple: true });
    if (synchronous !== 2) throw new Error(`SQLite synchronous is ${String(synchronous)}, expected 2 (FULL)`);
    this.availability = new SqliteAvailability(this.db);
    this.dispatch = new SqliteDispatch(this.db);
  }

  private get sql() {
    this.prepared ??= this.prepare();
    return this.prepared;
  }

  private prepare() {
    const db = this.db;
    return {
      variantBySku: db.prepare<[string], { id: number; sku: string; is_bundle: number }>(
        'SELECT id, sku, is_bundle FROM variants WHERE sku = ?',
      ),
      locationByCode: db.prepare<[string], { id: number; code: string }>('SELECT id, code FROM locations WHERE code = ?'),
      reservationById: db.prepare<[string], ReservationRow>(`${reservationSelect} WHERE r.id = ?`),
      level: db.prepare<[number, number], Record<string, number | null>>(
        'SELECT * FROM levels WHERE variant_id = ? AND location_id = ?',
      ),
      dueReservations: db.prepare<[number, number, number], ReservationRow>(
        `${reservationSelect} WHERE r.variant_id = ? AND r.location_id = ? AND r.status = 'pending'
           AND r.expires_at IS NOT NULL AND r.expires_at <= ? ORDER BY r.expires_at, r.created_at, r.id`,
      ),
      answer: db.prepare<[string], { payload_hash: string; answer: string }>(
        'SELECT payload_hash, answer FROM command_answers WHERE key = ?',
      ),
      countBaseline: db.prepare<[number, number, number], { total: number | null }>(
        'SELECT sum(d_on_hand) AS total FROM movements WHERE variant_id = ? AND location_id = ? AND occurred_at > ?',
      ),
      purchaseOrderLine: db.prepare<[string, number], Record<string, unknown>>(
        `SELECT pol.*, po.status FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id
         WHERE pol.purchase_order_id = ? AND pol.line = ?`,
      ),
      maxMovementId: db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM movements'),
      insertMovement: db.prepare(
        `INSERT INTO movements (id, command_key, leg, type, variant_id, location_id, version,
           d_on_hand, d_reserved, d_damaged, d_quarantine, d_in_transit,
           on_hand, reserved, damaged, quarantine, in_transit, guarded, oversold, occurred_at, recorded_at,
           reason, source_system, source_reference, reservation_id, purchase_order_id, purchase_order_line, counterpart_location_id, payload_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertLevel: db.prepare(
        `INSERT INTO levels (variant_id, location_id, on_hand, reserved, damaged, quarantine, in_transit, held, version,
           last_count_at, last_count_source_version, velocity, velocity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateLevel: db.prepare(
        `UPDATE levels SET on_hand = ?, reserved = ?, damaged = ?, quarantine = ?, in_transit = ?, held = ?, version = ?,
           last_count_at = ?, last_count_source_version = ?, velocity = ?, velocity_at = ?
         WHERE variant_id = ? AND location_id = ? AND version = ?`,
      ),
      insertAnswer: db.prepare('INSERT INTO command_answers (key, payload_hash, answer, recorded_at) VALUES (?, ?, ?, ?)'),
      insertMovementsChunk: db.prepare(
        `INSERT INTO movements (id, command_key, leg, type, variant_id, location_id, version,
           d_on_hand, d_reserved, d_damaged, d_quarantine, d_in_transit,
           on_hand, reserved, damaged, quarantine, in_transit, guarded, oversold, occurred_at, recorded_at,
           reason, source_system, source_reference, reservation_id, purchase_order_id, purchase_order_line, counterpart_location_id, payload_hash)
         VALUES ${Array.from({ length: insertChunkRows }, () => `(${Array.from({ length: 29 }, () => '?').join(', ')})`).join(', ')}`,
      ),
      insertReservationsChunk: db.prepare(
        `INSERT INTO reservations (id, key, variant_id, location_id, quantity, committed_quantity, status, expires_at, created_at, resolved_at)
         VALUES ${Array.from({ length: insertChunkRows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      ),
      commandLeg: db.prepare<[string], CommandLegRow>(`${commandLegSelect} WHERE m.command_key = ?`),
      commandLegsChunk: db.prepare<string[], CommandLegRow>(
        `${commandLegSelect} WHERE m.command_key IN (${Array.from({ length: insertChunkRows }, () => '?').join(', ')})`,
      ),
      answersChunk: db.prepare<string[], { key: string; payload_hash: string; answer: string }>(
        `SELECT key, payload_hash, answer FROM command_answers WHERE key IN (${Array.from({ length: insertChunkRows }, () => '?').join(', ')})`,
      ),
      insertAnswersChunk: db.prepare(
        `INSERT INTO command_answers (key, payload_hash, answer, recorded_at)
         VALUES ${Array.from({ length: insertChunkRows }, () => '(?, ?, ?, ?)').join(', ')}`,
      ),
      insertReservation: db.prepare(
        `INSERT INTO reservations (id, key, variant_id, location_id, quantity, committed_quantity, status, expires_at, created_at, resolved_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateReservation: db.prepare(
        'UPDATE reservations SET committed_quantity = ?, status = ?, resolved_at = ? WHERE id = ?',
      ),
      updatePurchaseOrderLine: db.prepare(
        'UPDATE purchase_order_lines SET quantity_received = ? WHERE purchase_order_id = ? AND line = ?',
      ),
    };
  }

  async migrate(): Promise<MigrationReport> {
    const migrations = readMigrations(new URL('./migrations/', import.meta.url));
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied: string[] = [];
    for (const migration of migrations) {
      const run = this.db.transaction(() => {
        const done = this.db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').get(migration.id);
        if (done) return false;
        this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(migration.id, Date.now());
        this.db.exec(migration.sql);
        return true;
      });
      if (run.immediate()) applied.push(migration.id);
    }
    this.prepared = undefined;
    return { applied, current: migrations[migrations.length - 1]?.id ?? '' };
  }

  async close(): Promise<void> {
    this.dispatch.close();
    if (this.db.open) this.db.close();
  }

  // --- catalogue ---------------------------------------------------------------------------

  async upsertVariants(variants: readonly VariantInput[], now: EpochMs): Promise<UpsertReport> {
    const db = this.db;
    const run = db.transaction(() => {
      const skus = new Set<string>();
      for (const variant of variants) {
        skus.add(variant.sku);
        for (const component of variant.components ?? []) skus.add(component.sku);
      }
      const facts = new Map<string, ExistingVariantFacts>();
      const factStatement = db.prepare<[string], { sku: string; is_bundle: number; used: number; moved: number }>(
        `SELECT v.sku, v.is_bundle,
           EXISTS (SELECT 1 FROM bundle_components b WHERE b.component_id = v.id) AS used,
           EXISTS (SELECT 1 FROM levels l WHERE l.variant_id = v.id AND l.version > 0) AS moved
         FROM variants v WHERE v.sku = ?`,
      );
      for (const sku of skus) {
        const row = factStatement.get(sku);
        if (row) facts.set(sku, { sku, isBundle: row.is_bundle === 1, usedAsComponent: row.used === 1, hasMovements: row.moved === 1 });
      }
      const problems = checkVariantUpsert(variants, facts);
      if (problems.length > 0) throw new CatalogueError('variants rejected; nothing was changed', problems);
      const upsert = db.prepare<unknown[], { id: number; created: number }>(
        `INSERT INTO variants (sku, name, barcode, product_group, attributes, is_bundle, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, barcode = excluded.barcode,
           product_group = excluded.product_group, attributes = excluded.attributes,
           is_bundle = excluded.is_bundle, updated_at = excluded.updated_at
         RETURNING id, created_at = ${Number(now)} AS created`,
      );
      let created = 0;
      let updated = 0;
      const ids = new Map<string, number>();
      for (const variant of variants) {
        const row = upsert.get(
          variant.sku,
          variant.name,
          variant.barcode ?? null,
          variant.productGroup ?? null,
          JSON.stringify(variant.attributes ?? {}),
          (variant.components?.length ?? 0) > 0 ? 1 : 0,
          now,
          now,
        )!;
        ids.set(variant.sku, row.id);
        if (row.created === 1) created += 1;
        else updated += 1;
      }
      const idOf = db.prepare<[string], { id: number }>('SELECT id FROM variants WHERE sku = ?');
      for (const variant of variants) {
        const bundleId = ids.get(variant.sku)!;
        db.prepare('DELETE FROM bundle_components WHERE bundle_id = ?').run(bundleId);
        for (const component of variant.components ?? []) {
          db.prepare('INSERT INTO bundle_components (bundle_id, component_id, quantity) VALUES (?, ?, ?)').run(
            bundleId,
            idOf.get(component.sku)!.id,
            component.quantity,
          );
        }
      }
      this.recomputeNow([...ids.values()], now);
      return { created, updated };
    });
    return run.immediate();
  }

  /** Recompute these variants' listings inside the current transaction. */
  private recomputeNow(variantIds: readonly number[], now: EpochMs): number {
    this.availability.dropCache();
    const { listings, writes } = this.availability.recomputeVariants(variantIds, now);
    this.availability.writeQuantities(writes);
    return listings;
  }

  async upsertLocations(locations: readonly LocationInput[], now: EpochMs): Promise<UpsertReport> {
    const db = this.db;
    const run = db.transaction(() => {
      const seen = new Set<string>();
      const problems: { path: string; message: string }[] = [];
      locations.forEach((location, index) => {
        if (seen.has(location.code)) problems.push({ path: `/locations/${index}/code`, message: `code ${location.code} appears twice` });
        seen.add(location.code);
      });
      if (problems.length > 0) throw new CatalogueError('locations rejected; nothing was changed', problems);
      const upsert = db.prepare<unknown[], { created: number }>(
        `INSERT INTO locations (code, name, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at = excluded.updated_at
         RETURNING created_at = ${Number(now)} AS created`,
      );
      let created = 0;
      for (const location of locations) {
        if (upsert.get(location.code, location.name, location.kind, now, now)!.created === 1) created += 1;
      }
      this.availability.invalidate(); // codes and kinds are cached with the channels
      return { created, updated: locations.length - created };
    });
    return run.immediate();
  }

  async getVariant(sku: string): Promise<VariantRecord | null> {
    const row = this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM variants WHERE sku = ?').get(sku);
    return row ? this.variantFromRow(row) : null;
  }

  private variantFromRow(row: Record<string, unknown>): VariantRecord {
    const components = this.db
      .prepare<[number], { sku: string; quantity: number }>(
        'SELECT v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id WHERE b.bundle_id = ? ORDER BY v.sku',
      )
      .all(row.id as number);
    return {
      id: row.id as number,
      sku: row.sku as string,
      name: row.name as string,
      barcode: (row.barcode as string | null) ?? null,
      productGroup: (row.product_group as string | null) ?? null,
      attributes: JSON.parse(row.attributes as string) as Record<string, string>,
      isBundle: row.is_bundle === 1,
      components,
      createdAt: row.created_at as number,
      updatedAt: row.updated_at as number,
    };
  }

  async listVariants(options: { afterSku?: string | undefined; limit: number }): Promise<VariantRecord[]> {
    return this.db
      .prepare<[string, number], Record<string, unknown>>('SELECT * FROM variants WHERE sku > ? ORDER BY sku LIMIT ?')
      .all(options.afterSku ?? '', options.limit)
      .map((row) => this.variantFromRow(row));
  }

  async listLocations(): Promise<LocationRecord[]> {
    return this.db
      .prepare<[], { id: number; code: string; name: string; kind: LocationRecord['kind']; created_at: number; updated_at: number }>(
        'SELECT * FROM locations ORDER BY code',
      )
      .all()
      .map((row) => ({ id: row.id, code: row.code, name: row.name, kind: row.kind, createdAt: row.created_at, updatedAt: row.updated_at }));
  }

  async upsertPurchaseOrder(order: PurchaseOrderInput, now: EpochMs): Promise<PurchaseOrderRecord> {
    const db = this.db;
    const run = db.transaction(() => {
      const problems: { path: string; message: string }[] = [];
      const resolved = order.lines.map((line, index) => {
        const variant = this.sql.variantBySku.get(line.sku);
        const location = this.sql.locationByCode.get(line.location);
        if (!variant) problems.push({ path: `/lines/${index}/sku`, message: `unknown sku ${line.sku}` });
        else if (variant.is_bundle === 1) problems.push({ path: `/lines/${index}/sku`, message: `${line.sku} is a bundle; order its components` });
        if (!location) problems.push({ path: `/lines/${index}/location`, message: `unknown location ${line.location}` });
        return { ...line, variantId: variant?.id ?? 0, locationId: location?.id ?? 0 };
      });
      const numbers = new Set<number>();
      order.lines.forEach((line, index) => {
        if (numbers.has(line.line)) problems.push({ path: `/lines/${index}/line`, message: `line ${line.line} appears twice` });
        numbers.add(line.line);
      });
      const existing = db
        .prepare<[string], { line: number; variant_id: number; location_id: number; quantity_received: number }>(
          'SELECT line, variant_id, location_id, quantity_received FROM purchase_order_lines WHERE purchase_order_id = ?',
        )
        .all(order.id);
      for (const line of existing) {
        if (line.quantity_received === 0) continue;
        const next = resolved.find((candidate) => candidate.line === line.line);
        if (!next) problems.push({ path: '/lines', message: `line ${line.line} has receipts and cannot be removed` });
        else if (next.variantId !== line.variant_id || next.locationId !== line.location_id) {
          problems.push({ path: '/lines', message: `line ${line.line} has receipts: its sku and location cannot change` });
        }
      }
      if (problems.length > 0) throw new CatalogueError('purchase order rejected; nothing was changed', problems);
      db.prepare(
        `INSERT INTO purchase_orders (id, supplier, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET supplier = excluded.supplier, status = excluded.status, updated_at = excluded.updated_at`,
      ).run(order.id, order.supplier ?? null, order.status, now, now);
      const received = new Map(existing.map((line) => [line.line, line.quantity_received]));
      db.prepare('DELETE FROM purchase_order_lines WHERE purchase_order_id = ?').run(order.id);
      const insert = db.prepare(
        `INSERT INTO purchase_order_lines (purchase_order_id, line, variant_id, location_id, quantity_ordered, quantity_received, expected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const line of resolved) {
        insert.run(order.id, line.line, line.variantId, line.locationId, line.quantity, received.get(line.line) ?? 0, line.expectedAt);
      }
      // Pre-order offers follow incoming stock.
      this.recomputeNow([...new Set([...resolved.map((line) => line.variantId), ...existing.map((line) => line.variant_id)])], now);
    });
    run.immediate();
    return (await this.getPurchaseOrder(order.id))!;
  }

  async getPurchaseOrder(id: string): Promise<PurchaseOrderRecord | null> {
    const order = this.db
      .prepare<[string], { id: string; supplier: string | null; status: PurchaseOrderRecord['status']; created_at: number; updated_at: number }>(
        'SELECT * FROM purchase_orders WHERE id = ?',
      )
      .get(id);
    if (!order) return null;
    const lines = this.db
      .prepare<[string], { line: number; sku: string; code: string; quantity_ordered: number; quantity_received: number; expected_at: number | null }>(
        `SELECT pol.line, v.sku, l.code, pol.quantity_ordered, pol.quantity_received, pol.expected_at
         FROM purchase_order_lines pol JOIN variants v ON v.id = pol.variant_id JOIN locations l ON l.id = pol.location_id
         WHERE pol.purchase_order_id = ? ORDER BY pol.line`,
      )
      .all(id);
    return {
      id: order.id,
      supplier: order.supplier,
      status: order.status,
      createdAt: order.created_at,
      updatedAt: order.updated_at,
      lines: lines.map((line) => ({
        line: line.line,
        sku: line.sku,
        location: line.code,
        quantityOrdered: line.quantity_ordered,
        quantityReceived: line.quantity_received,
        incoming: order.status === 'open' ? Math.max(0, line.quantity_ordered - line.quantity_received) : 0,
        expectedAt: line.expected_at,
      })),
    };
  }

  // --- ledger ------------------------------------------------------------------------------

  async applyBatch(items: readonly BatchItem[], now: EpochMs, newReservationId: () => string): Promise<CommandAnswer[]> {
    const run = this.db.transaction(() => this.applyBatchLocked(items, now, newReservationId));
    try {
      const { answers, writes } = run.immediate();
      this.availability.batchCommitted(writes.levels.map((write) => write.level), writes.listingQuantities);
      return answers;
    } catch (error) {
      this.availability.dropCache();
      throw error;
    }
  }

  /** Runs inside BEGIN IMMEDIATE: load -> decide (pure core) -> write. */
  private applyBatchLocked(items: readonly BatchItem[], now: EpochMs, newReservationId: () => string): { answers: CommandAnswer[]; writes: WriteSet } {
    const sql = this.sql;
    const needs = collectNeeds(items);
    const variants = new Map<string, VariantRef>();
    for (const sku of needs.skus) {
      const row = sql.variantBySku.get(sku);
      if (!row) continue;
      const components =
        row.is_bundle === 1
          ? this.db
              .prepare<[number], { variantId: number; sku: string; quantity: number }>(
                'SELECT b.component_id AS variantId, v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id WHERE b.bundle_id = ? ORDER BY v.sku',
              )
              .all(row.id)
          : undefined;
      variants.set(sku, { id: row.id, sku: row.sku, isBundle: row.is_bundle === 1, components });
    }
    const locations = new Map<string, LocationRef>();
    for (const code of needs.locationCodes) {
      const row = sql.locationByCode.get(code);
      if (row) locations.set(code, row);
    }
    const reservations = new Map<string, ReservationState>();
    for (const id of needs.reservationIds) {
      const row = sql.reservationById.get(id);
      if (row) reservations.set(id, reservationFromRow(row));
    }
    const levels = new Map<string, LevelState>();
    const dueReservations = new Map<string, ReservationState[]>();
    for (const { variantId, locationId } of touchedLevels(items, variants, locations, reservations)) {
      const key = levelKey(variantId, locationId);
      const row = sql.level.get(variantId, locationId);
      if (row) levels.set(key, levelFromRow(row));
      const due = sql.dueReservations.all(variantId, locationId, now);
      if (due.length > 0) dueReservations.set(key, due.map(reservationFromRow));
    }
    const answers = new Map<string, StoredAnswer>();
    const storeAnswer = (row: { key: string; payload_hash: string; answer: string }) =>
      answers.set(row.key, { payloadHash: row.payload_hash, answer: JSON.parse(row.answer) as CommandAnswer });
    const legs: CommandLegRow[] = [];
    let keyIndex = 0;
    for (; keyIndex + insertChunkRows <= needs.keys.length; keyIndex += insertChunkRows) {
      const chunk = needs.keys.slice(keyIndex, keyIndex + insertChunkRows);
      for (const row of sql.answersChunk.all(...chunk)) storeAnswer(row);
      legs.push(...sql.commandLegsChunk.all(...chunk));
    }
    for (; keyIndex < needs.keys.length; keyIndex += 1) {
      const row = sql.answer.get(needs.keys[keyIndex]!);
      if (row) storeAnswer({ ...row, key: needs.keys[keyIndex]! });
      legs.push(...sql.commandLeg.all(needs.keys[keyIndex]!));
    }
    foldedAnswers(legs, answers);
    const countBaselines = new Map<string, number>();
    for (const query of countQueries(items, variants, locations, now)) {
      countBaselines.set(query.key, sql.countBaseline.get(query.variantId, query.locationId, query.countedAt)?.total ?? 0);
    }
    const purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
    for (const wanted of needs.purchaseOrderLines) {
      const row = sql.purchaseOrderLine.get(wanted.purchaseOrderId, wanted.line);
      if (row) purchaseOrderLines.set(purchaseOrderLineKey(wanted.purchaseOrderId, wanted.line), purchaseOrderLineFromRow(row));
    }
    const touchedVariants = [...new Set(touchedLevels(items, variants, locations, reservations).map((level) => level.variantId))];
    const availability = this.availability.contextForBatch(touchedVariants);
    const snapshot: LedgerSnapshot = {
      variants, locations, levels, reservations, dueReservations, answers, countBaselines, purchaseOrderLines, availability,
    };
    let nextMovementId = (sql.maxMovementId.get()?.id ?? 0) + 1;
    const outcome = applyCommands(snapshot, items, { now, newReservationId, newMovementId: () => nextMovementId++ });

    const { writes } = outcome;
    // Multi-row INSERTs: better-sqlite3 pays a fixed cost per run(), so 100 rows per statement
    // (bench/README.md).
    insertChunked(writes.movements, pushMovementValues, sql.insertMovementsChunk, sql.insertMovement);
    for (const { level, previousVersion, created } of writes.levels) {
      if (created) {
        sql.insertLevel.run(level.variantId, level.locationId, level.onHand, level.reserved, level.damaged, level.quarantine,
          level.inTransit, level.held, level.version, level.lastCountAt, level.lastCountSourceVersion, level.velocityRate, level.velocityAt);
      } else {
        const result = sql.updateLevel.run(level.onHand, level.reserved, level.damaged, level.quarantine, level.inTransit,
          level.held, level.version, level.lastCountAt, level.lastCountSourceVersion, level.velocityRate, level.velocityAt, level.variantId, level.locationId, previousVersion);
        // Pair assertion: the row we judged is the row we overwrite.
        assert.equal(result.changes, 1, `level ${level.variantId}:${level.locationId} changed under the write lock`);
      }
    }
    insertChunked(
      writes.answers,
      pushAnswerValues,
      sql.insertAnswersChunk,
      sql.insertAnswer,
    );
    insertChunked(
      writes.reservations.filter((entry) => entry.created).map((entry) => entry.reservation),
      pushReservationValues,
      sql.insertReservationsChunk,
      sql.insertReservation,
    );
    for (const { reservation, created } of writes.reservations) {
      if (!created) sql.updateReservation.run(reservation.committedQuantity, reservation.status, reservation.resolvedAt, reservation.id);
    }
    for (const line of writes.purchaseOrderLines) {
      sql.updatePurchaseOrderLine.run(line.quantityReceived, line.purchaseOrderId, line.line);
    }
    this.availability.writeQuantities(writes.listingQuantities);
    return { answers: outcome.answers, writes };
  }

  private levelRows(variantId: number, now: EpochMs): LevelRow[] {
    return this.db
      .prepare<[EpochMs, number], LevelRow>(
        `SELECT l.code AS location_code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.version, lv.last_count_at,
           COALESCE((SELECT sum(r.quantity) FROM reservations r WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id
             AND r.status = 'pending' AND r.expires_at IS NOT NULL AND r.expires_at <= ?), 0) AS due_held
         FROM levels lv JOIN locations l ON l.id = lv.location_id WHERE lv.variant_id = ? ORDER BY l.code`,
      )
      .all(now, variantId);
  }

  async getStock(sku: string, now: EpochMs): Promise<StockView | null> {
    const variant = this.db.prepare<[string], { id: number; sku: string; name: string; is_bundle: number }>(
      'SELECT id, sku, name, is_bundle FROM variants WHERE sku = ?',
    ).get(sku);
    if (!variant) return null;
    if (variant.is_bundle === 1) {
      const components = this.db
        .prepare<[number], { id: number; sku: string; quantity: number }>(
          'SELECT v.id, v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id WHERE b.bundle_id = ? ORDER BY v.sku',
        )
        .all(variant.id);
      return bundleStockView(variant, components.map((component) => ({ ...component, levels: this.levelRows(component.id, now) })));
    }
    const incoming = this.db
      .prepare<[number], IncomingRow>(
        `SELECT pol.purchase_order_id, pol.line, l.code AS location_code, pol.quantity_ordered - pol.quantity_received AS quantity, pol.expected_at
         FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id JOIN locations l ON l.id = pol.location_id
         WHERE pol.variant_id = ? AND po.status = 'open' AND pol.quantity_ordered > pol.quantity_received
         ORDER BY pol.expected_at IS NULL, pol.expected_at, pol.purchase_order_id, pol.line`,
      )
      .all(variant.id);
    return stockView(variant, this.levelRows(variant.id, now), incoming);
  }

  async listMovements(
    sku: string,
    options: { location?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<Page<MovementView> | null> {
    const variant = this.sql.variantBySku.get(sku);
    if (!variant) return null;
    const before = decodeCursor(options.cursor);
    if (before === 'invalid') throw new CursorError('cursor is not one this server issued');
    const rows = this.db
      .prepare<unknown[], MovementRow>(
        `${movementSelect} WHERE m.variant_id = ? AND m.id < ? ${options.location === undefined ? '' : 'AND l.code = ?'}
         ORDER BY m.id DESC LIMIT ?`,
      )
      .all(...[variant.id, before ?? Number.MAX_SAFE_INTEGER, ...(options.location === undefined ? [] : [options.location]), options.limit + 1]);
    return pageOf(rows, options.limit, movementView);
  }

  async getReservation(id: string, now: EpochMs): Promise<ReturnType<typeof reservationView> | null> {
    const row = this.sql.reservationById.get(id);
    return row ? reservationView(reservationFromRow(row), now) : null;
  }

  async listOversells(options: { cursor?: string | undefined; limit: number }): Promise<Page<MovementView>> {
    const before = decodeCursor(options.cursor);
    if (before === 'invalid') throw new CursorError('cursor is not one this server issued');
    const rows = this.db
      .prepare<[number, number], MovementRow>(`${movementSelect} WHERE m.oversold > 0 AND m.id < ? ORDER BY m.id DESC LIMIT ?`)
      .all(before ?? Number.MAX_SAFE_INTEGER, options.limit + 1);
    return pageOf(rows, options.limit, movementView);
  }

  // --- maintenance ---------------------------------------------------------------------------

  async dueReservationLevels(now: EpochMs, limit: number): Promise<{ variantId: number; locationId: number }[]> {
    return this.db
      .prepare<[EpochMs, number], { variant_id: number; location_id: number }>(
        `SELECT DISTINCT variant_id, location_id FROM reservations
         WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY variant_id, location_id LIMIT ?`,
      )
      .all(now, limit)
      .map((row) => ({ variantId: row.variant_id, locationId: row.location_id }));
  }

  async pruneAnswers(before: EpochMs, limit: number): Promise<number> {
    // Rowid order is recording order (one writer), so the oldest `limit` rows are the candidates:
    // a bounded window, no index on recorded_at, no full scan when nothing is old enough.
    return this.db
      .prepare(
        `DELETE FROM command_answers WHERE id IN
           (SELECT id FROM (SELECT id, recorded_at FROM command_answers ORDER BY id LIMIT ?) WHERE recorded_at < ?)`,
      )
      .run(limit, before).changes;
  }

  async verify(): Promise<VerifyReport> {
    const rows = this.db
      .prepare<[], Record<string, number | string>>(
        `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.version,
           COALESCE(m.on_hand, 0) AS m_on_hand, COALESCE(m.reserved, 0) AS m_reserved, COALESCE(m.damaged, 0) AS m_damaged,
           COALESCE(m.quarantine, 0) AS m_quarantine, COALESCE(m.in_transit, 0) AS m_in_transit, COALESCE(m.n, 0) AS m_version,
           lv.held, COALESCE((SELECT sum(r.quantity) FROM reservations r WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id
             AND r.status = 'pending'), 0) AS m_held
         FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id
         LEFT JOIN (SELECT variant_id, location_id, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved, sum(d_damaged) AS damaged,
                      sum(d_quarantine) AS quarantine, sum(d_in_transit) AS in_transit, count(*) AS n
                    FROM movements GROUP BY variant_id, location_id) m
           ON m.variant_id = lv.variant_id AND m.location_id = lv.location_id`,
      )
      .all();
    const movementsChecked = this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM movements').get()!.n;
    const orphans = this.db
      .prepare<[], Record<string, number | string>>(
        levelMissingSql,
      )
      .all();
    return compareLevels(rows, orphans, movementsChecked);
  }

  async canonicalDump(): Promise<Record<string, unknown[]>> {
    const dump = (sql: string) => this.db.prepare(sql).all();
    return {
      variants: dump('SELECT sku, name, barcode, product_group, attributes, is_bundle FROM variants ORDER BY sku'),
      locations: dump('SELECT code, name, kind FROM locations ORDER BY code'),
      levels: dump(
        `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.held, lv.version, lv.last_count_at, lv.last_count_source_version
         FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id ORDER BY v.sku, l.code`,
      ),
      movements: dump(
        `SELECT m.command_key, m.leg, m.type, v.sku, l.code, m.version, m.d_on_hand, m.d_reserved, m.d_damaged, m.d_quarantine, m.d_in_transit,
           m.on_hand, m.reserved, m.damaged, m.quarantine, m.in_transit, m.guarded, m.oversold, m.occurred_at, m.recorded_at, m.payload_hash
         FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id ORDER BY v.sku, l.code, m.version`,
      ),
      reservations: dump(
        `SELECT r.key, v.sku, l.code, r.quantity, r.committed_quantity, r.status, r.expires_at, r.created_at, r.resolved_at
         FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id ORDER BY r.key`,
      ),
      answers: dump('SELECT key, payload_hash, recorded_at FROM command_answers ORDER BY key'),
    };
  }

  // --- availability --------------------------------------------------------------------------

  async upsertChannels(channels: readonly ChannelInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    const report = this.db.transaction(() => this.availability.upsertChannels(channels, now)).immediate();
    await this.recomputeAll(now); // a channel's locations feed every one of its listings
    return report;
  }

  async listChannels(): Promise<ChannelRecord[]> {
    return this.availability.listChannels();
  }

  async getChannel(code: string): Promise<ChannelRecord | null> {
    return this.availability.listChannels().find((channel) => channel.code === code) ?? null;
  }

  async upsertListings(listings: readonly ListingInput[], now: EpochMs): Promise<ListingUpsertReport> {
    return this.db
      .transaction(() => {
        const { variantIds, ...report } = this.availability.upsertListings(listings, now);
        this.recomputeNow(variantIds, now);
        return report;
      })
      .immediate();
  }

  async upsertMappings(mappings: readonly { channel: string; externalId: string; sku: string }[], now: EpochMs) {
    this.availability.dropCache();
    return this.db.transaction(() => this.availability.upsertMappings(mappings, now)).immediate();
  }

  async listListings(options: { channel?: string | undefined; sku?: string | undefined; afterId?: string | undefined; limit: number }): Promise<ListingRecord[]> {
    return this.availability.listListings(options);
  }

  async getListing(id: string): Promise<ListingRecord | null> {
    return this.availability.getListing(id);
  }

  async listUnmapped(options: { channel?: string | undefined; limit: number }): Promise<(UnmappedItem & { at: EpochMs })[]> {
    return this.availability.listUnmapped(options);
  }

  async createRuleSet(input: { rules: RuleSet; author: string; note?: string | null | undefined }, now: EpochMs): Promise<RuleSetVersion> {
    return this.db.transaction(() => this.availability.createRuleSet(input, now)).immediate();
  }

  async listRuleSets(): Promise<RuleSetVersion[]> {
    return this.availability.listRuleSets();
  }

  async getRuleSet(version: number): Promise<RuleSetVersion | null> {
    return this.availability.getRuleSet(version);
  }

  async ruleSetEvents(): Promise<RuleSetEvent[]> {
    return this.availability.ruleSetEvents();
  }

  async dryRunRuleSet(rules: RuleSet, now: EpochMs, limit: number): Promise<DryRunReport> {
    this.availability.checkRules(rules);
    const report: DryRunReport = { baseVersion: this.availability.loadConfig().ruleVersion, listings: 0, changed: 0, changes: [] };
    for (let after = 0; ; ) {
      const ids = this.availability.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      this.db.transaction(() => this.availability.dryRunChunk(ids, rules, now, report))();
      after = ids[ids.length - 1]!;
      await new Promise((resolve) => setImmediate(resolve));
    }
    report.changes.sort((a, b) => a.proposed - a.current - (b.proposed - b.current) || (a.listingId < b.listingId ? -1 : 1));
    report.changes = report.changes.slice(0, limit);
    return report;
  }

  async activateRuleSet(
    version: number,
    by: { author: string; note?: string | null | undefined },
    now: EpochMs,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RecomputeReport> {
    if (!this.db.transaction(() => this.availability.activate(version, by, now)).immediate()) throw new UnknownRuleSetError(version);
    return this.recomputeAll(now, onProgress);
  }

  async getAvailability(sku: string): Promise<ListingQuantity[] | null> {
    return this.availability.getAvailability(sku);
  }

  async explainListing(listingId: string, now: EpochMs): Promise<ListingExplanation | null> {
    return this.availability.explainListing(listingId, now);
  }

  /**
   * Every listed variant, in chunks of `recomputeChunkVariants`, each chunk its own write
   * transaction; the event loop runs between chunks so the API stays responsive.
   */
  async recomputeAll(now: EpochMs, onProgress?: (done: number, total: number) => void): Promise<RecomputeReport> {
    const total = this.availability.countListedVariants();
    const report: RecomputeReport = { variants: 0, listings: 0, changed: 0, ruleVersion: this.availability.loadConfig().ruleVersion };
    onProgress?.(0, total);
    for (let after = 0; ; ) {
      const ids = this.availability.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      const [first, last] = [ids[0]!, ids[ids.length - 1]!];
      this.availability.dropCache();
      this.db
        .transaction(() => {
          const { variants, listings, writes } = this.availability.recomputeRange(first, last, now);
          this.availability.writeQuantities(writes);
          report.variants += variants;
          report.listings += listings;
          report.changed += writes.length;
        })
        .immediate();
      after = last;
      onProgress?.(report.variants, total);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return report;
  }

  // --- propagation -------------------------------------------------------------------------

  async acquireLease(channel: string, owner: string, now: EpochMs, ttlMs: number): Promise<number | null> {
    return this.dispatch.acquireLease(channel, owner, now, ttlMs);
  }

  async releaseLease(channel: string, owner: string): Promise<void> {
    this.dispatch.releaseLease(channel, owner);
  }

  async claimDue(channel: string, epoch: number, now: EpochMs, limit: number, claimMs: number): Promise<DispatchRow[]> {
    return this.dispatch.claimDue(channel, epoch, now, limit, claimMs);
  }

  async recordResults(channel: string, epoch: number, results: readonly DispatchResult[], now: EpochMs): Promise<boolean> {
    // Only dispatch columns change: the availability cache (quantities, rule versions) stays valid.
    return this.dispatch.recordResults(channel, epoch, results, now);
  }

  async syncStatus(now: EpochMs): Promise<ChannelSyncStatus[]> {
    return this.dispatch.syncStatus(now);
  }

  async listDeadLetters(options: { channel?: string | undefined; limit: number }): Promise<DeadLetter[]> {
    return this.dispatch.listDeadLetters(options);
  }

  async redrive(options: { channel?: string | undefined; limit: number }, now: EpochMs): Promise<number> {
    return this.dispatch.redrive(options, now);
  }

  async noticeChannelLevel(channel: string, externalId: string, shown: number, now: EpochMs, graceMs: number): Promise<'consistent' | 'drift' | 'unknown'> {
    return this.dispatch.noticeChannelLevel(channel, externalId, shown, now, graceMs);
  }

  async pruneSamples(before: EpochMs): Promise<number> {
    return this.dispatch.pruneSamples(before);
  }

  async loadCursor(channel: string): Promise<string | null> {
    return this.dispatch.loadCursor(channel);
  }

  async saveCursor(channel: string, cursor: string, now: EpochMs): Promise<void> {
    this.dispatch.saveCursor(channel, cursor, now);
  }

  async listingByExternalId(channel: string, externalId: string): Promise<{ listingId: string; sku: string } | null> {
    return this.dispatch.listingByExternalId(channel, externalId);
  }

  // --- tokens ------------------------------------------------------------------------------

  async createToken(token: { id: string; name: string; scope: TokenScope; hash: string; createdAt: EpochMs }): Promise<void> {
    this.db
      .prepare('INSERT INTO tokens (id, name, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(token.id, token.name, token.scope, token.hash, token.createdAt);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const row = this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL').get(hash);
    return row ? tokenFromRow(row) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.db.prepare<[], Record<string, unknown>>('SELECT * FROM tokens ORDER BY created_at, id').all().map(tokenFromRow);
  }

  async revokeToken(id: string, at: EpochMs): Promise<boolean> {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
  }

  async countTokens(): Promise<number> {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM tokens').get()!.n;
  }
}

/** Rows per multi-row INSERT (29 columns x 100 = 2,900 parameters, far below SQLite's 32,766). */
const insertChunkRows = 100;

function insertChunked<T>(rows: readonly T[], write: (row: T, out: SqlValue[]) => void, chunk: Database.Statement, single: Database.Statement): void {
  // One flat parameter list per statement, passed as arguments: better-sqlite3 binds its call's
  // own arguments faster than an array argument's elements (callgrind: -9k instructions per row).
  const params: SqlValue[] = [];
  let index = 0;
  for (; index + insertChunkRows <= rows.length; index += insertChunkRows) {
    params.length = 0;
    for (let row = index; row < index + insertChunkRows; row += 1) write(rows[row]!, params);
    chunk.run(...params);
  }
  for (; index < rows.length; index += 1) {
    params.length = 0;
    write(rows[index]!, params);
    single.run(...params);
  }
}

