import assert from 'node:assert';
import type pg from 'pg';
import type { AvailabilityContext, ListingQuantityWrite } from '../../core/availability/recompute.js';
import type { EpochMs } from '../../core/clock.js';
import type { CommandAnswer, collectNeeds } from '../../core/ledger/apply-commands.js';
import type { LevelState } from '../../core/ledger/level.js';
import {
  buildContext,
  incomingLinesSelect,
  outboxOnConflict,
  type AvailabilityConfig,
  type ComponentRow,
  type CurrentRow,
  type IncomingLineRow,
  type ListingRefRow,
} from '../availability-rows.js';
import type { BatchChecks } from '../ledger-store.js';
import { commandLegColumns, type CommandLegRow, type ReservationRow } from '../rows.js';
import { batchCheckParams, batchCheckQuery } from '../sql/sql-batch-checks.js';
import { reservationSelect } from '../sql/sql-ledger-views.js';
import { postgresDialect } from './postgres-executor.js';

/**
 * The statements of a PostgreSQL ledger batch, each built to save round trips while the hot
 * level's lock is held: the read before any lock, the availability plan's shape, the read
 * under the lock, and the combined write. The ledger (postgres-ledger.ts) runs them in order;
 * bench/README.md ("Thirteenth session") has the measurements behind each.
 */

/** A statement's parameters as they are placed: `param(value, type)` returns `$n::type`. */
function parameters(): { params: unknown[]; param: (value: unknown, type: string) => string } {
  const params: unknown[] = [];
  return { params, param: (value, type) => `$${params.push(value)}::${type}` };
}

/** `sql` with every `$n` placeholder moved up by `offset`, to place it after other parameters. */
export function shiftPlaceholders(sql: string, offset: number): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/** What a ledger batch must lock and load for availability, decided before it takes its locks. */
export interface BatchAvailabilityPlan {
  config: AvailabilityConfig;
  affected: number[];
  components: ComponentRow[];
  listings: ListingRefRow[];
  /** Every variant whose levels (all locations) the recompute reads, sorted: lock these. */
  lockVariants: number[];
}

/** A listing's stored quantity, as the recompute compares it (CurrentRow). */
export const currentColumns =
  'variant_id, listing_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at, rule_version';

/**
 * The variants' lock (PostgresAvailability.lockVariants explains it) with the ids written into
 * its text, for a transaction's first statement (PostgresPool.transactionBegunByWork), which
 * takes no parameters. Ids come from the database; each is checked to be an integer first.
 */
export function lockVariantsText(variantIds: readonly number[]): string {
  for (const id of variantIds) assert(Number.isSafeInteger(id), `variant id ${id} is not an integer`);
  return `SELECT id FROM variants WHERE id IN (${variantIds.join(', ')}) ORDER BY id FOR NO KEY UPDATE`;
}

/**
 * The availability context's reads (variants, stored quantities, incoming lines) as JSON columns
 * of one statement, `param` being the typed placeholder of `plan.affected` (`$n::bigint[]`):
 * lockedRead adds them to the batch's read under its lock, the recompute reads them alone.
 */
export function planReadColumns(plan: BatchAvailabilityPlan, param: string): string[] {
  const columns = [
    `(SELECT json_agg(x) FROM (SELECT id, sku, is_bundle FROM variants WHERE id = ANY(${param})) x) AS plan_variants`,
    `(SELECT json_agg(x) FROM (SELECT ${currentColumns} FROM listing_quantities WHERE variant_id = ANY(${param})) x) AS plan_current`,
  ];
  if (plan.config.needsIncoming)
    columns.push(
      `(SELECT json_agg(x) FROM (${incomingLinesSelect} pol.variant_id = ANY(${param})) x) AS plan_incoming`,
    );
  return columns;
}

/** The context from the columns planReadColumns added (a JSON aggregate of no rows is null). */
export function contextFromPlanRead(
  plan: BatchAvailabilityPlan,
  levels: readonly LevelState[],
  row: Record<string, unknown>,
): AvailabilityContext {
  return buildContext(plan.config, {
    variants: (row.plan_variants ?? []) as { id: number; sku: string; is_bundle: number }[],
    components: plan.components,
    listings: plan.listings,
    levels,
    incoming: (row.plan_incoming ?? []) as IncomingLineRow[],
    current: (row.plan_current ?? []) as CurrentRow[],
  });
}

/**
 * Store computed listing quantities (one statement, `$1` the rows as JSON), moving each changed
 * one into the outbox; `channelIds` maps the writes' channel codes to ids.
 */
export function quantitiesUpsert(
  writes: readonly ListingQuantityWrite[],
  channelIds: ReadonlyMap<string, number>,
): { sql: string; params: unknown[] } {
  return {
    sql: `INSERT INTO listing_quantities AS t (variant_id, listing_id, channel_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at,
         rule_version, computed_at, due_at, pending_since)
       SELECT variant_id, listing_id, channel_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at, rule_version, computed_at,
         computed_at, computed_at
       FROM json_populate_recordset(NULL::listing_quantities, $1::json) ORDER BY listing_id
       ON CONFLICT (variant_id, listing_id) DO UPDATE SET ${outboxOnConflict('t')}, quantity = excluded.quantity, preorder_quantity = excluded.preorder_quantity,
         preorder_earliest_at = excluded.preorder_earliest_at, preorder_latest_at = excluded.preorder_latest_at,
         rule_version = excluded.rule_version, computed_at = excluded.computed_at`,
    params: [
      JSON.stringify(
        writes.map((write) => ({
          variant_id: write.variantId,
          listing_id: Number(write.listingId),
          channel_id: channelIds.get(write.channelCode) ?? null,
          quantity: write.quantity,
          preorder_quantity: write.preorderQuantity,
          preorder_earliest_at: write.preorderEarliestAt,
          preorder_latest_at: write.preorderLatestAt,
          rule_version: write.ruleVersion,
          computed_at: write.computedAt,
        })),
      ),
    ],
  };
}

export const updateLevelsSql = `
  UPDATE levels AS l SET on_hand = u.on_hand, reserved = u.reserved, damaged = u.damaged, quarantine = u.quarantine,
    in_transit = u.in_transit, held = u.held, version = u.version, last_count_at = u.last_count_at,
    last_count_source_version = u.last_count_source_version, velocity = u.velocity, velocity_at = u.velocity_at
  FROM json_to_recordset($1::json) AS u(variant_id bigint, location_id bigint, on_hand bigint, reserved bigint, damaged bigint,
    quarantine bigint, in_transit bigint, held bigint, velocity float8, velocity_at bigint, version bigint, last_count_at bigint, last_count_source_version bigint, previous_version bigint)
  WHERE l.variant_id = u.variant_id AND l.location_id = u.location_id AND l.version = u.previous_version`;
export const updateReservationsSql = `
  UPDATE reservations AS r SET committed_quantity = u.committed_quantity, status = u.status, resolved_at = u.resolved_at
  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS u(id, committed_quantity, status, resolved_at)
  WHERE r.id = u.id`;

/** updateLevelsSql's `$1`: each level's new values and the version it was read at. */
export function levelUpdates(updated: readonly { level: LevelState; previousVersion: number }[]): string {
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

/** A part of cteStatement: one data-modifying statement and its own parameters (`$1`...). */
export interface CtePart {
  name: string;
  sql: string;
  params: readonly unknown[];
  /** Count the rows it changed (`RETURNING 1`), selected under this name. */
  countAs?: string | undefined;
}

/**
 * Statements as the data-modifying CTEs of ONE statement, each one's placeholders renumbered
 * after those of the parts before it; the statement selects the counts the parts asked for
 * (or 1). The CTEs share one snapshot and do not see each other's rows, so each must write rows
 * of its own.
 */
export function cteStatement(parts: readonly CtePart[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const ctes = parts.map(({ name, sql, params, countAs }) => {
    const offset = values.length;
    values.push(...params);
    return `${name} AS (${shiftPlaceholders(sql.trim(), offset)}${countAs === undefined ? '' : ' RETURNING 1'})`;
  });
  const counts = parts.flatMap(({ name, countAs }) =>
    countAs === undefined ? [] : [`(SELECT count(*) FROM ${name}) AS ${countAs}`],
  );
  return { text: `WITH ${ctes.join(', ')} SELECT ${counts.length > 0 ? counts.join(', ') : '1'}`, values };
}

/** What a batch reads before it locks anything (see unlockedRead). */
export interface UnlockedRead {
  checks: { kind: string; ref: string }[] | undefined;
  variants: { id: number; sku: string; is_bundle: number }[];
  components: { bundle_id: number; variantId: number; sku: string; quantity: number }[];
  locations: { id: number; code: string }[];
  /** A stored answer's `answer` comes parsed (a JSON column nested in the JSON aggregate). */
  answers: (CommandLegRow & { answer: CommandAnswer | null })[];
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
export async function unlockedRead(
  client: pg.PoolClient,
  needs: ReturnType<typeof collectNeeds>,
  legs: number,
  checks: BatchChecks | undefined,
): Promise<UnlockedRead> {
  const { params, param } = parameters();
  const columns: string[] = [];
  if (checks !== undefined) {
    const sql = shiftPlaceholders(batchCheckQuery(postgresDialect), params.length);
    params.push(...batchCheckParams(checks));
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
           0 AS in_transit, 0 AS version, 0 AS oversold, '' AS sku, '' AS code, answer
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
export interface LockedReadSpec {
  /** The levels to lock: every level of these variants, or the (variant, location) pairs. */
  levels?: { variants: readonly number[]; locations?: readonly number[] } | undefined;
  /** The touched levels, whose pending reservations due to expire are read. */
  touched: { variants: readonly number[]; locations: readonly number[] };
  reservationIds: readonly string[];
  now: EpochMs;
  /** The availability plan, whose context's rows are read too (planReadColumns). */
  plan?: BatchAvailabilityPlan | undefined;
}

/**
 * Everything a batch reads under its lock, in ONE statement (one JSON column per kind): the
 * levels (locked `FOR UPDATE` in (variant, location) order), the reservations it names, the
 * pending ones due to expire on those levels, and the availability plan's rows. Five to seven
 * round trips became one, each of which the hot level's lock was held across; measured over
 * `bench:reservations`, a round trip under load costs about half a millisecond, most of it
 * waiting for the event loop.
 *
 * One snapshot is safe here because the statement runs after the variants' lock
 * (lockVariantsText, sent with BEGIN as a statement of its own): every transaction that writes a level or a reservation holds its variant's lock, so
 * nothing these reads cover can change between this snapshot and the commit.
 */
export async function lockedRead(client: pg.PoolClient, spec: LockedReadSpec): Promise<Record<string, unknown>> {
  const { params, param } = parameters();
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
  if (spec.plan !== undefined) columns.push(...planReadColumns(spec.plan, param(spec.plan.affected, 'bigint[]')));
  const { rows } = await client.query<Record<string, unknown>>(`${withLevels}SELECT ${columns.join(', ')}`, params);
  return rows[0]!;
}
