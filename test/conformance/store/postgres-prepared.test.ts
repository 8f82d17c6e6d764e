/**
 * Goal: on PostgreSQL every parameterized statement is prepared once per connection and reused
 * (src/store/postgres/prepared-client.ts), within a bound, and a statement that a migration made
 * stale costs one failed call on a bare client and nothing inside a transaction.
 * Method: a real database; what the connection holds is read from pg_prepared_statements on that
 * same connection. The stale case alters the table from a second connection, as a migration by
 * another process would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { limits } from '../../../src/core/limits.js';
import { PostgresPool } from '../../../src/store/postgres/postgres-pool.js';
import { isStalePlan, PreparedClient } from '../../../src/store/postgres/prepared-client.js';
import { STORES, createTestDatabase } from '../../support/stores.js';

const postgres = STORES.find((factory) => factory.name === 'postgres');

async function prepared(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time');
  return rows.map((row) => String(row.statement));
}

async function withDatabase(work: (url: string) => Promise<void>): Promise<void> {
  const database = await createTestDatabase();
  try {
    await work(database.url);
  } finally {
    await database.drop();
  }
}

describe('postgres: prepared statements', { skip: postgres ? postgres.skip : 'STORES excludes postgres' }, () => {
  it('prepares a parameterized text once per connection; a text without values is not prepared', async () => {
    await withDatabase(async (url) => {
      const client = new PreparedClient({ connectionString: url });
      await client.connect();
      try {
        const text = 'SELECT $1::int + 1 AS next';
        for (let value = 0; value < 3; value += 1)
          assert.equal((await client.query(text, [value])).rows[0].next, value + 1);
        await new Promise<void>((resolve, reject) =>
          client.query(text, [41], (error: Error | null, result: pg.QueryResult) => {
            if (error) reject(error);
            else resolve(assert.equal(result.rows[0].next, 42));
          }),
        );
        await client.query('SELECT 1 AS plain');
        assert.deepEqual(await prepared(client), [text]);
      } finally {
        await client.end();
      }
    });
  });

  it('a statement made stale by a migration fails once on a bare client, never in a transaction', async () => {
    await withDatabase(async (url) => {
      const migrator = new pg.Client({ connectionString: url });
      await migrator.connect();
      const client = new PreparedClient({ connectionString: url });
      await client.connect();
      const pool = new PostgresPool(url, 1);
      try {
        await migrator.query('CREATE TABLE things (id int PRIMARY KEY, name text)');
        await migrator.query("INSERT INTO things VALUES (1, 'one')");
        const text = 'SELECT * FROM things WHERE id = $1';
        const inTransaction = () => pool.transaction(async (db) => (await db.query(text, [1])).rows[0]);
        assert.deepEqual((await client.query(text, [1])).rows[0], { id: 1, name: 'one' });
        assert.deepEqual(await inTransaction(), { id: 1, name: 'one' });

        await migrator.query("ALTER TABLE things ADD COLUMN colour text NOT NULL DEFAULT 'red'");
        await assert.rejects(client.query(text, [1]), (error: unknown) => isStalePlan(error));
        assert.deepEqual((await client.query(text, [1])).rows[0], { id: 1, name: 'one', colour: 'red' });
        const retriesBefore = pool.retries;
        assert.deepEqual(await inTransaction(), { id: 1, name: 'one', colour: 'red' });
        assert.equal(pool.retries, retriesBefore + 1, 'the transaction met the stale plan and ran again');
      } finally {
        await client.end();
        await migrator.end();
        await pool.pool.end();
      }
    });
  });
  // Last: it uses up the process's names.
  it('prepares at most the bound of distinct texts; the rest run unprepared and still answer', async () => {
    await withDatabase(async (url) => {
      const client = new PreparedClient({ connectionString: url });
      await client.connect();
      try {
        const texts = limits.pgPreparedStatementsMax + 5;
        for (let index = 0; index < texts; index += 1)
          assert.equal((await client.query(`SELECT $1::int + ${index} AS sum`, [1])).rows[0].sum, index + 1);
        // The names are the process's: the texts of the tests above count against the bound too.
        const held = (await prepared(client)).length;
        assert.ok(held <= limits.pgPreparedStatementsMax, `${held} prepared`);
        assert.ok(texts - held >= 5, `${held} of ${texts} texts prepared`);
      } finally {
        await client.end();
      }
    });
  });
});
