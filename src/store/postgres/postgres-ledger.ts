import assert from 'node:assert';
import type pg from 'pg';
import type { EpochMs } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import {
  applyCommands,
  collectNeeds,
  countQueries,
  movementLegsMax,
  purchaseOrderLineKey,
  touchedLevels,
  type BatchItem,
  type CommandAnswer,
  type LocationRef,
  type PurchaseOrderLineState,
  type ReservationState,
  type StoredAnswer,
  type VariantRef,
} from '../../core/ledger/apply-commands.js';
import type { AvailabilityContext } from '../../core/availability/recompute.js';
import { levelKey, type LevelState } from '../../core/ledger/level.js';
import {
  BatchChecksFailed,
  SideWriteConflict,
  type BatchChecks,
  type LedgerPort,
  type SideWrite,
} from '../ledger-store.js';
import { batchCheckFailures, noBatchChecks } from '../sql/sql-batch-checks.js';
import { copyRows } from './copy-rows.js';
import type { PostgresAvailability } from './postgres-availability.js';
import {
  cteStatement,
  type CtePart,
  contextFromPlanRead,
  levelUpdates,
  lockedRead,
  lockVariantsText,
  quantitiesUpsert,
  unlockedRead,
  updateLevelsSql,
  updateReservationsSql,
} from './postgres-batch-sql.js';
import { toColumns, unnestInsert, type PostgresPool } from './postgres-pool.js';
import {
  answerInsertColumns,
  foldedAnswers,
  levelFromRow,
  levelValues,
  pushAnswerValues,
  pushMovementValues,
  pushReservationValues,
  reservationInsertColumns,
  purchaseOrderLineFromRow,
  reservationFromRow,
  type ReservationRow,
  type SqlValue,
} from '../rows.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { SqlLedgerViews } from '../sql/sql-ledger-views.js';

/**
 * The ledger slice on PostgreSQL.
 *
 * The no-oversell guard is a row lock: a batch locks every level it touches with
 * `SELECT ... FOR UPDATE` (in (variant, location) order, so two batches never deadlock on
 * levels), judges the commands in memory with the pure core, and writes. Nothing between the
 * lock and the write can change those rows, whatever the isolation level; we do not rely on
 * SERIALIZABLE (Jepsen found G2-item anomalies in PostgreSQL 12.3's SSI). CHECK constraints
 * back it (reserved >= 0; a guarded movement has available_after >= 0), and each level
 * update asserts the version it read (`WHERE version = $read`).
 *
 * Round trips per batch are constant, whatever its size: every read and write is one
 * set-based statement over `unnest` arrays, and a request-sized batch takes six: one read
 * before any lock (unlockedRead), the availability plan, BEGIN with the variants' lock, one read
 * under it (lockedRead), one write (writeOutcome) and COMMIT; the last three hold the hot
 * level's lock. That is what turns ~3.5k single-row transactions/s into tens of thousands of
 * commands/s with group commit, and what a checkout on one hot variant waits for.
 *
 * Retry: 40001 (serialization), 40P01 (deadlock) and 23505 (two batches created the same
 * level or answer at once) roll the batch back and run it again, up to limits.batchAttemptsMax.
 */

const movementColumns = [
  ['id', 'bigint'],
  ['command_key', 'text'],
  ['leg', 'bigint'],
  ['type', 'text'],
  ['variant_id', 'bigint'],
  ['location_id', 'bigint'],
  ['version', 'bigint'],
  ['d_on_hand', 'bigint'],
  ['d_reserved', 'bigint'],
  ['d_damaged', 'bigint'],
  ['d_quarantine', 'bigint'],
  ['d_in_transit', 'bigint'],
  ['on_hand', 'bigint'],
  ['reserved', 'bigint'],
  ['damaged', 'bigint'],
  ['quarantine', 'bigint'],
  ['in_transit', 'bigint'],
  ['guarded', 'smallint'],
  ['oversold', 'bigint'],
  ['occurred_at', 'bigint'],
  ['recorded_at', 'bigint'],
  ['reason', 'text'],
  ['source_system', 'text'],
  ['source_reference', 'text'],
  ['reservation_id', 'text'],
  ['purchase_order_id', 'text'],
  ['purchase_order_line', 'bigint'],
  ['counterpart_location_id', 'bigint'],
  ['payload_hash', 'text'],
] as const;

/**
 * Bulk inserts of movements, answers and reservations go through COPY (`copy-rows.ts`: 2-2.5x
 * the rows/s of the former json_populate_recordset, a third of the CPU on both sides). Foreign
 * keys on movements were dropped for the same reason (three RI trigger lookups per row): every
 * movement's (variant, location) is its level row's, which has them, and `verify` reports any
 * movement without a level.
 */
const movementColumnNames = movementColumns.map(([name]) => name);

const levelColumns = [
  ['variant_id', 'bigint'],
  ['location_id', 'bigint'],
  ['on_hand', 'bigint'],
  ['reserved', 'bigint'],
  ['damaged', 'bigint'],
  ['quarantine', 'bigint'],
  ['in_transit', 'bigint'],
  ['held', 'bigint'],
  ['version', 'bigint'],
  ['last_count_at', 'bigint'],
  ['last_count_source_version', 'bigint'],
  ['velocity', 'float8'],
  ['velocity_at', 'bigint'],
] as const;
const insertLevelsSql = unnestInsert('levels', levelColumns);

/** PostgreSQL types of the appended tables' columns, keyed by the names the COPY path writes. */
const answerTypes: Record<(typeof answerInsertColumns)[number], string> = {
  key: 'text',
  payload_hash: 'text',
  answer: 'json',
  recorded_at: 'bigint',
};
const reservationTypes: Record<(typeof reservationInsertColumns)[number], string> = {
  id: 'text',
  key: 'text',
  variant_id: 'bigint',
  location_id: 'bigint',
  quantity: 'bigint',
  committed_quantity: 'bigint',
  status: 'text',
  expires_at: 'bigint',
  created_at: 'bigint',
  resolved_at: 'bigint',
  channel: 'text',
};
const answerColumns = answerInsertColumns.map((name) => [name, answerTypes[name]] as const);
const reservationColumns = reservationInsertColumns.map((name) => [name, reservationTypes[name]] as const);

/** Each row's values, as the COPY path's `push` writes them. */
function rowsOf<T>(list: readonly T[], push: (row: T, out: SqlValue[]) => void): SqlValue[][] {
  return list.map((row) => {
    const out: SqlValue[] = [];
    push(row, out);
    return out;
  });
}

/** `count` fresh movement ids, ascending (unused ones are gaps). */
async function allocateMovementIds(client: pg.PoolClient, count: number): Promise<number[]> {
  const { rows } = await client.query<{ id: number }>(
    "SELECT nextval('movements_id_seq') AS id FROM generate_series(1, $1::int)",
    [count],
  );
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

export class PostgresLedger extends SqlLedgerViews implements LedgerPort {
  private readonly pool: pg.Pool;

  constructor(
    private readonly db: PostgresPool,
    private readonly availability: PostgresAvailability,
    views: SqlExecutor,
  ) {
    super(views);
    this.pool = db.pool;
  }

  async applyBatch(
    items: readonly BatchItem[],
    now: EpochMs,
    newReservationId: () => string,
    sideWrites?: (answers: readonly CommandAnswer[]) => readonly SideWrite[],
    checks?: BatchChecks,
  ): Promise<CommandAnswer[]> {
    return this.db.transactionBegunByWork(async (client, begin) => {
      const answers = await this.applyBatchLocked(
        client,
        begin,
        items,
        now,
        newReservationId,
        checks !== undefined && !noBatchChecks(checks) ? checks : undefined,
      );
      // In the same transaction: what the commands' callers keep beside them (order lines),
      // many statements per round trip (combinedSideWrites).
      const writes = sideWrites?.(answers) ?? [];
      for (let start = 0; start < writes.length; start += limits.sideWritesPerStatementMax) {
        const chunk = writes.slice(start, start + limits.sideWritesPerStatementMax);
        const counts =
          chunk.length === 1
            ? [(await client.query(chunk[0]!.sql, chunk[0]!.params as unknown[])).rowCount ?? 0]
            : await runCombined(client, chunk);
        chunk.forEach((write, index) => {
          if (write.expectRows !== undefined && counts[index] !== write.expectRows)
            throw new SideWriteConflict(write.sql);
        });
      }
      return answers;
    });
  }

  /**
   * 1. resolve skus, codes, reservations (unlocked: only their ids and levels are used to decide
   *    WHAT to lock); 2. lock the levels in order; 3. re-read the reservations and everything
   *    else under the lock; 4. decide with the pure core; 5. write with set-based statements.
   */
  private async applyBatchLocked(
    client: pg.PoolClient,
    begin: (sql?: string) => Promise<void>,
    items: readonly BatchItem[],
    now: EpochMs,
    newReservationId: () => string,
    checks: BatchChecks | undefined,
  ): Promise<CommandAnswer[]> {
    const needs = collectNeeds(items);
    const variants = new Map<string, VariantRef>();
    const locations = new Map<string, LocationRef>();
    // Legs of the commands as if no sku were a bundle; a bundle's extra legs are taken below.
    const baseLegs = movementLegsMax(items, new Map());
    const read = await unlockedRead(client, needs, baseLegs, checks);
    if (read.checks !== undefined) {
      const failures = batchCheckFailures(checks!, read.checks);
      if (failures !== null) throw new BatchChecksFailed(failures);
    }
    for (const row of read.variants) variants.set(row.sku, { id: row.id, sku: row.sku, isBundle: row.is_bundle === 1 });
    for (const bundle of read.variants.filter((row) => row.is_bundle === 1)) {
      variants.get(bundle.sku)!.components = read.components
        .filter((component) => component.bundle_id === bundle.id)
        .map(({ variantId, sku, quantity }) => ({ variantId, sku, quantity }));
    }
    for (const row of read.locations) locations.set(row.code, row);
    // Stored answers and movement ids are read BEFORE the level locks, outside the critical
    // section that batches on one hot level serialise on (-20% of its time). Idempotency does
    // not rest on that lock: a key first answered by a concurrent batch after this read collides
    // on UNIQUE (command_key, leg) or command_answers' primary key (23505), and the batch is
    // re-run, reading it then.
    const answers = new Map<string, StoredAnswer>();
    for (const row of read.answers) {
      if (row.answer !== null) answers.set(row.key, { payloadHash: row.payload_hash!, answer: row.answer });
    }
    foldedAnswers(
      read.answers.filter((row) => row.answer === null),
      answers,
    );
    const movementIds = read.movementIds;
    const extraLegs = movementLegsMax(items, variants) - baseLegs;
    if (extraLegs > 0) movementIds.push(...(await allocateMovementIds(client, extraLegs)));
    // Read unlocked only to decide which levels to lock; read again under the lock (lockedRead).
    const unlockedReservations = new Map<string, ReservationState>();
    for (const row of read.reservations) unlockedReservations.set(row.id, reservationFromRow(row));
    const touched = touchedLevels(items, variants, locations, unlockedReservations);
    const touchedVariants = touched.map((level) => level.variantId);
    const touchedLocations = touched.map((level) => level.locationId);

    // A batch that moves a listed variant locks ALL its levels (and its bundles' components'),
    // so the listing quantities it stores are computed from levels nobody else can change.
    const plan = await this.availability.planForBatch(client, [...new Set(touchedVariants)]);
    const levels = new Map<string, LevelState>();
    let availability: AvailabilityContext | undefined;
    let reservations = unlockedReservations;
    const dueReservations = new Map<string, ReservationState[]>();
    // The variants' rows are locked before their levels are read, listed or not: a level that
    // does not exist yet has no row to lock, so two batches creating it at once would both
    // insert it and one would fail on the key, be retried whole, and after
    // limits.batchAttemptsMax failures fall back to one transaction per submission (measured:
    // bench:ledger facts-fold spread, 2 such batches, p99 7.7 s). Same order as the plan's
    // lock (variants by id, then levels), so the two paths cannot deadlock each other.
    // The transaction begins here, BEGIN and the lock in one round trip: everything before it
    // was a read whose result the batch re-checks under the lock, or does not need to.
    if (plan) await begin(lockVariantsText(plan.lockVariants));
    else if (touched.length > 0) await begin(lockVariantsText([...new Set(touchedVariants)]));
    else await begin();
    if (touched.length > 0 || needs.reservationIds.length > 0) {
      const row = await lockedRead(client, {
        levels:
          touched.length === 0
            ? undefined
            : plan
              ? { variants: plan.lockVariants }
              : { variants: touchedVariants, locations: touchedLocations },
        touched: { variants: touchedVariants, locations: touchedLocations },
        reservationIds: needs.reservationIds,
        now,
        plan,
      });
      for (const levelRow of (row.levels ?? []) as Record<string, unknown>[]) {
        const level = levelFromRow(levelRow);
        levels.set(levelKey(level.variantId, level.locationId), level);
      }
      availability = plan ? contextFromPlanRead(plan, [...levels.values()], row) : undefined;
      // Every change to a reservation happens under its level's lock, which we now hold.
      if (needs.reservationIds.length > 0) {
        reservations = new Map();
        for (const named of (row.named ?? []) as ReservationRow[])
          reservations.set(named.id, reservationFromRow(named));
      }
      for (const due of (row.due ?? []) as ReservationRow[]) {
        const key = levelKey(due.variant_id, due.location_id);
        const list = dueReservations.get(key) ?? [];
        list.push(reservationFromRow(due));
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
        [
          counts.map((q) => q.key),
          counts.map((q) => q.variantId),
          counts.map((q) => q.locationId),
          counts.map((q) => q.countedAt),
        ],
      );
      for (const row of rows) countBaselines.set(row.key, row.total);
    }
    const purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
    if (needs.purchaseOrderLines.length > 0) {
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT pol.*, po.status FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id
         WHERE (pol.purchase_order_id, pol.line) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))
         ORDER BY pol.purchase_order_id, pol.line FOR UPDATE OF pol`,
        [
          needs.purchaseOrderLines.map((line) => line.purchaseOrderId),
          needs.purchaseOrderLines.map((line) => line.line),
        ],
      );
      for (const row of rows) {
        const line = purchaseOrderLineFromRow(row);
        purchaseOrderLines.set(purchaseOrderLineKey(line.purchaseOrderId, line.line), line);
      }
    }
    // Movement ids: the legs the commands can write (taken before the locks) plus one per due expiry.
    let dueCount = 0;
    for (const list of dueReservations.values()) dueCount += list.length;
    if (dueCount > 0) movementIds.push(...(await allocateMovementIds(client, dueCount)));
    let nextId = 0;

    const outcome = applyCommands(
      {
        variants,
        locations,
        levels,
        reservations,
        dueReservations,
        answers,
        countBaselines,
        purchaseOrderLines,
        availability,
      },
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
    await this.writeOutcome(client, outcome.writes, plan?.config.channelIds);
    return outcome.answers;
  }

  /**
   * A batch's writes. A batch appending at most `limits.pgAppendedRowsPerStatementMax` rows
   * (every request-sized batch) writes everything in ONE statement, a data-modifying CTE per
   * table: the levels, the movements, answers and reservations, the changed reservations and the
   * listing quantities, each in its own rows, so no CTE needs to see another's. A larger batch
   * writes them one statement (or COPY) each. Purchase-order lines, rare, keep their own.
   */
  private async writeOutcome(
    client: pg.PoolClient,
    writes: ReturnType<typeof applyCommands>['writes'],
    channelIds: ReadonlyMap<string, number> | undefined,
  ): Promise<void> {
    const created = writes.levels.filter((write) => write.created);
    const updated = writes.levels.filter((write) => !write.created);
    // Key order: two batches inserting overlapping keys take the unique index's locks in one order.
    const sortedAnswers = [...writes.answers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const newReservations = writes.reservations.filter((entry) => entry.created).map((entry) => entry.reservation);
    const changedReservations = writes.reservations.filter((entry) => !entry.created).map((entry) => entry.reservation);
    const appended = writes.movements.length + sortedAnswers.length + newReservations.length;
    // Levels first: movements reference (variant, location) and the level row proves the lock.
    const levelParts: CtePart[] = [];
    if (created.length > 0)
      levelParts.push({
        name: 'levels_new',
        sql: insertLevelsSql,
        params: toColumns(
          created.map((write) => levelValues(write.level)),
          levelColumns.length,
        ),
      });
    if (updated.length > 0)
      levelParts.push({
        name: 'levels_set',
        sql: updateLevelsSql,
        params: [levelUpdates(updated)],
        countAs: 'levels_set',
      });
    const laterParts: CtePart[] = [];
    if (changedReservations.length > 0)
      laterParts.push({
        name: 'reservations_set',
        sql: updateReservationsSql,
        params: toColumns(
          changedReservations.map((r) => [r.id, r.committedQuantity, r.status, r.resolvedAt]),
          4,
        ),
      });
    if (writes.listingQuantities.length > 0) {
      assert(channelIds !== undefined, 'listing quantities come from an availability plan');
      const { sql, params } = quantitiesUpsert(writes.listingQuantities, channelIds);
      laterParts.push({ name: 'quantities', sql, params });
    }
    if (appended <= limits.pgAppendedRowsPerStatementMax) {
      const appendParts: CtePart[] = [];
      for (const [table, columns, list] of [
        ['movements', movementColumns, rowsOf(writes.movements, pushMovementValues)],
        ['command_answers', answerColumns, rowsOf(sortedAnswers, pushAnswerValues)],
        ['reservations', reservationColumns, rowsOf(newReservations, pushReservationValues)],
      ] as const) {
        if (list.length > 0)
          appendParts.push({
            name: `${table}_rows`,
            sql: unnestInsert(table, columns),
            params: toColumns(list, columns.length),
          });
      }
      const parts = [...levelParts, ...appendParts, ...laterParts];
      if (parts.length > 0) {
        const { text, values } = cteStatement(parts);
        const { rows } = await client.query<{ levels_set?: number }>(text, values);
        // Pair assertion: every level we judged is the level we overwrite.
        assert.equal(Number(rows[0]!.levels_set ?? 0), updated.length, 'a level changed under its row lock');
      }
    } else {
      // In the combined statement's order: the levels, the COPYs, the rest.
      for (const part of levelParts) {
        const result = await client.query(part.sql, part.params as unknown[]);
        if (part.countAs !== undefined)
          assert.equal(result.rowCount, updated.length, 'a level changed under its row lock');
      }
      await copyRows(client, 'movements', movementColumnNames, writes.movements, pushMovementValues);
      await copyRows(client, 'command_answers', answerInsertColumns, sortedAnswers, pushAnswerValues);
      await copyRows(client, 'reservations', reservationInsertColumns, newReservations, pushReservationValues);
      for (const part of laterParts) await client.query(part.sql, part.params as unknown[]);
    }
    if (writes.purchaseOrderLines.length > 0) {
      await client.query(
        `UPDATE purchase_order_lines AS p SET quantity_received = u.received
         FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(purchase_order_id, line, received)
         WHERE p.purchase_order_id = u.purchase_order_id AND p.line = u.line`,
        toColumns(
          writes.purchaseOrderLines.map((line) => [line.purchaseOrderId, line.line, line.quantityReceived]),
          3,
        ),
      );
    }
  }

  // --- maintenance ---------------------------------------------------------------------------

  async pruneAnswers(before: EpochMs, limit: number): Promise<number> {
    const result = await this.pool.query(
      'DELETE FROM command_answers WHERE key IN (SELECT key FROM command_answers WHERE recorded_at < $1 LIMIT $2)',
      [before, limit],
    );
    return result.rowCount ?? 0;
  }
}

/**
 * Side writes of one batch sent as ONE statement: each a data-modifying CTE with its
 * placeholders renumbered, and the row count of each selected at the end. A batch of 32 order
 * lines wrote 32 rows (and cleared their unmapped items) in 64 round trips inside the
 * transaction, holding its locks meanwhile; now in one. The CTEs see the same snapshot and not
 * each other's rows, which side writes never need: each writes its own line's row.
 */
export function combinedSideWrites(writes: readonly SideWrite[]): { sql: string; params: unknown[] } {
  for (const write of writes) {
    const sql = write.sql.trim();
    if (/\bRETURNING\b/i.test(sql) || sql.endsWith(';')) throw new Error(`side write cannot be combined: ${write.sql}`);
  }
  const { text, values } = cteStatement(
    writes.map((write, index) => ({ name: `w${index}`, sql: write.sql, params: write.params, countAs: `c${index}` })),
  );
  return { sql: text, params: values };
}

async function runCombined(client: pg.PoolClient, writes: readonly SideWrite[]): Promise<number[]> {
  const { sql, params } = combinedSideWrites(writes);
  const { rows } = await client.query<Record<string, unknown>>(sql, params);
  return writes.map((_, index) => Number(rows[0]![`c${index}`]));
}
