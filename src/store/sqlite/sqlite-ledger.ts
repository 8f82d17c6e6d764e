import assert from 'node:assert';
import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import {
  applyCommands,
  collectNeeds,
  countQueries,
  purchaseOrderLineKey,
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
  BatchChecksFailed,
  SideWriteConflict,
  type BatchChecks,
  type LedgerPort,
  type SideWrite,
} from '../ledger-store.js';
import { batchCheckFailures, batchCheckParams, batchCheckQuery, noBatchChecks } from '../sql/sql-batch-checks.js';
import type { SqliteAvailability } from './sqlite-availability.js';
import {
  commandLegColumns,
  foldedAnswers,
  levelFromRow,
  levelValues,
  pushAnswerValues,
  pushMovementValues,
  pushReservationValues,
  purchaseOrderLineFromRow,
  reservationFromRow,
  type CommandLegRow,
  type ReservationRow,
  type SqlValue,
} from '../rows.js';
import { sqliteDialect, type SqliteExecutor } from './sqlite-executor.js';
import { reservationSelect, SqlLedgerViews } from '../sql/sql-ledger-views.js';

/**
 * The ledger slice on SQLite. Every write transaction is `BEGIN IMMEDIATE`, i.e. it takes
 * SQLite's single write lock before its first read, so the snapshot the core judges is the
 * state it writes over (no check-then-write). better-sqlite3 is synchronous: a batch of 1,000
 * commands runs without yielding, which is what makes group commit cheap here (one fsync per
 * batch).
 */

const commandLegSelect = `SELECT ${commandLegColumns}
  FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id`;

export class SqliteLedger extends SqlLedgerViews implements LedgerPort {
  private prepared: ReturnType<SqliteLedger['prepare']> | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly availability: SqliteAvailability,
    private readonly executor: SqliteExecutor,
  ) {
    super(executor);
  }

  /** Statements are prepared on first use; a migration changes the schema they were prepared on. */
  reset(): void {
    this.prepared = undefined;
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
      locationByCode: db.prepare<[string], { id: number; code: string }>(
        'SELECT id, code FROM locations WHERE code = ?',
      ),
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
        // levelValues after its key (better-sqlite3 binds numbered ?NNN only by name), then the key
        // and the version judged.
        `UPDATE levels SET on_hand = ?, reserved = ?, damaged = ?, quarantine = ?, in_transit = ?, held = ?, version = ?,
           last_count_at = ?, last_count_source_version = ?, velocity = ?, velocity_at = ?
         WHERE variant_id = ? AND location_id = ? AND version = ?`,
      ),
      insertAnswer: db.prepare(
        'INSERT INTO command_answers (key, payload_hash, answer, recorded_at) VALUES (?, ?, ?, ?)',
      ),
      insertMovementsChunk: db.prepare(
        `INSERT INTO movements (id, command_key, leg, type, variant_id, location_id, version,
           d_on_hand, d_reserved, d_damaged, d_quarantine, d_in_transit,
           on_hand, reserved, damaged, quarantine, in_transit, guarded, oversold, occurred_at, recorded_at,
           reason, source_system, source_reference, reservation_id, purchase_order_id, purchase_order_line, counterpart_location_id, payload_hash)
         VALUES ${Array.from({ length: insertChunkRows }, () => `(${Array.from({ length: 29 }, () => '?').join(', ')})`).join(', ')}`,
      ),
      insertReservationsChunk: db.prepare(
        `INSERT INTO reservations (id, key, variant_id, location_id, quantity, committed_quantity, status, expires_at, created_at, resolved_at, channel)
         VALUES ${Array.from({ length: insertChunkRows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
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
        `INSERT INTO reservations (id, key, variant_id, location_id, quantity, committed_quantity, status, expires_at, created_at, resolved_at, channel)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateReservation: db.prepare(
        'UPDATE reservations SET committed_quantity = ?, status = ?, resolved_at = ? WHERE id = ?',
      ),
      updatePurchaseOrderLine: db.prepare(
        'UPDATE purchase_order_lines SET quantity_received = ? WHERE purchase_order_id = ? AND line = ?',
      ),
    };
  }

  async applyBatch(
    items: readonly BatchItem[],
    now: EpochMs,
    newReservationId: () => string,
    sideWrites?: (answers: readonly CommandAnswer[]) => readonly SideWrite[],
    checks?: BatchChecks,
  ): Promise<CommandAnswer[]> {
    const run = this.db.transaction(() => {
      if (checks !== undefined && !noBatchChecks(checks)) {
        const rows = this.executor.allNow<{ kind: string; ref: string }>(
          batchCheckQuery(sqliteDialect),
          batchCheckParams(checks),
        );
        const failures = batchCheckFailures(checks, rows);
        if (failures !== null) throw new BatchChecksFailed(failures);
      }
      const outcome = this.applyBatchLocked(items, now, newReservationId);
      // In the same transaction: what the commands' callers keep beside them (order lines).
      for (const write of sideWrites?.(outcome.answers) ?? []) {
        const changed = this.executor.runNow(write.sql, write.params);
        if (write.expectRows !== undefined && changed !== write.expectRows) throw new SideWriteConflict(write.sql);
      }
      return outcome;
    });
    try {
      const { answers, writes } = run.immediate();
      this.availability.batchCommitted(
        writes.levels.map((write) => write.level),
        writes.listingQuantities,
      );
      return answers;
    } catch (error) {
      this.availability.dropCache();
      throw error;
    }
  }

  /** Runs inside BEGIN IMMEDIATE: load -> decide (pure core) -> write. */
  private applyBatchLocked(
    items: readonly BatchItem[],
    now: EpochMs,
    newReservationId: () => string,
  ): { answers: CommandAnswer[]; writes: WriteSet } {
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
      countBaselines.set(
        query.key,
        sql.countBaseline.get(query.variantId, query.locationId, query.countedAt)?.total ?? 0,
      );
    }
    const purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
    for (const wanted of needs.purchaseOrderLines) {
      const row = sql.purchaseOrderLine.get(wanted.purchaseOrderId, wanted.line);
      if (row)
        purchaseOrderLines.set(
          purchaseOrderLineKey(wanted.purchaseOrderId, wanted.line),
          purchaseOrderLineFromRow(row),
        );
    }
    const touchedVariants = [
      ...new Set(touchedLevels(items, variants, locations, reservations).map((level) => level.variantId)),
    ];
    const availability = this.availability.contextForBatch(touchedVariants);
    const snapshot: LedgerSnapshot = {
      variants,
      locations,
      levels,
      reservations,
      dueReservations,
      answers,
      countBaselines,
      purchaseOrderLines,
      availability,
    };
    let nextMovementId = (sql.maxMovementId.get()?.id ?? 0) + 1;
    const outcome = applyCommands(snapshot, items, { now, newReservationId, newMovementId: () => nextMovementId++ });

    const { writes } = outcome;
    // Multi-row INSERTs: better-sqlite3 pays a fixed cost per run(), so 100 rows per statement
    // (bench/README.md).
    insertChunked(writes.movements, pushMovementValues, sql.insertMovementsChunk, sql.insertMovement);
    for (const { level, previousVersion, created } of writes.levels) {
      if (created) {
        sql.insertLevel.run(...levelValues(level));
      } else {
        const result = sql.updateLevel.run(
          ...levelValues(level).slice(2),
          level.variantId,
          level.locationId,
          previousVersion,
        );
        // Pair assertion: the row we judged is the row we overwrite.
        assert.equal(result.changes, 1, `level ${level.variantId}:${level.locationId} changed under the write lock`);
      }
    }
    insertChunked(writes.answers, pushAnswerValues, sql.insertAnswersChunk, sql.insertAnswer);
    insertChunked(
      writes.reservations.filter((entry) => entry.created).map((entry) => entry.reservation),
      pushReservationValues,
      sql.insertReservationsChunk,
      sql.insertReservation,
    );
    for (const { reservation, created } of writes.reservations) {
      if (!created)
        sql.updateReservation.run(
          reservation.committedQuantity,
          reservation.status,
          reservation.resolvedAt,
          reservation.id,
        );
    }
    for (const line of writes.purchaseOrderLines) {
      sql.updatePurchaseOrderLine.run(line.quantityReceived, line.purchaseOrderId, line.line);
    }
    this.availability.writeQuantities(writes.listingQuantities);
    return { answers: outcome.answers, writes };
  }

  // --- maintenance ---------------------------------------------------------------------------

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
}

/** Rows per multi-row INSERT (29 columns x 100 = 2,900 parameters, far below SQLite's 32,766). */
const insertChunkRows = 100;

function insertChunked<T>(
  rows: readonly T[],
  write: (row: T, out: SqlValue[]) => void,
  chunk: Database.Statement,
  single: Database.Statement,
): void {
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
