import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import type { ChannelSyncStatus, DeadLetter, DispatchResult, DispatchRow } from '../../sync/dispatch-store.js';
import { dispatchSql, latencyPercentiles } from '../dispatch-sql.js';

/**
 * Propagation on SQLite: the single writer makes each claim and each result one short
 * IMMEDIATE transaction; the lease still fences a paused second process on the same file.
 */
export class SqliteDispatch {
  constructor(private readonly db: Database.Database) {}

  private channelId(code: string): number | undefined {
    return this.db.prepare<[string], { id: number }>('SELECT id FROM channels WHERE code = ?').get(code)?.id;
  }

  acquireLease(channel: string, owner: string, now: EpochMs, ttlMs: number): number | null {
    return this.db
      .transaction(() => {
        const channelId = this.channelId(channel);
        if (channelId === undefined) return null;
        const lease = this.db.prepare<[number], { owner: string; epoch: number; expires_at: number }>('SELECT * FROM channel_leases WHERE channel_id = ?').get(channelId);
        if (!lease) {
          this.db.prepare('INSERT INTO channel_leases (channel_id, owner, epoch, expires_at) VALUES (?, ?, 1, ?)').run(channelId, owner, now + ttlMs);
          return 1;
        }
        if (lease.owner === owner) {
          this.db.prepare('UPDATE channel_leases SET expires_at = ? WHERE channel_id = ?').run(now + ttlMs, channelId);
          return lease.epoch;
        }
        if (lease.expires_at > now) return null;
        // Takeover of an expired lease: a new epoch fences the former owner.
        this.db.prepare('UPDATE channel_leases SET owner = ?, epoch = epoch + 1, expires_at = ? WHERE channel_id = ?').run(owner, now + ttlMs, channelId);
        return lease.epoch + 1;
      })
      .immediate();
  }

  releaseLease(channel: string, owner: string): void {
    this.db.prepare('UPDATE channel_leases SET expires_at = 0 WHERE owner = ? AND channel_id = (SELECT id FROM channels WHERE code = ?)').run(owner, channel);
  }

  private holds(channelId: number, epoch: number): boolean {
    return this.db.prepare<[number, number], { ok: number }>('SELECT 1 AS ok FROM channel_leases WHERE channel_id = ? AND epoch = ?').get(channelId, epoch) !== undefined;
  }

  claimDue(channel: string, epoch: number, now: EpochMs, limit: number, claimMs: number): DispatchRow[] {
    return this.db
      .transaction(() => {
        const channelId = this.channelId(channel);
        if (channelId === undefined || !this.holds(channelId, epoch)) return [];
        const rows = this.db.prepare<[number, number, number, number, number], Record<string, unknown>>(dispatchSql.claim).all(channelId, now, now, epoch, limit);
        const claim = this.db.prepare('UPDATE listing_quantities SET claimed_epoch = ?, claimed_until = ? WHERE listing_id = ?');
        for (const row of rows) claim.run(epoch, now + claimMs, row.listing_id);
        return rows.map(dispatchSql.rowToDispatch);
      })
      .immediate();
  }

  recordResults(channel: string, epoch: number, results: readonly DispatchResult[], now: EpochMs): boolean {
    return this.db
      .transaction(() => {
        const channelId = this.channelId(channel);
        if (channelId === undefined || !this.holds(channelId, epoch)) return false;
        for (const result of results) {
          if (result.status === 'ok') this.db.prepare(dispatchSql.sample).run(channelId, now, now, Number(result.listingId), result.desiredVersion);
          const { sql, params } = dispatchSql.result(result, now);
          this.db.prepare(sql).run(...params);
        }
        return true;
      })
      .immediate();
  }

  syncStatus(now: EpochMs): ChannelSyncStatus[] {
    const rows = this.db.prepare<[number], Record<string, unknown>>(dispatchSql.status).all(now);
    return rows.map((row) => {
      const samples = this.db
        .prepare<[number, number], { latency_ms: number }>('SELECT latency_ms FROM push_samples WHERE channel_id = ? AND at >= ? ORDER BY id DESC LIMIT 10000')
        .all(Number(row.channel_id), now - 15 * 60_000)
        .map((sample) => sample.latency_ms);
      return dispatchSql.statusFromRow(row, now, latencyPercentiles(samples));
    });
  }

  listDeadLetters(options: { channel?: string | undefined; limit: number }): DeadLetter[] {
    return this.db
      .prepare<unknown[], Record<string, unknown>>(dispatchSql.dead)
      .all(options.channel ?? null, options.channel ?? null, options.limit)
      .map(dispatchSql.deadFromRow);
  }

  redrive(options: { channel?: string | undefined; limit: number }, now: EpochMs): number {
    return this.db.prepare(dispatchSql.redrive).run(now, options.channel ?? null, options.channel ?? null, options.limit).changes;
  }

  noticeChannelLevel(channel: string, externalId: string, shown: number, now: EpochMs, graceMs: number): 'consistent' | 'drift' | 'unknown' {
    const row = this.db.prepare<unknown[], { quantity: number }>(dispatchSql.noticeLevel).get(...dispatchSql.noticeLevelParams(channel, externalId, shown, now, graceMs));
    return row === undefined ? 'unknown' : row.quantity === shown ? 'consistent' : 'drift';
  }

  loadCursor(channel: string): string | null {
    return this.db.prepare<[string], { cursor: string }>(dispatchSql.loadCursor).get(channel)?.cursor ?? null;
  }

  saveCursor(channel: string, cursor: string, now: EpochMs): void {
    this.db.prepare(dispatchSql.saveCursor).run(cursor, now, channel);
  }

  listingByExternalId(channel: string, externalId: string): { listingId: string; sku: string } | null {
    const row = this.db.prepare<[string, string], { id: number; sku: string }>(dispatchSql.listingByExternalId).get(channel, externalId);
    return row ? { listingId: String(row.id), sku: row.sku } : null;
  }

  pruneSamples(before: EpochMs): number {
    return this.db.prepare('DELETE FROM push_samples WHERE at < ?').run(before).changes;
  }
}
