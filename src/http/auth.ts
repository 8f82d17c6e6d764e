import assert from 'node:assert';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { TokenPort, TokenRecord, TokenScope } from '../store/ledger-store.js';
import { ProblemError } from './errors.js';
import { limits } from '../core/limits.js';
import { hashToken, isTokenShaped, scopeAllows } from '../api/tokens.js';
import './session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least token scope a route needs; every /v1 route declares one. */
    scope?: TokenScope;
    /**
     * The route hands its work to the ledger with the token as a precondition
     * (GroupCommitter's `preconditions.tokenId`), so the batch's transaction checks the token
     * is live before anything is written: the auth hook may then take the token from its cache
     * instead of the store. A revoked token still fails on the next request.
     */
    tokenCheckedAtCommit?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated token (set by the auth hook on /v1 routes). */
    token: TokenRecord | null;
    /**
     * Set when the token came from the cache (a `tokenCheckedAtCommit` route): looks it up in
     * the store and returns the 401 to answer instead when it is revoked, else null. The error
     * handler calls it before answering any other refusal, so a revoked token never learns
     * more than 401 from a request that did not reach the ledger batch.
     */
    confirmToken: (() => Promise<ProblemError | null>) | null;
  }
}

const realm = 'Bearer realm="onhand"';

/** What authentication needs of the store. */
export type TokenLookup = Pick<TokenPort, 'findTokenByHash'>;

function unauthenticated(detail: string, invalid: boolean): ProblemError {
  // RFC 6750 section 3: a request without credentials gets a bare challenge; a bad token
  // gets error="invalid_token".
  return new ProblemError('ONH_ERR_UNAUTHENTICATED', detail, {
    headers: { 'www-authenticate': invalid ? `${realm}, error="invalid_token"` : realm },
  });
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (header === undefined) throw unauthenticated('send Authorization: Bearer <token>', false);
  const match = /^Bearer +(\S+)$/i.exec(header);
  if (!match || !isTokenShaped(match[1]!))
    throw unauthenticated('the Authorization header does not hold an onhand bearer token', true);
  return match[1]!;
}

/**
 * Tokens seen by routes whose ledger batch re-checks them (`tokenCheckedAtCommit`), by the
 * bearer string (so a hit also skips hashing it): at most `limits.tokenCacheSizeMax`, the
 * oldest dropped first. Every other route looks its token up in the store on every request.
 */
export class TokenCache {
  private readonly byBearer = new Map<string, { token: TokenRecord; hash: string }>();

  get(bearer: string): { token: TokenRecord; hash: string } | undefined {
    return this.byBearer.get(bearer);
  }

  set(bearer: string, token: TokenRecord, hash: string): void {
    if (this.byBearer.size >= limits.tokenCacheSizeMax && !this.byBearer.has(bearer)) {
      const oldest = this.byBearer.keys().next();
      if (!oldest.done) this.byBearer.delete(oldest.value);
    }
    this.byBearer.set(bearer, { token, hash });
  }

  /** Forget a token (found revoked by a ledger batch or by a confirming read). */
  forget(tokenId: string): void {
    for (const [bearer, entry] of this.byBearer) if (entry.token.id === tokenId) this.byBearer.delete(bearer);
  }
}

/** One cache per process: a token revoked through the API is forgotten at once. */
export const tokenCache = new TokenCache();

/** 401 for a request whose token the ledger batch found revoked (PreconditionFailed). */
export function revokedTokenProblem(tokenId: string): ProblemError {
  tokenCache.forget(tokenId);
  return unauthenticated('the token is unknown or revoked', true);
}

/**
 * The onRequest hook of the /v1 plugin: authenticate (401), then authorise by scope (403).
 * It runs before the body is read, so an anonymous client cannot make us parse 2 MiB.
 * The token is looked up in the store on every request, so a revoked token fails on the very
 * next request; a route marked `tokenCheckedAtCommit` may take it from the cache, because its
 * ledger batch checks the token inside the transaction before writing anything.
 */
export function bearerAuth(store: TokenLookup): onRequestAsyncHookHandler {
  return async function authenticate(request) {
    const required = request.routeOptions.config.scope;
    if (required === undefined) throw new Error(`route ${request.routeOptions.url} declares no scope`);
    // A dashboard session (session.ts) stands in for a bearer token; its hook checked it
    // against the live token and, for an unsafe method, its CSRF proof.
    const session = request.headers.authorization === undefined ? request.dashboardSession : null;
    if (!session && request.headers.authorization === undefined && request.dashboardSessionEnded)
      throw unauthenticated('the session has ended; sign in again', true);
    let token: TokenRecord | null;
    if (session) token = session.record.token;
    else if (request.routeOptions.config.tokenCheckedAtCommit === true) {
      const bearer = bearerToken(request);
      const cached = tokenCache.get(bearer);
      if (cached) {
        token = cached.token;
        request.confirmToken = async () => {
          if (await store.findTokenByHash(cached.hash)) return null;
          return revokedTokenProblem(cached.token.id);
        };
      } else {
        const hash = hashToken(bearer);
        token = await store.findTokenByHash(hash);
        if (token) tokenCache.set(bearer, token, hash);
      }
    } else token = await store.findTokenByHash(hashToken(bearerToken(request)));
    if (!token) throw unauthenticated('the token is unknown or revoked', true);
    if (!scopeAllows(token.scope, required)) {
      throw new ProblemError('ONH_ERR_FORBIDDEN', `this route needs a ${required} token; this one is ${token.scope}`, {
        headers: { 'www-authenticate': `${realm}, error="insufficient_scope", scope="${required}"` },
      });
    }
    request.token = token;
  };
}

/**
 * Guard an encapsulated /v1 plugin: every route must declare a scope (checked at startup, not
 * at the first request), and every request is authenticated and authorised by `bearerAuth`.
 */
export function guardWithBearerAuth(app: FastifyInstance, store: TokenLookup): void {
  app.decorateRequest('token', null);
  app.decorateRequest('confirmToken', null);
  app.addHook('onRoute', (options) => {
    assert(options.config?.scope, `route ${options.method} ${options.url} declares no scope`);
  });
  app.addHook('onRequest', bearerAuth(store));
}

/** Who made an authenticated request, for audit records: the name of its token. */
export function actorOf(request: FastifyRequest): string {
  assert(request.token, 'the auth hook ran before the handler');
  return request.token.name;
}
