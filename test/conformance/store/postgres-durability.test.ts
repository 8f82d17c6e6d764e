/**
 * The control for docs/RELIABILITY.md, section 3 (durable before acknowledged): onhand refuses to
 * acknowledge commands on a PostgreSQL that could lose them (synchronous_commit=off), unless the
 * operator explicitly accepts the risk. A guard that does not trip is a failure, so this test turns
 * the setting off for a real database. (SQLite's guard: the store asserts synchronous=FULL when it
 * opens; see sqlite-store.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { DurabilityError, PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { STORES, createTestDatabase } from '../../support/stores.js';

const postgres = STORES.find((factory) => factory.name === 'postgres');

describe('postgres: durability guard', { skip: postgres ? postgres.skip : 'STORES excludes postgres' }, () => {
  it('refuses synchronous_commit=off, and starts when explicitly allowed', async () => {
    const database = await createTestDatabase();
    try {
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      const name = new URL(database.url).pathname.slice(1);
      await admin.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
      await admin.end();
      const guarded = new PostgresStore({ connectionString: database.url });
      await assert.rejects(
        guarded.migrate(),
        (error: unknown) => error instanceof DurabilityError && /synchronous_commit is off/.test(error.message),
      );
      await guarded.close();
      const allowed = new PostgresStore({ connectionString: database.url, allowAsyncCommit: true });
      assert.match((await allowed.migrate()).current, /^\d{4}_[a-z_]+$/);
      await allowed.close();
    } finally {
      await database.drop();
    }
  });
});

describe('sqlite: durability settings', () => {
  it('opens in WAL mode with synchronous=FULL', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const directory = mkdtempSync(join(tmpdir(), 'onhand-durability-'));
    const store = new SqliteStore({ filename: join(directory, 'd.db') });
    const db = (store as unknown as { db: { pragma: (text: string, options: { simple: boolean }) => unknown } }).db;
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });
});
