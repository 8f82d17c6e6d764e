/**
 * The alert slice on every store (store.alerts): an alert opens once per rule and channel
 * (a second open while one is open does nothing, as a second process would find), resolves
 * once, opens again after that; lists by status, newest first; and the activity figures of
 * the rules count a channel's listings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emptyLineState } from '../../../src/core/orders/line-state.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

for (const factory of STORES) {
  describe(`${factory.name}: alerts`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    const now = Date.UTC(2026, 11, 6, 12);

    before(async () => {
      test = await factory.create();
      store = test.store;
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants([{ sku: 'A', name: 'A' }], now);
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
      await store.availability.upsertListings([{ channel: 'bol', externalId: 'offer-A', sku: 'A' }], now);
    });
    after(async () => {
      await test?.cleanup();
    });

    it('opens once per rule and channel', async () => {
      const first = await store.alerts.open({ rule: 'dead_letters', channel: 'bol', detail: { dead_letters: 2 } }, now);
      assert.ok(first);
      assert.deepEqual(
        { ...first, id: 'x' },
        {
          id: 'x',
          rule: 'dead_letters',
          channel: 'bol',
          openedAt: now,
          resolvedAt: null,
          detail: { dead_letters: 2 },
        },
      );
      assert.equal(
        await store.alerts.open({ rule: 'dead_letters', channel: 'bol', detail: { dead_letters: 3 } }, now + 1),
        null,
      );
      const other = await store.alerts.open({ rule: 'drift', channel: 'bol', detail: { percent: 5 } }, now + 2);
      assert.ok(other);
      assert.deepEqual(
        (await store.alerts.list({ status: 'open', limit: 10 })).map((alert) => alert.rule),
        ['drift', 'dead_letters'],
      );
    });

    it('resolves once, then the rule may open again', async () => {
      const [open] = await store.alerts.list({ status: 'open', limit: 1 });
      assert.ok(open);
      const resolved = await store.alerts.resolve(open.id, now + 10);
      assert.equal(resolved?.resolvedAt, now + 10);
      assert.equal(await store.alerts.resolve(open.id, now + 11), null);
      assert.deepEqual(
        (await store.alerts.list({ status: 'resolved', limit: 10 })).map((alert) => alert.id),
        [open.id],
      );
      const again = await store.alerts.open({ rule: open.rule, channel: 'bol', detail: {} }, now + 20);
      assert.ok(again);
      assert.notEqual(again.id, open.id);
      assert.equal((await store.alerts.list({ status: 'all', limit: 10 })).length, 3);
      assert.equal((await store.alerts.list({ status: 'all', limit: 1 })).length, 1);
      assert.deepEqual(await store.alerts.openCounts(), [
        { rule: 'dead_letters', open: 1 },
        { rule: 'drift', open: 1 },
      ]);
    });

    it('counts listings per channel and knows when no order line came yet', async () => {
      assert.deepEqual(await store.alerts.channelActivity(), [{ channel: 'bol', listings: 1, lastOrderLineAt: null }]);
      assert.deepEqual(await store.alerts.usualOrderGap('bol'), { usualOrderGapMs: null, orderGaps: 0 });
    });

    it("learns each channel's usual order gap from its own recent lines", async () => {
      await store.availability.upsertChannels(
        [{ code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1'] }],
        now,
      );
      const minute = 60_000;
      const save = async (channel: string, n: number, at: number) =>
        assert.ok(
          await store.orders.saveLine({
            channel,
            lineKey: `${channel}:o${n}:1`,
            orderId: `o${n}`,
            lineId: '1',
            item: { externalId: 'offer-A', sku: null, barcode: null },
            sku: null,
            state: emptyLineState(),
            applied: {},
            seq: 0,
            version: 0,
            status: 'info',
            reason: null,
            createdAt: at,
            updatedAt: at,
          }),
        );
      // bol: a line every 2 minutes, one gap of 30 among 20 (the 95th percentile is the 19th
      // smallest, still 2 minutes), a second line at the same instant (no gap of 0), and a line
      // 8 days before the newest, outside the window.
      const last = now + 100 * minute;
      await save('bol', 0, last - 8 * 24 * 60 * minute);
      let at = last - 68 * minute;
      for (let n = 1; n <= 20; n++) {
        await save('bol', n, at);
        at += n === 10 ? 30 * minute : 2 * minute;
      }
      await save('bol', 21, at);
      await save('bol', 22, at);
      const bol = await store.alerts.usualOrderGap('bol');
      assert.equal(bol.orderGaps, 20);
      assert.equal(bol.usualOrderGapMs, 2 * minute);
      // shop: three lines 3 hours apart; its own figure, not bol's.
      for (let n = 0; n < 3; n++) await save('shop', 100 + n, now + n * 180 * minute);
      assert.deepEqual(await store.alerts.usualOrderGap('shop'), { usualOrderGapMs: 180 * minute, orderGaps: 2 });
    });
  });
}
