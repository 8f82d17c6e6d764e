import type { EpochMs } from '../../core/clock.js';
import type { TokenPort, TokenRecord, TokenScope } from '../ledger-store.js';
import { tokenFromRow } from '../rows.js';
import type { SqlExecutor } from './sql-executor.js';

/** The token slice, one SQL text for both engines. */
export class SqlTokens implements TokenPort {
  constructor(private readonly sql: SqlExecutor) {}

  async createToken(token: {
    id: string;
    name: string;
    scope: TokenScope;
    hash: string;
    createdAt: EpochMs;
  }): Promise<void> {
    await this.sql.run('INSERT INTO tokens (id, name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [
      token.id,
      token.name,
      token.scope,
      token.hash,
      token.createdAt,
    ]);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const row = await this.sql.get('SELECT * FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL', [hash]);
    return row ? tokenFromRow(row) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.sql.all('SELECT * FROM tokens ORDER BY created_at, id')).map(tokenFromRow);
  }

  async revokeToken(id: string, at: EpochMs): Promise<boolean> {
    return (
      (await this.sql.run('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])) === 1
    );
  }

  async countTokens(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM tokens'))!.n);
  }
}
