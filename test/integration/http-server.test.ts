/**
 * Goal: the server as a whole keeps its promises: every route it registers is in the OpenAPI
 * document (API9, no undocumented routes), every error that leaves it is an RFC 9457 problem
 * with a registered code, internal errors do not leak, and backpressure and shutdown answer
 * 503 problems.
 *
 * Method: app.inject; the registered route table is read from Fastify's printRoutes() and
 * compared with /openapi.json both ways. Faults are injected by wrapping the store or by
 * shrinking the group committer's queue.
 */
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { clientErrorHandler } from '../../src/http/errors.js';
import { buildServer } from '../../src/http/server.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

/** "METHOD /path/{param}" for every route in Fastify's printRoutes() tree. */
function registeredRoutes(tree: string): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─\s]*)(\S+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) {
      routes.add(`${method} ${stack.join('').replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes;
}

function withFault<
  S extends 'ledger' | 'catalogue' | 'availability' | 'outbox' | 'tokens',
  K extends keyof LedgerStore[S],
>(store: LedgerStore, slice: S, method: K, fault: () => never): LedgerStore {
  const faulty = (target: object, name: PropertyKey) =>
    new Proxy(target, {
      get(inner, property, receiver) {
        if (property === name) return async () => fault();
        const value = Reflect.get(inner, property, receiver);
        return typeof value === 'function' ? value.bind(inner) : value;
      },
    });
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === slice) return faulty(target[slice], method);
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('HTTP server', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
  });
  after(async () => h.close());

  it('documents every registered /v1 route in /openapi.json, and nothing else', async () => {
    const response = await h.call({ method: 'GET', url: '/openapi.json', as: null });
    assert.equal(response.statusCode, 200);
    const document = response.json();
    assert.equal(document.openapi, '3.1.0');
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const registered = [...registeredRoutes(h.app.printRoutes({ commonPrefix: false }))].filter(
      (route) => route.includes(' /v1/') && !route.startsWith('HEAD '),
    );
    assert.ok(registered.length >= 15, `parsed only ${registered.length} routes`);
    const documentedV1 = [...documented].filter((route) => route.includes(' /v1/'));
    assert.deepEqual([...registered].sort(), documentedV1.sort());
  });

  it('gives every /v1 operation tags, a summary, bearer security, a success schema and its problems', async () => {
    const document = (await h.call({ method: 'GET', url: '/openapi.json', as: null })).json();
    assert.deepEqual(document.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      description: 'An API token `onh_<scope>_<secret>`; scopes read < write < admin',
    });
    for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
      if (!path.startsWith('/v1/')) continue;
      // Signing in and out is how a browser gets its credentials (test/integration/http-session.test.ts).
      if (path === '/v1/session') continue;
      for (const [method, operation] of Object.entries<any>(item)) {
        const name = `${method} ${path}`;
        assert.ok(operation.tags?.length > 0, `${name} has no tag`);
        assert.ok(operation.summary, `${name} has no summary`);
        assert.deepEqual(operation.security, [{ bearer: [] }], name);
        const success = operation.responses['200'] ?? operation.responses['201'];
        // JSON; a stream of server-sent events for GET /v1/events; CSV for GET /v1/exports/*.csv.
        const body =
          success?.content?.['application/json'] ??
          success?.content?.['text/event-stream'] ??
          success?.content?.['text/csv'];
        assert.ok(body?.schema, `${name} documents no success body`);
        for (const status of ['400', '401', '403', '500']) {
          assert.ok(
            operation.responses[status]?.content?.['application/problem+json'],
            `${name} does not document ${status}`,
          );
        }
      }
    }
  });

  it('serves the API explorer at /docs', async () => {
    const response = await h.call({ method: 'GET', url: '/docs', as: null });
    assert.ok([200, 302].includes(response.statusCode), String(response.statusCode));
    const page = await h.call({ method: 'GET', url: '/docs/', as: null });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
  });

  it('answers liveness and readiness without a token', async () => {
    assert.deepEqual((await h.call({ method: 'GET', url: '/healthz', as: null })).json(), { status: 'ok' });
    assert.deepEqual((await h.call({ method: 'GET', url: '/readyz', as: null })).json(), { status: 'ready' });
  });

  it('is not ready when the store does not answer', async () => {
    const store = withFault(h.store, 'tokens', 'countTokens', () => {
      throw new Error('connection refused');
    });
    const app = await buildServer({ store, ledger: h.ledger, clock: h.clock, ids: h.ids });
    try {
      assertProblem(await app.inject({ method: 'GET', url: '/readyz' }), 503, 'ONH_ERR_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });

  it('answers unknown routes and methods with a 404 problem', async () => {
    assertProblem(await h.call({ method: 'GET', url: '/v1/nothing-here' }), 404, 'ONH_ERR_ROUTE_NOT_FOUND');
    assertProblem(await h.call({ method: 'DELETE', url: '/v1/variants' }), 404, 'ONH_ERR_ROUTE_NOT_FOUND');
    assertProblem(await h.call({ method: 'GET', url: '/nothing-here', as: null }), 404, 'ONH_ERR_ROUTE_NOT_FOUND');
  });

  it('answers a malformed URL with a 400 problem', async () => {
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/stock/%E0%A4%A', as: 'read' }),
      400,
      'ONH_ERR_MALFORMED_REQUEST',
    );
  });

  it('hides internal errors behind a 500 problem naming the request id', async () => {
    const secret = 'SQLITE_CORRUPT at /var/lib/onhand/onhand.db page 42';
    const store = withFault(h.store, 'catalogue', 'getVariant', () => {
      throw new Error(secret);
    });
    const app = await buildServer({ store, ledger: h.ledger, clock: h.clock, ids: h.ids });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/variants/A',
        headers: { authorization: `Bearer ${h.tokens.read}` },
      });
      const problem = assertProblem(response, 500, 'ONH_ERR_INTERNAL');
      assert.ok(!response.body.includes('SQLITE'), 'internals leaked');
      assert.match(problem.detail, /request id/);
    } finally {
      await app.close();
    }
  });

  it('answers a full ledger queue with 503 ONH_ERR_BUSY and Retry-After: 1', async () => {
    const ledger = new GroupCommitter(h.store, h.clock, h.ids, { batchSizeMax: 1, queueDepthMax: 1 });
    const app = await buildServer({ store: h.store, ledger, clock: h.clock, ids: h.ids });
    try {
      const before = await h.store.canonicalDump();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/movements',
        headers: { authorization: `Bearer ${h.tokens.write}` },
        payload: {
          movements: [
            { key: 'busy-1', type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 },
            { key: 'busy-2', type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 },
          ],
        },
      });
      assertProblem(response, 503, 'ONH_ERR_BUSY');
      assert.equal(response.headers['retry-after'], '1');
      assert.deepEqual(await h.store.canonicalDump(), before);
    } finally {
      await app.close();
      await ledger.close();
    }
  });

  it('answers 503 ONH_ERR_UNAVAILABLE once the ledger is closed', async () => {
    const ledger = new GroupCommitter(h.store, h.clock, h.ids);
    const app = await buildServer({ store: h.store, ledger, clock: h.clock, ids: h.ids });
    try {
      await ledger.close();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: { authorization: `Bearer ${h.tokens.write}` },
        payload: { key: 'closed-1', sku: 'A', location: 'WH1', quantity: 1 },
      });
      assertProblem(response, 503, 'ONH_ERR_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });

  it('answers 503 problems while shutting down, and closes the connection', async () => {
    // inject() refuses to run on a closing instance, so this one case needs a socket: a
    // request whose headers are half sent when close() begins reaches the server as it drains.
    const app = await buildServer({ store: h.store, ledger: h.ledger, clock: h.clock, ids: h.ids });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const firstBytes = new Promise<void>((resolve) =>
      app.server.once('connection', (socket) => socket.once('data', () => resolve())),
    );
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /v1/locations HTTP/1.1\r\nHost: x\r\n');
    await firstBytes;
    const closing = app.close();
    while (app.server.listening) await new Promise((resolve) => setImmediate(resolve));
    socket.write(`Authorization: Bearer ${h.tokens.read}\r\n\r\n`);
    await ended;
    await closing;
    assert.match(received, /^HTTP\/1\.1 503 /);
    assert.match(received, /connection: close/i);
    assert.match(received, /content-type: application\/problem\+json/i);
    assert.match(received, /"code":"ONH_ERR_UNAVAILABLE"/);
  });

  it('closes a keep-alive connection busy when shutdown begins, right after its response', async () => {
    // Without Connection: close on that response, close() waits for the keep-alive timeout.
    let releaseRequest!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (releaseRequest = resolve));
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const catalogue = new Proxy(h.store.catalogue, {
      get(target, property, receiver) {
        if (property === 'listLocations') {
          return async () => {
            entered();
            await held;
            return target.listLocations();
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const store: LedgerStore = new Proxy(h.store, {
      get(target, property, receiver) {
        if (property === 'catalogue') return catalogue;
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const app = await buildServer({ store, ledger: h.ledger, clock: h.clock, ids: h.ids });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `GET /v1/locations HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer ${h.tokens.read}\r\n\r\n`,
    );
    await inHandler;
    const closing = app.close();
    while (app.server.listening) await new Promise((resolve) => setImmediate(resolve));
    releaseRequest();
    await ended;
    await closing;
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.match(received, /connection: close/i);
  });

  it('answers socket-level client errors (slow or oversized headers) with a problem, then closes', () => {
    for (const [code, status, onhandCode] of [
      ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'ONH_ERR_REQUEST_TIMEOUT'],
      ['HPE_HEADER_OVERFLOW', 431, 'ONH_ERR_HEADERS_TOO_LARGE'],
      ['HPE_INVALID_METHOD', 400, 'ONH_ERR_MALFORMED_REQUEST'],
    ] as const) {
      let written = '';
      let destroyed = false;
      const socket = {
        destroyed: false,
        writable: true,
        write(text: string) {
          written += text;
          return true;
        },
        destroy() {
          destroyed = true;
        },
      };
      clientErrorHandler(Object.assign(new Error(code), { code }), socket as never);
      const [head, body] = written.split('\r\n\r\n');
      assert.match(head!, new RegExp(`^HTTP/1.1 ${status} `));
      assert.match(head!, /Content-Type: application\/problem\+json/);
      assert.equal(JSON.parse(body!).code, onhandCode);
      assert.equal(Buffer.byteLength(body!), Number(/Content-Length: (\d+)/.exec(head!)![1]));
      assert.ok(destroyed);
    }
  });
});
