/**
 * Propagation end to end with the real Bol.com connector against the Bol.com simulator, on
 * every store: ledger -> listing quantity (same transaction) -> outbox -> dispatcher -> PATCH
 * offer; and back: an order placed on Bol.com -> polled -> ledger fact (business key) ->
 * every channel's quantity drops, including the other channel's. A re-poll of the same orders
 * (a crash between applying and saving the cursor) changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import { initialBolOrdersCursor } from '../../src/connectors/bol/bol-orders.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { Propagation } from '../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../support/scripted-channel.js';
import { STORES, type TestStore } from '../support/stores.js';

for (const factory of STORES) {
  describe(`${factory.name}: propagation with Bol.com (simulated)`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let propagation: Propagation;
    let polling: OrderPolling;
    const sim = new BolSimulator();
    const shop = new ScriptedChannel();
    let offers: Record<string, string> = {};
    let key = 0;

    const drain = async () => {
      for (let round = 0; round < 20; round += 1) {
        let pushed = 0;
        for (const dispatcher of propagation.dispatchers.values()) pushed += await dispatcher.tick();
        if (pushed === 0) return;
      }
      throw new Error('dispatch did not settle');
    };

    before(async () => {
      test = await factory.create();
      store = test.store;
      const clock = { now: () => Date.now() };
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      const url = await sim.start();
      offers = { 'TEE-M': sim.seedOffer({ amount: 0 }), 'TEE-L': sim.seedOffer({ amount: 0 }) };
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        [
          { sku: 'TEE-M', name: 'Tee M' },
          { sku: 'TEE-L', name: 'Tee L' },
        ],
        clock.now(),
      );
      await store.availability.upsertChannels(
        [
          { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
          { code: 'shop', name: 'Own shop', platform: 'custom', locations: ['WH1'] },
        ],
        clock.now(),
      );
      await store.availability.upsertListings(
        [
          ...Object.entries(offers).map(([sku, offerId]) => ({ channel: 'bol', externalId: offerId, sku })),
          { channel: 'shop', externalId: 'shop-TEE-M', sku: 'TEE-M' },
          { channel: 'shop', externalId: 'shop-TEE-L', sku: 'TEE-L' },
        ],
        clock.now(),
      );
      const bol = new BolConnector({
        account: 'sim',
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      });
      const channels = [
        { channel: 'bol', connector: bol },
        { channel: 'shop', connector: shop },
      ];
      const onError = (channel: string, error: unknown) => assert.fail(`${channel}: ${String(error)}`);
      propagation = new Propagation({
        store,
        ledger,
        clock,
        owner: 'test',
        policy: defaultRetryPolicy,
        onError,
        channels,
      });
      const orders = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      polling = new OrderPolling({ store, orders, clock, owner: 'test', onError, channels });
    });
    after(async () => {
      await polling.stop();
      await propagation.stop();
      await ledger.close();
      await sim.stop();
      await test.cleanup();
    });

    it('pushes ledger stock to the Bol.com offers and to the other channel', async () => {
      await ledger.submit([
        { type: 'receipt', key: 'r-m', payloadHash: 'r-m', sku: 'TEE-M', location: 'WH1', quantity: 5 },
        { type: 'receipt', key: 'r-l', payloadHash: 'r-l', sku: 'TEE-L', location: 'WH1', quantity: 2 },
      ] as LedgerCommand[]);
      await drain();
      assert.equal(sim.offerState(offers['TEE-M']!).amount, 5);
      assert.equal(sim.offerState(offers['TEE-L']!).amount, 2);
      assert.equal(shop.shown.get('shop-TEE-M'), 5);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });

    it('turns a Bol.com order into a ledger fact that lowers every channel, once', async () => {
      sim.createOrder({ items: [{ offerId: offers['TEE-M']!, quantity: 2 }] });
      const report = await polling.pollOnce('bol');
      assert.deepEqual([report?.changed, report?.blocked.length, report?.invalid.length], [1, 0, 0]);
      await drain();
      assert.equal(shop.shown.get('shop-TEE-M'), 3, 'the other channel shows the sale');
      assert.equal(sim.offerState(offers['TEE-M']!).amount, 3);
      const stock = await store.ledger.getStock('TEE-M', Date.now());
      assert.deepEqual([stock?.total.on_hand, stock?.total.reserved, stock?.total.available], [5, 2, 3]);
      // A crash after applying but before saving the cursor re-polls the same order: no change.
      await store.outbox.saveCursor('bol', JSON.stringify(initialBolOrdersCursor()), Date.now());
      const again = await polling.pollOnce('bol');
      assert.deepEqual([again?.changed, again?.unchanged], [0, 1]);
      assert.equal((await store.ledger.getStock('TEE-M', Date.now()))?.total.reserved, 2);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });

    it('reports the sync status per connection', async () => {
      const status = await store.outbox.syncStatus(Date.now());
      assert.deepEqual(
        status.map((each) => [each.channel, each.queueDepth, each.deadLetters]),
        [
          ['bol', 0, 0],
          ['shop', 0, 0],
        ],
      );
      assert.ok(status.every((each) => each.pushLatencyP95Ms !== null && each.lastSuccessAt !== null));
    });
  });
}
