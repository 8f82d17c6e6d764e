/**
 * SQLite only: dispatch bookkeeping runs on its own connection with synchronous=NORMAL while
 * the ledger connection stays FULL (the safety argument is in sqlite-dispatch.ts), both on the
 * same file, and closing the store closes both (the last connection to close removes the WAL).
 * Method: read the pragmas of both connections; see a claim made on one from the other; check
 * the -wal file after close.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

describe('sqlite: the dispatch connection', () => {
  it('is NORMAL while the ledger stays FULL, writes the same file, and closes with the store', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'onhand-dispatch-connection-'));
    try {
      const filename = join(directory, 'onhand.db');
      const store = new SqliteStore({ filename });
      await store.migrate();
      const internals = store as unknown as { db: Database.Database; outbox: { synchronous: number } };
      assert.equal(internals.db.pragma('synchronous', { simple: true }), 2, 'ledger connection: FULL');
      assert.equal(internals.outbox.synchronous, 1, 'dispatch connection: NORMAL');
      const now = Date.UTC(2026, 10, 23);
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: [] }], now);
      assert.equal(await store.outbox.acquireLease('bol', 'p1', now, 15_000), 1);
      // The lease written through the dispatch connection is in the file the ledger reads.
      const other = new Database(filename, { readonly: true });
      assert.deepEqual(other.prepare('SELECT owner, epoch FROM channel_leases').all(), [{ owner: 'p1', epoch: 1 }]);
      other.close();
      await store.close();
      assert.equal(existsSync(`${filename}-wal`), false, 'both connections closed: the last one removed the WAL');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
