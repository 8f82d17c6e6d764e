/**
 * An onhand HTTP server for integration tests: a fresh SQLite file in a temp directory, a
 * group committer, a fake clock pinned to a reference time that tests advance, sequential ids,
 * and one token per scope. Requests go through `app.inject()`, never a port.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Clock, IdSource } from '../../src/core/clock.js';
import type { Metrics } from '../../src/http/metrics.js';
import { buildServer, type ServerDeps } from '../../src/http/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore, TokenScope } from '../../src/store/ledger-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

export const referenceTime = Date.parse('2026-03-02T09:00:00.000Z');

export interface HttpHarness {
  app: FastifyInstance;
  store: SqliteStore;
  ledger: GroupCommitter;
  clock: Clock & { advance(ms: number): void; set(ms: number): void };
  ids: IdSource;
  tokens: Record<TokenScope, string>;
  /** inject() with the given scope's bearer token (or none with `as: null`). */
  call(options: InjectOptions & { as?: TokenScope | null }): Promise<LightMyRequestResponse>;
  /** PUT the standard test catalogue: locations WH1, WH2, variants A, B, C. */
  seedCatalogue(): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpHarness(
  options: {
    logger?: object;
    metrics?: Metrics;
    reconcile?: ServerDeps['reconcile'];
    rateBudget?: ServerDeps['rateBudget'];
  } = {},
): Promise<HttpHarness> {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-http-'));
  const store = new SqliteStore({ filename: join(directory, 'onhand.db') });
  await store.migrate();
  let t = referenceTime;
  const clock = {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
  const { app, ledger, ids, tokens, call } = await serveOver(store, clock, 'write', options);
  return {
    app,
    store,
    ledger,
    clock,
    ids,
    tokens,
    call,
    async seedCatalogue() {
      const locations = await call({
        method: 'PUT',
        url: '/v1/locations',
        payload: {
          locations: [
            { code: 'WH1', name: 'Main warehouse', kind: 'warehouse' },
            { code: 'WH2', name: 'Second warehouse', kind: 'warehouse' },
          ],
        },
      });
      assert.equal(locations.statusCode, 200, locations.body);
      const variants = await call({
        method: 'PUT',
        url: '/v1/variants',
        payload: {
          variants: [
            { sku: 'A', name: 'Variant A' },
            { sku: 'B', name: 'Variant B' },
            { sku: 'C', name: 'Variant C' },
          ],
        },
      });
      assert.equal(variants.statusCode, 200, variants.body);
    },
    async close() {
      await app.close();
      await ledger.close();
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * The part every test server shares: sequential ids, a group committer over the store, the
 * Fastify app, one token per scope, and `call` (inject() with a scope's bearer token, or none
 * with `as: null`; `defaultScope` when `as` is not given).
 */
export async function serveOver(
  store: LedgerStore,
  clock: Clock,
  defaultScope: TokenScope,
  options: {
    logger?: object;
    metrics?: Metrics;
    reconcile?: ServerDeps['reconcile'];
    rateBudget?: ServerDeps['rateBudget'];
  } = {},
) {
  let n = 0;
  const ids: IdSource = { next: (prefix) => `${prefix}_${++n}` };
  const ledger = new GroupCommitter(store, clock, ids, options.metrics ? { observer: options.metrics.ledger } : {});
  const app = await buildServer({
    store,
    ledger,
    clock,
    ids,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.reconcile ? { reconcile: options.reconcile } : {}),
    ...(options.rateBudget ? { rateBudget: options.rateBudget } : {}),
  });
  const tokens: Record<TokenScope, string> = {
    read: (await issueToken(store, { name: 'reader', scope: 'read' }, clock, ids)).token,
    write: (await issueToken(store, { name: 'writer', scope: 'write' }, clock, ids)).token,
    admin: (await issueToken(store, { name: 'admin', scope: 'admin' }, clock, ids)).token,
  };
  async function call({ as = defaultScope, headers, ...rest }: InjectOptions & { as?: TokenScope | null }) {
    return app.inject({
      ...rest,
      headers: { ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}), ...headers },
    });
  }
  return { app, ledger, ids, tokens, call };
}

/** Assert an RFC 9457 problem with this status and code; returns its body. */
export function assertProblem(response: LightMyRequestResponse, status: number, code: string): Record<string, any> {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json();
  assert.equal(body.code, code, response.body);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.type, `https://onhand.dev/errors/${code}`);
  return body;
}
