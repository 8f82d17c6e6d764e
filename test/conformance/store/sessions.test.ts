/**
 * Dashboard sessions in the token slice (store.tokens) on every store: a session is found by the
 * hash of its secret with its token, only while the token is live, the session not idle since
 * the given time and not past its expiry; touching moves its idle bound; deleting and pruning
 * end it. The HTTP behaviour on top is in test/integration/http-session.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const T0 = Date.UTC(2026, 11, 6, 9);
const hash = (character: string) => character.repeat(64);

for (const factory of STORES) {
  describe(`${factory.name}: dashboard sessions`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;

    before(async () => {
      test = await factory.create();
      store = test.store;
      await store.tokens.createToken({ id: 'tok_1', name: 'ops', scope: 'write', hash: 'f'.repeat(64), createdAt: T0 });
    });
    after(async () => test.cleanup());

    it('finds a live session with its token, within its idle and absolute bounds', async () => {
      await store.tokens.createSession({ hash: hash('a'), tokenId: 'tok_1', createdAt: T0, expiresAt: T0 + 1000 });
      const found = await store.tokens.findSession(hash('a'), T0 + 10, T0 - 100);
      assert.equal(found?.token.name, 'ops');
      assert.equal(found?.token.scope, 'write');
      assert.deepEqual([found?.createdAt, found?.lastUsedAt, found?.expiresAt], [T0, T0, T0 + 1000]);
      assert.equal(await store.tokens.findSession(hash('b'), T0 + 10, T0 - 100), null, 'unknown hash');
      assert.equal(await store.tokens.findSession(hash('a'), T0 + 1000, T0 - 100), null, 'past its expiry');
      assert.equal(await store.tokens.findSession(hash('a'), T0 + 10, T0), null, 'idle since T0');
      await store.tokens.touchSession(hash('a'), T0 + 50);
      assert.equal((await store.tokens.findSession(hash('a'), T0 + 60, T0))?.lastUsedAt, T0 + 50);
    });

    it('ends with its token, when deleted, and when pruned', async () => {
      await store.tokens.createSession({ hash: hash('c'), tokenId: 'tok_1', createdAt: T0, expiresAt: T0 + 1000 });
      await store.tokens.createSession({ hash: hash('d'), tokenId: 'tok_1', createdAt: T0, expiresAt: T0 + 500 });
      assert.equal(await store.tokens.deleteSession(hash('c')), true);
      assert.equal(await store.tokens.deleteSession(hash('c')), false);
      assert.equal(await store.tokens.findSession(hash('c'), T0 + 10, T0 - 100), null);
      assert.equal(await store.tokens.pruneSessions(T0 + 600, T0 - 100), 1, 'd expired');
      assert.ok(await store.tokens.findSession(hash('a'), T0 + 60, T0));
      assert.ok(await store.tokens.revokeToken('tok_1', T0 + 70));
      assert.equal(await store.tokens.findSession(hash('a'), T0 + 80, T0), null, 'its token was revoked');
    });
  });
}
