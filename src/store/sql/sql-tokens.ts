import type { EpochMs } from '../../core/clock.js';
import type { SessionRecord, TokenPort, TokenRecord, TokenScope } from '../ledger-store.js';
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

  async createSession(session: {
    hash: string;
    tokenId: string;
    createdAt: EpochMs;
    expiresAt: EpochMs;
  }): Promise<void> {
    await this.sql.run(
      'INSERT INTO sessions (session_hash, token_id, created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $3, $4)',
      [session.hash, session.tokenId, session.createdAt, session.expiresAt],
    );
  }

  async findSession(hash: string, now: EpochMs, idleSince: EpochMs): Promise<SessionRecord | null> {
    const row = await this.sql.get(
      `SELECT t.*, s.created_at AS session_created_at, s.last_used_at AS session_last_used_at, s.expires_at AS session_expires_at
       FROM sessions s JOIN tokens t ON t.id = s.token_id
       WHERE s.session_hash = $1 AND t.revoked_at IS NULL AND s.expires_at > $2 AND s.last_used_at > $3`,
      [hash, now, idleSince],
    );
    if (!row) return null;
    return {
      token: tokenFromRow(row),
      createdAt: Number(row.session_created_at),
      lastUsedAt: Number(row.session_last_used_at),
      expiresAt: Number(row.session_expires_at),
    };
  }

  async touchSession(hash: string, at: EpochMs): Promise<void> {
    await this.sql.run('UPDATE sessions SET last_used_at = $1 WHERE session_hash = $2 AND last_used_at < $1', [
      at,
      hash,
    ]);
  }

  async deleteSession(hash: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM sessions WHERE session_hash = $1', [hash])) === 1;
  }

  async pruneSessions(now: EpochMs, idleSince: EpochMs): Promise<number> {
    return this.sql.run('DELETE FROM sessions WHERE expires_at <= $1 OR last_used_at <= $2', [now, idleSince]);
  }
}
