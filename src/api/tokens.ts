import assert from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import type { Clock, IdSource } from '../core/clock.js';
import { limits } from '../core/limits.js';
import { tokenScopes, type LedgerStore, type TokenScope } from '../store/ledger-store.js';

/**
 * API tokens: `onh_<scope>_<43 chars>`, the tail being 32 random bytes (256 bits) in
 * base64url. The prefix lets secret scanners spot a leaked token (GitHub's `ghp_` scheme);
 * the scope in it is informational only, the stored scope decides. Only the SHA-256 hash is
 * stored: a plain fast hash is enough for a 256-bit random secret (no dictionary to attack),
 * and it keeps lookup a single indexed equality.
 *
 * Used by the HTTP auth hook, by `onhand token create` and by the first-start bootstrap.
 */

const tokenPattern = /^onh_(read|write|admin)_[A-Za-z0-9_-]{43}$/;

/** Scopes are ordered: a token may use every route at or below its scope. */
const scopeRank: Record<TokenScope, number> = { read: 0, write: 1, admin: 2 };

export function scopeAllows(held: TokenScope, required: TokenScope): boolean {
  return scopeRank[held] >= scopeRank[required];
}

/** True when the text has the shape of a token (checked before any store lookup). */
export function isTokenShaped(text: string): boolean {
  return tokenPattern.test(text);
}

/** Hex SHA-256 of the token, as stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface IssuedToken {
  id: string;
  /** The secret; shown once, never stored. */
  token: string;
  scope: TokenScope;
  name: string;
}

/** A token minted but not stored yet: the secret, and the row that stores its hash. */
function mintToken(request: { name: string; scope: TokenScope }, clock: Clock, ids: IdSource) {
  assert(tokenScopes.includes(request.scope), `scope must be one of ${tokenScopes.join(', ')}`);
  assert(
    request.name.length >= 1 && request.name.length <= limits.textLengthMax,
    'token name must be 1..textLengthMax characters',
  );
  const token = `onh_${request.scope}_${randomBytes(32).toString('base64url')}`;
  assert(isTokenShaped(token));
  const id = ids.next('tok');
  const issued: IssuedToken = { id, token, scope: request.scope, name: request.name };
  const row = { id, name: request.name, scope: request.scope, hash: hashToken(token), createdAt: clock.now() };
  return { issued, row };
}

/**
 * Create a token and store its hash.
 * @example const { token } = await issueToken(store, { name: 'erp', scope: 'write' }, clock, ids);
 */
export async function issueToken(
  store: LedgerStore,
  request: { name: string; scope: TokenScope },
  clock: Clock,
  ids: IdSource,
): Promise<IssuedToken> {
  const { issued, row } = mintToken(request, clock, ids);
  await store.tokens.createToken(row);
  return issued;
}

/**
 * The admin token of a first start (no token stored yet), which nobody could otherwise get.
 * Its secret exists only in this process until it is shown, and only its hash is stored, so a
 * crash between storing and showing would lock every operator out for good (the next start
 * sees a token and makes none). So the order is:
 * 1. mint the token;
 * 2. `announce` it (main.ts writes it to stdout, synchronous on a file, a pipe or a terminal);
 * 3. store its hash.
 * A crash between 2 and 3 leaves a token that was shown but never worked, and no token stored:
 * the next start makes and shows a new one. Nothing can be stored that was not shown first.
 * Returns the token, or `undefined` when one exists already.
 */
export async function bootstrapAdminToken(
  store: LedgerStore,
  clock: Clock,
  ids: IdSource,
  announce: (issued: IssuedToken) => void,
): Promise<IssuedToken | undefined> {
  if ((await store.tokens.countTokens()) > 0) return undefined;
  const { issued, row } = mintToken({ name: 'bootstrap admin', scope: 'admin' }, clock, ids);
  announce(issued);
  await store.tokens.createToken(row);
  return issued;
}
