import type Database from 'better-sqlite3';
import { limits } from '../../core/limits.js';

/**
 * Prepared statements of one better-sqlite3 connection, by SQL text, at most
 * `limits.sqliteStatementsMax` (past it the cache starts over: statements are re-prepared on
 * use, and a list paged with many different page sizes cannot grow it without bound).
 */
export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      if (this.statements.size >= limits.sqliteStatementsMax) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Statements held now. */
  get size(): number {
    return this.statements.size;
  }

  /** Forget every statement (a migration changes the schema they were prepared on). */
  clear(): void {
    this.statements.clear();
  }
}

const boundLimit = /\bLIMIT (\$(\d+)|\?)/g;

/**
 * The SQL with each bound `LIMIT` written as its integer value: `LIMIT $n` takes `params[n-1]`,
 * and `LIMIT ?` (positional) takes `positional`. Why: this SQLite build has STAT4, and a bound
 * LIMIT can change its plan, so SQLite prepares such a statement again on every run after a
 * new binding (better-sqlite3 binds on every run). Measured on a claim of the outbox: 50 us
 * with `LIMIT ?`, 4.6 us with the literal. A value that is not a non-negative safe integer
 * stays bound (the statement then fails or plans as before).
 */
export function literalLimits(sql: string, params: readonly unknown[], positional?: number): string {
  if (!sql.includes('LIMIT ')) return sql;
  return sql.replace(boundLimit, (whole, _bound: string, index: string | undefined) => {
    const value = index === undefined ? positional : params[Number(index) - 1];
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? `LIMIT ${value}` : whole;
  });
}
