import type pg from 'pg';
import type { EpochMs } from '../../core/clock.js';
import type { DispatchResult, DispatchRow, OutboxPort } from '../outbox-port.js';
import { dispatchSql, numbered, placed } from '../dispatch-sql.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import type { SqlStatement } from '../sql/sql-order-lines.js';
import { PostgresExecutor } from './postgres-executor.js';
import { SqlOutboxViews } from '../sql/sql-outbox-views.js';

/**
 * Each urgency class's claim as a statement of its own (most urgent first; see
 * dispatchSql.claims), locking what it takes and passing over rows another claim has locked:
 * what each class's CTE in {@link postgresClaim} runs, and what the claim-plan test explains.
 */
const claimLock = 'FOR UPDATE OF lq SKIP LOCKED';
export const postgresClaims = dispatchSql.claims.map((sql) => `${numbered(sql)} ${claimLock}`);
const anyClaimable = numbered(dispatchSql.anyClaimable);

/** A class's claim params inside {@link postgresClaim}: channel id, now, now, epoch, limit. */
const classParams = ['(SELECT channel_id FROM lease)', '$3::bigint', '$3::bigint', '$2::bigint', '$5::int'];

/**
 * The whole claim in one statement: the lease row locked FOR SHARE and checked for the epoch,
 * the urgency classes' claims (postgresClaims) taken in order up to the limit, the taken rows
 * marked claimed, and the rows returned most urgent first. One round trip where the claim's
 * transaction took five to eight (BEGIN, the lease, one statement per class, the mark, COMMIT).
 * A class is read only when the ones before it left part of the limit (the CTEs run as far as
 * the union is read), so each class locks only rows it returns. Params: channel code, lease
 * epoch, now, claimed until, limit.
 */
export const postgresClaim = `WITH lease AS MATERIALIZED (
    SELECT cl.channel_id FROM channel_leases cl JOIN channels c ON c.id = cl.channel_id
    WHERE c.code = $1 AND cl.epoch = $2::bigint FOR SHARE OF cl
  ),
  ${dispatchSql.claims
    .map((sql, index) => `class${index} AS (${placed(sql, (param) => classParams[param]!)} ${claimLock})`)
    .join(',\n  ')},
  taken AS MATERIALIZED (
    ${dispatchSql.claims.map((_, index) => `SELECT * FROM class${index}`).join(' UNION ALL ')} LIMIT $5::int
  ),
  marked AS (
    UPDATE listing_quantities q SET claimed_epoch = $2::bigint, claimed_until = $4::bigint
    FROM taken WHERE q.listing_id = taken.listing_id
  )
  SELECT * FROM taken ORDER BY urgency, due_at, listing_id`;

/**
 * dispatchSql.sample and dispatchSql.result('ok') for many rows at once. The sample reads the
 * rows as they were before the update (one snapshot for the whole statement), as the sample
 * statement did when it ran first. Params: listing ids, pushed quantities, desired versions,
 * channel quantities (arrays, one entry per result), channel id, now.
 */
const recordAcknowledged = `WITH r AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
      AS r(listing_id, pushed_quantity, desired_version, channel_quantity)
  ), samples AS (
    INSERT INTO push_samples (channel_id, latency_ms, at)
    SELECT $5::bigint, $6::bigint - lq.pending_since, $6::bigint FROM listing_quantities lq JOIN r ON r.listing_id = lq.listing_id
    WHERE lq.desired_version = r.desired_version AND lq.pending_since IS NOT NULL
  )
  UPDATE listing_quantities lq SET pushed_quantity = r.pushed_quantity, pushed_version = r.desired_version,
    channel_quantity = r.channel_quantity, pushed_at = $6::bigint, attempts = 0, last_error = NULL, claimed_until = NULL,
    dispatch_state = CASE WHEN lq.desired_version = r.desired_version THEN 'done' ELSE lq.dispatch_state END,
    pending_since = CASE WHEN lq.desired_version = r.desired_version THEN NULL ELSE lq.computed_at END,
    channel_since = CASE WHEN lq.channel_quantity = r.channel_quantity AND lq.channel_since IS NOT NULL
      THEN lq.channel_since ELSE $6::bigint END,
    channel_seen_at = $6::bigint
  FROM r WHERE lq.listing_id = r.listing_id`;

type Transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/**
 * Propagation on PostgreSQL, shared by several processes: rows are claimed with
 * `FOR UPDATE SKIP LOCKED` (two pushers never take the same row, neither waits for the other),
 * the channel's lease is one atomic upsert (a takeover bumps the epoch), and results are
 * written only while the lease row, locked `FOR SHARE`, still carries the writer's epoch.
 */
export class PostgresDispatch extends SqlOutboxViews implements OutboxPort {
  constructor(
    private readonly pool: pg.Pool,
    private readonly transaction: Transaction,
    sql: SqlExecutor,
  ) {
    super(sql, sql);
  }

  protected async writeTogether(statements: readonly SqlStatement[]): Promise<boolean> {
    const unchanged = new Error('a statement changed no row');
    try {
      await this.transaction(async (client) => {
        const inTransaction = new PostgresExecutor(client);
        for (const statement of statements)
          if ((await inTransaction.run(statement.sql, statement.params)) === 0) throw unchanged;
      });
      return true;
    } catch (error) {
      if (error === unchanged) return false;
      throw error;
    }
  }

  async acquireLease(channel: string, owner: string, now: EpochMs, ttlMs: number): Promise<number | null> {
    const { rows } = await this.pool.query<{ epoch: number }>(
      `INSERT INTO channel_leases AS cl (channel_id, owner, epoch, expires_at)
       SELECT id, $2, 1, $3::bigint + $4::bigint FROM channels WHERE code = $1
       ON CONFLICT (channel_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
         epoch = CASE WHEN cl.owner = excluded.owner THEN cl.epoch ELSE cl.epoch + 1 END
       WHERE cl.owner = excluded.owner OR cl.expires_at <= $3::bigint
       RETURNING epoch`,
      [channel, owner, now, ttlMs],
    );
    return rows[0]?.epoch ?? null;
  }

  /**
   * The lease's check (`FOR SHARE`, so a takeover waits for this record) and the rows' locks (in
   * listing id order, as the ledger's recompute writes them: the same order on both sides, so the
   * two never deadlock on a row), in one statement: no row is locked unless the lease is held.
   * Returns the channel's id, or undefined when the lease is not held at `epoch`. The writes that
   * follow are statements of their own, each with a snapshot taken after these locks.
   */
  private async holdAndLock(
    client: pg.PoolClient,
    channel: string,
    epoch: number,
    listingIds: readonly number[],
  ): Promise<number | undefined> {
    const { rows } = await client.query<{ channel_id: number | null }>(
      `WITH lease AS MATERIALIZED (
         SELECT cl.channel_id FROM channel_leases cl JOIN channels c ON c.id = cl.channel_id
         WHERE c.code = $1 AND cl.epoch = $2 FOR SHARE OF cl
       ), locked AS MATERIALIZED (
         SELECT 1 FROM listing_quantities WHERE listing_id = ANY($3::bigint[]) AND EXISTS (SELECT 1 FROM lease)
         ORDER BY listing_id FOR UPDATE
       )
       SELECT (SELECT channel_id FROM lease) AS channel_id, (SELECT count(*) FROM locked) AS locked`,
      [channel, epoch, listingIds],
    );
    return rows[0]?.channel_id ?? undefined;
  }

  async claimDue(channel: string, epoch: number, now: EpochMs, limit: number, claimMs: number): Promise<DispatchRow[]> {
    // Most claims of an idle channel find nothing. The claim's transaction locks the lease row
    // (FOR SHARE writes a row lock, so its commit waits for a WAL flush); one plain read first
    // lets an idle poll cost a single index probe instead of a flushed transaction.
    const { rows: due } = await this.pool.query(anyClaimable, [channel, now, now, epoch]);
    if (due.length === 0) return [];
    const { rows } = await this.pool.query<Record<string, unknown>>(postgresClaim, [
      channel,
      epoch,
      now,
      now + claimMs,
      limit,
    ]);
    return rows.map(dispatchSql.rowToDispatch);
  }

  async recordResults(
    channel: string,
    epoch: number,
    results: readonly DispatchResult[],
    now: EpochMs,
  ): Promise<boolean> {
    return this.transaction(async (client) => {
      const ordered = [...results].sort((a, b) => Number(a.listingId) - Number(b.listingId));
      const channelId = await this.holdAndLock(
        client,
        channel,
        epoch,
        ordered.map((result) => Number(result.listingId)),
      );
      if (channelId === undefined) return false;
      // Acknowledged pushes (nearly all): their samples and updates in one statement, not two
      // round trips per row while the rows stay locked (measured in bench/README.md).
      const ok = ordered.filter((result) => result.status === 'ok');
      if (ok.length > 0)
        await client.query(recordAcknowledged, [
          ok.map((result) => Number(result.listingId)),
          ok.map((result) => result.pushedQuantity),
          ok.map((result) => result.desiredVersion),
          ok.map((result) => result.channelQuantity),
          channelId,
          now,
        ]);
      for (const result of ordered) {
        if (result.status === 'ok') continue;
        const { sql, params } = dispatchSql.result(result, now);
        await client.query(numbered(sql), params);
      }
      return true;
    });
  }

  async noticeChannelLevel(
    channel: string,
    externalId: string,
    shown: number,
    now: EpochMs,
    graceMs: number,
  ): Promise<'consistent' | 'drift' | 'unknown'> {
    const sql = numbered(dispatchSql.noticeLevel)
      .replace('quantity = $2 THEN', 'quantity = $2::bigint THEN')
      .replace('WHEN $4 > quantity', 'WHEN $4::bigint > quantity');
    const { rows } = await this.pool.query<{ quantity: number }>(
      sql,
      dispatchSql.noticeLevelParams(channel, externalId, shown, now, graceMs),
    );
    const row = rows[0];
    return row === undefined ? 'unknown' : row.quantity === shown ? 'consistent' : 'drift';
  }
}
