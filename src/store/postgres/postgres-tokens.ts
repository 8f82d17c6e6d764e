import type pg from 'pg';
import type { EpochMs } from '../../core/clock.js';
import type { TokenPort, TokenRecord, TokenScope } from '../ledger-store.js';
import { tokenFromRow } from '../rows.js';

export class PostgresTokens implements TokenPort {
  constructor(private readonly pool: pg.Pool) {}

  async createToken(token: { id: string; name: string; scope: TokenScope; hash: string; createdAt: EpochMs }): Promise<void> {
    await this.pool.query('INSERT INTO tokens (id, name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [
      token.id, token.name, token.scope, token.hash, token.createdAt,
    ]);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const { rows } = await this.pool.query<Record<string, unknown>>('SELECT * FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL', [hash]);
    return rows[0] ? tokenFromRow(rows[0]) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>('SELECT * FROM tokens ORDER BY created_at, id');
    return rows.map(tokenFromRow);
  }

  async revokeToken(id: string, at: EpochMs): Promise<boolean> {
    const result = await this.pool.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
    return result.rowCount === 1;
  }

  async countTokens(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM tokens');
    return rows[0]!.n;
  }
}
