/**
 * Amazon orders end to end, on every store: the Amazon simulator's orders are polled by the real
 * AmazonConnector through OrderPolling (lease, cursor saved after the events are recorded) into
 * OrderLineIntake and the ledger (docs/channels/amazon.md, Order lifecycle):
 * - a Pending merchant-fulfilled (MFN) order reserves at once; payment changes nothing; a
 *   partial shipment takes units off on_hand; a cancellation releases what did not ship;
 * - an Amazon-fulfilled (FBA, AFN) item never touches the merchant's stock: information only,
 *   or booked at the channel's marketplace_fulfilment location when it has one;
 * - ORDER_CHANGE notifications delivered twice, and the poll that sees the same order, apply
 *   once; a cursor reset (a crash before saving it) changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AmazonSimulator } from '../../sim/amazon/amazon-simulator.js';
import { AmazonConnector } from '../../src/connectors/amazon/amazon-connector.js';
import { amazonUsagePlans } from '../../src/connectors/amazon/amazon-limits.js';
import { initialAmazonOrdersCursor } from '../../src/connectors/amazon/amazon-orders.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import type { OrderIngestReport } from '../../src/ingest/order-ingest-report.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../support/stores.js';

const clock = { now: () => Date.now() };

/**
 * getOrders restores one request a minute; this file polls many times within seconds. The
 * simulator and the connector both get a wider getOrders plan (the same on both sides, so the
 * client still never causes a 429); every other plan is Amazon's.
 */
const usagePlans = { ...amazonUsagePlans, getOrders: { rate: 50, burst: 50 } };

const opening: Record<string, Record<string, number>> = {
  MUG: { WH1: 10, WH2: 10 },
  LAMP: { WH1: 10, WH2: 10, FBA: 6 },
};

for (const factory of STORES) {
  describe(`${factory.name}: Amazon orders polled into the ledger`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let polling: OrderPolling;
    const errors: string[] = [];
    const sims: AmazonSimulator[] = [];
    let key = 0;

    async function openChannel(code: string, locations: string[], notifications: boolean) {
      const sim = new AmazonSimulator({ usagePlans, sellerId: `A${code.toUpperCase()}` });
      sims.push(sim);
      const url = await sim.start();
      sim.setNotifications(notifications);
      sim.seedListing('MUG-1', 10);
      sim.seedListing('LAMP-1', 10);
      await store.availability.upsertChannels([{ code, name: code, platform: 'amazon', locations }], clock.now());
      await store.availability.upsertListings(
        [
          { channel: code, externalId: 'MUG-1', sku: 'MUG' },
          { channel: code, externalId: 'LAMP-1', sku: 'LAMP' },
        ],
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
        ...(notifications ? { notificationSource: sim.notifications } : {}),
      });
      return { sim, connector };
    }

    let amz: { sim: AmazonSimulator; connector: AmazonConnector };
    let amzfba: { sim: AmazonSimulator; connector: AmazonConnector };

    async function levels(sku: string) {
      const stock = await store.ledger.getStock(sku, clock.now());
      return Object.fromEntries(
        (stock?.locations ?? []).map((level) => [level.location, { onHand: level.on_hand, reserved: level.reserved }]),
      );
    }
    const level = (onHand: number, reserved: number) => ({ onHand, reserved });

    async function poll(channel: string): Promise<OrderIngestReport> {
      const report = await polling.pollOnce(channel);
      assert.ok(report !== null, `${channel} polled`);
      assert.deepEqual(errors, [], 'no poll error');
      assert.deepEqual(report.invalid, []);
      return report;
    }

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Main warehouse', kind: 'warehouse' },
          { code: 'WH2', name: 'Second warehouse', kind: 'warehouse' },
          { code: 'FBA', name: 'Amazon fulfilment', kind: 'marketplace_fulfilment' },
        ],
        clock.now(),
      );
      await store.catalogue.upsertVariants(
        Object.keys(opening).map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      const receipts: LedgerCommand[] = Object.entries(opening).flatMap(([sku, at]) =>
        Object.entries(at).map(([location, quantity]) => ({
          type: 'receipt' as const,
          key: `stock-${sku}-${location}`,
          payloadHash: 'stock',
          sku,
          location,
          quantity,
        })),
      );
      assert.ok((await ledger.submit(receipts)).every((answer) => answer.status === 'applied'));
      amz = await openChannel('amz', ['WH1', 'WH2'], true);
      amzfba = await openChannel('amzfba', ['WH1', 'WH2', 'FBA'], false);
      const intake = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      polling = new OrderPolling({
        store,
        orders: intake,
        clock,
        owner: 'test',
        onError: (channel, error) => errors.push(`${channel}: ${String(error)}`),
        channels: [
          { channel: 'amz', connector: amz.connector },
          { channel: 'amzfba', connector: amzfba.connector },
        ],
      });
    });

    after(async () => {
      await polling?.stop();
      for (const sim of sims) await sim.stop();
      await ledger?.close();
      await test?.cleanup();
    });

    it('reserves a Pending MFN order at once, ships part of it, releases the rest on cancellation', async () => {
      amz.sim.notifications.duplicateEvery = 1; // every notification delivered twice
      const order = amz.sim.createOrder({ items: [{ sku: 'MUG-1', quantity: 3 }] });
      const placed = await poll('amz');
      assert.equal(placed.changed, 1);
      assert.deepEqual(await levels('MUG'), { WH1: level(10, 3), WH2: level(10, 0) }, 'Pending reserves');
      const line = (await store.orders.orderLines('amz', order.orderId))[0]!;
      assert.equal(line.lineKey, `amazon:${amz.sim.sellerId}:${order.orderId}:${order.orderItemIds[0]}`);

      amz.sim.payOrder(order.orderId);
      assert.equal((await poll('amz')).changed, 0, 'payment changes nothing');
      amz.sim.shipItem(order.orderId, order.orderItemIds[0]!, 1);
      await poll('amz');
      assert.deepEqual(await levels('MUG'), { WH1: level(9, 2), WH2: level(10, 0) }, 'one shipped');
      assert.equal((await poll('amz')).changed, 0, 'polled again');

      // A crash before the cursor was saved: everything is read again, nothing moves.
      await store.outbox.saveCursor('amz', JSON.stringify(initialAmazonOrdersCursor()), clock.now());
      assert.equal((await poll('amz')).changed, 0, 'cursor reset');

      amz.sim.cancelOrder(order.orderId);
      await poll('amz');
      assert.deepEqual(await levels('MUG'), { WH1: level(9, 0), WH2: level(10, 0) }, 'the rest released');
      assert.equal((await store.orders.getLine('amz', line.lineKey))?.status, 'closed');
      assert.equal(amz.sim.stats().rateLimitViolations, 0);
    });

    it('never reserves the merchant’s stock for an FBA order: information only, or at the marketplace location', async () => {
      const info = amz.sim.createOrder({
        items: [{ sku: 'LAMP-1', quantity: 2 }],
        fulfillmentChannel: 'AFN',
        status: 'Unshipped',
      });
      const report = await poll('amz');
      assert.deepEqual([report.changed, report.info], [0, 1]);
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), WH2: level(10, 0), FBA: level(6, 0) });
      const infoLine = (await store.orders.orderLines('amz', info.orderId))[0]!;
      assert.equal(infoLine.status, 'info');
      amz.sim.shipItem(info.orderId, info.orderItemIds[0]!);
      await poll('amz');
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), WH2: level(10, 0), FBA: level(6, 0) });

      const booked = amzfba.sim.createOrder({
        items: [{ sku: 'LAMP-1', quantity: 2 }],
        fulfillmentChannel: 'AFN',
        status: 'Unshipped',
      });
      await poll('amzfba');
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), WH2: level(10, 0), FBA: level(6, 2) });
      amzfba.sim.shipItem(booked.orderId, booked.orderItemIds[0]!);
      await poll('amzfba');
      assert.deepEqual(await levels('LAMP'), { WH1: level(10, 0), WH2: level(10, 0), FBA: level(4, 0) });
    });
  });
}
