/**
 * An onhand HTTP server over any store of STORES (the http-harness is SQLite only): a fake
 * clock, sequential ids, one token per scope, requests through app.inject(), and a snapshot
 * of everything a request could change, to prove that a refused request changed nothing.
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore, TokenScope } from '../../src/store/ledger-store.js';
import { referenceTime, serveOver } from './http-harness.js';
import type { StoreFactory, TestStore } from './stores.js';

export interface ApiServer {
  app: FastifyInstance;
  store: LedgerStore;
  ledger: GroupCommitter;
  tokens: Record<TokenScope, string>;
  call(options: InjectOptions & { as?: TokenScope | null }): Promise<LightMyRequestResponse>;
  /** Every table a request may write, read through the port. */
  snapshot(): Promise<unknown>;
  close(): Promise<void>;
}

export async function startApiServer(factory: StoreFactory, options: { logger?: object } = {}): Promise<ApiServer> {
  const testStore: TestStore = await factory.create();
  const { store } = testStore;
  const clock = { now: () => referenceTime };
  const { app, ledger, tokens, call } = await serveOver(store, clock, 'admin', options);
  return {
    app,
    store,
    ledger,
    tokens,
    call,
    async snapshot() {
      const now = clock.now();
      // In parallel: on PostgreSQL each read takes a pool connection of its own.
      const [
        ledgerDump,
        channels,
        listings,
        unmapped,
        ruleSets,
        ruleSetEvents,
        purchaseOrder,
        deadLetters,
        sync,
        tokenCount,
        orderLines,
        inbox,
      ] = await Promise.all([
        store.canonicalDump(),
        store.availability.listChannels(),
        store.availability.listListings({ limit: 10_000 }),
        store.availability.listUnmapped({ limit: 10_000 }),
        store.availability.listRuleSets(),
        store.availability.ruleSetEvents(),
        store.catalogue.getPurchaseOrder('PO-1'),
        store.outbox.listDeadLetters({ limit: 10_000 }),
        store.outbox.syncStatus(now),
        store.tokens.countTokens(),
        store.orders.countLines(),
        store.orders.inbox({ limit: 10_000 }),
      ]);
      return {
        ledger: ledgerDump,
        channels,
        listings,
        unmapped,
        ruleSets,
        ruleSetEvents,
        purchaseOrder,
        deadLetters,
        sync,
        tokens: tokenCount,
        orderLines,
        inbox,
      };
    },
    async close() {
      await app.close();
      await ledger.close();
      await testStore.cleanup();
    },
  };
}

/** Assert an RFC 9457 problem with this status and code; returns its body. */
export function problemOf(response: LightMyRequestResponse, status: number, code: string): Record<string, any> {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json();
  assert.equal(body.code, code, response.body);
  return body;
}
