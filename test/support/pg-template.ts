/**
 * The PostgreSQL template database of one `npm test`: created and migrated once by
 * scripts/test.mjs (`node --import tsx test/support/pg-template.ts <name>`), then every suite
 * clones it (`CREATE DATABASE x TEMPLATE <name>`, test/support/stores.ts) instead of running
 * the migrations again; scripts/test.mjs drops it at the end. Exits 1 when PostgreSQL cannot be
 * reached: the suites then create their own databases, or skip, as stores.ts decides.
 */
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: pg-template.ts <database name>');
const adminUrl = process.env.ONHAND_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
try {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
} catch (error) {
  console.warn(`no PostgreSQL template database (${(error as Error).message}); each suite migrates its own`);
  process.exit(1);
} finally {
  await admin.end().catch(() => undefined);
}
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const store = new PostgresStore({ connectionString: url.toString(), poolSize: 1 });
await store.migrate();
await store.close();
