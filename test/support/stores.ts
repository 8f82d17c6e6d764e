/**
 * The stores every conformance suite runs on, so each case proves both engines (after Kysely's
 * DIALECTS).
 *
 * - sqlite: a fresh file in a temp directory per store.
 * - postgres: a fresh database with a unique name on ONHAND_TEST_PG_URL (default
 *   postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards. Under `npm test` it is a
 *   clone of the run's migrated template database (ONHAND_TEST_PG_TEMPLATE, made once by
 *   scripts/test.mjs with test/support/pg-template.ts): a clone skips the migrations, 0.3-0.5 s
 *   a suite on this 2-core machine. Without the variable each suite migrates its own.
 *
 * `STORES=sqlite npm test` filters. When PostgreSQL cannot be reached: under CI (CI=true) the
 * suites FAIL (they must run there, never skip); elsewhere they skip with a loud notice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';

export interface TestStore {
  store: LedgerStore;
  /** What `--database` would take to reach the same data from another process. */
  database: string;
  /** Open another, independent store on the same data (another connection or pool). */
  reopen(): Promise<LedgerStore>;
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  name: 'sqlite' | 'postgres';
  /** Undefined when the store can run here; else the reason it is skipped. */
  skip: string | undefined;
  create(): Promise<TestStore>;
}

export const pgAdminUrl = process.env.ONHAND_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: pgAdminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL unreachable at ${pgAdminUrl}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const postgresProblem = await probePostgres();
if (postgresProblem) {
  if (process.env.CI) throw new Error(`${postgresProblem}; under CI the PostgreSQL suites must run`);
  console.warn(`\n!!! ${postgresProblem}: PostgreSQL suites SKIPPED (set ONHAND_TEST_PG_URL) !!!\n`);
}

function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

export function databaseUrl(name: string): string {
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const template = process.env.ONHAND_TEST_PG_TEMPLATE;
if (template !== undefined && !/^[a-z0-9_]+$/.test(template))
  throw new Error(`ONHAND_TEST_PG_TEMPLATE=${template}: not a database name`);

/** CREATE DATABASE, retried while another clone of the same template is starting (55006). */
async function createDatabase(admin: pg.Client, name: string, from: string | undefined): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.query(`CREATE DATABASE ${name}${from ? ` TEMPLATE ${from}` : ''}`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Create a PostgreSQL database; returns its URL and a drop function. `migrated`: a clone of the
 * run's migrated template when there is one (else empty, and the caller migrates).
 */
export async function createTestDatabase(
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName('onhand_test');
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    await createDatabase(admin, name, options.migrated ? template : undefined);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(name),
    drop: async () => {
      const client = new pg.Client({ connectionString: pgAdminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

const all: StoreFactory[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async create() {
      const directory = mkdtempSync(join(tmpdir(), 'onhand-test-'));
      const filename = join(directory, 'onhand.db');
      const opened: LedgerStore[] = [];
      const store = new SqliteStore({ filename });
      opened.push(store);
      await store.migrate();
      return {
        store,
        database: filename,
        async reopen() {
          const other = new SqliteStore({ filename });
          opened.push(other);
          return other;
        },
        async cleanup() {
          for (const each of opened) await each.close();
          rmSync(directory, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: postgresProblem,
    async create() {
      const database = await createTestDatabase({ migrated: true });
      const opened: LedgerStore[] = [];
      const store = new PostgresStore({ connectionString: database.url, poolSize: 10 });
      opened.push(store);
      await store.migrate(); // a clone of the template: finds itself up to date
      return {
        store,
        database: database.url,
        async reopen() {
          const other = new PostgresStore({ connectionString: database.url, poolSize: 10 });
          opened.push(other);
          return other;
        },
        async cleanup() {
          for (const each of opened) await each.close();
          await database.drop();
        },
      };
    },
  },
];

const wanted = process.env.STORES?.split(',').map((name) => name.trim());
export const STORES: StoreFactory[] = wanted ? all.filter((factory) => wanted.includes(factory.name)) : all;
