import assert from 'node:assert';
import Database from 'better-sqlite3';
import type { LedgerStore, MigrationReport } from '../ledger-store.js';
import { readMigrations } from '../migration-files.js';
import { SqliteAvailability } from './sqlite-availability.js';
import { SqliteAvailabilityStore } from './sqlite-availability-store.js';
import { SqliteCatalogue } from './sqlite-catalogue.js';
import { SqliteDispatch } from './sqlite-dispatch.js';
import { SqliteLedger } from './sqlite-ledger.js';
import { SqliteExecutor } from './sqlite-executor.js';
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

export class SqliteStore implements LedgerStore {
  readonly name = 'sqlite';
  readonly capabilities = { engine: 'sqlite', singleWriter: true, supportsSkipLocked: false, multiProcess: true } as const;
  readonly ledger: SqliteLedger;
  readonly catalogue: SqliteCatalogue;
  readonly availability: SqliteAvailabilityStore;
  readonly outbox: SqliteDispatch;
  readonly tokens: SqlTokens;
  private readonly db: Database.Database;
  private readonly sql: SqliteExecutor;

  constructor(options: SqliteStoreOptions) {
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
    // Durability guard (RELIABILITY 0.5): an acknowledged command must survive a power cut.
    const synchronous = this.db.pragma('synchronous', { simple: true });
    if (synchronous !== 2) throw new Error(`SQLite synchronous is ${String(synchronous)}, expected 2 (FULL)`);
    const availability = new SqliteAvailability(this.db);
    this.ledger = new SqliteLedger(this.db, availability);
    this.catalogue = new SqliteCatalogue(this.db, availability);
    this.availability = new SqliteAvailabilityStore(this.db, availability);
    this.outbox = new SqliteDispatch(this.db);
    this.sql = new SqliteExecutor(this.db);
    this.tokens = new SqlTokens(this.sql);
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
    this.outbox.close();
    if (this.db.open) this.db.close();
  }

  async canonicalDump(): Promise<Record<string, unknown[]>> {
    const dump = (sql: string) => this.db.prepare(sql).all();
    return {
      variants: dump('SELECT sku, name, barcode, product_group, attributes, is_bundle FROM variants ORDER BY sku'),
      locations: dump('SELECT code, name, kind FROM locations ORDER BY code'),
      levels: dump(
        `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.held, lv.version, lv.last_count_at, lv.last_count_source_version
         FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id ORDER BY v.sku, l.code`,
      ),
      movements: dump(
        `SELECT m.command_key, m.leg, m.type, v.sku, l.code, m.version, m.d_on_hand, m.d_reserved, m.d_damaged, m.d_quarantine, m.d_in_transit,
           m.on_hand, m.reserved, m.damaged, m.quarantine, m.in_transit, m.guarded, m.oversold, m.occurred_at, m.recorded_at, m.payload_hash
         FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id ORDER BY v.sku, l.code, m.version`,
      ),
      reservations: dump(
        `SELECT r.key, v.sku, l.code, r.quantity, r.committed_quantity, r.status, r.expires_at, r.created_at, r.resolved_at
         FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id ORDER BY r.key`,
      ),
      answers: dump('SELECT key, payload_hash, recorded_at FROM command_answers ORDER BY key'),
    };
  }
}
