import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createTestDatabase } from '../../test/support/stores.js';

/**
 * A migrated store for one bench scenario: SQLite in a fresh temp file, or PostgreSQL in a
 * fresh database on the test server (dropped by `cleanup`).
 */
export async function openBenchStore(
  engine: string,
  options: { poolSize?: number; withSql?: boolean } = {},
): Promise<{
  store: LedgerStore;
  cleanup: () => Promise<void>;
  sql: (text: string) => Promise<void>;
  connect: () => Promise<RawConnection>;
}> {
  if (engine === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
    const filename = join(directory, 'bench.db');
    const store = new SqliteStore({ filename });
    await store.migrate();
    return {
      store,
      // A second connection to the same file, for seeding with plain SQL.
      sql: async (text) => {
        const db = new Database(filename);
        db.exec(text);
        db.close();
      },
      connect: async () => {
        const db = new Database(filename);
        return {
          // `$1`-style placeholders, each used once and in order: bound as `?`.
          all: async (text, params) => {
            const statement = db.prepare(text.replace(/\$\d+/g, '?'));
            if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
            statement.run(...params);
            return [];
          },
          close: async () => {
            db.close();
          },
        };
      },
      cleanup: async () => {
        await store.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  }
  const database = await createTestDatabase();
  const store = new PostgresStore({ connectionString: database.url, poolSize: options.poolSize ?? 4 });
  await store.migrate();
  return {
    store,
    sql: async (text) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(text);
      await client.end();
    },
    connect: async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return {
        all: async (text, params) => (await client.query(text, [...params])).rows as Record<string, unknown>[],
        close: () => client.end(),
      };
    },
    cleanup: async () => {
      await store.close();
      await database.drop();
    },
  };
}

/** A connection of the bench's own to the store's database, for SQL beside the product's. */
export interface RawConnection {
  all(text: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** The p-th percentile of sorted samples (nearest rank). */
export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
