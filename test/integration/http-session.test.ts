/**
 * Dashboard sessions over HTTP (src/http/session.ts): the cookie's flags, what the database
 * keeps (never the secret nor the token), CSRF refusals of cookie-authenticated unsafe requests,
 * logout, idle and absolute expiry, revocation of the token ending the session at once, and a
 * read session refused what a read token is refused.
 * Method: the SQLite HTTP harness with its fake clock; requests through app.inject().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { limits } from '../../src/core/limits.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

const origin = 'http://localhost:80';

function cookieOf(response: LightMyRequestResponse): string {
  const header = response.headers['set-cookie'];
  const text = Array.isArray(header) ? header[0]! : String(header);
  return text.split(';')[0]!;
}

describe('dashboard sessions', () => {
  let h: HttpHarness;

  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
  });
  after(async () => h.close());

  async function signIn(scope: 'read' | 'write' | 'admin' = 'write') {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { origin, host: 'localhost:80' },
      payload: { token: h.tokens[scope] },
    });
    assert.equal(response.statusCode, 200, response.body);
    return { cookie: cookieOf(response), csrf: response.json().csrf_token as string, response };
  }

  const move = (key: string) => ({
    movements: [{ key, type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 }],
  });

  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie, Secure only over TLS, holding no token', async () => {
    const { response, cookie } = await signIn();
    const header = String(response.headers['set-cookie']);
    assert.match(header, /HttpOnly/);
    assert.match(header, /SameSite=Strict/);
    assert.match(header, /Path=\//);
    assert.doesNotMatch(header, /Secure/);
    assert.ok(!header.includes(h.tokens.write), 'the cookie does not carry the token');
    assert.deepEqual(Object.keys(response.json()).sort(), [
      'csrf_token',
      'expires_at',
      'idle_timeout_s',
      'name',
      'scope',
    ]);
    assert.equal(response.json().scope, 'write');
    const secure = await h.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { 'x-forwarded-proto': 'https' },
      payload: { token: h.tokens.read },
    });
    // No trustProxy: the forwarded header is not believed; a TLS socket would be (request.protocol).
    assert.doesNotMatch(String(secure.headers['set-cookie']), /Secure/);
    // The database holds a hash of the session secret, never the secret nor the token.
    const db = (h.store as unknown as { db: Database.Database }).db;
    const dump = JSON.stringify(db.prepare('SELECT * FROM sessions').all());
    const secret = cookie.split('=')[1]!;
    assert.ok(!dump.includes(secret) && !dump.includes(h.tokens.write));
    assert.match(dump, /"session_hash":"[0-9a-f]{64}"/);
  });

  it('authenticates reads with the cookie and answers who is signed in', async () => {
    const { cookie, csrf } = await signIn('read');
    const me = await h.app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().scope, 'read');
    assert.equal(me.json().csrf_token, csrf);
    const stock = await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie } });
    assert.equal(stock.statusCode, 200, stock.body);
  });

  it('refuses a cookie-authenticated write without same-origin proof or CSRF header (403, nothing applied)', async () => {
    const { cookie, csrf } = await signIn('write');
    const cases: Record<string, string>[] = [
      { cookie }, // neither
      { cookie, origin }, // no CSRF header
      { cookie, 'x-onhand-csrf': csrf }, // no origin proof
      { cookie, 'x-onhand-csrf': csrf, origin: 'https://evil.example' },
      { cookie, 'x-onhand-csrf': csrf, 'sec-fetch-site': 'cross-site', origin },
      { cookie, 'x-onhand-csrf': 'wrong', 'sec-fetch-site': 'same-origin' },
    ];
    for (const [index, headers] of cases.entries()) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/movements',
        headers: { ...headers, host: 'localhost:80' },
        payload: move(`csrf-${index}`),
      });
      assertProblem(response, 403, 'ONH_ERR_CSRF');
    }
    const stock = await h.call({ method: 'GET', url: '/v1/stock/A' });
    assert.equal(stock.json().total.on_hand, 0, 'no refused write was applied');
    const accepted = await h.app.inject({
      method: 'POST',
      url: '/v1/movements',
      headers: { cookie, 'x-onhand-csrf': csrf, 'sec-fetch-site': 'same-origin' },
      payload: move('csrf-ok'),
    });
    assert.equal(accepted.statusCode, 200, accepted.body);
    const byOrigin = await h.app.inject({
      method: 'POST',
      url: '/v1/movements',
      headers: { cookie, 'x-onhand-csrf': csrf, origin, host: 'localhost:80' },
      payload: move('csrf-ok-2'),
    });
    assert.equal(byOrigin.statusCode, 200, byOrigin.body);
  });

  it('refuses a cross-origin sign-in', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { origin: 'https://evil.example', host: 'localhost:80' },
      payload: { token: h.tokens.admin },
    });
    assertProblem(response, 403, 'ONH_ERR_CSRF');
    const bad = await h.app.inject({ method: 'POST', url: '/v1/session', payload: { token: 'onh_read_nope' } });
    assertProblem(bad, 401, 'ONH_ERR_UNAUTHENTICATED');
  });

  it('a read session is refused what a read token is refused', async () => {
    const { cookie, csrf } = await signIn('read');
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/dead-letters/redrive',
      headers: { cookie, 'x-onhand-csrf': csrf, 'sec-fetch-site': 'same-origin' },
      payload: { limit: 10 },
    });
    assertProblem(response, 403, 'ONH_ERR_FORBIDDEN');
  });

  it('logs out: the cookie is cleared and the session no longer authenticates', async () => {
    const { cookie, csrf } = await signIn();
    const refused = await h.app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie } });
    assertProblem(refused, 403, 'ONH_ERR_CSRF');
    const out = await h.app.inject({
      method: 'DELETE',
      url: '/v1/session',
      headers: { cookie, 'x-onhand-csrf': csrf, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /onhand_session=;.*Expires=Thu, 01 Jan 1970/);
    const after = await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie } });
    const problem = assertProblem(after, 401, 'ONH_ERR_UNAUTHENTICATED');
    assert.match(problem.detail, /session has ended/);
  });

  it('expires after the idle bound and after the absolute bound, however busy', async () => {
    const idle = await signIn();
    h.clock.advance(limits.sessionIdleMs - 1000);
    assert.equal(
      (await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie: idle.cookie } })).statusCode,
      200,
    );
    h.clock.advance(limits.sessionIdleMs - 1000);
    assert.equal(
      (await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie: idle.cookie } })).statusCode,
      200,
    );
    h.clock.advance(limits.sessionIdleMs + 1);
    assertProblem(
      await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie: idle.cookie } }),
      401,
      'ONH_ERR_UNAUTHENTICATED',
    );
    const busy = await signIn();
    const step = limits.sessionIdleMs / 2;
    for (let elapsed = 0; elapsed + step < limits.sessionAbsoluteMs; elapsed += step) {
      assert.equal(
        (await h.app.inject({ method: 'GET', url: '/v1/session', headers: { cookie: busy.cookie } })).statusCode,
        200,
      );
      h.clock.advance(step);
    }
    h.clock.advance(step);
    assertProblem(
      await h.app.inject({ method: 'GET', url: '/v1/session', headers: { cookie: busy.cookie } }),
      401,
      'ONH_ERR_UNAUTHENTICATED',
    );
  });

  it('ends at once when its token is revoked', async () => {
    const { cookie } = await signIn('admin');
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie } })).statusCode, 200);
    const admin = (await h.store.tokens.listTokens()).find((token) => token.name === 'admin')!;
    assert.ok(await h.store.tokens.revokeToken(admin.id, h.clock.now()));
    assertProblem(
      await h.app.inject({ method: 'GET', url: '/v1/stock', headers: { cookie } }),
      401,
      'ONH_ERR_UNAUTHENTICATED',
    );
  });
});
