import pg from 'pg';
import { limits } from '../../core/limits.js';

/**
 * A pg client that runs every parameterized statement as a named prepared statement, so
 * PostgreSQL parses and plans its text once per connection instead of on every call (an unnamed
 * statement is parsed and planned each time). The hot statements are few and fixed: the order
 * intake's item match (five branches), the ledger batch's reads and writes, the claim. Measured
 * (bench/README.md, "Eleventh session"): PostgreSQL order webhooks/s +17-21%, order to every
 * channel at 200/s p95 1,016 -> 505 ms.
 *
 * - Only `query(text, values)` with a values array is named: a text without values goes by the
 *   simple protocol as before (BEGIN, COMMIT, migrations with several statements), a query object
 *   (COPY streams) is left alone.
 * - The names are shared by every client of the process, one per distinct text, at most
 *   `limits.pgPreparedStatementsMax`; a text beyond them runs unnamed, so a backend holds at most
 *   that many prepared statements per generation (below).
 * - A statement prepared before a migration changed the columns it returns fails once with
 *   "cached plan must not change result type" (SQLSTATE 0A000). The client then moves to a new
 *   generation of names, so the next call prepares the text again (the old generation's
 *   statements stay on the backend until the connection closes; a generation passes only with a
 *   migration by another process); PostgresPool.transaction retries the transaction that met it
 *   ({@link isStalePlan}).
 */
export class PreparedClient extends pg.Client {
  /** Bumped when a prepared statement of this connection went stale: every name is prepared anew. */
  private generation = 0;

  // pg's query has many overloads; this one only renames the (text, values[, callback]) form.
  // biome-ignore lint/suspicious/noExplicitAny: forwards pg's own overloads unchanged
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config !== 'string' || !Array.isArray(values)) return super.query(config, values, callback);
    const base = statementName(config);
    if (base === null) return super.query(config, values, callback);
    const name = this.generation === 0 ? base : `${base}_${this.generation}`;
    const generation = this.generation;
    const onStale = (error: unknown) => {
      if (isStalePlan(error) && this.generation === generation) this.generation += 1;
    };
    if (typeof callback === 'function')
      return super.query({ name, text: config, values }, (error: Error | null, result: unknown) => {
        if (error) onStale(error);
        callback(error, result);
      });
    const running = super.query({ name, text: config, values }) as Promise<unknown>;
    running.catch(onStale);
    return running;
  }
}

const names = new Map<string, string>();

/** The process-wide name of a statement text, or null once the bound is reached. */
function statementName(text: string): string | null {
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= limits.pgPreparedStatementsMax) return null;
    name = `onhand_${names.size}`;
    names.set(text, name);
  }
  return name;
}

/** PostgreSQL refused a prepared statement whose result columns changed since it was prepared. */
export function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}
