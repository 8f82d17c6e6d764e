import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashToken, isTokenShaped } from '../api/tokens.js';
import { Closed, Nullable } from '../api/schema-primitives.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { SessionRecord, TokenPort, TokenScope } from '../store/ledger-store.js';
import { ProblemError } from './errors.js';
import { problemResponses } from './schemas.js';

/**
 * Dashboard sessions: a browser signs in once with an onhand token and then holds a session
 * cookie instead of the token.
 *
 * - The cookie holds a random 256-bit secret; the store keeps its SHA-256 only, so a read of the
 *   database reveals neither it nor the token it stands for (`store.tokens`, migration 0015).
 * - Every request joins the session to its token: revoking the token ends the session at the
 *   next request. A session ends after `limits.sessionIdleMs` without use and after
 *   `limits.sessionAbsoluteMs` in any case.
 * - Cookie: HttpOnly, SameSite=Strict, Path=/, Secure when the request came over TLS.
 * - CSRF: a cookie-authenticated POST, PUT, PATCH or DELETE must come from this origin
 *   (`Sec-Fetch-Site: same-origin`, or an `Origin` equal to the server's) AND carry
 *   `X-Onhand-CSRF`, a value derived from the session secret that only a page of this origin
 *   can have read (from `POST` or `GET /v1/session`); else 403 ONH_ERR_CSRF.
 * A request with an Authorization header is a bearer request: its cookie is ignored.
 */

export const sessionCookieName = 'onhand_session';
export const csrfHeaderName = 'x-onhand-csrf';

declare module 'fastify' {
  interface FastifyRequest {
    /** The dashboard session this request authenticated with (no Authorization header, a live session cookie). */
    dashboardSession: { hash: string; csrf: string; record: SessionRecord } | null;
    /** Why a session cookie sent with the request did not authenticate it (for the 401 detail). */
    dashboardSessionEnded: boolean;
  }
}

type SessionStore = Pick<
  TokenPort,
  'findTokenByHash' | 'createSession' | 'findSession' | 'touchSession' | 'deleteSession' | 'pruneSessions'
>;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The CSRF value of a session: derived from its secret, so nothing more is stored. */
function csrfOf(secret: string): string {
  return createHash('sha256').update(`onhand-csrf\u0000${secret}`, 'utf8').digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** True when the browser says the request comes from a page of this server's own origin. */
function fromOwnOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = request.headers.origin;
  return origin !== undefined && origin === `${request.protocol}://${request.host}`;
}

function csrfRefusal(detail: string): ProblemError {
  return new ProblemError('ONH_ERR_CSRF', detail);
}

/**
 * Install the session layer at the root, before the /v1 plugins: the cookie parser, and a hook
 * that turns a session cookie into `request.dashboardSession` (which `bearerAuth` accepts in place
 * of a bearer token) after the CSRF checks.
 */
export async function installSessions(app: FastifyInstance, deps: { tokens: SessionStore; clock: Clock }) {
  await app.register(cookie);
  app.decorateRequest('dashboardSession', null);
  app.decorateRequest('dashboardSessionEnded', false);
  app.addHook('onRequest', async (request) => {
    if (request.headers.authorization !== undefined) return;
    if (!request.url.startsWith('/v1/')) return;
    const secret = request.cookies[sessionCookieName];
    if (secret === undefined || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
      if (secret !== undefined) request.dashboardSessionEnded = true;
      return;
    }
    // Sign-in itself checks the origin and replaces whatever session the browser had.
    if (request.method === 'POST' && request.routeOptions.url === '/v1/session') return;
    const now = deps.clock.now();
    const hash = sha256Hex(secret);
    const record = await deps.tokens.findSession(hash, now, now - limits.sessionIdleMs);
    if (!record) {
      request.dashboardSessionEnded = true;
      return;
    }
    const csrf = csrfOf(secret);
    if (unsafeMethods.has(request.method)) {
      if (!fromOwnOrigin(request))
        throw csrfRefusal('a signed-in browser request must come from this origin (Origin or Sec-Fetch-Site)');
      const sent = request.headers[csrfHeaderName];
      if (typeof sent !== 'string' || !sameText(sent, csrf))
        throw csrfRefusal(`a signed-in browser request must carry the session's ${csrfHeaderName} header`);
    }
    if (now - record.lastUsedAt >= limits.sessionTouchIntervalMs) await deps.tokens.touchSession(hash, now);
    request.dashboardSession = { hash, csrf, record };
  });
}

const SignInBody = Closed({ token: Type.String({ minLength: 1, maxLength: 200, description: 'An onhand API token' }) });
type SignInBody = Static<typeof SignInBody>;

const SessionView = Closed({
  name: Type.String({ description: "The token's name" }),
  scope: Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]),
  csrf_token: Nullable(
    Type.String({
      description: `Send it as ${csrfHeaderName} with every POST, PUT, PATCH and DELETE (null for a bearer token)`,
    }),
  ),
  expires_at: Nullable(
    Type.String({ format: 'date-time', description: 'The absolute end of the session (null for a bearer token)' }),
  ),
  idle_timeout_s: Type.Integer({ description: 'The session ends after this long without a request' }),
});

function sessionView(name: string, scope: TokenScope, csrf: string | null, expiresAt: number | null) {
  return {
    name,
    scope,
    csrf_token: csrf,
    expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    idle_timeout_s: Math.floor(limits.sessionIdleMs / 1000),
  };
}

function clearCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(sessionCookieName, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
  });
}

/** `POST`, `GET` and `DELETE /v1/session`: sign in with a token, who am I, sign out. */
export async function sessionPlugin(app: FastifyInstance, deps: { tokens: SessionStore; clock: Clock }) {
  const schema = (summary: string, rest: object, problems: number[]) => ({
    ...rest,
    tags: ['session'],
    summary,
    security: [],
    response: { ...((rest as { response?: object }).response ?? {}), ...problemResponses([...problems, 500, 503]) },
  });

  app.post<{ Body: SignInBody }>(
    '/session',
    {
      schema: schema(
        'Sign a browser in with an onhand token: sets an HttpOnly session cookie',
        {
          description:
            "The cookie holds a session secret, never the token; the session acts with the token's scope, ends when the " +
            `token is revoked, after ${limits.sessionIdleMs / 60_000} minutes idle and after ` +
            `${limits.sessionAbsoluteMs / 3_600_000} hours in any case. A cross-origin sign-in is refused.`,
          body: SignInBody,
          response: { 200: SessionView },
        },
        [400, 401, 403, 413, 415],
      ),
    },
    async (request, reply) => {
      const site = request.headers['sec-fetch-site'];
      const origin = request.headers.origin;
      if (
        (site !== undefined && site !== 'same-origin' && site !== 'none') ||
        (site === undefined && origin !== undefined && !fromOwnOrigin(request))
      )
        throw csrfRefusal('sign in from a page of this origin');
      const { token } = request.body;
      const record = isTokenShaped(token) ? await deps.tokens.findTokenByHash(hashToken(token)) : null;
      if (!record) throw new ProblemError('ONH_ERR_UNAUTHENTICATED', 'the token is unknown or revoked');
      const now = deps.clock.now();
      await deps.tokens.pruneSessions(now, now - limits.sessionIdleMs);
      const secret = randomBytes(32).toString('base64url');
      const expiresAt = now + limits.sessionAbsoluteMs;
      await deps.tokens.createSession({ hash: sha256Hex(secret), tokenId: record.id, createdAt: now, expiresAt });
      reply.setCookie(sessionCookieName, secret, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        maxAge: Math.floor(limits.sessionAbsoluteMs / 1000),
      });
      return sessionView(record.name, record.scope, csrfOf(secret), expiresAt);
    },
  );

  app.get(
    '/session',
    {
      schema: schema(
        'Who the request acts as: the signed-in session (its token name, scope and CSRF value) or the bearer token',
        { response: { 200: SessionView } },
        [401],
      ),
    },
    async (request) => {
      if (request.headers.authorization !== undefined) {
        const bearer = /^Bearer +(\S+)$/i.exec(request.headers.authorization);
        const token =
          bearer && isTokenShaped(bearer[1]!) ? await deps.tokens.findTokenByHash(hashToken(bearer[1]!)) : null;
        if (!token) throw new ProblemError('ONH_ERR_UNAUTHENTICATED', 'the token is unknown or revoked');
        return sessionView(token.name, token.scope, null, null);
      }
      const session = request.dashboardSession;
      if (!session)
        throw new ProblemError(
          'ONH_ERR_UNAUTHENTICATED',
          request.dashboardSessionEnded ? 'the session has ended; sign in again' : 'not signed in',
        );
      return sessionView(session.record.token.name, session.record.token.scope, session.csrf, session.record.expiresAt);
    },
  );

  app.delete(
    '/session',
    {
      schema: schema(
        'Sign out: ends the session and clears its cookie (answers 204 also when there was none)',
        { response: { 204: Type.Null({ description: 'Signed out' }) } },
        [403],
      ),
    },
    async (request, reply) => {
      if (request.dashboardSession) await deps.tokens.deleteSession(request.dashboardSession.hash);
      clearCookie(request, reply);
      return reply.code(204).send();
    },
  );
}
