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
import { batchCheckFailures, batchCheckParams, batchCheckQuery, noBatchChecks } from '../sql/sql-batch-checks.js';
import { copyRows } from './copy-rows.js';
import { quantitiesUpsert, type PostgresAvailability } from './postgres-availability.js';
import { toColumns, unnestInsert, type PostgresPool } from './postgres-pool.js';
import {
  answerInsertColumns,
  commandLegColumns,
  foldedAnswers,
  levelFromRow,
  pushAnswerValues,
  pushMovementValues,
  pushReservationValues,
  reservationInsertColumns,
  purchaseOrderLineFromRow,
  reservationFromRow,
  type CommandLegRow,
  type ReservationRow,
  type SqlValue,
} from '../rows.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { reservationSelect, SqlLedgerViews } from '../sql/sql-ledger-views.js';
import { postgresDialect } from './postgres-executor.js';

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

/**
 * Write statements as ONE statement, each a data-modifying CTE with its placeholders renumbered;
 * the statement returns how many levels `levels_set` updated (0 when there is none).
 */
function combinedWrites(statements: readonly { name: string; sql: string; params: unknown[] }[]): {
  text: string;
  values: unknown[];
} {
  const values: unknown[] = [];
  const parts = statements.map(({ name, sql, params }) => {
    const offset = values.length;
    values.push(...params);
    const renumbered = sql.trim().replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    return `${name} AS (${renumbered}${name === 'levels_set' ? ' RETURNING 1' : ''})`;
  });
  const levelsSet = statements.some(({ name }) => name === 'levels_set') ? '(SELECT count(*) FROM levels_set)' : '0';
  return { text: `WITH ${parts.join(', ')} SELECT ${levelsSet} AS levels_set`, values };
}

function levelRow(level: LevelState): unknown[] {
  return [
    level.variantId,
    level.locationId,
    level.onHand,
    level.reserved,
    level.damaged,
    level.quarantine,
    level.inTransit,
    level.held,
    level.version,
    level.lastCountAt,
    level.lastCountSourceVersion,
    level.velocityRate,
    level.velocityAt,
  ];
}

/** updateLevelsSql's `$1`: each level's new values and the version it was read at. */
function levelUpdates(updated: readonly { level: LevelState; previousVersion: number }[]): string {
  return JSON.stringify(
    updated.map(({ level, previousVersion }) => ({
      variant_id: level.variantId,
      location_id: level.locationId,
      on_hand: level.onHand,
      reserved: level.reserved,
      damaged: level.damaged,
      quarantine: level.quarantine,
      in_transit: level.inTransit,
      held: level.held,
      version: level.version,
      velocity: level.velocityRate,
      velocity_at: level.velocityAt,
      last_count_at: level.lastCountAt,
      last_count_source_version: level.lastCountSourceVersion,
      previous_version: previousVersion,
    })),
  );
}

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
  const { rows } = await client.query<{ id: number }>(
    "SELECT nextval('movements_id_seq') AS id FROM generate_series(1, $1::int)",
    [count],
  );
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

/** What a batch reads before it locks anything (see unlockedRead). */
interface UnlockedRead {
  checks: { kind: string; ref: string }[] | undefined;
  variants: { id: number; sku: string; is_bundle: number }[];
  components: { bundle_id: number; variantId: number; sku: string; quantity: number }[];
  locations: { id: number; code: string }[];
  answers: (CommandLegRow & { answer: string | null })[];
  reservations: ReservationRow[];
  movementIds: number[];
}

/**
 * Everything a batch reads before its locks, in ONE statement (a JSON column per kind): the
 * submissions' preconditions, the skus (with their bundles' components), the location codes,
 * the stored answers of its keys, the reservations it names, and `legs` fresh movement ids.
 * Up to seven round trips became one; each cost about half a millisecond under load (mostly
 * the wait for the event loop), and a batch's latency is what bounds how many requests the
 * next batch can gather.
 */
async function unlockedRead(
  client: pg.PoolClient,
  needs: ReturnType<typeof collectNeeds>,
  legs: number,
  checks: BatchChecks | undefined,
): Promise<UnlockedRead> {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
  const columns: string[] = [];
  if (checks !== undefined) {
    const offset = params.length;
    params.push(...batchCheckParams(checks));
    const sql = batchCheckQuery(postgresDialect).replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    columns.push(`(SELECT json_agg(c) FROM (${sql}) c) AS checks`);
  }
  if (needs.skus.length > 0) {
    const skus = param(needs.skus, 'text[]');
    columns.push(
      `(SELECT json_agg(v) FROM (SELECT id, sku, is_bundle FROM variants WHERE sku = ANY(${skus})) v) AS variants`,
    );
    columns.push(
      `(SELECT json_agg(c ORDER BY c.sku COLLATE "C") FROM (SELECT b.bundle_id, b.component_id AS "variantId", v.sku, b.quantity
         FROM bundle_components b JOIN variants v ON v.id = b.component_id JOIN variants bv ON bv.id = b.bundle_id
         WHERE bv.sku = ANY(${skus}) AND bv.is_bundle = 1) c) AS components`,
    );
  }
  if (needs.locationCodes.length > 0)
    columns.push(
      `(SELECT json_agg(l) FROM (SELECT id, code FROM locations WHERE code = ANY(${param(needs.locationCodes, 'text[]')})) l) AS locations`,
    );
  if (needs.keys.length > 0) {
    // Both kinds of stored answer: rows with `answer` come from command_answers, the others
    // are legs of commands whose answer is folded into them.
    const keys = param(needs.keys, 'text[]');
    columns.push(
      `(SELECT json_agg(a) FROM (SELECT key, payload_hash, 0 AS leg, 0 AS id, 0 AS on_hand, 0 AS reserved, 0 AS damaged, 0 AS quarantine,
           0 AS in_transit, 0 AS version, 0 AS oversold, '' AS sku, '' AS code, answer::text AS answer
         FROM command_answers WHERE key = ANY(${keys})
         UNION ALL
         SELECT ${commandLegColumns}, NULL AS answer
         FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id
         WHERE m.command_key = ANY(${keys})) a) AS answers`,
    );
  }
  if (needs.reservationIds.length > 0)
    columns.push(
      `(SELECT json_agg(n) FROM (${reservationSelect} WHERE r.id = ANY(${param(needs.reservationIds, 'text[]')})) n) AS reservations`,
    );
  if (legs > 0)
    columns.push(
      `(SELECT json_agg(nextval('movements_id_seq')) FROM generate_series(1, ${param(legs, 'int')})) AS movement_ids`,
    );
  const row =
    columns.length === 0
      ? {}
      : (await client.query<Record<string, unknown>>(`SELECT ${columns.join(', ')}`, params)).rows[0]!;
  const list = <T>(value: unknown) => (value ?? []) as T[];
  return {
    checks: checks === undefined ? undefined : list(row.checks),
    variants: list(row.variants),
    components: list(row.components),
    locations: list(row.locations),
    answers: list(row.answers),
    reservations: list(row.reservations),
    movementIds: list<number>(row.movement_ids).sort((a, b) => a - b),
  };
}

/** What a batch reads once it holds its variants' locks (see lockedRead). */
interface LockedReadSpec {
  /** The levels to lock: every level of these variants, or the (variant, location) pairs. */
  levels?: { variants: readonly number[]; locations?: readonly number[] } | undefined;
  /** The touched levels, whose pending reservations due to expire are read. */
  touched: { variants: readonly number[]; locations: readonly number[] };
  reservationIds: readonly string[];
  now: EpochMs;
  /** The availability plan's reads, as columns, given the placeholder of `planAffected`. */
  planColumns?: ((param: string) => string[]) | undefined;
  planAffected?: readonly number[] | undefined;
}

/**
 * Everything a batch reads under its lock, in ONE statement (one JSON column per kind): the
 * levels (locked `FOR UPDATE` in (variant, location) order), the reservations it names, the
 * pending ones due to expire on those levels, and the availability plan's rows. Five to seven
 * round trips became one, each of which the hot level's lock was held across; measured over
 * `bench:reservations`, a round trip under load costs about half a millisecond, most of it
 * waiting for the event loop.
 *
 * One snapshot is safe here because the statement runs after lockVariants, a statement of its
 * own: every transaction that writes a level or a reservation holds its variant's lock, so
 * nothing these reads cover can change between this snapshot and the commit.
 */
async function lockedRead(client: pg.PoolClient, spec: LockedReadSpec): Promise<Record<string, unknown>> {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
  const columns: string[] = [];
  let withLevels = '';
  if (spec.levels !== undefined) {
    const variants = param(spec.levels.variants, 'bigint[]');
    const where =
      spec.levels.locations === undefined
        ? `variant_id = ANY(${variants})`
        : `(variant_id, location_id) IN (SELECT * FROM unnest(${variants}, ${param(spec.levels.locations, 'bigint[]')}))`;
    withLevels = `WITH lv AS MATERIALIZED (SELECT * FROM levels WHERE ${where} ORDER BY variant_id, location_id FOR UPDATE) `;
    columns.push('(SELECT json_agg(lv ORDER BY lv.variant_id, lv.location_id) FROM lv) AS levels');
    const touched = `SELECT * FROM unnest(${param(spec.touched.variants, 'bigint[]')}, ${param(spec.touched.locations, 'bigint[]')})`;
    columns.push(
      `(SELECT json_agg(d ORDER BY d.expires_at, d.created_at, d.id) FROM (${reservationSelect}
         WHERE (r.variant_id, r.location_id) IN (${touched})
           AND r.status = 'pending' AND r.expires_at IS NOT NULL AND r.expires_at <= ${param(spec.now, 'bigint')}) d) AS due`,
    );
  }
  if (spec.reservationIds.length > 0)
    columns.push(
      `(SELECT json_agg(n) FROM (${reservationSelect} WHERE r.id = ANY(${param(spec.reservationIds, 'text[]')})) n) AS named`,
    );
  if (spec.planColumns !== undefined) columns.push(...spec.planColumns(`$${params.push(spec.planAffected)}`));
  const { rows } = await client.query<Record<string, unknown>>(`${withLevels}SELECT ${columns.join(', ')}`, params);
  return rows[0]!;
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
      if (row.answer !== null)
        answers.set(row.key, { payloadHash: row.payload_hash!, answer: JSON.parse(row.answer) as CommandAnswer });
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
    if (plan) await begin(this.availability.lockVariantsText(plan.lockVariants));
    else if (touched.length > 0) await begin(this.availability.lockVariantsText([...new Set(touchedVariants)]));
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
        planColumns: plan ? (param) => this.availability.lockedReadColumns(plan, param) : undefined,
        planAffected: plan?.affected,
      });
      for (const levelRow of (row.levels ?? []) as Record<string, unknown>[]) {
        const level = levelFromRow(levelRow);
        levels.set(levelKey(level.variantId, level.locationId), level);
      }
      availability = plan ? this.availability.contextFromRead(plan, [...levels.values()], row) : undefined;
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
    const statements: { name: string; sql: string; params: unknown[] }[] = [];
    // Levels first: movements reference (variant, location) and the level row proves the lock.
    if (created.length > 0)
      statements.push({
        name: 'levels_new',
        sql: insertLevelsSql,
        params: toColumns(
          created.map((write) => levelRow(write.level)),
          levelColumns.length,
        ),
      });
    if (updated.length > 0)
      statements.push({ name: 'levels_set', sql: updateLevelsSql, params: [levelUpdates(updated)] });
    const combined = appended <= limits.pgAppendedRowsPerStatementMax;
    if (combined) {
      for (const [table, columns, list] of [
        ['movements', movementColumns, rowsOf(writes.movements, pushMovementValues)],
        ['command_answers', answerColumns, rowsOf(sortedAnswers, pushAnswerValues)],
        ['reservations', reservationColumns, rowsOf(newReservations, pushReservationValues)],
      ] as const) {
        if (list.length > 0)
          statements.push({
            name: `${table}_rows`,
            sql: unnestInsert(table, columns),
            params: toColumns(list, columns.length),
          });
      }
    }
    if (changedReservations.length > 0)
      statements.push({
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
      statements.push({ name: 'quantities', sql, params });
    }
    if (combined) {
      if (statements.length > 0) {
        const { text, values } = combinedWrites(statements);
        const { rows } = await client.query<{ levels_set: number }>(text, values);
        // Pair assertion: every level we judged is the level we overwrite.
        assert.equal(Number(rows[0]!.levels_set), updated.length, 'a level changed under its row lock');
      }
    } else {
      // Levels, then the COPYs, then the rest: the order the combined statement lists them in.
      const levelCount = statements.filter((statement) => statement.name.startsWith('levels_')).length;
      for (const [index, statement] of statements.entries()) {
        if (index === levelCount) await this.copyAppended(client, writes.movements, sortedAnswers, newReservations);
        const result = await client.query(statement.sql, statement.params);
        if (statement.name === 'levels_set')
          assert.equal(result.rowCount, updated.length, 'a level changed under its row lock');
      }
      if (levelCount === statements.length)
        await this.copyAppended(client, writes.movements, sortedAnswers, newReservations);
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

  private async copyAppended(
    client: pg.PoolClient,
    movements: ReturnType<typeof applyCommands>['writes']['movements'],
    answers: ReturnType<typeof applyCommands>['writes']['answers'],
    reservations: readonly ReservationState[],
  ): Promise<void> {
    await copyRows(client, 'movements', movementColumnNames, movements, pushMovementValues);
    await copyRows(client, 'command_answers', answerInsertColumns, answers, pushAnswerValues);
    await copyRows(client, 'reservations', reservationInsertColumns, reservations, pushReservationValues);
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
  const params: unknown[] = [];
  const parts = writes.map((write, index) => {
    const offset = params.length;
    params.push(...write.params);
    const sql = write.sql.trim().replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    if (/\bRETURNING\b/i.test(sql) || sql.endsWith(';')) throw new Error(`side write cannot be combined: ${write.sql}`);
    return `w${index} AS (${sql} RETURNING 1)`;
  });
  const counts = writes.map((_, index) => `(SELECT count(*) FROM w${index}) AS c${index}`).join(', ');
  return { sql: `WITH ${parts.join(', ')} SELECT ${counts}`, params };
}

async function runCombined(client: pg.PoolClient, writes: readonly SideWrite[]): Promise<number[]> {
  const { sql, params } = combinedSideWrites(writes);
  const { rows } = await client.query<Record<string, unknown>>(sql, params);
  return writes.map((_, index) => Number(rows[0]![`c${index}`]));
}
