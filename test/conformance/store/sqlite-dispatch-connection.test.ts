/**
 * SQLite only: dispatch bookkeeping (leases, claims, recorded pushes) commits with
 * synchronous=NORMAL and every other write with FULL, on the store's one connection (the safety
 * argument is in sqlite-dispatch.ts), and closing the store removes the WAL.
 * Method: read the level inside a bookkeeping transaction and after it, also after one that
 * throws; run the dispatcher's own calls and read the level again; see their writes from a
 * second connection; check the -wal file after close.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

describe('sqlite: dispatch bookkeeping on the store connection', () => {
  it('commits at NORMAL inside bookkeeping only, is FULL again after it (also after a failure), and closes clean', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'onhand-dispatch-connection-'));
    try {
      const filename = join(directory, 'onhand.db');
      const store = new SqliteStore({ filename });
      await store.migrate();
      const internals = store as unknown as {
        db: Database.Database;
        outbox: { synchronousInBookkeeping(fail?: boolean): number };
      };
      const level = () => internals.db.pragma('synchronous', { simple: true });
      assert.equal(level(), 2, 'FULL at rest');
      assert.equal(internals.outbox.synchronousInBookkeeping(), 1, 'NORMAL inside bookkeeping');
      assert.equal(level(), 2, 'FULL after bookkeeping');
      assert.throws(() => internals.outbox.synchronousInBookkeeping(true), /the work failed/);
      assert.equal(level(), 2, 'FULL after bookkeeping that threw');

      const now = Date.UTC(2026, 10, 23);
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: [] }], now);
      assert.equal(await store.outbox.acquireLease('bol', 'p1', now, 15_000), 1);
      assert.deepEqual(await store.outbox.claimDue('bol', 1, now, 10, 30_000), []);
      assert.equal(await store.outbox.recordResults('bol', 1, [], now), true);
      assert.equal(level(), 2, 'FULL after the dispatcher calls');
      // The lease is in the file another connection reads.
      const other = new Database(filename, { readonly: true });
      assert.deepEqual(other.prepare('SELECT owner, epoch FROM channel_leases').all(), [{ owner: 'p1', epoch: 1 }]);
      other.close();
      await store.close();
      assert.equal(existsSync(`${filename}-wal`), false, 'the connection closed and removed the WAL');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
