/**
 * Goal: SQLite statements are prepared once and reused, including those with a LIMIT. This
 * SQLite build (STAT4) prepares a statement again on every run when its LIMIT is a bound
 * parameter, so the store writes the LIMIT into the text (src/store/sqlite/statement-cache.ts).
 * Method: a table of rewrites; then a real connection whose prepare calls are counted: runs
 * with the same page size prepare once, rows are the same as with the bound LIMIT, and the
 * cache never holds more than its bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { limits } from '../../src/core/limits.js';
import { SqliteExecutor } from '../../src/store/sqlite/sqlite-executor.js';
import { literalLimits, StatementCache } from '../../src/store/sqlite/statement-cache.js';

describe('literalLimits', () => {
  const rows: [string, string, unknown[], number | undefined, string][] = [
    [
      'a numbered LIMIT takes its parameter',
      'SELECT a FROM t WHERE b = $1 LIMIT $2',
      ['x', 50],
      undefined,
      'SELECT a FROM t WHERE b = $1 LIMIT 50',
    ],
    [
      'a positional LIMIT takes the value given',
      'SELECT a FROM t WHERE b = ? LIMIT ?',
      [],
      7,
      'SELECT a FROM t WHERE b = ? LIMIT 7',
    ],
    [
      'every LIMIT of a statement',
      'SELECT * FROM (SELECT a FROM t LIMIT $1) LIMIT $2',
      [3, 4],
      undefined,
      'SELECT * FROM (SELECT a FROM t LIMIT 3) LIMIT 4',
    ],
    ['zero is a limit', 'SELECT a FROM t LIMIT $1', [0], undefined, 'SELECT a FROM t LIMIT 0'],
    ['a negative value stays bound', 'SELECT a FROM t LIMIT $1', [-1], undefined, 'SELECT a FROM t LIMIT $1'],
    ['a fraction stays bound', 'SELECT a FROM t LIMIT $1', [2.5], undefined, 'SELECT a FROM t LIMIT $1'],
    ['a string stays bound', 'SELECT a FROM t LIMIT $1', ['5; DROP TABLE t'], undefined, 'SELECT a FROM t LIMIT $1'],
    ['a bigint stays bound', 'SELECT a FROM t LIMIT $1', [5n], undefined, 'SELECT a FROM t LIMIT $1'],
    ['a missing positional value stays bound', 'SELECT a FROM t LIMIT ?', [], undefined, 'SELECT a FROM t LIMIT ?'],
    ['a literal LIMIT is left alone', 'SELECT a FROM t LIMIT 1', [9], undefined, 'SELECT a FROM t LIMIT 1'],
    ['no LIMIT, no change', 'SELECT a FROM t WHERE b = $1', [9], undefined, 'SELECT a FROM t WHERE b = $1'],
  ];
  for (const [name, sql, params, positional, expected] of rows)
    it(name, () => assert.equal(literalLimits(sql, params, positional), expected));
});

describe('the SQLite executor and its statement cache', () => {
  function connection() {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t (b, id)');
    const insert = db.prepare('INSERT INTO t (id, b) VALUES (?, ?)');
    for (let id = 1; id <= 20; id += 1) insert.run(id, id % 2 === 0 ? 'even' : 'odd');
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    }) as typeof db.prepare;
    return { db, prepared };
  }

  it('prepares a limited read once per page size, with the rows of the bound LIMIT', async () => {
    const { db, prepared } = connection();
    const executor = new SqliteExecutor(db);
    const sql = 'SELECT id FROM t WHERE b = $1 AND id > $2 ORDER BY id LIMIT $3';
    const bound = prepare(db, sql);
    for (let run = 0; run < 3; run += 1) {
      assert.deepEqual(await executor.all(sql, ['even', 4, 3]), bound.all('even', 4, 3));
      assert.deepEqual(await executor.all(sql, ['odd', 0, 5]), bound.all('odd', 0, 5));
    }
    assert.deepEqual(
      prepared.filter((text) => text.startsWith('SELECT id FROM t WHERE b = $1')),
      [
        'SELECT id FROM t WHERE b = $1 AND id > $2 ORDER BY id LIMIT 3',
        'SELECT id FROM t WHERE b = $1 AND id > $2 ORDER BY id LIMIT 5',
      ],
    );
  });

  it('keeps at most limits.sqliteStatementsMax statements', () => {
    const { db, prepared } = connection();
    const cache = new StatementCache(db);
    const count = limits.sqliteStatementsMax + 10;
    for (let size = 1; size <= count; size += 1) {
      cache.get(`SELECT id FROM t LIMIT ${size}`);
      assert.ok(cache.size <= limits.sqliteStatementsMax);
    }
    assert.equal(prepared.length, count);
    cache.get(`SELECT id FROM t LIMIT ${count}`);
    assert.equal(prepared.length, count, 'the newest statement is still held');
  });
});

/** The same SQL with its `$n` bound positionally, as SQLite takes it before the rewrite. */
function prepare(db: Database.Database, sql: string) {
  return db.prepare(sql.replace(/\$\d+/g, '?'));
}
