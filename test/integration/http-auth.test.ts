/**
 * Goal: every /v1 route needs a live bearer token of sufficient scope; tokens are never logged.
 *
 * Method: app.inject against a fresh store with one token per scope (read < write < admin),
 * plus malformed, unknown and revoked tokens. The route table comes from the OpenAPI document,
 * so a new route is covered without editing this file.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { hashToken, issueToken } from '../../src/api/tokens.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

const writeRoute = {
  method: 'PUT' as const,
  url: '/v1/locations',
  payload: { locations: [{ code: 'WH9', name: 'Nine', kind: 'store' }] },
};
const readRoute = { method: 'GET' as const, url: '/v1/locations' };

describe('HTTP authentication and scopes', () => {
  let h: HttpHarness;
  const logLines: string[] = [];
  before(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await startHttpHarness({ logger: { level: 'trace', stream } });
  });
  after(async () => h.close());

  it('401 without a token, with a Bearer challenge', async () => {
    const response = await h.call({ ...readRoute, as: null });
    assertProblem(response, 401, 'ONH_ERR_UNAUTHENTICATED');
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="onhand"');
  });

  for (const [name, header] of [
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['no token after Bearer', 'Bearer '],
    ['a token of the wrong shape', 'Bearer onh_read_short'],
    ['an unknown scope in the prefix', `Bearer onh_root_${'a'.repeat(43)}`],
    ['a well-formed but unknown token', `Bearer onh_admin_${'a'.repeat(43)}`],
  ] as const) {
    it(`401 for ${name}`, async () => {
      const response = await h.call({ ...readRoute, as: null, headers: { authorization: header } });
      assertProblem(response, 401, 'ONH_ERR_UNAUTHENTICATED');
      assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/);
    });
  }

  it('401 before the body is read or validated', async () => {
    const response = await h.call({
      method: 'POST',
      url: '/v1/movements',
      as: null,
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(response, 401, 'ONH_ERR_UNAUTHENTICATED');
  });

  it('403 for a read token on a write route, naming the scope needed', async () => {
    const before = await h.store.canonicalDump();
    const response = await h.call({ ...writeRoute, as: 'read' });
    const problem = assertProblem(response, 403, 'ONH_ERR_FORBIDDEN');
    assert.match(problem.detail, /write/);
    assert.match(String(response.headers['www-authenticate']), /error="insufficient_scope", scope="write"/);
    assert.deepEqual(await h.store.canonicalDump(), before);
  });

  it('read token reads; write and admin tokens write and read', async () => {
    assert.equal((await h.call({ ...readRoute, as: 'read' })).statusCode, 200);
    assert.equal((await h.call({ ...writeRoute, as: 'write' })).statusCode, 200);
    assert.equal((await h.call({ ...writeRoute, as: 'admin' })).statusCode, 200);
    assert.equal((await h.call({ ...readRoute, as: 'admin' })).statusCode, 200);
  });

  it('a revoked token fails on the very next request', async () => {
    const issued = await issueToken(h.store, { name: 'temporary', scope: 'write' }, h.clock, h.ids);
    const headers = { authorization: `Bearer ${issued.token}` };
    assert.equal((await h.call({ ...readRoute, as: null, headers })).statusCode, 200);
    assert.equal(await h.store.tokens.revokeToken(issued.id, h.clock.now()), true);
    assertProblem(await h.call({ ...readRoute, as: null, headers }), 401, 'ONH_ERR_UNAUTHENTICATED');
  });

  it('a revoked token fails on the next reservation and movement, though those routes cache tokens', async () => {
    await h.call({ ...writeRoute, as: 'admin' });
    await h.call({ method: 'PUT', url: '/v1/variants', payload: { variants: [{ sku: 'AUTH-1', name: 'Auth' }] } });
    const issued = await issueToken(h.store, { name: 'checkout', scope: 'write' }, h.clock, h.ids);
    const headers = { authorization: `Bearer ${issued.token}` };
    const movement = (key: string) => ({
      method: 'POST' as const,
      url: '/v1/movements',
      as: null,
      headers,
      payload: { movements: [{ key, type: 'receipt', sku: 'AUTH-1', location: 'WH9', quantity: 5 }] },
    });
    const reservation = (key: string, extra: object = {}) => ({
      method: 'POST' as const,
      url: '/v1/reservations',
      as: null,
      headers,
      payload: { key, sku: 'AUTH-1', location: 'WH9', quantity: 1, ...extra },
    });
    // Both routes have now seen the token (and may keep it).
    assert.equal((await h.call(movement('auth-m1'))).statusCode, 200);
    assert.equal((await h.call(reservation('auth-r1'))).statusCode, 201);
    // Revoked in the store behind the server's back, as `onhand token revoke` does from another process.
    assert.equal(await h.store.tokens.revokeToken(issued.id, h.clock.now()), true);
    assertProblem(await h.call(reservation('auth-r2')), 401, 'ONH_ERR_UNAUTHENTICATED');
    assertProblem(await h.call(movement('auth-m2')), 401, 'ONH_ERR_UNAUTHENTICATED');
    // A refusal that never reaches the ledger is not shown to a revoked token either.
    assertProblem(
      await h.call(reservation('auth-r3', { location: undefined, channel: 'NO-SUCH-CHANNEL' })),
      401,
      'ONH_ERR_UNAUTHENTICATED',
    );
    // Nothing the revoked token sent was written.
    const stock = (await h.call({ method: 'GET', url: '/v1/stock/AUTH-1' })).json() as {
      total: { on_hand: number; reserved: number };
    };
    assert.deepEqual([stock.total.on_hand, stock.total.reserved], [5, 1]);
  });

  it('issues tokens in the documented format and stores only their hash', async () => {
    const issued = await issueToken(h.store, { name: 'erp', scope: 'read' }, h.clock, h.ids);
    assert.match(issued.token, /^onh_read_[A-Za-z0-9_-]{43}$/);
    assert.match(issued.id, /^tok_/);
    const dump = JSON.stringify(await h.store.tokens.listTokens());
    assert.ok(!dump.includes(issued.token));
    assert.equal((await h.store.tokens.findTokenByHash(hashToken(issued.token)))?.id, issued.id);
    assert.equal(hashToken(issued.token), hashToken(issued.token));
    assert.match(hashToken(issued.token), /^[0-9a-f]{64}$/);
  });

  it('every documented /v1 operation refuses an anonymous request and a forged token', async () => {
    const document = (await h.call({ method: 'GET', url: '/openapi.json', as: null })).json();
    let operations = 0;
    for (const [path, item] of Object.entries<Record<string, unknown>>(document.paths)) {
      if (!path.startsWith('/v1/')) continue;
      // Signing in and out is how a browser gets its credentials (test/integration/http-session.test.ts).
      if (path === '/v1/session') continue;
      for (const method of Object.keys(item)) {
        const url = path.replace(/\{[^}]+\}/g, 'X');
        const anonymous = await h.call({ method: method.toUpperCase() as 'GET', url, as: null });
        assertProblem(anonymous, 401, 'ONH_ERR_UNAUTHENTICATED');
        const forged = await h.call({
          method: method.toUpperCase() as 'GET',
          url,
          as: null,
          headers: { authorization: `Bearer onh_admin_${'b'.repeat(43)}` },
        });
        assertProblem(forged, 401, 'ONH_ERR_UNAUTHENTICATED');
        operations += 1;
      }
    }
    assert.ok(operations >= 15, `only ${operations} operations documented`);
  });

  it('never logs a token', async () => {
    await h.call({ ...readRoute, as: 'admin' });
    await h.call({ ...readRoute, as: null, headers: { authorization: `Bearer onh_admin_${'c'.repeat(43)}` } });
    const log = logLines.join('');
    assert.ok(log.length > 0, 'the server logged');
    for (const token of Object.values(h.tokens)) assert.ok(!log.includes(token.slice(10)), 'a token reached the log');
    assert.ok(!log.includes('c'.repeat(43)));
  });

  it('redacts the Authorization header wherever a log line carries headers', async () => {
    const secret = `onh_write_${'d'.repeat(43)}`;
    h.app.log.info(
      { req: { headers: { authorization: `Bearer ${secret}` } }, headers: { authorization: secret } },
      'headers',
    );
    const log = logLines.join('');
    assert.ok(!log.includes(secret));
    assert.match(log, /\[redacted\]/);
  });
});
