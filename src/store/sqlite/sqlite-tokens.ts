import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import type { TokenPort, TokenRecord, TokenScope } from '../ledger-store.js';
import { tokenFromRow } from '../rows.js';

export class SqliteTokens implements TokenPort {
  constructor(private readonly db: Database.Database) {}

  async createToken(token: { id: string; name: string; scope: TokenScope; hash: string; createdAt: EpochMs }): Promise<void> {
    this.db
      .prepare('INSERT INTO tokens (id, name, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(token.id, token.name, token.scope, token.hash, token.createdAt);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const row = this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL').get(hash);
    return row ? tokenFromRow(row) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.db.prepare<[], Record<string, unknown>>('SELECT * FROM tokens ORDER BY created_at, id').all().map(tokenFromRow);
  }

  async revokeToken(id: string, at: EpochMs): Promise<boolean> {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
  }

  async countTokens(): Promise<number> {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM tokens').get()!.n;
  }
}
