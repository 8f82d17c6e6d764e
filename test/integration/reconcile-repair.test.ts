/**
 * Reconcile passes (src/reconcile/reconcile-pass.ts) on every store, against both simulators
 * through the real connectors and dispatchers: a quantity edited behind onhand's back is found
 * by one targeted pass and repaired (more at once, less once a second read a grace later
 * agrees); on Shopify a sale the channel takes between the read and the repair push is never
 * overwritten; a read-back that races an order never relists the sold unit; no pass or push
 * exceeds either platform's rate limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import type { ChannelConnector } from '../../src/connectors/channel-connector.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { limits } from '../../src/core/limits.js';
import { reconcileChannel, summaryLine } from '../../src/reconcile/reconcile-pass.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { startSimConnectors } from '../support/sim-connectors.js';
import { STORES, type TestStore } from '../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 5 });
const skus = ['A', 'B', 'C', 'D'];
const grace = limits.driftGraceMs;

for (const factory of STORES) {
  describe(`${factory.name}: reconcile against the simulators`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    const bolSim = new BolSimulator();
    const shopifySim = new ShopifySimulator();
    const connectors = new Map<string, ChannelConnector>();
    const offers = new Map<string, string>();
    const items = new Map<string, string>();
    let key = 0;
    let now = Date.now();
    const clock = { now: () => now };

    const push = async (channel: string) => {
      const dispatcher = new ChannelDispatcher({
        channel,
        connector: connectors.get(channel)!,
        outbox: store.outbox,
        clock,
        owner: 'test',
        policy,
        random: () => 0.5,
      });
      let pushed = 0;
      for (let round = 0; round < 20; round += 1) {
        const count = await dispatcher.tick();
        if (count === 0) break;
        pushed += count;
      }
      return pushed;
    };
    const pass = (channel: string, options: { dryRun?: boolean; mode?: 'targeted' | 'full' } = {}) =>
      reconcileChannel(
        { store, connector: connectors.get(channel)!, clock },
        { channel, mode: options.mode ?? 'targeted', dryRun: options.dryRun ?? false },
      );
    const sell = (sku: string, quantity: number) =>
      ledger.submit([
        {
          type: 'sale',
          key: `sale-${++key}`,
          payloadHash: `sale-${key}`,
          sku,
          location: 'WH1',
          quantity,
        } as LedgerCommand,
      ]);
    const bolShows = (sku: string) => bolSim.offerState(offers.get(sku)!).correctedStock;
    const shopShows = (sku: string) => shopifySim.available(items.get(sku)!);

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      for (const [code, connector] of await startSimConnectors(bolSim, shopifySim)) connectors.set(code, connector);
      for (const sku of skus) {
        offers.set(sku, bolSim.seedOffer({ amount: 0 }));
        items.set(sku, shopifySim.addItem({ sku, levels: { [shopifySim.defaultLocationId]: 0 } }).inventoryItemId);
      }
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        now,
      );
      await store.availability.upsertChannels(
        [
          { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
          { code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1'] },
        ],
        now,
      );
      await store.availability.upsertListings(
        [
          ...skus.map((sku) => ({ channel: 'bol', externalId: offers.get(sku)!, sku })),
          ...skus.map((sku) => ({ channel: 'shop', externalId: items.get(sku)!, sku })),
        ],
        now,
      );
      await ledger.submit(
        skus.map(
          (sku) =>
            ({
              type: 'receipt',
              key: `r-${sku}`,
              payloadHash: `r-${sku}`,
              sku,
              location: 'WH1',
              quantity: 5,
            }) as LedgerCommand,
        ),
      );
      await push('bol');
      await push('shop');
      for (const sku of skus) {
        assert.equal(bolShows(sku), 5);
        assert.equal(shopShows(sku), 5);
      }
      now += 1_000;
    });
    after(async () => {
      await ledger.close();
      await bolSim.stop();
      await shopifySim.stop();
      await test.cleanup();
    });

    it('finds nothing to repair while every channel shows the ledger', async () => {
      for (const channel of ['bol', 'shop']) {
        const summary = await pass(channel, { mode: 'full' });
        assert.equal(summary.read, skus.length);
        assert.deepEqual(
          [summary.driftMore, summary.driftLess, summary.repairs.length],
          [0, 0, 0],
          summaryLine(summary),
        );
      }
    });

    it('finds out-of-band edits in one targeted pass; repairs more at once, less after a second read', async () => {
      bolSim.editStockOutOfBand(offers.get('A')!, 9);
      bolSim.editStockOutOfBand(offers.get('B')!, 2);
      shopifySim.editAvailable(items.get('A')!, shopifySim.defaultLocationId, 9);
      shopifySim.editAvailable(items.get('B')!, shopifySim.defaultLocationId, 2);

      const dry = await pass('bol', { dryRun: true });
      assert.deepEqual(
        dry.repairs.map((repair) => [repair.sku, repair.shown, repair.desired]),
        [['A', 9, 5]],
      );
      assert.equal(bolShows('A'), 9, 'a dry run queues nothing');
      assert.equal(await push('bol'), 0);

      for (const channel of ['bol', 'shop']) {
        const summary = await pass(channel);
        assert.deepEqual(
          [summary.driftMore, summary.driftLess, summary.unconfirmed],
          [1, 1, 1],
          `${channel}: ${summaryLine(summary)}`,
        );
        assert.deepEqual(
          summary.repairs.map((repair) => [repair.sku, repair.direction, repair.shown, repair.desired]),
          [['A', 'more', 9, 5]],
        );
        assert.equal(await push(channel), 1);
      }
      assert.deepEqual([bolShows('A'), shopShows('A')], [5, 5], 'showing more: repaired at once');
      assert.deepEqual([bolShows('B'), shopShows('B')], [2, 2], 'showing less: left alone on one read');

      now += grace;
      for (const channel of ['bol', 'shop']) {
        const summary = await pass(channel);
        assert.deepEqual(
          summary.repairs.map((repair) => [repair.sku, repair.direction, repair.shown, repair.desired]),
          [['B', 'less', 2, 5]],
          `${channel}: ${summaryLine(summary)}`,
        );
        assert.equal(await push(channel), 1);
        const after = await pass(channel);
        assert.deepEqual([after.driftMore, after.driftLess, after.repairs.length], [0, 0, 0], summaryLine(after));
      }
      assert.deepEqual([bolShows('B'), shopShows('B')], [5, 5]);
      const recorded = await store.outbox.listRepairs({ channel: 'shop', limit: 10 });
      assert.deepEqual(
        recorded.map((repair) => [repair.sku, repair.direction, repair.shown, repair.acknowledged, repair.desired]),
        [
          ['B', 'less', 2, 5, 5],
          ['A', 'more', 9, 5, 5],
        ],
      );
      assert.ok(recorded.every((repair) => repair.at > 0 && repair.channel === 'shop'));
    });

    it('Shopify: a sale taken between the read and the repair push is never overwritten', async () => {
      shopifySim.editAvailable(items.get('C')!, shopifySim.defaultLocationId, 2);
      await pass('shop');
      now += grace;
      const summary = await pass('shop');
      assert.deepEqual(
        summary.repairs.map((repair) => [repair.sku, repair.shown, repair.desired]),
        [['C', 2, 5]],
      );
      // The shop sells one unit after the read, before the repair is pushed.
      shopifySim.createOrder({ lines: [{ inventoryItemId: items.get('C')!, quantity: 1 }] });
      assert.equal(shopShows('C'), 1);
      await push('shop');
      assert.equal(shopShows('C'), 1, 'the compare-and-set refused to overwrite the sale');
      // The order reaches onhand: desired 4; after the grace the push sets 4 over the 1 shown.
      await sell('C', 1);
      await push('bol');
      assert.equal(shopShows('C'), 1);
      now += grace;
      await push('shop');
      assert.equal(shopShows('C'), 4);
    });

    it('a read-back racing an order never relists the sold unit', async () => {
      // Bol.com sells one unit of D; its order has not been polled yet.
      bolSim.createOrder({ items: [{ offerId: offers.get('D')!, quantity: 1 }] });
      shopifySim.createOrder({ lines: [{ inventoryItemId: items.get('D')!, quantity: 1 }] });
      assert.deepEqual([bolShows('D'), shopShows('D')], [4, 4]);
      for (const channel of ['bol', 'shop']) {
        const summary = await pass(channel);
        assert.equal(summary.repairs.length, 0, summaryLine(summary));
        assert.equal(summary.unconfirmed, 1);
        assert.equal(await push(channel), 0);
      }
      assert.deepEqual([bolShows('D'), shopShows('D')], [4, 4], 'not raised on one read');
      // Both orders arrive within the grace: desired 3, pushed to both.
      await sell('D', 2);
      await push('bol');
      await push('shop');
      now += grace;
      for (const channel of ['bol', 'shop']) {
        const summary = await pass(channel);
        assert.deepEqual([summary.driftLess, summary.repairs.length], [0, 0], summaryLine(summary));
      }
      assert.deepEqual([bolShows('D'), shopShows('D')], [3, 3]);
    });

    it('stayed inside both platforms’ rate limits', () => {
      assert.equal(bolSim.stats().rateLimitViolations, 0);
      assert.equal(bolSim.stats().retryAfterViolations, 0);
      assert.equal(shopifySim.stats.rateLimitViolations, 0);
    });
  });
}
