import type { EpochMs } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { dispatchSql, latencyPercentiles } from '../dispatch-sql.js';
import type { ChannelSyncStatus, DeadLetter } from '../outbox-port.js';
import type { SqlExecutor } from './sql-executor.js';

/**
 * The outbox slice's cold part, one SQL text for both engines: sync status, dead letters and
 * their redrive, poll cursors, the listing lookup of order lines, sample pruning, releasing a
 * lease. Each engine's outbox extends it with the fenced hot part (lease, claim, results, the
 * drift notice), where the engines differ in locking.
 *
 * @param views where reads and bookkeeping go (SQLite: its dispatch connection)
 * @param durable where writes someone is answered about go (SQLite: the ledger's FULL connection)
 */
export abstract class SqlOutboxViews {
  constructor(
    protected readonly views: SqlExecutor,
    protected readonly durable: SqlExecutor,
  ) {}

  async releaseLease(channel: string, owner: string): Promise<void> {
    await this.views.run(
      'UPDATE channel_leases SET expires_at = 0 WHERE owner = $1 AND channel_id = (SELECT id FROM channels WHERE code = $2)',
      [owner, channel],
    );
  }

  async syncStatus(now: EpochMs): Promise<ChannelSyncStatus[]> {
    const rows = await this.views.all(dispatchSql.status, [now]);
    const out: ChannelSyncStatus[] = [];
    for (const row of rows) {
      // Percentiles over the window's samples, at most 10,000 per channel.
      const samples = await this.views.all<{ latency_ms: number }>(
        'SELECT latency_ms FROM push_samples WHERE channel_id = $1 AND at >= $2 ORDER BY id DESC LIMIT 10000',
        [Number(row.channel_id), now - limits.pushLatencyWindowMs],
      );
      out.push(
        dispatchSql.statusFromRow(row, now, latencyPercentiles(samples.map((sample) => Number(sample.latency_ms)))),
      );
    }
    return out;
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

  async saveCursor(channel: string, cursor: string, now: EpochMs): Promise<void> {
    await this.durable.run(dispatchSql.saveCursor, [cursor, now, channel]);
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
}
