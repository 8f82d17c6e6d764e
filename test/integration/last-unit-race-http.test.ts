/**
 * Goal: no oversell through the HTTP API under concurrency, on every store in test/support/stores.ts
 * (docs/RELIABILITY.md, section 2, over HTTP; ACIDRain: the last-unit race is also a security test).
 *
 * Method: a real server on 127.0.0.1 (port 0) over each store in STORES; 10 units received,
 * then 100 concurrent fetch() POST /v1/reservations of 1 unit with distinct keys. Exactly 10
 * must be 201 and 90 must be 409 ONH_ERR_INSUFFICIENT; the stock view must show reserved 10,
 * available 0; store.verify() must find every level equal to the sum of its movements.
 * A real clock is fine here: nothing expires.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { IdSource } from '../../src/core/clock.js';
import { buildServer } from '../../src/http/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { STORES, type TestStore } from '../support/stores.js';

const units = 10;
const racers = 100;

for (const factory of STORES) {
  describe(`${factory.name}: last unit over HTTP`, { skip: factory.skip }, () => {
    let testStore: TestStore;
    let ledger: GroupCommitter;
    let app: FastifyInstance;
    let base: string;
    let token: string;

    before(async () => {
      testStore = await factory.create();
      const { store } = testStore;
      const clock = { now: () => Date.now() };
      let n = 0;
      const ids: IdSource = { next: (prefix) => `${prefix}_${++n}` };
      ledger = new GroupCommitter(store, clock, ids);
      app = await buildServer({ store, ledger, clock, ids });
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      token = (await issueToken(store, { name: 'race', scope: 'write' }, clock, ids)).token;
      await send('PUT', '/v1/locations', {
        locations: [
          { code: 'WH1', name: 'Main', kind: 'warehouse' },
          { code: 'WH2', name: 'Second', kind: 'warehouse' },
        ],
      });
      await send('PUT', '/v1/variants', {
        variants: [
          { sku: 'LAST', name: 'The last units' },
          { sku: 'SPLIT', name: 'The last units over two locations' },
        ],
      });
      await store.availability.upsertChannels(
        [{ code: 'web', name: 'Web shop', platform: 'shopify', locations: ['WH1', 'WH2'] }],
        clock.now(),
      );
      const receipt = await send('POST', '/v1/movements', {
        movements: [
          { key: 'race-receipt', type: 'receipt', sku: 'LAST', location: 'WH1', quantity: units },
          { key: 'split-receipt-1', type: 'receipt', sku: 'SPLIT', location: 'WH1', quantity: 4 },
          { key: 'split-receipt-2', type: 'receipt', sku: 'SPLIT', location: 'WH2', quantity: units - 4 },
        ],
      });
      assert.deepEqual(
        receipt.body.results.map((result: any) => result.status),
        ['applied', 'applied', 'applied'],
      );
    });

    after(async () => {
      await app?.close();
      await ledger?.close();
      await testStore?.cleanup();
    });

    async function send(method: string, path: string, body?: object): Promise<{ status: number; body: any }> {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: await response.json() };
    }

    it(`grants exactly ${units} of ${racers} concurrent reservations`, async () => {
      const answers = await Promise.all(
        Array.from({ length: racers }, (_, i) =>
          send('POST', '/v1/reservations', { key: `racer-${i}`, sku: 'LAST', location: 'WH1', quantity: 1 }),
        ),
      );
      const created = answers.filter((answer) => answer.status === 201);
      const refused = answers.filter((answer) => answer.status === 409);
      assert.equal(
        created.length,
        units,
        JSON.stringify(answers.filter((answer) => answer.status !== 201 && answer.status !== 409)),
      );
      assert.equal(refused.length, racers - units);
      for (const answer of refused) assert.equal(answer.body.code, 'ONH_ERR_INSUFFICIENT');
      assert.equal(new Set(created.map((answer) => answer.body.reservation.id)).size, units);

      const stock = await send('GET', '/v1/stock/LAST');
      const level = stock.body.locations.find((location: any) => location.location === 'WH1');
      assert.deepEqual(
        { on_hand: level.on_hand, reserved: level.reserved, available: level.available },
        { on_hand: units, reserved: units, available: 0 },
      );
      assert.deepEqual((await testStore.store.ledger.verify()).mismatches, []);
    });

    it(`by channel, stock over 2 locations: grants exactly ${units} of ${racers} concurrent reservations`, async () => {
      const answers = await Promise.all(
        Array.from({ length: racers }, (_, i) =>
          send('POST', '/v1/reservations', { key: `channel-racer-${i}`, sku: 'SPLIT', channel: 'web', quantity: 1 }),
        ),
      );
      const created = answers.filter((answer) => answer.status === 201);
      const refused = answers.filter((answer) => answer.status === 409);
      assert.equal(
        created.length,
        units,
        JSON.stringify(answers.filter((answer) => answer.status !== 201 && answer.status !== 409)),
      );
      assert.equal(refused.length, racers - units);
      for (const answer of refused) assert.equal(answer.body.code, 'ONH_ERR_INSUFFICIENT');
      // Priority order: WH1 is used up before WH2 is touched.
      const placed = created.map((answer) => answer.body.reservation.location);
      assert.deepEqual(
        [placed.filter((code) => code === 'WH1').length, placed.filter((code) => code === 'WH2').length],
        [4, units - 4],
      );
      const stock = await send('GET', '/v1/stock/SPLIT');
      for (const level of stock.body.locations)
        assert.equal(level.available, 0, `${level.location} is sold out, not over`);
      assert.equal(stock.body.total.reserved, units);
      const oversells = await send('GET', '/v1/oversells');
      assert.equal(oversells.body.items.length, 0, '0 oversold');
      assert.deepEqual((await testStore.store.ledger.verify()).mismatches, []);
    });
  });
}
