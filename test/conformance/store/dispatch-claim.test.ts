/**
 * The dispatcher's claim on every store, over many pending rows of one channel.
 * Goal: a claim reads only what it returns (an index gives the order, no sort of every pending
 * row), and taking the urgency classes one after the other returns exactly the rows, in the
 * order, of the single statement it replaced (`ORDER BY urgency, due_at, listing_id LIMIT n`).
 * Method: seed 20,000 pending rows with SQL (mixed urgency, due times, claims of this and of a
 * fenced epoch, some rows done), EXPLAIN each claim statement, then compare successive claims
 * with the former statement run on a connection of its own just before each.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { dispatchSql, numbered, urgencyExpression } from '../../../src/store/dispatch-sql.js';
import { postgresClaim, postgresClaims } from '../../../src/store/postgres/postgres-dispatch.js';
import { STORES, type TestStore } from '../../support/stores.js';

describe('the claim index', () => {
  it('indexes the urgency expression the claim filters on, on both engines', () => {
    for (const engine of ['sqlite', 'postgres']) {
      const migration = readFileSync(
        new URL(`../../../src/store/${engine}/migrations/0017_claim_by_urgency.sql`, import.meta.url),
        'utf8',
      );
      assert.ok(
        migration.includes(
          `ON listing_quantities (channel_id, (${urgencyExpression}), due_at, listing_id) WHERE dispatch_state = 'pending'`,
        ),
        `${engine}: the index expression is the claim's`,
      );
    }
    for (const sql of dispatchSql.claims) assert.ok(sql.includes(`${urgencyExpression} = `));
  });
});

/** The claim as one statement, before the index: the reference for order and rows. */
const formerClaim = `SELECT lq.listing_id FROM listing_quantities lq JOIN listings l ON l.id = lq.listing_id
    WHERE lq.channel_id = ? AND lq.dispatch_state = 'pending' AND lq.due_at <= ?
      AND (lq.claimed_until IS NULL OR lq.claimed_until <= ? OR lq.claimed_epoch <> ?)
    ORDER BY CASE
      WHEN lq.quantity = 0 AND COALESCE(lq.channel_quantity, lq.pushed_quantity, 1) > 0 THEN 0
      WHEN COALESCE(lq.channel_quantity, lq.pushed_quantity, lq.quantity + 1) > lq.quantity THEN 1
      ELSE 2 END, lq.due_at, lq.listing_id
    LIMIT ?`;

const rows = 20_000;
const T0 = Date.UTC(2026, 11, 8);

/** Raw SQL on the store's data, from a connection of the test's own. */
interface Raw {
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function rawConnection(engine: 'sqlite' | 'postgres', database: string): Promise<Raw> {
  if (engine === 'sqlite') {
    const db = new Database(database);
    return {
      async query(sql, params = []) {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
        statement.run(...params);
        return [];
      },
      async close() {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  return {
    async query(sql, params = []) {
      return (await client.query(numbered(sql), params)).rows;
    },
    async close() {
      await client.end();
    },
  };
}

/**
 * Variants, listings and listing_quantities numbered 1..rows on channel 1, with every urgency
 * class, due times spread over a second, a few rows claimed (under epoch 1, the test's lease,
 * and under the fenced epoch 0) and some done. Deterministic: values derive from the number.
 */
async function seed(engine: 'sqlite' | 'postgres', raw: Raw): Promise<void> {
  const series =
    engine === 'sqlite'
      ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) SELECT i FROM n`
      : `SELECT i FROM generate_series(1, ${rows}) i`;
  await raw.query(
    `INSERT INTO channels (id, code, name, platform, created_at, updated_at) VALUES (1, 'bol', 'Bol', 'bol', ?, ?)`,
    [T0, T0],
  );
  await raw.query(
    `INSERT INTO variants (id, sku, name, created_at, updated_at) SELECT i, 'S' || i, 'n', ${T0}, ${T0} FROM (${series}) s`,
  );
  await raw.query(
    `INSERT INTO listings (id, channel_id, variant_id, external_id, matched_by, created_at, updated_at)
      SELECT i, 1, i, 'offer-' || i, 'sku', ${T0}, ${T0} FROM (${series}) s`,
  );
  await raw.query(
    `INSERT INTO listing_quantities (variant_id, listing_id, quantity, computed_at, channel_id, due_at, pending_since,
        channel_quantity, pushed_quantity, dispatch_state, claimed_epoch, claimed_until)
      SELECT i, i, i % 4, ${T0}, 1, ${T0} + (i * 13) % 1000, ${T0},
        CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 7) % 5 END,
        CASE WHEN i % 3 = 0 THEN NULL ELSE (i * 11) % 4 END,
        CASE WHEN i % 19 = 0 THEN 'done' ELSE 'pending' END,
        CASE WHEN i % 17 = 0 THEN i % 2 END,
        CASE WHEN i % 17 = 0 THEN ${T0} + 5000 END
      FROM (${series}) s`,
  );
  // PostgreSQL plans by statistics (autovacuum gathers them, not at once); SQLite runs without.
  if (engine === 'postgres') await raw.query('ANALYZE');
}

for (const factory of STORES) {
  describe(`${factory.name}: the claim over ${rows.toLocaleString('en')} pending rows`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let test: TestStore;
    let raw: Raw;
    const now = T0 + 500;

    before(async () => {
      test = await factory.create();
      raw = await rawConnection(factory.name, test.database);
      await seed(factory.name, raw);
    });
    after(async () => {
      await raw?.close();
      await test?.cleanup();
    });

    it('reads the due rows of each urgency class from the index, in order, without a sort', async () => {
      const params = [1, now, now, 1, 50];
      if (factory.name === 'sqlite') {
        for (const sql of dispatchSql.claims) {
          const plan = (await raw.query(`EXPLAIN QUERY PLAN ${sql}`, params)).map((row) => String(row.detail));
          assert.ok(
            plan.some((line) => line.startsWith('SEARCH lq USING INDEX listing_quantities_claim')),
            plan.join('\n'),
          );
          assert.ok(!plan.some((line) => line.includes('TEMP B-TREE')), plan.join('\n'));
        }
      } else {
        for (const sql of postgresClaims) {
          const plan = (await raw.query(`EXPLAIN ${sql.replace(/\$\d+/g, '?')}`, params)).map((row) =>
            String(row['QUERY PLAN']),
          );
          assert.ok(
            plan.some((line) => /Index Scan using listing_quantities_claim on listing_quantities/.test(line)),
            plan.join('\n'),
          );
          assert.ok(!plan.some((line) => /\bSort\b/.test(line)), plan.join('\n'));
        }
        // The claim as it runs, all classes in one statement: each class still seeks the index.
        const plan = (await raw.query(`EXPLAIN ${postgresClaim}`, ['bol', 1, now, now + 1, 50])).map((row) =>
          String(row['QUERY PLAN']),
        );
        assert.equal(
          plan.filter((line) => /Index Scan using listing_quantities_claim on listing_quantities/.test(line)).length,
          dispatchSql.claims.length,
          plan.join('\n'),
        );
      }
    });

    it('claims the same rows in the same order as the single ordered statement did', async () => {
      const epoch = await test.store.outbox.acquireLease('bol', 'p1', now, 600_000);
      assert.equal(epoch, 1);
      const classes = await raw.query(
        `SELECT ${urgencyExpression} AS urgency, count(*) AS due FROM listing_quantities
          WHERE dispatch_state = 'pending' AND due_at <= ? GROUP BY 1 ORDER BY 1`,
        [now],
      );
      assert.deepEqual(
        classes.map((row) => Number(row.urgency)),
        [0, 1, 2],
        'every urgency class has due rows',
      );
      let claimed = 0;
      for (const limit of [1, 7, 50, 333, 1000, 4000, 20_000]) {
        const expected: string[] = (await raw.query(formerClaim, [1, now, now, epoch, limit])).map((row) =>
          String(row.listing_id),
        );
        const taken = await test.store.outbox.claimDue('bol', epoch!, now, limit, 60_000);
        assert.deepEqual(
          taken.map((row) => row.listingId),
          expected,
          `limit ${limit}`,
        );
        claimed += taken.length;
      }
      assert.ok(claimed > rows / 3, `most due rows were claimed (${claimed})`);
      assert.deepEqual(await test.store.outbox.claimDue('bol', epoch!, now, 50, 60_000), [], 'nothing due is left');
    });
  });
}
