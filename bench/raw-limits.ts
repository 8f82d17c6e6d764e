/**
 * bench:raw - the storage engines' raw write limits on THIS machine, the yardstick the
 * ledger's throughput targets were set against ("SQLite about 150k single-row movements/s with 1000 per
 * transaction, 4.5k/s with one per transaction, synchronous=FULL; PostgreSQL about 58k/s
 * batched, 3.5k/s one per transaction on a hot row"). VMs differ by 2x from one session to the
 * next, so bench:ledger's figures are read against these, measured in the same hour.
 *
 * Each scenario writes rows of the real `movements` table (migrated schema: its checks, its
 * indexes), with none of the ledger's work (no reads, no core, no answers):
 * - sqlite, 1000 per tx: one INSERT statement per movement, 1000 per transaction, WAL, FULL;
 * - sqlite, 1 per tx: one movement per transaction (fsync-bound);
 * - postgres, batched: COPY of 1000 movements per transaction (the fastest bulk path);
 * - postgres, 1 per tx: one UPDATE of one hot level row per transaction.
 *
 * Usage: npm run bench:raw [-- --stores sqlite,postgres --rows 200000]
 * Prints one JSON line per scenario, then a table. Never asserts timings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copyRows } from '../src/store/postgres/copy-rows.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { createTestDatabase } from '../test/support/stores.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    rows: { type: 'string', default: '200000' },
  },
});
const rows = Number(values.rows);
const perTransaction = 1000;
const columns = [
  'id',
  'command_key',
  'leg',
  'type',
  'variant_id',
  'location_id',
  'version',
  'd_on_hand',
  'd_reserved',
  'd_damaged',
  'd_quarantine',
  'd_in_transit',
  'on_hand',
  'reserved',
  'damaged',
  'quarantine',
  'in_transit',
  'guarded',
  'oversold',
  'occurred_at',
  'recorded_at',
  'payload_hash',
];

/** Movement n: a sale of one unit on one level (variant 1, location 1), version n. */
function movement(n: number): (string | number)[] {
  const at = 1_763_900_000_000 + n;
  return [n, `raw-${n}`, 0, 'sale', 1, 1, n, -1, 0, 0, 0, 0, 1_000_000 - n, 0, 0, 0, 0, 0, 0, at, at, `hash-${n}`];
}

interface Result {
  bench: 'raw';
  store: string;
  scenario: string;
  rows: number;
  rows_per_s: number;
}
const results: Result[] = [];
function report(store: string, scenario: string, count: number, ms: number) {
  const result: Result = { bench: 'raw', store, scenario, rows: count, rows_per_s: Math.round((count / ms) * 1000) };
  console.log(JSON.stringify(result));
  results.push(result);
}

async function sqlite() {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-raw-'));
  try {
    const filename = join(directory, 'raw.db');
    const store = new SqliteStore({ filename });
    await store.migrate();
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], 1);
    await store.catalogue.upsertVariants([{ sku: 'RAW', name: 'Raw' }], 1);
    await store.close();
    const db = new Database(filename);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const insert = db.prepare(
      `INSERT INTO movements (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    );
    let n = 0;
    const batch = db.transaction((count: number) => {
      for (let index = 0; index < count; index += 1) insert.run(...movement(++n));
    });
    let started = performance.now();
    for (let done = 0; done < rows; done += perTransaction) batch(perTransaction);
    report('sqlite', `1 INSERT per movement, ${perTransaction} per transaction`, rows, performance.now() - started);
    const single = Math.min(rows, 3000);
    started = performance.now();
    for (let done = 0; done < single; done += 1) batch(1);
    report('sqlite', '1 movement per transaction', single, performance.now() - started);
    db.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function postgres() {
  const database = await createTestDatabase();
  try {
    const store = new PostgresStore({ connectionString: database.url, poolSize: 1 });
    await store.migrate();
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], 1);
    await store.catalogue.upsertVariants([{ sku: 'RAW', name: 'Raw' }], 1);
    await store.close();
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const client = await pool.connect();
    try {
      let n = 0;
      let started = performance.now();
      for (let done = 0; done < rows; done += perTransaction) {
        const batch = Array.from({ length: perTransaction }, () => movement(++n));
        await client.query('BEGIN');
        await copyRows(client, 'movements', columns, batch, (row, out) => out.push(...row));
        await client.query('COMMIT');
      }
      report('postgres', `COPY of ${perTransaction} movements per transaction`, rows, performance.now() - started);
      await client.query(`INSERT INTO levels (variant_id, location_id, on_hand, reserved, damaged, quarantine, in_transit, held, version)
        SELECT v.id, l.id, 0, 0, 0, 0, 0, 0, 0 FROM variants v, locations l`);
      const single = Math.min(rows, 3000);
      started = performance.now();
      for (let done = 0; done < single; done += 1) {
        await client.query('BEGIN');
        await client.query('UPDATE levels SET on_hand = on_hand + 1, version = version + 1');
        await client.query('COMMIT');
      }
      report('postgres', '1 UPDATE of one hot row per transaction', single, performance.now() - started);
    } finally {
      client.release();
      await pool.end();
    }
  } finally {
    await database.drop();
  }
}

for (const store of values.stores.split(',')) {
  if (store === 'sqlite') await sqlite();
  else if (store === 'postgres') await postgres();
  else throw new Error(`--stores: unknown store ${store}`);
}
console.log('\n| store | scenario | rows | rows/s |');
console.log('|---|---|---:|---:|');
for (const r of results) console.log(`| ${r.store} | ${r.scenario} | ${r.rows} | ${r.rows_per_s} |`);
