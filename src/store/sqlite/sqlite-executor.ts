import type Database from 'better-sqlite3';
import type { SqlDialect, SqlExecutor } from '../sql/sql-executor.js';
import { literalLimits, StatementCache } from './statement-cache.js';

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  byteOrder: '',
  // SQLite takes an id list as one JSON array parameter.
  anyOf: (param) => `IN (SELECT value FROM json_each($${param}))`,
  // One writer at a time already: an IMMEDIATE transaction holds the database's write lock.
  lockRows: '',
  inserted: 'created_at = updated_at',
  jsonMembers: (expression) => `json_each(${expression})`,
  jsonRecords: (param, alias, columns) =>
    `(SELECT ${columns.map(([name]) => `json_extract(value, '$.${name}') AS ${name}`).join(', ')} FROM json_each($${param})) AS ${alias}`,
  movementFeed: { xact: "'0'", after: (_xact, id) => `m.id > $${id}`, settled: '', order: 'm.id' },
};

/**
 * Shared SQL on a better-sqlite3 connection. `$n` is a named parameter to SQLite: the values
 * are bound as `{ n: value }`; arrays become JSON text (for `json_each`), booleans 0/1.
 * Statements are prepared once per SQL text, with a bound LIMIT written in as its value
 * (literalLimits says why). The `...Now` forms run the same statements
 * synchronously, for the writes that share SQL with PostgreSQL but must run inside a
 * better-sqlite3 `db.transaction` (kept synchronous: an await inside it would let another
 * batch on this connection nest in it as a savepoint, and a rollback could undo that batch).
 */
export class SqliteExecutor implements SqlExecutor {
  readonly dialect = sqliteDialect;
  private readonly statements: StatementCache;

  constructor(db: Database.Database) {
    this.statements = new StatementCache(db);
  }

  /** Forget prepared statements (a migration changes the schema they were prepared on). */
  reset(): void {
    this.statements.clear();
  }

  /**
   * The statement for this exact text (`?` or `$n` as written), prepared once for the
   * connection: the store's slices that write their own SQLite SQL take theirs from here too,
   * so one cache, with one bound, holds every statement of the connection.
   */
  prepare(sql: string): Database.Statement {
    return this.statements.get(sql);
  }

  private statement(sql: string, params: readonly unknown[]): Database.Statement {
    return this.statements.get(literalLimits(sql, params));
  }

  /** Unused numbers are fine: better-sqlite3 ignores keys the statement does not name. */
  private bind(params: readonly unknown[]): unknown[] {
    if (params.length === 0) return [];
    const named: Record<number, unknown> = {};
    params.forEach((value, index) => {
      named[index + 1] = Array.isArray(value)
        ? JSON.stringify(value)
        : typeof value === 'boolean'
          ? Number(value)
          : (value ?? null);
    });
    return [named];
  }

  allNow<Row = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Row[] {
    return this.statement(sql, params).all(...this.bind(params)) as Row[];
  }

  getNow<Row = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Row | undefined {
    return this.statement(sql, params).get(...this.bind(params)) as Row | undefined;
  }

  runNow(sql: string, params: readonly unknown[] = []): number {
    return this.statement(sql, params).run(...this.bind(params)).changes;
  }

  async all<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.allNow<Row>(sql, params);
  }

  async get<Row>(sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return this.getNow<Row>(sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.runNow(sql, params);
  }
}
