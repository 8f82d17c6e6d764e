import assert from 'node:assert';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
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
  type LocationRef,
  type PurchaseOrderLineState,
  type ReservationState,
  type ReservationView,
  type StoredAnswer,
  type VariantRef,
} from '../../core/ledger/apply-commands.js';
import { levelKey, type LevelState } from '../../core/ledger/level.js';
import { limits } from '../../core/limits.js';
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
import { copyRows } from './copy-rows.js';
import { PostgresAvailability, recomputeChunkVariants } from './postgres-availability.js';
import { PostgresDispatch } from './postgres-dispatch.js';
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
  type MappingInput,
  type RecomputeReport,
  type RuleSetEvent,
  type RuleSetVersion,
  type UnmappedItem,
} from '../availability-store.js';
import type { RuleSet } from '../../core/availability/rule-set.js';
import {
  answerInsertColumns,
  commandLegColumns,
  compareLevels,
  foldedAnswers,
  levelFromRow,
  levelMissingSql,
  pushAnswerValues,
  pushMovementValues,
  pushReservationValues,
  reservationInsertColumns,
  purchaseOrderLineFromRow,
  reservationFromRow,
  tokenFromRow,
  type CommandLegRow,
  type ReservationRow,
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
 * The production store: PostgreSQL through `pg`, shared by several onhand processes.
 *
 * The no-oversell guard is a row lock: a batch locks every level it touches with
 * `SELECT ... FOR UPDATE` (in (variant, location) order, so two batches never deadlock on
 * levels), judges the commands in memory with the pure core, and writes. Nothing between the
 * lock and the write can change those rows, whatever the isolation level; we do not rely on
 * SERIALIZABLE (Jepsen found G2-item anomalies in PostgreSQL 12.3's SSI). CHECK constraints
 * back it (reserved >= 0; a guarded movement has available_after >= 0), and each level
 * update asserts the version it read (`WHERE version = $read`).
 *
 * Round trips per batch are constant (about ten, whatever its size): every read and write is
 * one set-based statement over `unnest` arrays. That is what turns ~3.5k single-row
 * transactions/s into tens of thousands of commands/s with group commit.
 *
 * Retry: 40001 (serialization), 40P01 (deadlock) and 23505 (two batches created the same
 * level or answer at once) roll the batch back and run it again, up to limits.batchAttemptsMax.
 */

/** int8 and numeric as JS numbers: every value we store is below 2^53 (limits.quantityMax). */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

const retryableCodes = new Set(['40001', '40P01', '23505']);

export interface PostgresStoreOptions {
  connectionString: string;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
  /** Start even when synchronous_commit is off (acknowledged commands may then be lost). @default false */
  allowAsyncCommit?: boolean;
}

export class DurabilityError extends Error {
  readonly code = 'ONH_ERR_DURABILITY';
}

type Queryable = pg.Pool | pg.PoolClient;

const reservationSelect = `
  SELECT r.*, v.sku AS sku, l.code AS location_code
  FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id`;

const movementSelect = `
  SELECT m.*, v.sku AS sku, l.code AS location_code, c.code AS counterpart_code
  FROM movements m
  JOIN variants v ON v.id = m.variant_id
  JOIN locations l ON l.id = m.location_id
  LEFT JOIN locations c ON c.id = m.counterpart_location_id`;

const movementColumns = [
  ['id', 'bigint'], ['command_key', 'text'], ['leg', 'bigint'], ['type', 'text'], ['variant_id', 'bigint'], ['location_id', 'bigint'],
  ['version', 'bigint'], ['d_on_hand', 'bigint'], ['d_reserved', 'bigint'], ['d_damaged', 'bigint'], ['d_quarantine', 'bigint'],
  ['d_in_transit', 'bigint'], ['on_hand', 'bigint'], ['reserved', 'bigint'], ['damaged', 'bigint'], ['quarantine', 'bigint'],
  ['in_transit', 'bigint'], ['guarded', 'smallint'], ['oversold', 'bigint'], ['occurred_at', 'bigint'], ['recorded_at', 'bigint'],
  ['reason', 'text'], ['source_system', 'text'], ['source_reference', 'text'], ['reservation_id', 'text'],
  ['purchase_order_id', 'text'], ['purchase_order_line', 'bigint'], ['counterpart_location_id', 'bigint'], ['payload_hash', 'text'],
] as const;

/** `INSERT INTO table (cols) SELECT * FROM unnest($1::t1[], ...)`: one statement for N rows. */
function unnestInsert(table: string, columns: readonly (readonly [string, string])[]): string {
  const names = columns.map(([name]) => name).join(', ');
  const arrays = columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ');
  return `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays})`;
}

/** Rows to column arrays for {@link unnestInsert}. */
function toColumns(rows: readonly (readonly unknown[])[], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) {
    assert.equal(row.length, width);
    row.forEach((value, index) => columns[index]!.push(value));
  }
  return columns;
}

/**
 * Bulk inserts of movements, answers and reservations go through COPY (`copy-rows.ts`: 2-2.5x
 * the rows/s of the former json_populate_recordset, a third of the CPU on both sides). Foreign
 * keys on movements were dropped for the same reason (three RI trigger lookups per row): every
 * movement's (variant, location) is its level row's, which has them, and `verify` reports any
 * movement without a level.
 */
const movementColumnNames = movementColumns.map(([name]) => name);

const levelColumns = [
  ['variant_id', 'bigint'], ['location_id', 'bigint'], ['on_hand', 'bigint'], ['reserved', 'bigint'], ['damaged', 'bigint'],
  ['quarantine', 'bigint'], ['in_transit', 'bigint'], ['held', 'bigint'], ['version', 'bigint'], ['last_count_at', 'bigint'],
  ['last_count_source_version', 'bigint'], ['velocity', 'float8'], ['velocity_at', 'bigint'],
] as const;
const insertLevelsSql = unnestInsert('levels', levelColumns);
const updateLevelsSql = `
  UPDATE levels AS l SET on_hand = u.on_hand, reserved = u.reserved, damaged = u.damaged, quarantine = u.quarantine,
    in_transit = u.in_transit, held = u.held, version = u.version, last_count_at = u.last_count_at,
    last_count_source_version = u.last_count_source_version, velocity = u.velocity, velocity_at = u.velocity_at
  FROM json_to_recordset($1::json) AS u(variant_id bigint, location_id bigint, on_hand bigint, reserved bigint, damaged bigint,
    quarantine bigint, in_transit bigint, held bigint, velocity float8, velocity_at bigint, version bigint, last_count_at bigint, last_count_source_version bigint, previous_version bigint)
  WHERE l.variant_id = u.variant_id AND l.location_id = u.location_id AND l.version = u.previous_version`;
const updateReservationsSql = `
  UPDATE reservations AS r SET committed_quantity = u.committed_quantity, status = u.status, resolved_at = u.resolved_at
  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS u(id, committed_quantity, status, resolved_at)
  WHERE r.id = u.id`;

/** `count` fresh movement ids, ascending (unused ones are gaps). */
async function allocateMovementIds(client: pg.PoolClient, count: number): Promise<number[]> {
  const { rows } = await client.query<{ id: number }>("SELECT nextval('movements_id_seq') AS id FROM generate_series(1, $1::int)", [count]);
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

export class PostgresStore implements LedgerStore {
  readonly name = 'postgres';
  readonly capabilities = { engine: 'postgres', singleWriter: false, supportsSkipLocked: true, multiProcess: true } as const;
  private readonly pool: pg.Pool;
  private readonly availability = new PostgresAvailability();
  private readonly dispatch: PostgresDispatch;
  /** Batches re-run after a retryable conflict (for benchmarks and tests). */
  retries = 0;

  constructor(private readonly options: PostgresStoreOptions) {
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10, types });
    // An idle client that errors (server restart) must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
    this.dispatch = new PostgresDispatch(this.pool, (work) => this.transaction(work));
  }

  /**
   * Refuse to run where an acknowledged command could be lost (RELIABILITY 0.5, D3):
   * synchronous_commit=off acknowledges before the WAL is flushed, fsync=off never flushes.
   */
  async checkDurability(): Promise<void> {
    const { rows } = await this.pool.query<{ synchronous_commit: string; fsync: string }>(
      "SELECT current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync",
    );
    const settings = rows[0]!;
    if (settings.fsync !== 'on') throw new DurabilityError('PostgreSQL runs with fsync=off: onhand refuses to acknowledge commands it could lose');
    if (settings.synchronous_commit === 'off' && !this.options.allowAsyncCommit) {
      throw new DurabilityError(
        'PostgreSQL synchronous_commit is off: acknowledged commands could be lost in a crash. ' +
          'Turn it on, or start with --allow-async-commit (ONHAND_ALLOW_ASYNC_COMMIT=true) to accept that risk.',
      );
    }
  }

  async migrate(): Promise<MigrationReport> {
    await this.checkDurability();
    const migrations = readMigrations(new URL('./migrations/', import.meta.url));
    const applied: string[] = [];
    await this.transaction(async (client) => {
      // One migrator at a time across every process sharing the database.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('onhand_migrations'))");
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((row) => row.id));
      for (const migration of migrations) {
        if (done.has(migration.id)) continue;
        await client.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [migration.id, Date.now()]);
        await client.query(migration.sql);
        applied.push(migration.id);
      }
    });
    return { applied, current: migrations[migrations.length - 1]?.id ?? '' };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Run `work` in one transaction, retrying retryable conflicts. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if (code === undefined || !retryableCodes.has(code) || attempt >= limits.batchAttemptsMax) throw error;
        this.retries += 1;
        await delay(Math.min(50, 2 ** attempt) * Math.random());
      } finally {
        client.release();
      }
    }
  }

  // --- catalogue ---------------------------------------------------------------------------

  async upsertVariants(variants: readonly VariantInput[], now: EpochMs): Promise<UpsertReport> {
    return this.transaction(async (client) => {
      const skus = new Set<string>();
      for (const variant of variants) {
        skus.add(variant.sku);
        for (const component of variant.components ?? []) skus.add(component.sku);
      }
      // Serialise catalogue writers: bundle rules read other rows.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('onhand_catalogue'))");
      const { rows } = await client.query<{ sku: string; is_bundle: number; used: boolean; moved: boolean }>(
        `SELECT v.sku, v.is_bundle,
           EXISTS (SELECT 1 FROM bundle_components b WHERE b.component_id = v.id) AS used,
           EXISTS (SELECT 1 FROM levels l WHERE l.variant_id = v.id AND l.version > 0) AS moved
         FROM variants v WHERE v.sku = ANY($1::text[])`,
        [[...skus]],
      );
      const facts = new Map<string, ExistingVariantFacts>(
        rows.map((row) => [row.sku, { sku: row.sku, isBundle: row.is_bundle === 1, usedAsComponent: row.used, hasMovements: row.moved }]),
      );
      const problems = checkVariantUpsert(variants, facts);
      if (problems.length > 0) throw new CatalogueError('variants rejected; nothing was changed', problems);
      const upserted = await client.query<{ id: number; sku: string; created: boolean }>(
        `INSERT INTO variants (sku, name, barcode, product_group, attributes, is_bundle, created_at, updated_at)
         SELECT u.sku, u.name, u.barcode, u.product_group, u.attributes::jsonb, u.is_bundle, $7, $7
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[])
           AS u(sku, name, barcode, product_group, attributes, is_bundle)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, barcode = excluded.barcode, product_group = excluded.product_group,
           attributes = excluded.attributes, is_bundle = excluded.is_bundle, updated_at = excluded.updated_at
         RETURNING id, sku, (xmax = 0) AS created`,
        [
          variants.map((variant) => variant.sku),
          variants.map((variant) => variant.name),
          variants.map((variant) => variant.barcode ?? null),
          variants.map((variant) => variant.productGroup ?? null),
          variants.map((variant) => JSON.stringify(variant.attributes ?? {})),
          variants.map((variant) => ((variant.components?.length ?? 0) > 0 ? 1 : 0)),
          now,
        ],
      );
      const bundleIds = upserted.rows.map((row) => row.id);
      await client.query('DELETE FROM bundle_components WHERE bundle_id = ANY($1::bigint[])', [bundleIds]);
      const componentRows = variants.flatMap((variant) =>
        (variant.components ?? []).map((component) => [variant.sku, component.sku, component.quantity] as const),
      );
      if (componentRows.length > 0) {
        await client.query(
          `INSERT INTO bundle_components (bundle_id, component_id, quantity)
           SELECT b.id, c.id, u.quantity FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(bundle, component, quantity)
           JOIN variants b ON b.sku = u.bundle JOIN variants c ON c.sku = u.component`,
          toColumns(componentRows, 3),
        );
      }
      await this.availability.recomputeVariants(client, upserted.rows.map((row) => row.id).sort((a, b) => a - b), now);
      const created = upserted.rows.filter((row) => row.created).length;
      return { created, updated: upserted.rows.length - created };
    });
  }

  async upsertLocations(locations: readonly LocationInput[], now: EpochMs): Promise<UpsertReport> {
    const seen = new Set<string>();
    const problems: { path: string; message: string }[] = [];
    locations.forEach((location, index) => {
      if (seen.has(location.code)) problems.push({ path: `/locations/${index}/code`, message: `code ${location.code} appears twice` });
      seen.add(location.code);
    });
    if (problems.length > 0) throw new CatalogueError('locations rejected; nothing was changed', problems);
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ created: boolean }>(
        `INSERT INTO locations (code, name, kind, created_at, updated_at)
         SELECT u.code, u.name, u.kind, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(code, name, kind)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at = excluded.updated_at
         RETURNING (xmax = 0) AS created`,
        [locations.map((location) => location.code), locations.map((location) => location.name), locations.map((location) => location.kind), now],
      );
      await this.availability.bumpConfig(client); // codes and kinds are cached with the channels
      const created = rows.filter((row) => row.created).length;
      return { created, updated: rows.length - created };
    });
  }

  async getVariant(sku: string): Promise<VariantRecord | null> {
    const { rows } = await this.pool.query<Record<string, unknown>>('SELECT * FROM variants WHERE sku = $1', [sku]);
    return rows[0] ? (await this.variantsFromRows(rows))[0]! : null;
  }

  private async variantsFromRows(rows: Record<string, unknown>[]): Promise<VariantRecord[]> {
    const ids = rows.map((row) => Number(row.id));
    const components = await this.pool.query<{ bundle_id: number; sku: string; quantity: number }>(
      `SELECT b.bundle_id, v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
       WHERE b.bundle_id = ANY($1::bigint[]) ORDER BY v.sku`,
      [ids],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      sku: row.sku as string,
      name: row.name as string,
      barcode: (row.barcode as string | null) ?? null,
      productGroup: (row.product_group as string | null) ?? null,
      attributes: row.attributes as Record<string, string>,
      isBundle: Number(row.is_bundle) === 1,
      components: components.rows
        .filter((component) => component.bundle_id === Number(row.id))
        .map((component) => ({ sku: component.sku, quantity: component.quantity })),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    }));
  }

  async listVariants(options: { afterSku?: string | undefined; limit: number }): Promise<VariantRecord[]> {
    // COLLATE "C": the same byte order as SQLite's default, whatever the database's locale.
    const { rows } = await this.pool.query<Record<string, unknown>>(
      'SELECT * FROM variants WHERE sku COLLATE "C" > $1 ORDER BY sku COLLATE "C" LIMIT $2',
      [options.afterSku ?? '', options.limit],
    );
    return this.variantsFromRows(rows);
  }

  async listLocations(): Promise<LocationRecord[]> {
    const { rows } = await this.pool.query<{ id: number; code: string; name: string; kind: LocationRecord['kind']; created_at: number; updated_at: number }>(
      'SELECT * FROM locations ORDER BY code COLLATE "C"',
    );
    return rows.map((row) => ({ id: row.id, code: row.code, name: row.name, kind: row.kind, createdAt: row.created_at, updatedAt: row.updated_at }));
  }

  async upsertPurchaseOrder(order: PurchaseOrderInput, now: EpochMs): Promise<PurchaseOrderRecord> {
    await this.transaction(async (client) => {
      const problems: { path: string; message: string }[] = [];
      const variants = await client.query<{ id: number; sku: string; is_bundle: number }>(
        'SELECT id, sku, is_bundle FROM variants WHERE sku = ANY($1::text[])',
        [order.lines.map((line) => line.sku)],
      );
      const locations = await client.query<{ id: number; code: string }>('SELECT id, code FROM locations WHERE code = ANY($1::text[])', [
        order.lines.map((line) => line.location),
      ]);
      const variantBySku = new Map(variants.rows.map((row) => [row.sku, row]));
      const locationByCode = new Map(locations.rows.map((row) => [row.code, row]));
      const numbers = new Set<number>();
      const resolved = order.lines.map((line, index) => {
        const variant = variantBySku.get(line.sku);
        const location = locationByCode.get(line.location);
        if (!variant) problems.push({ path: `/lines/${index}/sku`, message: `unknown sku ${line.sku}` });
        else if (variant.is_bundle === 1) problems.push({ path: `/lines/${index}/sku`, message: `${line.sku} is a bundle; order its components` });
        if (!location) problems.push({ path: `/lines/${index}/location`, message: `unknown location ${line.location}` });
        if (numbers.has(line.line)) problems.push({ path: `/lines/${index}/line`, message: `line ${line.line} appears twice` });
        numbers.add(line.line);
        return { ...line, variantId: variant?.id ?? 0, locationId: location?.id ?? 0 };
      });
      await client.query(
        `INSERT INTO purchase_orders (id, supplier, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (id) DO UPDATE SET supplier = excluded.supplier, status = excluded.status, updated_at = excluded.updated_at`,
        [order.id, order.supplier ?? null, order.status, now],
      );
      // Lock the lines: a receipt against one of them holds the same lock while it adds to quantity_received.
      const existing = await client.query<{ line: number; variant_id: number; location_id: number; quantity_received: number }>(
        'SELECT line, variant_id, location_id, quantity_received FROM purchase_order_lines WHERE purchase_order_id = $1 FOR UPDATE',
        [order.id],
      );
      for (const line of existing.rows) {
        if (line.quantity_received === 0) continue;
        const next = resolved.find((candidate) => candidate.line === line.line);
        if (!next) problems.push({ path: '/lines', message: `line ${line.line} has receipts and cannot be removed` });
        else if (next.variantId !== line.variant_id || next.locationId !== line.location_id) {
          problems.push({ path: '/lines', message: `line ${line.line} has receipts: its sku and location cannot change` });
        }
      }
      if (problems.length > 0) throw new CatalogueError('purchase order rejected; nothing was changed', problems);
      const received = new Map(existing.rows.map((line) => [line.line, line.quantity_received]));
      await client.query('DELETE FROM purchase_order_lines WHERE purchase_order_id = $1', [order.id]);
      if (resolved.length > 0) {
        await client.query(
          unnestInsert('purchase_order_lines', [
            ['purchase_order_id', 'text'], ['line', 'bigint'], ['variant_id', 'bigint'], ['location_id', 'bigint'],
            ['quantity_ordered', 'bigint'], ['quantity_received', 'bigint'], ['expected_at', 'bigint'],
          ]),
          toColumns(
            resolved.map((line) => [order.id, line.line, line.variantId, line.locationId, line.quantity, received.get(line.line) ?? 0, line.expectedAt]),
            7,
          ),
        );
      }
      // Pre-order offers follow incoming stock.
      const variantIds = [...new Set([...resolved.map((line) => line.variantId), ...existing.rows.map((line) => line.variant_id)])].sort((a, b) => a - b);
      await this.availability.recomputeVariants(client, variantIds, now);
    });
    return (await this.getPurchaseOrder(order.id))!;
  }

  async getPurchaseOrder(id: string): Promise<PurchaseOrderRecord | null> {
    const order = await this.pool.query<{ id: string; supplier: string | null; status: PurchaseOrderRecord['status']; created_at: number; updated_at: number }>(
      'SELECT * FROM purchase_orders WHERE id = $1',
      [id],
    );
    const header = order.rows[0];
    if (!header) return null;
    const lines = await this.pool.query<{ line: number; sku: string; code: string; quantity_ordered: number; quantity_received: number; expected_at: number | null }>(
      `SELECT pol.line, v.sku, l.code, pol.quantity_ordered, pol.quantity_received, pol.expected_at
       FROM purchase_order_lines pol JOIN variants v ON v.id = pol.variant_id JOIN locations l ON l.id = pol.location_id
       WHERE pol.purchase_order_id = $1 ORDER BY pol.line`,
      [id],
    );
    return {
      id: header.id,
      supplier: header.supplier,
      status: header.status,
      createdAt: header.created_at,
      updatedAt: header.updated_at,
      lines: lines.rows.map((line) => ({
        line: line.line,
        sku: line.sku,
        location: line.code,
        quantityOrdered: line.quantity_ordered,
        quantityReceived: line.quantity_received,
        incoming: header.status === 'open' ? Math.max(0, line.quantity_ordered - line.quantity_received) : 0,
        expectedAt: line.expected_at,
      })),
    };
  }

  // --- ledger ------------------------------------------------------------------------------

  async applyBatch(items: readonly BatchItem[], now: EpochMs, newReservationId: () => string): Promise<CommandAnswer[]> {
    return this.transaction((client) => this.applyBatchLocked(client, items, now, newReservationId));
  }

  /**
   * 1. resolve skus, codes, reservations (unlocked: only their ids and levels are used to decide
   *    WHAT to lock); 2. lock the levels in order; 3. re-read the reservations and everything
   *    else under the lock; 4. decide with the pure core; 5. write with set-based statements.
   */
  private async applyBatchLocked(
    client: pg.PoolClient,
    items: readonly BatchItem[],
    now: EpochMs,
    newReservationId: () => string,
  ): Promise<CommandAnswer[]> {
    const needs = collectNeeds(items);
    const variants = new Map<string, VariantRef>();
    const locations = new Map<string, LocationRef>();
    if (needs.skus.length > 0) {
      const { rows } = await client.query<{ id: number; sku: string; is_bundle: number }>(
        'SELECT id, sku, is_bundle FROM variants WHERE sku = ANY($1::text[])',
        [needs.skus],
      );
      for (const row of rows) variants.set(row.sku, { id: row.id, sku: row.sku, isBundle: row.is_bundle === 1 });
      const bundles = rows.filter((row) => row.is_bundle === 1);
      if (bundles.length > 0) {
        const { rows: components } = await client.query<{ bundle_id: number; variantId: number; sku: string; quantity: number }>(
          `SELECT b.bundle_id, b.component_id AS "variantId", v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
           WHERE b.bundle_id = ANY($1::bigint[]) ORDER BY v.sku COLLATE "C"`,
          [bundles.map((row) => row.id)],
        );
        for (const bundle of bundles) {
          variants.get(bundle.sku)!.components = components
            .filter((component) => component.bundle_id === bundle.id)
            .map(({ variantId, sku, quantity }) => ({ variantId, sku, quantity }));
        }
      }
    }
    if (needs.locationCodes.length > 0) {
      const { rows } = await client.query<{ id: number; code: string }>('SELECT id, code FROM locations WHERE code = ANY($1::text[])', [
        needs.locationCodes,
      ]);
      for (const row of rows) locations.set(row.code, row);
    }
    // Stored answers and movement ids are read BEFORE the level locks, outside the critical
    // section that batches on one hot level serialise on (-20% of its time). Idempotency does
    // not rest on that lock: a key first answered by a concurrent batch after this read collides
    // on UNIQUE (command_key, leg) or command_answers' primary key (23505), and the batch is
    // re-run, reading it then.
    const answers = new Map<string, StoredAnswer>();
    if (needs.keys.length > 0) {
      // One round trip for both kinds of stored answer: rows with `answer` come from
      // command_answers, the others are legs of commands whose answer is folded into them.
      const { rows } = await client.query<CommandLegRow & { answer: string | null }>(
        `SELECT key, payload_hash, 0 AS leg, 0 AS id, 0 AS on_hand, 0 AS reserved, 0 AS damaged, 0 AS quarantine, 0 AS in_transit,
           0 AS version, 0 AS oversold, '' AS sku, '' AS code, answer::text AS answer
         FROM command_answers WHERE key = ANY($1::text[])
         UNION ALL
         SELECT ${commandLegColumns}, NULL AS answer
         FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id
         WHERE m.command_key = ANY($1::text[])`,
        [needs.keys],
      );
      for (const row of rows) {
        if (row.answer !== null) answers.set(row.key, { payloadHash: row.payload_hash!, answer: JSON.parse(row.answer) as CommandAnswer });
      }
      foldedAnswers(rows.filter((row) => row.answer === null), answers);
    }
    const movementIds = await allocateMovementIds(client, 2 * items.length);
    const readReservations = async () => {
      const found = new Map<string, ReservationState>();
      if (needs.reservationIds.length === 0) return found;
      const { rows } = await client.query<ReservationRow>(`${reservationSelect} WHERE r.id = ANY($1::text[])`, [needs.reservationIds]);
      for (const row of rows) found.set(row.id, reservationFromRow(row));
      return found;
    };
    const unlockedReservations = await readReservations();
    const touched = touchedLevels(items, variants, locations, unlockedReservations);
    const touchedVariants = touched.map((level) => level.variantId);
    const touchedLocations = touched.map((level) => level.locationId);

    // A batch that moves a listed variant locks ALL its levels (and its bundles' components'),
    // so the listing quantities it stores are computed from levels nobody else can change.
    const plan = await this.availability.planForBatch(client, [...new Set(touchedVariants)]);
    const levels = new Map<string, LevelState>();
    if (plan) await this.availability.lockVariants(client, plan.lockVariants);
    if (touched.length > 0) {
      const { rows } = plan
        ? await client.query<Record<string, unknown>>(
            'SELECT * FROM levels WHERE variant_id = ANY($1::bigint[]) ORDER BY variant_id, location_id FOR UPDATE',
            [plan.lockVariants],
          )
        : await client.query<Record<string, unknown>>(
            `SELECT * FROM levels WHERE (variant_id, location_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
             ORDER BY variant_id, location_id FOR UPDATE`,
            [touchedVariants, touchedLocations],
          );
      for (const row of rows) {
        const level = levelFromRow(row);
        levels.set(levelKey(level.variantId, level.locationId), level);
      }
    }
    const availability = plan ? await this.availability.contextFromPlan(client, plan, [...levels.values()]) : undefined;
    // Every change to a reservation happens under its level's lock, which we now hold.
    const reservations = needs.reservationIds.length > 0 ? await readReservations() : unlockedReservations;
    const dueReservations = new Map<string, ReservationState[]>();
    if (touched.length > 0) {
      const { rows } = await client.query<ReservationRow>(
        `${reservationSelect} WHERE (r.variant_id, r.location_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
           AND r.status = 'pending' AND r.expires_at IS NOT NULL AND r.expires_at <= $3
         ORDER BY r.expires_at, r.created_at, r.id`,
        [touchedVariants, touchedLocations, now],
      );
      for (const row of rows) {
        const key = levelKey(row.variant_id, row.location_id);
        const list = dueReservations.get(key) ?? [];
        list.push(reservationFromRow(row));
        dueReservations.set(key, list);
      }
    }
    const countBaselines = new Map<string, number>();
    const counts = countQueries(items, variants, locations, now);
    if (counts.length > 0) {
      const { rows } = await client.query<{ key: string; total: number }>(
        `SELECT q.key, COALESCE((SELECT sum(m.d_on_hand) FROM movements m
           WHERE m.variant_id = q.variant_id AND m.location_id = q.location_id AND m.occurred_at > q.counted_at), 0) AS total
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS q(key, variant_id, location_id, counted_at)`,
        [counts.map((q) => q.key), counts.map((q) => q.variantId), counts.map((q) => q.locationId), counts.map((q) => q.countedAt)],
      );
      for (const row of rows) countBaselines.set(row.key, row.total);
    }
    const purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
    if (needs.purchaseOrderLines.length > 0) {
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT pol.*, po.status FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id
         WHERE (pol.purchase_order_id, pol.line) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))
         ORDER BY pol.purchase_order_id, pol.line FOR UPDATE OF pol`,
        [needs.purchaseOrderLines.map((line) => line.purchaseOrderId), needs.purchaseOrderLines.map((line) => line.line)],
      );
      for (const row of rows) {
        const line = purchaseOrderLineFromRow(row);
        purchaseOrderLines.set(purchaseOrderLineKey(line.purchaseOrderId, line.line), line);
      }
    }
    // Movement ids: at most two legs per command (taken before the locks) plus one per due expiry.
    let dueCount = 0;
    for (const list of dueReservations.values()) dueCount += list.length;
    if (dueCount > 0) movementIds.push(...(await allocateMovementIds(client, dueCount)));
    let nextId = 0;

    const outcome = applyCommands(
      { variants, locations, levels, reservations, dueReservations, answers, countBaselines, purchaseOrderLines, availability },
      items,
      {
        now,
        newReservationId,
        newMovementId: () => {
          const id = movementIds[nextId++];
          assert(id !== undefined, 'movement id block exhausted');
          return id;
        },
      },
    );
    await this.writeOutcome(client, outcome.writes);
    await this.availability.writeQuantities(client, outcome.writes.listingQuantities);
    return outcome.answers;
  }

  private async writeOutcome(client: pg.PoolClient, writes: ReturnType<typeof applyCommands>['writes']): Promise<void> {
    const created = writes.levels.filter((write) => write.created);
    const updated = writes.levels.filter((write) => !write.created);
    const levelRow = (level: LevelState) => [
      level.variantId, level.locationId, level.onHand, level.reserved, level.damaged, level.quarantine, level.inTransit, level.held,
      level.version, level.lastCountAt, level.lastCountSourceVersion, level.velocityRate, level.velocityAt,
    ];
    // Levels first: movements reference (variant, location) and the level row proves the lock.
    if (created.length > 0) {
      await client.query(insertLevelsSql, toColumns(created.map((write) => levelRow(write.level)), levelColumns.length));
    }
    if (updated.length > 0) {
      const result = await client.query(updateLevelsSql, [
        JSON.stringify(
          updated.map(({ level, previousVersion }) => ({
            variant_id: level.variantId, location_id: level.locationId, on_hand: level.onHand, reserved: level.reserved,
            damaged: level.damaged, quarantine: level.quarantine, in_transit: level.inTransit, held: level.held, version: level.version,
            velocity: level.velocityRate, velocity_at: level.velocityAt,
            last_count_at: level.lastCountAt, last_count_source_version: level.lastCountSourceVersion, previous_version: previousVersion,
          })),
        ),
      ]);
      // Pair assertion: every level we judged is the level we overwrite.
      assert.equal(result.rowCount, updated.length, 'a level changed under its row lock');
    }
    await copyRows(client, 'movements', movementColumnNames, writes.movements, pushMovementValues);
    // Key order: two batches inserting overlapping keys take the unique index's locks in one order.
    const sortedAnswers = [...writes.answers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await copyRows(client, 'command_answers', answerInsertColumns, sortedAnswers, pushAnswerValues);
    const newReservations = writes.reservations.filter((entry) => entry.created).map((entry) => entry.reservation);
    const changedReservations = writes.reservations.filter((entry) => !entry.created).map((entry) => entry.reservation);
    await copyRows(client, 'reservations', reservationInsertColumns, newReservations, pushReservationValues);
    if (changedReservations.length > 0) {
      await client.query(updateReservationsSql, toColumns(changedReservations.map((r) => [r.id, r.committedQuantity, r.status, r.resolvedAt]), 4));
    }
    if (writes.purchaseOrderLines.length > 0) {
      await client.query(
        `UPDATE purchase_order_lines AS p SET quantity_received = u.received
         FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(purchase_order_id, line, received)
         WHERE p.purchase_order_id = u.purchase_order_id AND p.line = u.line`,
        toColumns(writes.purchaseOrderLines.map((line) => [line.purchaseOrderId, line.line, line.quantityReceived]), 3),
      );
    }
  }

  private async levelRows(db: Queryable, variantId: number, now: EpochMs): Promise<LevelRow[]> {
    const { rows } = await db.query<LevelRow>(
      `SELECT l.code AS location_code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.version, lv.last_count_at,
         COALESCE((SELECT sum(r.quantity) FROM reservations r WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id
           AND r.status = 'pending' AND r.expires_at IS NOT NULL AND r.expires_at <= $1), 0) AS due_held
       FROM levels lv JOIN locations l ON l.id = lv.location_id WHERE lv.variant_id = $2 ORDER BY l.code COLLATE "C"`,
      [now, variantId],
    );
    return rows;
  }

  async getStock(sku: string, now: EpochMs): Promise<StockView | null> {
    const { rows } = await this.pool.query<{ id: number; sku: string; name: string; is_bundle: number }>(
      'SELECT id, sku, name, is_bundle FROM variants WHERE sku = $1',
      [sku],
    );
    const variant = rows[0];
    if (!variant) return null;
    if (variant.is_bundle === 1) {
      const components = await this.pool.query<{ id: number; sku: string; quantity: number }>(
        `SELECT v.id, v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
         WHERE b.bundle_id = $1 ORDER BY v.sku COLLATE "C"`,
        [variant.id],
      );
      const withLevels = [];
      for (const component of components.rows) withLevels.push({ ...component, levels: await this.levelRows(this.pool, component.id, now) });
      return bundleStockView(variant, withLevels);
    }
    const incoming = await this.pool.query<IncomingRow>(
      `SELECT pol.purchase_order_id, pol.line, l.code AS location_code, pol.quantity_ordered - pol.quantity_received AS quantity, pol.expected_at
       FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id JOIN locations l ON l.id = pol.location_id
       WHERE pol.variant_id = $1 AND po.status = 'open' AND pol.quantity_ordered > pol.quantity_received
       ORDER BY pol.expected_at NULLS LAST, pol.purchase_order_id COLLATE "C", pol.line`,
      [variant.id],
    );
    return stockView(variant, await this.levelRows(this.pool, variant.id, now), incoming.rows);
  }

  async listMovements(
    sku: string,
    options: { location?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<Page<MovementView> | null> {
    const before = decodeCursor(options.cursor);
    if (before === 'invalid') throw new CursorError('cursor is not one this server issued');
    const { rows: found } = await this.pool.query<{ id: number }>('SELECT id FROM variants WHERE sku = $1', [sku]);
    if (!found[0]) return null;
    const { rows } = await this.pool.query<MovementRow>(
      `${movementSelect} WHERE m.variant_id = $1 AND m.id < $2 AND ($3::text IS NULL OR l.code = $3) ORDER BY m.id DESC LIMIT $4`,
      [found[0].id, before ?? Number.MAX_SAFE_INTEGER, options.location ?? null, options.limit + 1],
    );
    return pageOf(rows, options.limit, movementView);
  }

  async getReservation(id: string, now: EpochMs): Promise<ReservationView | null> {
    const { rows } = await this.pool.query<ReservationRow>(`${reservationSelect} WHERE r.id = $1`, [id]);
    return rows[0] ? reservationView(reservationFromRow(rows[0]), now) : null;
  }

  async listOversells(options: { cursor?: string | undefined; limit: number }): Promise<Page<MovementView>> {
    const before = decodeCursor(options.cursor);
    if (before === 'invalid') throw new CursorError('cursor is not one this server issued');
    const { rows } = await this.pool.query<MovementRow>(
      `${movementSelect} WHERE m.oversold > 0 AND m.id < $1 ORDER BY m.id DESC LIMIT $2`,
      [before ?? Number.MAX_SAFE_INTEGER, options.limit + 1],
    );
    return pageOf(rows, options.limit, movementView);
  }

  // --- maintenance ---------------------------------------------------------------------------

  async dueReservationLevels(now: EpochMs, limit: number): Promise<{ variantId: number; locationId: number }[]> {
    const { rows } = await this.pool.query<{ variant_id: number; location_id: number }>(
      `SELECT DISTINCT variant_id, location_id FROM reservations
       WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY variant_id, location_id LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => ({ variantId: row.variant_id, locationId: row.location_id }));
  }

  async pruneAnswers(before: EpochMs, limit: number): Promise<number> {
    const result = await this.pool.query(
      'DELETE FROM command_answers WHERE key IN (SELECT key FROM command_answers WHERE recorded_at < $1 LIMIT $2)',
      [before, limit],
    );
    return result.rowCount ?? 0;
  }

  async verify(): Promise<VerifyReport> {
    const { rows } = await this.pool.query<Record<string, number | string>>(
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
    );
    const { rows: counted } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM movements');
    const { rows: orphans } = await this.pool.query<Record<string, number | string>>(
      levelMissingSql,
    );
    return compareLevels(rows, orphans, counted[0]!.n);
  }

  async canonicalDump(): Promise<Record<string, unknown[]>> {
    const dump = async (sql: string) => (await this.pool.query(sql)).rows;
    return {
      variants: (await dump('SELECT sku, name, barcode, product_group, attributes::text AS attributes, is_bundle FROM variants ORDER BY sku COLLATE "C"')).map(
        (row) => ({ ...row, attributes: JSON.stringify(JSON.parse(row.attributes as string)) }),
      ),
      locations: await dump('SELECT code, name, kind FROM locations ORDER BY code COLLATE "C"'),
      levels: await dump(
        `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.held, lv.version, lv.last_count_at, lv.last_count_source_version
         FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id ORDER BY v.sku COLLATE "C", l.code COLLATE "C"`,
      ),
      movements: await dump(
        `SELECT m.command_key, m.leg, m.type, v.sku, l.code, m.version, m.d_on_hand, m.d_reserved, m.d_damaged, m.d_quarantine, m.d_in_transit,
           m.on_hand, m.reserved, m.damaged, m.quarantine, m.in_transit, m.guarded, m.oversold, m.occurred_at, m.recorded_at, m.payload_hash
         FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id
         ORDER BY v.sku COLLATE "C", l.code COLLATE "C", m.version`,
      ),
      reservations: await dump(
        `SELECT r.key, v.sku, l.code, r.quantity, r.committed_quantity, r.status, r.expires_at, r.created_at, r.resolved_at
         FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id ORDER BY r.key COLLATE "C"`,
      ),
      answers: await dump('SELECT key, payload_hash, recorded_at FROM command_answers ORDER BY key COLLATE "C"'),
    };
  }

  // --- availability --------------------------------------------------------------------------

  async upsertChannels(channels: readonly ChannelInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    const report = await this.transaction((client) => this.availability.upsertChannels(client, channels, now));
    await this.recomputeAll(now); // a channel's locations feed every one of its listings
    return report;
  }

  async listChannels(): Promise<ChannelRecord[]> {
    return this.availability.listChannels(this.pool);
  }

  async getChannel(code: string): Promise<ChannelRecord | null> {
    return (await this.listChannels()).find((channel) => channel.code === code) ?? null;
  }

  async upsertListings(listings: readonly ListingInput[], now: EpochMs): Promise<ListingUpsertReport> {
    return this.transaction(async (client) => {
      const { variantIds, ...report } = await this.availability.upsertListings(client, listings, now);
      await this.availability.recomputeVariants(client, variantIds, now);
      return report;
    });
  }

  async upsertMappings(mappings: readonly MappingInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    return this.transaction((client) => this.availability.upsertMappings(client, mappings, now));
  }

  async listListings(options: { channel?: string | undefined; sku?: string | undefined; afterId?: string | undefined; limit: number }): Promise<ListingRecord[]> {
    return this.availability.listListings(this.pool, options);
  }

  async getListing(id: string): Promise<ListingRecord | null> {
    return this.availability.getListing(this.pool, id);
  }

  async listUnmapped(options: { channel?: string | undefined; limit: number }): Promise<(UnmappedItem & { at: EpochMs })[]> {
    return this.availability.listUnmapped(this.pool, options);
  }

  async createRuleSet(input: { rules: RuleSet; author: string; note?: string | null | undefined }, now: EpochMs): Promise<RuleSetVersion> {
    const version = await this.transaction((client) => this.availability.createRuleSet(client, input, now));
    return (await this.getRuleSet(version))!;
  }

  async listRuleSets(): Promise<RuleSetVersion[]> {
    return this.availability.listRuleSets(this.pool);
  }

  async getRuleSet(version: number): Promise<RuleSetVersion | null> {
    return this.availability.getRuleSet(this.pool, version);
  }

  async ruleSetEvents(): Promise<RuleSetEvent[]> {
    return this.availability.ruleSetEvents(this.pool);
  }

  async dryRunRuleSet(rules: RuleSet, now: EpochMs, limit: number): Promise<DryRunReport> {
    await this.availability.checkRules(this.pool, rules);
    const report: DryRunReport = { baseVersion: (await this.availability.loadConfig(this.pool)).ruleVersion, listings: 0, changed: 0, changes: [] };
    for (let after = 0; ; ) {
      const ids = await this.availability.listedVariants(this.pool, after, recomputeChunkVariants);
      if (ids.length === 0) break;
      await this.availability.dryRunChunk(this.pool, ids, rules, now, report);
      after = ids[ids.length - 1]!;
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
    if (!(await this.transaction((client) => this.availability.activate(client, version, by, now)))) throw new UnknownRuleSetError(version);
    return this.recomputeAll(now, onProgress);
  }

  async getAvailability(sku: string): Promise<ListingQuantity[] | null> {
    return this.availability.getAvailability(this.pool, sku);
  }

  async explainListing(listingId: string, now: EpochMs): Promise<ListingExplanation | null> {
    return this.availability.explainListing(this.pool, listingId, now);
  }

  /** Every listed variant in chunks, each chunk one transaction holding its variants' level locks. */
  async recomputeAll(now: EpochMs, onProgress?: (done: number, total: number) => void): Promise<RecomputeReport> {
    const total = await this.availability.countListedVariants(this.pool);
    const report: RecomputeReport = { variants: 0, listings: 0, changed: 0, ruleVersion: (await this.availability.loadConfig(this.pool)).ruleVersion };
    onProgress?.(0, total);
    for (let after = 0; ; ) {
      const ids = await this.availability.listedVariants(this.pool, after, recomputeChunkVariants);
      if (ids.length === 0) break;
      const { listings, changed } = await this.transaction((client) => this.availability.recomputeVariants(client, ids, now));
      report.listings += listings;
      report.changed += changed;
      report.variants += ids.length;
      after = ids[ids.length - 1]!;
      onProgress?.(report.variants, total);
    }
    return report;
  }

  // --- propagation -------------------------------------------------------------------------

  async acquireLease(channel: string, owner: string, now: EpochMs, ttlMs: number): Promise<number | null> {
    return this.dispatch.acquireLease(channel, owner, now, ttlMs);
  }

  async releaseLease(channel: string, owner: string): Promise<void> {
    await this.dispatch.releaseLease(channel, owner);
  }

  async claimDue(channel: string, epoch: number, now: EpochMs, limit: number, claimMs: number): Promise<DispatchRow[]> {
    return this.dispatch.claimDue(channel, epoch, now, limit, claimMs);
  }

  async recordResults(channel: string, epoch: number, results: readonly DispatchResult[], now: EpochMs): Promise<boolean> {
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
    await this.dispatch.saveCursor(channel, cursor, now);
  }

  async listingByExternalId(channel: string, externalId: string): Promise<{ listingId: string; sku: string } | null> {
    return this.dispatch.listingByExternalId(channel, externalId);
  }

  // --- tokens ------------------------------------------------------------------------------

  async createToken(token: { id: string; name: string; scope: TokenScope; hash: string; createdAt: EpochMs }): Promise<void> {
    await this.pool.query('INSERT INTO tokens (id, name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [
      token.id, token.name, token.scope, token.hash, token.createdAt,
    ]);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const { rows } = await this.pool.query<Record<string, unknown>>('SELECT * FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL', [hash]);
    return rows[0] ? tokenFromRow(rows[0]) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>('SELECT * FROM tokens ORDER BY created_at, id');
    return rows.map(tokenFromRow);
  }

  async revokeToken(id: string, at: EpochMs): Promise<boolean> {
    const result = await this.pool.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
    return result.rowCount === 1;
  }

  async countTokens(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM tokens');
    return rows[0]!.n;
  }
}

