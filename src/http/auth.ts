import assert from 'node:assert';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { TokenPort, TokenRecord, TokenScope } from '../store/ledger-store.js';
import { ProblemError } from './errors.js';
import { hashToken, isTokenShaped, scopeAllows } from '../api/tokens.js';
import './session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least token scope a route needs; every /v1 route declares one. */
    scope?: TokenScope;
  }
  interface FastifyRequest {
    /** The authenticated token (set by the auth hook on /v1 routes). */
    token: TokenRecord | null;
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
 * The onRequest hook of the /v1 plugin: authenticate (401), then authorise by scope (403).
 * It runs before the body is read, so an anonymous client cannot make us parse 2 MiB.
 * The token is looked up on every request, never cached, so a revoked token fails on the very
 * next request.
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
    const token = session ? session.record.token : await store.findTokenByHash(hashToken(bearerToken(request)));
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
