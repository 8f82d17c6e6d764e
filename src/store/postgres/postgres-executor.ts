import type pg from 'pg';
import type { SqlDialect, SqlExecutor } from '../sql/sql-executor.js';

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  byteOrder: ' COLLATE "C"',
  anyOf: (param, type) => `= ANY($${param}::${type}[])`,
  lockRows: ' FOR UPDATE',
  inserted: '(xmax = 0)',
  jsonMembers: (expression) => `jsonb_each_text(${expression})`,
  jsonRecords: (param, alias, columns) =>
    `jsonb_to_recordset($${param}::jsonb) AS ${alias}(${columns.map(([name, type]) => `${name} ${type}`).join(', ')})`,
  movementFeed: {
    xact: 'm.xact::text',
    after: (xact, id) => `(m.xact, m.id) > ($${xact}::text::xid8, $${id}::bigint)`,
    settled: 'AND m.xact < pg_snapshot_xmin(pg_current_snapshot())',
    order: 'm.xact, m.id',
  },
};

/** Shared SQL on a pool (or one client, inside a transaction). */
export class PostgresExecutor implements SqlExecutor {
  readonly dialect = postgresDialect;

  constructor(private readonly db: pg.Pool | pg.PoolClient) {}

  async all<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.db.query(sql, params as unknown[])).rows as Row[];
  }

  async get<Row>(sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.db.query(sql, params as unknown[])).rows[0] as Row | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.db.query(sql, params as unknown[])).rowCount ?? 0;
  }
}
