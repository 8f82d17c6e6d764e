import assert from 'node:assert';
import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import type { DispatchResult, DispatchRow, OutboxPort } from '../outbox-port.js';
import { dispatchSql } from '../dispatch-sql.js';
import type { SqlStatement } from '../sql/sql-order-lines.js';
import { SqlOutboxViews } from '../sql/sql-outbox-views.js';
import type { SqliteExecutor } from './sqlite-executor.js';
import { literalLimits } from './statement-cache.js';

/**
 * Propagation on SQLite: the single writer makes each claim and each result one short
 * IMMEDIATE transaction; the lease still fences a paused second process on the same file.
 *
 * Durability of dispatch bookkeeping: the dispatch transactions (leases, claims, pushed values,
 * attempts, latency samples) commit with `synchronous = NORMAL`, set on the store's connection
 * for that one transaction, while every ledger write (movements, levels, answers, the desired
 * quantities of the outbox) commits with FULL. Why this is safe:
 * 1. WAL with NORMAL commits without fsync but never corrupts: a commit is appended to the WAL
 *    and lost on power failure (never on a process crash: the OS has the bytes) only if no
 *    fsync of the WAL followed it.
 * 2. The WAL is one sequential file: the next FULL (ledger) commit, or a checkpoint, fsyncs it
 *    and with it every frame written before, so what a power failure can lose is only a
 *    SUFFIX of dispatch commits made after the last ledger commit; the database comes back as
 *    it was at that moment (a consistent prefix; a ledger commit never depends on them).
 * 3. Each thing in that suffix is harmless to lose: a claim (claims expire, and every pushing
 *    process on this machine died with it), a recorded push (the row is pending again and the
 *    same absolute quantity is pushed again; Shopify's compare value is the older one and
 *    answers stale, which reads back and retries), an attempt count or backoff (retried
 *    earlier), a dead letter (retried until it is dead again), a latency sample, a lease
 *    epoch (its holders ran on this machine and died with it too).
 * What it buys: dispatch transactions never wait for an fsync (1-3 ms each here) on the thread
 * that also commits the ledger.
 *
 * Why the same connection and not a second one at NORMAL (as before): a commit on another
 * connection changes `PRAGMA data_version` and empties this connection's page cache, so the
 * ledger's variant cache (sqlite-variant-cache.ts) started over after nearly every claim and
 * every recorded push, and each connection read cold pages after the other's commits. A
 * dispatch commit writes only dispatch columns, which no cache of the ledger holds.
 * `synchronous` cannot change inside a transaction, and better-sqlite3 runs each transaction in
 * one synchronous call, so a ledger commit never runs at NORMAL (`bookkeeping`).
 */
export class SqliteDispatch extends SqlOutboxViews implements OutboxPort {
  private readonly normal: Database.Statement;
  private readonly full: Database.Statement;
  /** One transaction function for every bookkeeping call (better-sqlite3 builds its wrappers per `transaction`). */
  private readonly transaction: Database.Transaction<(work: () => unknown) => unknown>;

  /**
   * @param db the store's connection, FULL: writes someone is answered about and expects to
   * stick stay at FULL (a noticed channel level, acknowledged to Shopify's webhook; an
   * operator's redrive; an order poll cursor); only `bookkeeping` commits at NORMAL.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly ledgerSql: SqliteExecutor,
  ) {
    super(ledgerSql, ledgerSql);
    this.normal = db.prepare('PRAGMA synchronous = NORMAL');
    this.full = db.prepare('PRAGMA synchronous = FULL');
    this.transaction = db.transaction((work: () => unknown) => work());
  }

  /**
   * One IMMEDIATE transaction of dispatch bookkeeping, committed at NORMAL; the connection is
   * FULL again before this returns, whether `work` returned or threw.
   */
  private bookkeeping<T>(work: () => T): T {
    assert(!this.db.inTransaction, 'dispatch bookkeeping never runs inside another transaction');
    this.normal.run();
    try {
      return this.transaction.immediate(work) as T;
    } finally {
      this.full.run();
    }
  }

  /** One IMMEDIATE transaction at FULL, inside one synchronous call. */
  protected async writeTogether(statements: readonly SqlStatement[]): Promise<boolean> {
    const sql = this.ledgerSql;
    const unchanged = new Error('a statement changed no row');
    try {
      this.db
        .transaction(() => {
          for (const statement of statements) if (sql.runNow(statement.sql, statement.params) === 0) throw unchanged;
        })
        .immediate();
      return true;
    } catch (error) {
      if (error === unchanged) return false;
      throw error;
    }
  }

  /** The synchronous level (1 = NORMAL) inside a bookkeeping transaction, for the test of the above. */
  synchronousInBookkeeping(fail = false): number {
    return this.bookkeeping(() => {
      const level = Number(this.db.pragma('synchronous', { simple: true }));
      if (fail) throw new Error('the work failed');
      return level;
    });
  }

  /** Prepared once per SQL text (preparing cost ~6% of the process at 2,000 movements/s). */
  private statement(sql: string): Database.Statement {
    return this.ledgerSql.prepare(sql);
  }

  private channelId(code: string): number | undefined {
    return (this.statement('SELECT id FROM channels WHERE code = ?').get(code) as { id: number } | undefined)?.id;
  }

  async acquireLease(channel: string, owner: string, now: EpochMs, ttlMs: number): Promise<number | null> {
    return this.bookkeeping(() => {
      const channelId = this.channelId(channel);
      if (channelId === undefined) return null;
      const lease = this.statement('SELECT * FROM channel_leases WHERE channel_id = ?').get(channelId) as
        | { owner: string; epoch: number; expires_at: number }
        | undefined;
      if (!lease) {
        this.statement('INSERT INTO channel_leases (channel_id, owner, epoch, expires_at) VALUES (?, ?, 1, ?)').run(
          channelId,
          owner,
          now + ttlMs,
        );
        return 1;
      }
      if (lease.owner === owner) {
        this.statement('UPDATE channel_leases SET expires_at = ? WHERE channel_id = ?').run(now + ttlMs, channelId);
        return lease.epoch;
      }
      if (lease.expires_at > now) return null;
      // Takeover of an expired lease: a new epoch fences the former owner.
      this.statement('UPDATE channel_leases SET owner = ?, epoch = epoch + 1, expires_at = ? WHERE channel_id = ?').run(
        owner,
        now + ttlMs,
        channelId,
      );
      return lease.epoch + 1;
    });
  }

  private holds(channelId: number, epoch: number): boolean {
    return (
      this.statement('SELECT 1 AS ok FROM channel_leases WHERE channel_id = ? AND epoch = ?').get(channelId, epoch) !==
      undefined
    );
  }

  async claimDue(channel: string, epoch: number, now: EpochMs, limit: number, claimMs: number): Promise<DispatchRow[]> {
    // Half the claims of a busy server find nothing (a wake after a commit that changed no row
    // of this channel): one plain read answers those without the write lock (about 20 us
    // against 200). The transaction below reads again, so a row is never taken on this read.
    if (this.statement(dispatchSql.anyClaimable).get(channel, now, now, epoch) === undefined) return [];
    return this.bookkeeping(() => {
      const channelId = this.channelId(channel);
      if (channelId === undefined || !this.holds(channelId, epoch)) return [];
      const rows: Record<string, unknown>[] = [];
      for (const sql of dispatchSql.claims) {
        if (rows.length >= limit) break;
        const left = limit - rows.length;
        const text = literalLimits(sql, [], left);
        const params = [channelId, now, now, epoch, ...(text === sql ? [left] : [])];
        const taken = this.statement(text).all(...params);
        rows.push(...(taken as Record<string, unknown>[]));
      }
      const claim = this.statement(
        'UPDATE listing_quantities SET claimed_epoch = ?, claimed_until = ? WHERE listing_id = ?',
      );
      for (const row of rows) claim.run(epoch, now + claimMs, row.listing_id);
      return rows.map(dispatchSql.rowToDispatch);
    });
  }

  async recordResults(
    channel: string,
    epoch: number,
    results: readonly DispatchResult[],
    now: EpochMs,
  ): Promise<boolean> {
    // Only dispatch columns change: the availability cache (quantities, rule versions) stays valid.
    return this.bookkeeping(() => {
      const channelId = this.channelId(channel);
      if (channelId === undefined || !this.holds(channelId, epoch)) return false;
      for (const result of results) {
        if (result.status === 'ok')
          this.statement(dispatchSql.sample).run(channelId, now, now, Number(result.listingId), result.desiredVersion);
        const { sql, params } = dispatchSql.result(result, now);
        this.statement(sql).run(...params);
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
    // Autocommit at FULL (acknowledged to the channel's webhook), prepared once.
    const row = this.statement(dispatchSql.noticeLevel).get(
      ...dispatchSql.noticeLevelParams(channel, externalId, shown, now, graceMs),
    ) as { quantity: number } | undefined;
    return row === undefined ? 'unknown' : row.quantity === shown ? 'consistent' : 'drift';
  }
}
