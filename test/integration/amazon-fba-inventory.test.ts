/**
 * Amazon FBA inventory end to end, on every store: the simulator's FBA inventory summaries are
 * read by the real AmazonConnector through MarketplaceStockPolling into ledger counts at the
 * channel's marketplace_fulfilment location (docs/channels/amazon.md, FBA inventory):
 * - the summaries set that location's on_hand, for listings mapped to a variant only; a
 *   re-read of unchanged summaries changes nothing; the merchant's warehouse is never touched;
 * - an FBA order is booked there by the order poll, and the summaries read after it agree with
 *   it (Amazon's pending units stay on hand until they ship);
 * - a channel without a marketplace location is not read at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AmazonSimulator } from '../../sim/amazon/amazon-simulator.js';
import { AmazonConnector } from '../../src/connectors/amazon/amazon-connector.js';
import { amazonUsagePlans } from '../../src/connectors/amazon/amazon-limits.js';
import { MarketplaceStockPolling, type MarketplaceStockReport } from '../../src/ingest/marketplace-stock.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../support/stores.js';

const clock = { now: () => Date.now() };

/** getOrders restores one request a minute: a wider plan on both sides (see amazon-order-intake.test.ts). */
const usagePlans = { ...amazonUsagePlans, getOrders: { rate: 50, burst: 50 } };

for (const factory of STORES) {
  describe(`${factory.name}: Amazon FBA inventory counted at the marketplace location`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let sim: AmazonSimulator;
    let orders: OrderPolling;
    let stock: MarketplaceStockPolling;
    const errors: string[] = [];
    let key = 0;

    async function levels(sku: string) {
      const found = await store.ledger.getStock(sku, clock.now());
      return Object.fromEntries(
        (found?.locations ?? []).map((level) => [level.location, { onHand: level.on_hand, reserved: level.reserved }]),
      );
    }
    const level = (onHand: number, reserved: number) => ({ onHand, reserved });

    async function readFba(channel: string): Promise<MarketplaceStockReport> {
      const report = await stock.readOnce(channel);
      assert.ok(report !== null, `${channel} read`);
      assert.equal(report.error, undefined);
      assert.deepEqual(report.refused, []);
      return report;
    }

    async function pollOrders(): Promise<void> {
      assert.ok((await orders.pollOnce('amzfba')) !== null);
      assert.deepEqual(errors, [], 'no poll error');
    }

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Main warehouse', kind: 'warehouse' },
          { code: 'FBA', name: 'Amazon fulfilment', kind: 'marketplace_fulfilment' },
        ],
        clock.now(),
      );
      await store.catalogue.upsertVariants(
        ['LAMP', 'MUG'].map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      const receipts = ['LAMP', 'MUG'].map((sku) => ({
        type: 'receipt' as const,
        key: `stock-${sku}`,
        payloadHash: 'stock',
        sku,
        location: 'WH1',
        quantity: 10,
      }));
      assert.ok((await ledger.submit(receipts)).every((answer) => answer.status === 'applied'));

      sim = new AmazonSimulator({ usagePlans, inventoryPageSize: 2 });
      const url = await sim.start();
      sim.setNotifications(false);
      for (const sku of ['LAMP-1', 'MUG-1', 'VASE-1']) sim.seedListing(sku, 0, { fulfillmentChannelCode: 'AMAZON_NA' });
      sim.seedFbaInventory('LAMP-1', 6);
      sim.seedFbaInventory('MUG-1', 3);
      sim.seedFbaInventory('VASE-1', 9); // no listing in onhand: never counted
      await store.availability.upsertChannels(
        [
          { code: 'amzfba', name: 'Amazon FBA', platform: 'amazon', locations: ['WH1', 'FBA'] },
          { code: 'amzmfn', name: 'Amazon MFN', platform: 'amazon', locations: ['WH1'] },
        ],
        clock.now(),
      );
      await store.availability.upsertListings(
        ['amzfba', 'amzmfn'].flatMap((channel) => [
          { channel, externalId: 'LAMP-1', sku: 'LAMP' },
          { channel, externalId: 'MUG-1', sku: 'MUG' },
        ]),
        clock.now(),
      );
      const connector = new AmazonConnector({
        sellerId: sim.sellerId,
        marketplaceIds: [sim.marketplaceId],
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        refreshToken: sim.refreshToken,
        usagePlans,
      });
      const channels = [
        { channel: 'amzfba', connector },
        { channel: 'amzmfn', connector },
      ];
      const onError = (channel: string, error: unknown) => errors.push(`${channel}: ${String(error)}`);
      const intake = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      orders = new OrderPolling({ store, orders: intake, clock, owner: 'test', onError, channels });
      stock = new MarketplaceStockPolling({ store, ledger, clock, owner: 'test', onError, channels });
    });

    after(async () => {
      await stock?.stop();
      await orders?.stop();
      await sim?.stop();
      await ledger?.close();
      await test?.cleanup();
    });

    it('sets the marketplace location’s on_hand from the summaries; a re-read changes nothing', async () => {
      const first = await readFba('amzfba');
      assert.deepEqual([first.location, first.read, first.applied], ['FBA', 2, 2]);
      assert.equal(first.calls, 1, 'two SKUs in one call, one page');
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), FBA: level(6, 0) });
      assert.deepEqual(await levels('MUG'), { WH1: level(10, 0), FBA: level(3, 0) });

      const movements = (await store.ledger.listMovements('LAMP', { limit: 100 }))!.items;
      const again = await readFba('amzfba');
      assert.deepEqual([again.applied, again.unchanged], [0, 2], 'the same keys: replayed');
      assert.equal((await store.ledger.listMovements('LAMP', { limit: 100 }))!.items.length, movements.length);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });

    it('books an FBA order there; the summaries after it agree; the warehouse is unchanged', async () => {
      const order = sim.createOrder({
        items: [{ sku: 'LAMP-1', quantity: 2 }],
        fulfillmentChannel: 'AFN',
        status: 'Unshipped',
      });
      await pollOrders();
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), FBA: level(6, 2) }, 'reserved at FBA');
      const ordered = await readFba('amzfba');
      assert.equal(ordered.applied, 1, 'LAMP-1 changed at Amazon: a new count');
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), FBA: level(6, 2) }, 'fulfillable 4 + pending 2');

      sim.shipItem(order.orderId, order.orderItemIds[0]!);
      await pollOrders();
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), FBA: level(4, 0) }, 'shipped from FBA');
      await readFba('amzfba');
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), FBA: level(4, 0) });

      sim.seedFbaInventory('MUG-1', 20); // an inbound shipment received at Amazon
      const restocked = await readFba('amzfba');
      assert.equal(restocked.applied, 1);
      assert.deepEqual(await levels('MUG'), { WH1: level(10, 0), FBA: level(20, 0) });
      assert.equal(await store.ledger.getStock('VASE', clock.now()), null, 'an SKU without a listing is not counted');
      assert.equal(sim.stats().rateLimitViolations, 0);
    });

    it('reads nothing for a channel without a marketplace_fulfilment location', async () => {
      const before = sim.stats().requests.getInventorySummaries ?? 0;
      const report = await stock.readOnce('amzmfn');
      assert.deepEqual(report, { location: null, read: 0, applied: 0, unchanged: 0, refused: [], calls: 0 });
      assert.equal(sim.stats().requests.getInventorySummaries ?? 0, before);
    });
  });
}
