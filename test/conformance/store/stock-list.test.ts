/**
 * The stock grid (store.ledger.listStock) on every store: the same catalogue and movements on
 * each engine, then every filter (location, sku prefix, search, low stock), both sorts, keyset
 * paging across pages (no row twice, none missing), bundles left out, incoming units and a
 * cursor refused when it was not issued for the sort asked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore, StockListQuery } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const T0 = Date.UTC(2026, 11, 6, 9);
const receipt = (sku: string, location: string, quantity: number) =>
  ({
    type: 'receipt',
    key: `r-${sku}-${location}`,
    payloadHash: `r-${sku}-${location}-${quantity}`,
    sku,
    location,
    quantity,
  }) as LedgerCommand;

for (const factory of STORES) {
  describe(`${factory.name}: stock list`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    const list = (query: Partial<StockListQuery>) =>
      store.ledger.listStock({ lowStockAvailableMax: 5, limit: 50, ...query }, T0 + 1000);

    before(async () => {
      test = await factory.create();
      store = test.store;
      let n = 0;
      ledger = new GroupCommitter(store, { now: () => T0 }, { next: (prefix) => `${prefix}_${++n}` });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Main', kind: 'warehouse' },
          { code: 'WH2', name: 'Overflow', kind: '3pl' },
        ],
        T0,
      );
      await store.catalogue.upsertVariants(
        [
          { sku: 'TEE-RED-M', name: 'Tee red M' },
          { sku: 'TEE-RED-L', name: 'Tee red L' },
          { sku: 'TEE-BLUE-M', name: 'Tee blue M' },
          { sku: 'CAP-100%', name: 'Cap cotton' },
          { sku: 'MUG', name: 'Mug' },
        ],
        T0,
      );
      await store.catalogue.upsertVariants(
        [{ sku: 'SET', name: 'Tee set', components: [{ sku: 'TEE-RED-M', quantity: 1 }] }],
        T0,
      );
      const answers = await ledger.submit([
        receipt('TEE-RED-M', 'WH1', 20),
        receipt('TEE-RED-M', 'WH2', 3),
        receipt('TEE-RED-L', 'WH1', 2),
        receipt('TEE-BLUE-M', 'WH2', 9),
        receipt('CAP-100%', 'WH1', 4),
      ]);
      assert.ok(answers.every((answer) => answer.status === 'applied'));
      await store.catalogue.upsertPurchaseOrder(
        {
          id: 'PO-9',
          status: 'open',
          lines: [{ line: 1, sku: 'MUG', location: 'WH2', quantity: 12, expectedAt: null }],
        },
        T0,
      );
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('lists plain variants by sku with levels, totals and incoming; bundles are left out', async () => {
      const page = await list({});
      assert.deepEqual(
        page.items.map((item) => item.sku),
        ['CAP-100%', 'MUG', 'TEE-BLUE-M', 'TEE-RED-L', 'TEE-RED-M'],
      );
      assert.equal(page.next_cursor, null);
      const tee = page.items.find((item) => item.sku === 'TEE-RED-M')!;
      assert.deepEqual(tee.locations, [
        { location: 'WH1', on_hand: 20, reserved: 0, available: 20, incoming: 0 },
        { location: 'WH2', on_hand: 3, reserved: 0, available: 3, incoming: 0 },
      ]);
      assert.deepEqual(tee.total, { on_hand: 23, reserved: 0, available: 23, incoming: 0 });
      assert.deepEqual(tee.channels, []);
      const mug = page.items.find((item) => item.sku === 'MUG')!;
      assert.deepEqual(mug.locations, [{ location: 'WH2', on_hand: 0, reserved: 0, available: 0, incoming: 12 }]);
    });

    it('filters by location, sku prefix, search text (LIKE characters taken literally) and low stock', async () => {
      const wh2 = await list({ location: 'WH2' });
      assert.deepEqual(
        wh2.items.map((item) => [item.sku, item.total.available]),
        [
          ['CAP-100%', 0],
          ['MUG', 0],
          ['TEE-BLUE-M', 9],
          ['TEE-RED-L', 0],
          ['TEE-RED-M', 3],
        ],
      );
      assert.ok(wh2.items.every((item) => item.locations.every((level) => level.location === 'WH2')));
      assert.deepEqual(
        (await list({ skuPrefix: 'TEE-RED' })).items.map((item) => item.sku),
        ['TEE-RED-L', 'TEE-RED-M'],
      );
      assert.deepEqual(
        (await list({ q: 'blue' })).items.map((item) => item.sku),
        ['TEE-BLUE-M'],
      );
      assert.deepEqual(
        (await list({ q: '100%' })).items.map((item) => item.sku),
        ['CAP-100%'],
      );
      assert.deepEqual(
        (await list({ q: '%' })).items.map((item) => item.sku),
        ['CAP-100%'],
      );
      assert.deepEqual(
        (await list({ lowStock: true })).items.map((item) => item.sku),
        ['CAP-100%', 'MUG', 'TEE-RED-L'],
      );
      const unknown = await list({ location: 'NOWHERE' });
      assert.deepEqual(unknown, { items: [], next_cursor: null, location_found: false });
    });

    it('sorts by available then sku and pages with a keyset cursor, each row once', async () => {
      const seen: [string, number][] = [];
      let cursor: string | undefined;
      for (let pageNumber = 0; pageNumber < 10; pageNumber += 1) {
        const page = await list({ sort: 'available', limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((item): [string, number] => [item.sku, item.total.available]));
        if (page.next_cursor === null) break;
        cursor = page.next_cursor;
      }
      assert.deepEqual(seen, [
        ['MUG', 0],
        ['TEE-RED-L', 2],
        ['CAP-100%', 4],
        ['TEE-BLUE-M', 9],
        ['TEE-RED-M', 23],
      ]);
      const first = await list({ limit: 3 });
      assert.ok(first.next_cursor);
      const second = await list({ limit: 3, cursor: first.next_cursor });
      assert.deepEqual(
        [...first.items, ...second.items].map((item) => item.sku),
        ['CAP-100%', 'MUG', 'TEE-BLUE-M', 'TEE-RED-L', 'TEE-RED-M'],
      );
      assert.equal(second.next_cursor, null);
    });

    it('refuses a cursor it did not issue or issued for the other sort', async () => {
      const first = await list({ limit: 1 });
      await assert.rejects(list({ sort: 'available', cursor: first.next_cursor! }), { code: 'ONH_ERR_CURSOR' });
      await assert.rejects(list({ cursor: 'not-a-cursor' }), { code: 'ONH_ERR_CURSOR' });
    });
  });
}
