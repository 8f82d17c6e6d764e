import type { EpochMs } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { dispatchSql, latencyPercentiles } from '../dispatch-sql.js';
import { judgeDrift, type ListingSyncState } from '../../core/drift.js';
import type {
  ChannelLevelRead,
  ChannelSyncStatus,
  DeadLetter,
  DriftEntry,
  ReconcileRunRecord,
  ReconcileTarget,
  RepairRecord,
} from '../outbox-port.js';
import type { SqlExecutor } from './sql-executor.js';
import type { SqlStatement } from './sql-order-lines.js';

/**
 * The outbox slice's cold part, one SQL text for both engines: sync status, dead letters and
 * their redrive, poll cursors, the listing lookup of order lines, sample pruning, releasing a
 * lease. Each engine's outbox extends it with the fenced hot part (lease, claim, results, the
 * drift notice), where the engines differ in locking.
 *
 * @param views where reads and bookkeeping go
 * @param durable where writes someone is answered about go (on SQLite both are the store's
 * connection; its fenced bookkeeping commits at NORMAL, see sqlite-dispatch.ts)
 */
export abstract class SqlOutboxViews {
  constructor(
    protected readonly views: SqlExecutor,
    protected readonly durable: SqlExecutor,
  ) {}

  /**
   * Run the statements in one transaction on the durable connection, in order. When one of
   * them changes no row, nothing is kept and it resolves false; a statement that fails rolls
   * everything back and rejects.
   */
  protected abstract writeTogether(statements: readonly SqlStatement[]): Promise<boolean>;

  async releaseLease(channel: string, owner: string): Promise<void> {
    await this.views.run(
      'UPDATE channel_leases SET expires_at = 0 WHERE owner = $1 AND channel_id = (SELECT id FROM channels WHERE code = $2)',
      [owner, channel],
    );
  }

  async syncStatus(now: EpochMs): Promise<ChannelSyncStatus[]> {
    const rows = await this.views.all(dispatchSql.status, [now]);
    const runs = new Map(
      (await this.views.all('SELECT * FROM reconcile_runs')).map((run) => [Number(run.channel_id), runFromRow(run)]),
    );
    const out: ChannelSyncStatus[] = [];
    for (const row of rows) {
      // Percentiles over the window's samples, at most 10,000 per channel.
      const samples = await this.views.all<{ latency_ms: number }>(
        'SELECT latency_ms FROM push_samples WHERE channel_id = $1 AND at >= $2 ORDER BY id DESC LIMIT 10000',
        [Number(row.channel_id), now - limits.pushLatencyWindowMs],
      );
      out.push({
        ...dispatchSql.statusFromRow(row, now, latencyPercentiles(samples.map((sample) => Number(sample.latency_ms)))),
        lastReconcile: runs.get(Number(row.channel_id)) ?? null,
      });
    }
    return out;
  }

  async recordReconcileRun(channel: string, run: ReconcileRunRecord): Promise<void> {
    await this.durable.run(
      `INSERT INTO reconcile_runs (channel_id, mode, started_at, finished_at, listings_read, listings_unknown,
         drift_more, drift_less, unconfirmed, dead, repairs, read_errors, first_read_error)
       SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM channels WHERE code = $1
       ON CONFLICT (channel_id) DO UPDATE SET mode = excluded.mode, started_at = excluded.started_at,
         finished_at = excluded.finished_at, listings_read = excluded.listings_read,
         listings_unknown = excluded.listings_unknown, drift_more = excluded.drift_more,
         drift_less = excluded.drift_less, unconfirmed = excluded.unconfirmed, dead = excluded.dead,
         repairs = excluded.repairs, read_errors = excluded.read_errors, first_read_error = excluded.first_read_error`,
      [
        channel,
        run.mode,
        run.startedAt,
        run.finishedAt,
        run.read,
        run.unknown,
        run.driftMore,
        run.driftLess,
        run.unconfirmed,
        run.dead,
        run.repairs,
        run.readErrors,
        run.firstReadError === null ? null : run.firstReadError.slice(0, limits.textLengthMax),
      ],
    );
  }

  async listDeadLetters(options: { channel?: string | undefined; limit: number }): Promise<DeadLetter[]> {
    const rows = await this.views.all(dispatchSql.dead(options.channel !== undefined), [
      options.limit,
      ...(options.channel === undefined ? [] : [options.channel]),
    ]);
    return rows.map(dispatchSql.deadFromRow);
  }

  async redrive(options: { channel?: string | undefined; limit: number }, now: EpochMs): Promise<number> {
    return this.durable.run(dispatchSql.redrive(options.channel !== undefined), [
      now,
      options.limit,
      ...(options.channel === undefined ? [] : [options.channel]),
    ]);
  }

  async loadCursor(channel: string): Promise<string | null> {
    return (await this.views.get<{ cursor: string }>(dispatchSql.loadCursor, [channel]))?.cursor ?? null;
  }

  async saveCursor(channel: string, cursor: string, now: EpochMs, pollStartedAt?: EpochMs): Promise<void> {
    await this.durable.run(dispatchSql.saveCursor, [cursor, now, channel, pollStartedAt ?? null]);
  }

  async listingByExternalId(channel: string, externalId: string): Promise<{ listingId: string; sku: string } | null> {
    const row = await this.views.get<{ id: number; sku: string }>(dispatchSql.listingByExternalId, [
      channel,
      externalId,
    ]);
    return row ? { listingId: String(row.id), sku: row.sku } : null;
  }

  async pruneSamples(before: EpochMs): Promise<number> {
    return this.views.run('DELETE FROM push_samples WHERE at < $1', [before]);
  }

  async recordChannelLevels(
    channel: string,
    reads: readonly ChannelLevelRead[],
    readAt: EpochMs,
    now: EpochMs,
  ): Promise<number> {
    const channelRow = await this.views.get<{ id: number }>('SELECT id FROM channels WHERE code = $1', [channel]);
    if (channelRow === undefined) return 0;
    let recorded = 0;
    for (const read of reads) {
      recorded += await this.durable.run(
        `UPDATE listing_quantities SET
           channel_since = CASE WHEN channel_quantity = $1 AND channel_since IS NOT NULL THEN channel_since ELSE $2 END,
           channel_seen_at = $2, channel_quantity = $1
         WHERE listing_id = $3 AND channel_id = $4 AND (pushed_at IS NULL OR pushed_at < $5)`,
        [read.shown, now, Number(read.listingId), Number(channelRow.id), readAt],
      );
    }
    return recorded;
  }

  async listDrift(
    channel: string,
    options: { graceMs: number; afterId?: string | undefined; limit: number },
  ): Promise<DriftEntry[]> {
    // Candidates are read a page at a time and judged here; the next page is read while fewer
    // than `limit` of them drifted, so a short answer means there is no more drift after it.
    const out: DriftEntry[] = [];
    let after = options.afterId === undefined ? 0 : Number(options.afterId);
    // Read before the rows: a poll recorded after this read is not counted, one recorded before
    // it has already lowered (and queued) what its orders sold.
    const caughtUp = await this.views.get<{ poll_started_at: unknown }>(dispatchSql.intakeCaughtUpAt, [channel]);
    const intakeCaughtUpAt =
      caughtUp?.poll_started_at === undefined || caughtUp.poll_started_at === null
        ? null
        : Number(caughtUp.poll_started_at);
    for (;;) {
      const scanned = await this.driftPage(channel, options, intakeCaughtUpAt, after, out);
      if (scanned.rows < options.limit || out.length >= options.limit) return out.slice(0, options.limit);
      after = scanned.last;
    }
  }

  private async driftPage(
    channel: string,
    options: { graceMs: number; limit: number },
    intakeCaughtUpAt: EpochMs | null,
    after: number,
    out: DriftEntry[],
  ): Promise<{ rows: number; last: number }> {
    const rows = await this.views.all<Record<string, unknown>>(
      `SELECT lq.listing_id, v.sku, l.external_id, lq.quantity, lq.computed_at, lq.pushed_quantity, lq.pushed_at, lq.dispatch_state,
         lq.channel_quantity, lq.channel_seen_at, lq.channel_since
       FROM listing_quantities lq JOIN listings l ON l.id = lq.listing_id JOIN channels c ON c.id = lq.channel_id
         JOIN variants v ON v.id = l.variant_id
       WHERE c.code = $1 AND lq.listing_id > $2 AND lq.dispatch_state <> 'pending' AND l.deactivated_at IS NULL AND c.deactivated_at IS NULL
         AND lq.channel_quantity IS NOT NULL AND lq.pushed_quantity IS NOT NULL AND lq.channel_quantity <> lq.pushed_quantity
       ORDER BY lq.listing_id LIMIT $3`,
      [channel, after, options.limit],
    );
    for (const row of rows) {
      const number = (value: unknown) => (value === null ? null : Number(value));
      const state: ListingSyncState = {
        listingId: String(row.listing_id),
        desired: Number(row.quantity),
        acknowledged: number(row.pushed_quantity),
        acknowledgedAt: number(row.pushed_at),
        pushPending: row.dispatch_state === 'pending',
        dead: row.dispatch_state === 'dead',
        shown: number(row.channel_quantity),
        shownAt: number(row.channel_seen_at),
        shownSince: number(row.channel_since),
        intakeCaughtUpAt,
      };
      const verdict = judgeDrift(state, options.graceMs);
      if (verdict.state === 'drift')
        out.push({
          listingId: state.listingId,
          sku: row.sku as string,
          externalId: row.external_id as string,
          desiredAt: Number(row.computed_at),
          state,
          verdict,
        });
    }
    return { rows: rows.length, last: rows.length === 0 ? after : Number(rows[rows.length - 1]!.listing_id) };
  }

  async listReconcileTargets(
    channel: string,
    options: { since: EpochMs; afterId?: string | undefined; limit: number },
  ): Promise<ReconcileTarget[]> {
    const rows = await this.views.all<Record<string, unknown>>(
      `SELECT lq.listing_id, v.sku, l.external_id, l.external_location_id
       FROM listing_quantities lq JOIN listings l ON l.id = lq.listing_id JOIN channels c ON c.id = lq.channel_id
         JOIN variants v ON v.id = l.variant_id
       WHERE c.code = $1 AND lq.listing_id > $2 AND l.deactivated_at IS NULL AND c.deactivated_at IS NULL
         AND (lq.pushed_at >= $3 OR lq.computed_at >= $3
              OR (lq.channel_quantity IS NOT NULL AND lq.pushed_quantity IS NOT NULL AND lq.channel_quantity <> lq.pushed_quantity))
       ORDER BY lq.listing_id LIMIT $4`,
      [channel, options.afterId === undefined ? 0 : Number(options.afterId), options.since, options.limit],
    );
    return rows.map((row) => ({
      id: String(row.listing_id),
      sku: row.sku as string,
      externalId: row.external_id as string,
      externalLocationId: (row.external_location_id as string | null) ?? null,
    }));
  }

  async requeueRepair(channel: string, entry: DriftEntry, now: EpochMs): Promise<RepairRecord | null> {
    const { verdict, state } = entry;
    // Re-queued with attempts reset, due now (the claim's urgency puts a channel showing more
    // first), and recorded, in one transaction: a repair is never pushed without its record.
    const requeued = await this.writeTogether([
      {
        sql: `UPDATE listing_quantities SET dispatch_state = 'pending', due_at = $1, attempts = 0, last_error = NULL,
           claimed_until = NULL, pending_since = COALESCE(pending_since, $1)
         WHERE listing_id = $2 AND dispatch_state = 'done' AND channel_quantity = $3 AND pushed_quantity = $4
           AND channel_id = (SELECT id FROM channels WHERE code = $5)`,
        params: [now, Number(entry.listingId), verdict.shown, verdict.acknowledged, channel],
      },
      {
        sql: `INSERT INTO reconcile_repairs (channel_id, listing_id, at, direction, shown, acknowledged, desired)
         SELECT c.id, $2, $3, $4, $5, $6, lq.quantity FROM channels c JOIN listing_quantities lq ON lq.listing_id = $2
         WHERE c.code = $1`,
        params: [channel, Number(entry.listingId), now, verdict.direction, verdict.shown, verdict.acknowledged],
      },
    ]);
    if (!requeued) return null;
    return {
      channel,
      listingId: entry.listingId,
      sku: entry.sku,
      at: now,
      direction: verdict.direction,
      shown: verdict.shown,
      acknowledged: verdict.acknowledged,
      desired: state.desired,
    };
  }

  async listRepairs(options: { channel?: string | undefined; limit: number }): Promise<RepairRecord[]> {
    const rows = await this.views.all<Record<string, unknown>>(
      `SELECT c.code, r.listing_id, v.sku, r.at, r.direction, r.shown, r.acknowledged, r.desired
       FROM reconcile_repairs r JOIN channels c ON c.id = r.channel_id JOIN listings l ON l.id = r.listing_id
         JOIN variants v ON v.id = l.variant_id
       ${options.channel === undefined ? '' : 'WHERE c.code = $2'}
       ORDER BY r.id DESC LIMIT $1`,
      [options.limit, ...(options.channel === undefined ? [] : [options.channel])],
    );
    return rows.map((row) => ({
      channel: row.code as string,
      listingId: String(row.listing_id),
      sku: row.sku as string,
      at: Number(row.at),
      direction: row.direction as 'more' | 'less',
      shown: Number(row.shown),
      acknowledged: Number(row.acknowledged),
      desired: Number(row.desired),
    }));
  }
}

function runFromRow(row: Record<string, unknown>): ReconcileRunRecord {
  return {
    mode: row.mode as ReconcileRunRecord['mode'],
    startedAt: Number(row.started_at),
    finishedAt: Number(row.finished_at),
    read: Number(row.listings_read),
    unknown: Number(row.listings_unknown),
    driftMore: Number(row.drift_more),
    driftLess: Number(row.drift_less),
    unconfirmed: Number(row.unconfirmed),
    dead: Number(row.dead),
    repairs: Number(row.repairs),
    readErrors: Number(row.read_errors),
    firstReadError: (row.first_read_error as string | null) ?? null,
  };
}
