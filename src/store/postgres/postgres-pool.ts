import assert from 'node:assert';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { limits } from '../../core/limits.js';
import { isStalePlan, PreparedClient } from './prepared-client.js';

/** int8 and numeric as JS numbers: every value we store is below 2^53 (limits.quantityMax). */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

const retryableCodes = new Set(['40001', '40P01', '23505']);

export type Queryable = pg.Pool | pg.PoolClient;

/** The pool every slice of one PostgreSQL store shares, and its retrying transaction. */
export class PostgresPool {
  readonly pool: pg.Pool;
  /** Transactions re-run after a retryable conflict (for benchmarks and tests). */
  retries = 0;

  constructor(connectionString: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString, max: poolSize, types, Client: PreparedClient });
    // An idle client that errors (server restart) must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
  }

  /** Run `work` in one transaction, retrying retryable conflicts. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.run(async (client) => {
      await client.query('BEGIN');
      return work(client);
    });
  }

  /**
   * `transaction`, but `work` opens it by calling `begin` with its first statement inside it,
   * which travels with the BEGIN in one round trip (simple protocol: `sql` takes no parameters).
   * What `work` reads before that runs outside the transaction, which under READ COMMITTED
   * changes nothing: every statement takes its own snapshot either way.
   */
  async transactionBegunByWork<T>(
    work: (client: pg.PoolClient, begin: (sql?: string) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    return this.run(async (client) => {
      let begun = false;
      const result = await work(client, async (sql) => {
        assert(!begun, 'the transaction is begun once');
        begun = true;
        await client.query(sql === undefined ? 'BEGIN' : `BEGIN; ${sql}`);
      });
      assert(begun, 'the work began its transaction');
      return result;
    });
  }

  private async run<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.pool.connect();
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        const retryable = (code !== undefined && retryableCodes.has(code)) || isStalePlan(error);
        if (!retryable || attempt >= limits.batchAttemptsMax) throw error;
        this.retries += 1;
        await delay(Math.min(50, 2 ** attempt) * Math.random());
      } finally {
        client.release();
      }
    }
  }
}

/** `INSERT INTO table (cols) SELECT * FROM unnest($1::t1[], ...)`: one statement for N rows. */
export function unnestInsert(table: string, columns: readonly (readonly [string, string])[], firstParam = 1): string {
  const names = columns.map(([name]) => name).join(', ');
  const arrays = columns.map(([, type], index) => `$${index + firstParam}::${type}[]`).join(', ');
  return `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays})`;
}

/** Rows to column arrays for {@link unnestInsert}. */
export function toColumns(rows: readonly (readonly unknown[])[], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) {
    assert.equal(row.length, width);
    for (let index = 0; index < width; index += 1) columns[index]!.push(row[index]);
  }
  return columns;
}
