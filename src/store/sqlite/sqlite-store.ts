import assert from 'node:assert';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { LedgerStore, MigrationReport } from '../ledger-store.js';
import { readMigrations } from '../migration-files.js';
import { canonicalDump } from '../sql/canonical-dump.js';
import { SqliteAvailability } from './sqlite-availability.js';
import { SqliteAvailabilityStore } from './sqlite-availability-store.js';
import { SqliteCatalogue } from './sqlite-catalogue.js';
import { SqliteDispatch } from './sqlite-dispatch.js';
import { SqliteLedger } from './sqlite-ledger.js';
import { SqliteExecutor } from './sqlite-executor.js';
import { SqlOrderLines } from '../sql/sql-order-lines.js';
import { SqlKpis } from '../sql/sql-kpis.js';
import { SqlAlerts } from '../sql/sql-alerts.js';
import { SqlTokens } from '../sql/sql-tokens.js';

/**
 * The embedded default store: one SQLite file, WAL, synchronous=FULL.
 *
 * Concurrency: every write transaction is `BEGIN IMMEDIATE`, i.e. it takes SQLite's single
 * write lock before its first read, so the snapshot the core judges is the state it writes
 * over (no check-then-write). Other connections and processes wait (busy_timeout).
 */

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. */
  filename: string;
  /** Milliseconds a connection waits for the write lock held by another connection. @default 10000 */
  busyTimeoutMs?: number;
}

/** The SQLite file's directory does not exist (SQLite creates the file, never its directory). */
export class SqliteDirectoryMissingError extends Error {
  readonly code = 'SQLITE_DIRECTORY_MISSING';
  constructor(readonly directory: string) {
    super(`the directory ${directory} of the SQLite file does not exist`);
  }
}

export class SqliteStore implements LedgerStore {
  readonly name = 'sqlite';
  readonly capabilities = {
    engine: 'sqlite',
    singleWriter: true,
    supportsSkipLocked: false,
    multiProcess: true,
  } as const;
  readonly ledger: SqliteLedger;
  readonly catalogue: SqliteCatalogue;
  readonly availability: SqliteAvailabilityStore;
  readonly outbox: SqliteDispatch;
  readonly tokens: SqlTokens;
  readonly orders: SqlOrderLines;
  readonly kpis: SqlKpis;
  readonly alerts: SqlAlerts;
  private readonly db: Database.Database;
  private readonly sql: SqliteExecutor;

  constructor(options: SqliteStoreOptions) {
    // better-sqlite3 says only "Cannot open database because the directory does not exist", a
    // TypeError without the path; the start-up message names the directory to create.
    if (options.filename !== ':memory:' && options.filename !== '' && !existsSync(dirname(options.filename)))
      throw new SqliteDirectoryMissingError(dirname(options.filename));
    this.db = new Database(options.filename);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    if (options.filename !== ':memory:') {
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      assert.equal(mode, 'wal', 'SQLite must run in WAL mode');
    }
    this.db.pragma('synchronous = FULL');
    // 64 MiB page cache (default 2 MiB): levels and answer keys of a 100k-variant catalogue stay
    // in memory. Measured on bench:ledger spread: see bench/README.md.
    this.db.pragma('cache_size = -65536');
    // Checkpoint every ~16 MiB of WAL instead of ~4 MiB: fewer, larger checkpoints on the commit path.
    this.db.pragma('wal_autocheckpoint = 4000');
    this.db.pragma('foreign_keys = ON');
    // Durability guard (docs/RELIABILITY.md, section 3): an acknowledged command must survive a power cut.
    const synchronous = this.db.pragma('synchronous', { simple: true });
    if (synchronous !== 2) throw new Error(`SQLite synchronous is ${String(synchronous)}, expected 2 (FULL)`);
    this.sql = new SqliteExecutor(this.db);
    const availability = new SqliteAvailability(this.db, this.sql);
    this.ledger = new SqliteLedger(this.db, availability, this.sql);
    this.catalogue = new SqliteCatalogue(this.db, availability, this.sql);
    this.availability = new SqliteAvailabilityStore(this.db, availability, this.sql);
    this.outbox = new SqliteDispatch(this.db, this.sql);
    this.tokens = new SqlTokens(this.sql);
    this.kpis = new SqlKpis(this.sql);
    this.alerts = new SqlAlerts(this.sql);
    const sql = this.sql;
    this.orders = new SqlOrderLines(sql, async (statements) =>
      this.db.transaction(() => statements.map((statement) => sql.runNow(statement.sql, statement.params))).immediate(),
    );
  }

  async migrate(): Promise<MigrationReport> {
    const migrations = readMigrations(new URL('./migrations/', import.meta.url));
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied: string[] = [];
    for (const migration of migrations) {
      const run = this.db.transaction(() => {
        const done = this.db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').get(migration.id);
        if (done) return false;
        this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(migration.id, Date.now());
        this.db.exec(migration.sql);
        return true;
      });
      if (run.immediate()) applied.push(migration.id);
    }
    this.ledger.reset();
    this.sql.reset();
    return { applied, current: migrations[migrations.length - 1]?.id ?? '' };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async canonicalDump(): Promise<Record<string, unknown[]>> {
    return canonicalDump(this.sql);
  }
}
