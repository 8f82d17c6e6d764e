/**
 * Goal: the SQLite ledger's variant cache stays within its bound on a server with more
 * variants than it holds, and never drops an entry in the middle of a batch (a batch reads its
 * variants' listings and levels from the cache after loading them).
 * Method: a real store; the cache with a bound of 10 is loaded as batches would load it, and
 * its size and contents are read after each step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { SqliteVariantCache } from '../../src/store/sqlite/sqlite-variant-cache.js';

describe('the SQLite variant cache', () => {
  it('keeps what a batch loaded until the batch is done, then drops the oldest down to 3/4 of its bound', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    await store.migrate();
    const now = Date.UTC(2026, 11, 7);
    const skus = Array.from({ length: 14 }, (_, index) => `V${index + 1}`);
    await store.catalogue.upsertVariants(
      skus.map((sku) => ({ sku, name: sku })),
      now,
    );
    const db = (store as unknown as { db: Database.Database }).db;
    const ids = (db.prepare('SELECT id FROM variants ORDER BY id').all() as { id: number }[]).map((row) => row.id);
    const cache = new SqliteVariantCache(db, (text) => db.prepare(text), 10);

    cache.validate(1);
    cache.ensure(ids.slice(0, 8));
    assert.equal(cache.size, 8);
    // The next batch needs six more: it goes past the bound and keeps all of them meanwhile.
    cache.validate(1);
    cache.ensure(ids.slice(8));
    assert.equal(cache.size, 14);
    assert.ok(
      ids.every((id) => cache.get(id) !== undefined),
      'nothing dropped during the batch',
    );
    // The batch after it starts by dropping the first loaded, down to 7.
    cache.validate(1);
    assert.equal(cache.size, 7);
    assert.deepEqual(
      ids.filter((id) => cache.get(id) !== undefined),
      ids.slice(7),
    );
    await store.close();
  });
});
