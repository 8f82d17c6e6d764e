/**
 * The small query layer the cold paths are written once over (catalogue reads, tokens, read
 * views, maintenance). Each engine supplies an executor; the hot paths (applyBatch, the
 * availability context, the outbox claim, PostgreSQL's COPY, SQLite's variant cache) keep
 * their own engine code, for the reasons given where they live.
 *
 * Shared SQL follows three rules:
 * - placeholders are `$1, $2...` (PostgreSQL's style; SQLite reads `$1` as a named parameter,
 *   which the SQLite executor binds by number), a number may repeat;
 * - an id list is one parameter holding a JS array, matched with {@link SqlDialect.anyOf};
 * - what differs by dialect comes from {@link SqlDialect}, never from an engine test.
 *
 * Row values are normalised here, in one place: integers are JS numbers on both engines
 * (PostgreSQL's int8 parser, below 2^53 by limits.quantityMax), JSON columns are read with
 * {@link jsonValue} (text on SQLite, parsed jsonb on PostgreSQL) and boolean results with
 * {@link flag} (0/1 on SQLite, true/false on PostgreSQL).
 */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  all<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  get<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row | undefined>;
  /** Run a statement that returns no rows; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Appended to a text ORDER BY or comparison: byte order on both engines. SQLite compares
   * bytes by default; PostgreSQL needs `COLLATE "C"` whatever the database's locale.
   */
  readonly byteOrder: string;
  /** `<column> <anyOf(...)>`: the column is one of the array held by parameter `param`. */
  anyOf(param: number, type: 'bigint' | 'text'): string;
  /**
   * Appended to a SELECT whose rows the transaction goes on to rewrite: `FOR UPDATE` on
   * PostgreSQL (row locks against a concurrent writer); nothing on SQLite, whose write
   * transactions already hold the one database write lock.
   */
  readonly lockRows: string;
  /**
   * A RETURNING expression, true when an `INSERT ... ON CONFLICT DO UPDATE` inserted the row:
   * `xmax = 0` on PostgreSQL; on SQLite `created_at = updated_at` (the statement writes both
   * with the same now, and an update leaves created_at older).
   */
  readonly inserted: string;
  /**
   * A table function over a JSON object column or parameter, one row per member with its value
   * as text in a `value` column: `json_each` on SQLite, `jsonb_each_text` on PostgreSQL.
   */
  jsonMembers(expression: string): string;
  /**
   * A table named `alias` from one parameter holding a JSON array of objects (as text), one row
   * per element with the given columns: `jsonb_to_recordset` on PostgreSQL, `json_each` and
   * `json_extract` on SQLite. One SQL text whatever the number of rows (a batch of lookups).
   */
  jsonRecords(
    param: number,
    alias: string,
    columns: readonly (readonly [name: string, type: 'bigint' | 'text'])[],
  ): string;
  /**
   * The movements feed's order (GET /v1/movements): movements in the order they became
   * visible. SQLite's single writer commits ids in order, so the key is the id alone
   * (`xact` is the constant 0); on PostgreSQL ids are drawn before commit, so the key is
   * (writing transaction, id) and only transactions older than every running one are
   * `settled` (migration 0014 says why).
   */
  readonly movementFeed: {
    /** The transaction part of the key, as text. */
    readonly xact: string;
    /** The key after the one held by parameters `xact` and `id`. */
    after(xact: number, id: number): string;
    /** `AND ...` that keeps only rows no later commit can precede; empty on SQLite. */
    readonly settled: string;
    readonly order: string;
  };
}

/** A JSON column's value: text on SQLite, already parsed (jsonb) on PostgreSQL. */
export function jsonValue<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** A boolean result (EXISTS, a comparison): 0/1 on SQLite, true/false on PostgreSQL. */
export function flag(value: unknown): boolean {
  return value === true || Number(value) === 1;
}
