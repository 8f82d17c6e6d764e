import type pg from 'pg';
import type { LedgerStore, MigrationReport } from '../ledger-store.js';
import { readMigrations } from '../migration-files.js';
import { canonicalDump } from '../sql/canonical-dump.js';
import { PostgresAvailability } from './postgres-availability.js';
import { PostgresAvailabilityStore } from './postgres-availability-store.js';
import { PostgresCatalogue } from './postgres-catalogue.js';
import { PostgresDispatch } from './postgres-dispatch.js';
import { PostgresLedger } from './postgres-ledger.js';
import { PostgresPool } from './postgres-pool.js';
import { PostgresExecutor } from './postgres-executor.js';
import { SqlOrderLines } from '../sql/sql-order-lines.js';
import { SqlKpis } from '../sql/sql-kpis.js';
import { SqlAlerts } from '../sql/sql-alerts.js';
import { SqlTokens } from '../sql/sql-tokens.js';

/** The production store: PostgreSQL through `pg`, shared by several onhand processes. */

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

export class PostgresStore implements LedgerStore {
  readonly name = 'postgres';
  readonly capabilities = {
    engine: 'postgres',
    singleWriter: false,
    supportsSkipLocked: true,
    multiProcess: true,
  } as const;
  readonly ledger: PostgresLedger;
  readonly catalogue: PostgresCatalogue;
  readonly availability: PostgresAvailabilityStore;
  readonly outbox: PostgresDispatch;
  readonly tokens: SqlTokens;
  readonly orders: SqlOrderLines;
  readonly kpis: SqlKpis;
  readonly alerts: SqlAlerts;
  private readonly db: PostgresPool;
  private readonly pool: pg.Pool;
  private readonly sql: PostgresExecutor;

  constructor(private readonly options: PostgresStoreOptions) {
    this.db = new PostgresPool(options.connectionString, options.poolSize ?? 10);
    this.pool = this.db.pool;
    const sql = new PostgresExecutor(this.pool);
    this.sql = sql;
    const availability = new PostgresAvailability();
    this.ledger = new PostgresLedger(this.db, availability, sql);
    this.catalogue = new PostgresCatalogue(this.db, availability, sql);
    this.availability = new PostgresAvailabilityStore(this.db, availability, sql);
    this.outbox = new PostgresDispatch(this.pool, (work) => this.db.transaction(work), sql);
    this.tokens = new SqlTokens(sql);
    this.kpis = new SqlKpis(sql);
    this.alerts = new SqlAlerts(sql);
    this.orders = new SqlOrderLines(sql, (statements) =>
      this.db.transaction(async (client) => {
        const inTransaction = new PostgresExecutor(client);
        const counts: number[] = [];
        for (const statement of statements) counts.push(await inTransaction.run(statement.sql, statement.params));
        return counts;
      }),
    );
  }

  /** Batches re-run after a retryable conflict (for benchmarks and tests). */
  get retries(): number {
    return this.db.retries;
  }

  /**
   * Refuse to run where an acknowledged command could be lost (docs/RELIABILITY.md, section 3):
   * synchronous_commit=off acknowledges before the WAL is flushed, fsync=off never flushes.
   */
  async checkDurability(): Promise<void> {
    const { rows } = await this.pool.query<{ synchronous_commit: string; fsync: string }>(
      "SELECT current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync",
    );
    const settings = rows[0]!;
    if (settings.fsync !== 'on')
      throw new DurabilityError('PostgreSQL runs with fsync=off: onhand refuses to acknowledge commands it could lose');
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
    await this.db.transaction(async (client) => {
      // One migrator at a time across every process sharing the database.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('onhand_migrations'))");
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)',
      );
      const done = new Set(
        (await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((row) => row.id),
      );
      for (const migration of migrations) {
        if (done.has(migration.id)) continue;
        await client.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [
          migration.id,
          Date.now(),
        ]);
        await client.query(migration.sql);
        applied.push(migration.id);
      }
    });
    return { applied, current: migrations[migrations.length - 1]?.id ?? '' };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async canonicalDump(): Promise<Record<string, unknown[]>> {
    return canonicalDump(this.sql);
  }
}
