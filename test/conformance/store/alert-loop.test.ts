/**
 * The alert loop (src/alerts/alert-loop.ts) on every store: figures read from the real store
 * (drift recorded by a read-back, a change waiting to be pushed, the last order line), an alert
 * fired once when its condition starts and resolved once when it ends, and a second process
 * evaluating the same store fires nothing the first already fired.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AlertLoop } from '../../../src/alerts/alert-loop.js';
import type { AlertThresholds } from '../../../src/core/alerts.js';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { emptyLineState } from '../../../src/core/orders/line-state.js';
import type { AlertRecord } from '../../../src/store/alerts-port.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../../support/scripted-channel.js';
import { STORES, type TestStore } from '../../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });
const thresholds: AlertThresholds = {
  driftPercent: 10,
  oldestPendingMs: 60_000,
  failingMs: null,
  deadLetters: true,
  orderSilence: { floorMs: 60 * 60_000, factor: 3, gapsMin: 2 },
};
const receipt = (sku: string, key: string, quantity: number) =>
  ({ type: 'receipt', key, payloadHash: key, sku, location: 'WH1', quantity }) as LedgerCommand;

for (const factory of STORES) {
  describe(`${factory.name}: alert loop`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = Date.UTC(2026, 11, 6, 10);
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let key = 0;
    const channel = new ScriptedChannel(10);
    const ids = new Map<string, string>();
    let pusher: ChannelDispatcher;
    const reported: string[] = [];
    const loop = (name: string) =>
      new AlertLoop({
        store,
        clock,
        thresholds,
        onFired: (alert: AlertRecord) => reported.push(`${name} fired ${alert.rule} ${alert.channel}`),
        onResolved: (alert: AlertRecord) => reported.push(`${name} resolved ${alert.rule} ${alert.channel}`),
      });
    const round = async (evaluator: AlertLoop) => {
      const result = await evaluator.evaluate();
      return [...result.fired.map((a) => `fired ${a.rule}`), ...result.resolved.map((a) => `resolved ${a.rule}`)];
    };

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants(
        ['A', 'B', 'C'].map((sku) => ({ sku, name: sku })),
        now,
      );
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
      await store.availability.upsertListings(
        ['A', 'B', 'C'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        now,
      );
      await ledger.submit(['A', 'B', 'C'].map((sku) => receipt(sku, `r-${sku}`, 5)));
      for (const sku of ['A', 'B', 'C']) ids.set(sku, (await store.availability.getAvailability(sku))![0]!.listingId);
      pusher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        random: () => 0.5,
      });
      while ((await pusher.tick()) > 0);
      now += 1_000;
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('fires nothing while every figure is calm', async () => {
      const figures = await loop('one').figures(now);
      assert.equal(figures.length, 1);
      assert.equal(figures[0]?.listings, 3);
      assert.equal(figures[0]?.drifted, 0);
      assert.deepEqual(await round(loop('one')), []);
    });

    it('fires drift once when a channel shows more, and resolves it once when it agrees again', async () => {
      const one = loop('one');
      const two = loop('two');
      await store.outbox.recordChannelLevels('bol', [{ listingId: ids.get('A')!, shown: 9 }], now, now);
      assert.equal((await one.figures(now))[0]?.drifted, 1);
      assert.deepEqual(await round(one), ['fired drift']);
      assert.deepEqual(await round(two), [], 'another process finds it open');
      now += 1_000;
      assert.deepEqual(await round(one), []);
      await store.outbox.recordChannelLevels('bol', [{ listingId: ids.get('A')!, shown: 5 }], now, now);
      assert.deepEqual(await round(two), ['resolved drift']);
      assert.deepEqual(await round(one), []);
      assert.deepEqual(reported, ['one fired drift bol', 'two resolved drift bol']);
      const all = await store.alerts.list({ status: 'all', limit: 10 });
      assert.equal(all.length, 1);
      assert.equal(all[0]?.detail.drifted, 1);
    });

    it('fires when a change waits too long, resolves once it is pushed', async () => {
      const one = loop('one');
      await ledger.submit([receipt('B', `r-B-${now}`, 1)]);
      assert.deepEqual(await round(one), []);
      now += 61_000;
      assert.deepEqual(await round(one), ['fired oldest_pending']);
      assert.deepEqual(await round(one), []);
      while ((await pusher.tick()) > 0);
      assert.deepEqual(await round(one), ['resolved oldest_pending']);
      assert.deepEqual(await round(one), []);
      assert.deepEqual(
        (await store.alerts.list({ status: 'open', limit: 10 })).map((alert) => alert.rule),
        [],
      );
    });

    it('fires order silence once past the floor over the usual gap, resolves when a line arrives', async () => {
      const one = loop('one');
      const line = (n: number) => ({
        channel: 'bol',
        lineKey: `bol:acct:o${n}:1`,
        orderId: `o${n}`,
        lineId: '1',
        item: { externalId: 'offer-A', sku: null, barcode: null },
        sku: null,
        state: emptyLineState(),
        applied: {},
        seq: 0,
        version: 0,
        status: 'info' as const,
        reason: null,
        createdAt: now,
        updatedAt: now,
      });
      // Two gaps of a minute: the usual gap times 3 stays under the floor of an hour.
      now -= 2 * 60_000;
      assert.ok(await store.orders.saveLine(line(10)));
      now += 60_000;
      assert.ok(await store.orders.saveLine(line(11)));
      now += 60_000;
      assert.ok(await store.orders.saveLine(line(1)));
      assert.deepEqual(
        (await one.figures(now)).map((f) => [f.lastOrderLineAt, f.usualOrderGapMs, f.orderGaps]),
        [[now, 60_000, 2]],
      );
      now += 60 * 60_000;
      assert.deepEqual(await round(one), []);
      now += 1;
      assert.deepEqual(await round(one), ['fired order_silence']);
      now += 60_000;
      assert.deepEqual(await round(one), []);
      assert.ok(await store.orders.saveLine(line(2)));
      assert.deepEqual(await round(one), ['resolved order_silence']);
    });
  });
}
