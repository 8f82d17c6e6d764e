/**
 * SQLite only: migration 0005 rebuilds `movements` and `reservations` (cheaper CHECK
 * constraints, see the migration's header). Goal: a database written by the previous schema
 * comes out with the same rows (same ids, same values), the same indexes and triggers, and
 * constraints that still refuse what they refused. Method: build a database at 0004 by hand,
 * write movements and reservations through the store, migrate, compare.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { readMigrations } from '../../../src/store/migration-files.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const T0 = Date.UTC(2026, 10, 23, 9);

describe('sqlite: upgrading a database across the 0005 table rebuild', () => {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-upgrade-'));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('keeps every movement and reservation, every index and trigger, and every constraint', async () => {
    const filename = join(directory, 'onhand.db');
    const old = new Database(filename);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const migrations = readMigrations(new URL('../../../src/store/sqlite/migrations/', import.meta.url));
    assert.ok(migrations.some((migration) => migration.id === '0005_cheap_checks'));
    for (const migration of migrations.filter((each) => each.id < '0005')) {
      old.exec(migration.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(migration.id, T0);
    }
    const schemaObjects = () =>
      old
        .prepare<[], { type: string; name: string }>(
          "SELECT type, name FROM sqlite_schema WHERE tbl_name IN ('movements', 'reservations') ORDER BY type, name",
        )
        .all();
    const objectsBefore = schemaObjects();
    // Today's store writes a reservation's channel (added by 0008): give the 0004 table that
    // column so the store can write the rows 0005 must keep (0005 drops it, 0008 adds it back).
    old.exec('ALTER TABLE reservations ADD COLUMN channel TEXT');
    // Today's store also reads whether a listing, its channel and its variant are deactivated
    // (0014): lend the 0004 tables those columns while the store writes, drop them before migrating.
    const deactivatable = ['variants', 'locations', 'channels', 'listings'];
    for (const table of deactivatable) old.exec(`ALTER TABLE ${table} ADD COLUMN deactivated_at INTEGER`);

    const store = new SqliteStore({ filename });
    await store.catalogue.upsertLocations(
      [
        { code: 'WH1', name: 'Main', kind: 'warehouse' },
        { code: 'WH2', name: 'Second', kind: 'store' },
      ],
      T0,
    );
    await store.catalogue.upsertVariants(
      [
        { sku: 'A', name: 'A' },
        { sku: 'B', name: 'B' },
      ],
      T0,
    );
    let id = 0;
    const commands = [
      {
        type: 'receipt',
        sku: 'A',
        location: 'WH1',
        quantity: 10,
        reason: 'po 1',
        source: { system: 'wms', reference: 'r-1' },
      },
      { type: 'sale', sku: 'A', location: 'WH1', quantity: 2 },
      { type: 'transfer_out', sku: 'A', location: 'WH1', toLocation: 'WH2', quantity: 3 },
      { type: 'reserve', sku: 'A', location: 'WH1', quantity: 2, expiresInS: 900 },
      { type: 'reserve', sku: 'A', location: 'WH1', quantity: 1 },
      { type: 'order', sku: 'B', location: 'WH2', quantity: 1 },
    ];
    const answers = await store.ledger.applyBatch(
      commands.map(
        (command, index) =>
          ({
            ...command,
            key: `k${index}`,
            payloadHash: `h${index}`,
            occurredAt: T0 + index,
          }) as unknown as LedgerCommand,
      ),
      T0 + 10,
      () => `res_${++id}`,
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      ['applied', 'applied', 'applied', 'applied', 'applied', 'applied'],
    );
    await store.ledger.applyBatch(
      [
        {
          type: 'commit',
          reservationId: 'res_1',
          quantity: 1,
          key: 'c1',
          payloadHash: 'hc1',
          occurredAt: T0 + 20,
        } as unknown as LedgerCommand,
      ],
      T0 + 20,
      () => 'unused',
    );
    const movementsBefore = old.prepare('SELECT * FROM movements ORDER BY id').all();
    const reservationsBefore = old.prepare('SELECT * FROM reservations ORDER BY id').all();
    assert.ok(movementsBefore.length >= 7);
    assert.equal(reservationsBefore.length, 2);

    for (const table of deactivatable) old.exec(`ALTER TABLE ${table} DROP COLUMN deactivated_at`);
    const report = await store.migrate();
    assert.deepEqual(
      report.applied,
      migrations.filter((each) => each.id >= '0005').map((each) => each.id),
    );
    assert.deepEqual(old.prepare('SELECT * FROM movements ORDER BY id').all(), movementsBefore, 'same rows, same ids');
    assert.deepEqual(old.prepare('SELECT * FROM reservations ORDER BY id').all(), reservationsBefore);
    // Indexes later migrations add on these tables (0014: the lists' indexes) are not 0005's concern.
    const addedLater = new Set([
      'movements_recorded',
      'reservations_created',
      'reservations_status_created',
      'reservations_variant_created',
    ]);
    assert.deepEqual(
      schemaObjects().filter((object) => !addedLater.has(object.name)),
      objectsBefore,
      'same indexes (and automatic ones) and triggers',
    );
    assert.deepEqual((await store.ledger.verify()).mismatches, []);
    const variantA = (old.prepare("SELECT id FROM variants WHERE sku = 'A'").get() as { id: number }).id;
    assert.deepEqual(
      (await store.ledger.listMovements('A', { limit: 10 }))?.items.map((item) => item.id),
      (movementsBefore as { id: number; variant_id: number }[])
        .filter((row) => row.variant_id === variantA)
        .map((row) => row.id)
        .reverse(),
      'history by variant still served, newest first',
    );

    // The constraints still refuse what they refused.
    const columns =
      'command_key, leg, type, variant_id, location_id, version, d_on_hand, d_reserved, d_damaged, d_quarantine, d_in_transit, on_hand, reserved, damaged, quarantine, in_transit, guarded, occurred_at, recorded_at';
    const insert = (type: string, guarded: number, onHand: number, reserved: number) =>
      old
        .prepare(
          `INSERT INTO movements (${columns}) VALUES ('x', 0, ?, 1, 1, 99, 0, 0, 0, 0, 0, ?, ?, 0, 0, 0, ?, 1, 1)`,
        )
        .run(type, onHand, reserved, guarded);
    assert.throws(() => insert('bogus', 0, 0, 0), /CHECK constraint failed/);
    assert.throws(() => insert('receipt', 2, 0, 0), /CHECK constraint failed/);
    assert.throws(() => insert('reserve', 1, 0, 1), /CHECK constraint failed/, 'the no-oversell backstop');
    assert.throws(() => old.prepare('UPDATE movements SET on_hand = 0 WHERE id = 1').run(), /append-only/);
    assert.throws(() => old.prepare('DELETE FROM movements WHERE id = 1').run(), /append-only/);
    assert.throws(() => old.prepare("UPDATE reservations SET status = 'gone'").run(), /CHECK constraint failed/);
    old.close();
    await store.close();
  });
});
