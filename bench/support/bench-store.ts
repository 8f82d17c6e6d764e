import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  options: { poolSize?: number } = {},
): Promise<{ store: LedgerStore; cleanup: () => Promise<void> }> {
  if (engine === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
    const store = new SqliteStore({ filename: join(directory, 'bench.db') });
    await store.migrate();
    return {
      store,
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
    cleanup: async () => {
      await store.close();
      await database.drop();
    },
  };
}

/** The p-th percentile of sorted samples (nearest rank). */
export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
