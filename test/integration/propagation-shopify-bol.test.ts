/**
 * The product's promise end to end, on every store: a sale on one channel lowers the other.
 * A real onhand HTTP server receives the Shopify simulator's signed webhooks; each order line is
 * folded (keyed by shop, order and line) and its reservation written to the ledger; the listing
 * quantities are recomputed in the same transaction; the dispatcher pushes them to Shopify
 * (GraphQL, compare-and-set) and to the Bol.com simulator (PATCH offer). Also: a webhook with a bad signature is refused with
 * 401 and changes nothing; the same order delivered again (a retry, a duplicate with a new
 * delivery id) is applied once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import { ShopifyConnector } from '../../src/connectors/shopify/shopify-connector.js';
import { signShopifyWebhook } from '../../src/connectors/shopify/shopify-webhooks.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { buildServer } from '../../src/http/server.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { Propagation } from '../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../src/sync/retry-policy.js';
import { STORES, type TestStore } from '../support/stores.js';

for (const factory of STORES) {
  describe(`${factory.name}: Shopify order -> ledger -> Bol.com (simulated)`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let app: FastifyInstance;
    let propagation: Propagation;
    let polling: OrderPolling;
    /** Whether the Bol connector's poll yields order-line events yet (its port change is separate). */
    let bolPollsEvents = false;
    const bol = new BolSimulator();
    let shopify: ShopifySimulator;
    let offerId = '';
    let itemId = '';
    let webhookUrl = '';
    let key = 0;
    const clock = { now: () => Date.now() };

    const drain = async () => {
      for (let round = 0; round < 30; round += 1) {
        let pushed = 0;
        for (const dispatcher of propagation.dispatchers.values()) pushed += await dispatcher.tick();
        if (pushed === 0) return;
      }
      throw new Error('dispatch did not settle');
    };
    const reserved = async () => (await store.ledger.getStock('TEE', Date.now()))!.total.reserved;

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      // One intake for the webhook route and the poll loop, as main.ts wires them.
      const orders = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      app = await buildServer({ store, ledger, clock, orders, ids: { next: (prefix) => `${prefix}_${++key}` } });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      webhookUrl = `${address}/webhooks/shopify/shop`;
      shopify = new ShopifySimulator({ webhookUrl });
      const shopifyUrl = await shopify.start();
      const bolUrl = await bol.start();
      itemId = shopify.addItem({ sku: 'TEE' }).inventoryItemId;
      offerId = bol.seedOffer({ amount: 0 });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants([{ sku: 'TEE', name: 'Tee' }], clock.now());
      await store.availability.upsertChannels(
        [
          {
            code: 'shop',
            name: 'Shop',
            platform: 'shopify',
            locations: ['WH1'],
            settings: {
              connector: {
                shop_domain: shopify.shopDomain,
                access_token: shopify.accessToken,
                location_id: shopify.defaultLocationId,
                webhook_secret: 'simulator-app-secret',
                base_url: shopifyUrl,
              },
            },
          },
          { code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] },
        ],
        clock.now(),
      );
      await store.availability.upsertListings(
        [
          { channel: 'shop', externalId: itemId, sku: 'TEE' },
          { channel: 'bol', externalId: offerId, sku: 'TEE' },
        ],
        clock.now(),
      );
      const bolConnector = new BolConnector({
        account: 'sim',
        baseUrl: bolUrl,
        tokenUrl: bol.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      });
      const channels = [
        {
          channel: 'shop',
          connector: new ShopifyConnector({
            shopDomain: shopify.shopDomain,
            baseUrl: shopifyUrl,
            accessToken: shopify.accessToken,
            locationId: shopify.defaultLocationId,
          }),
        },
        { channel: 'bol', connector: bolConnector },
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
      polling = new OrderPolling({ store, orders, clock, owner: 'test', onError, channels });
      bolPollsEvents = Array.isArray((await bolConnector.pollOrders(null)).events);
      await ledger.submit([
        {
          type: 'receipt',
          key: 'stock',
          payloadHash: 'stock',
          sku: 'TEE',
          location: 'WH1',
          quantity: 10,
        } as LedgerCommand,
      ]);
      await drain();
    });
    after(async () => {
      await polling.stop();
      await propagation.stop();
      await shopify.stop();
      await bol.stop();
      await app.close();
      await ledger.close();
      await test.cleanup();
    });

    it('starts with both channels showing the ledger', () => {
      assert.equal(shopify.available(itemId), 10);
      assert.equal(bol.offerState(offerId).amount, 10);
    });

    it('a Shopify order lowers Bol.com', async () => {
      shopify.createOrder({ lines: [{ inventoryItemId: itemId, quantity: 3 }] });
      await shopify.webhooksIdle();
      assert.equal(await reserved(), 3, 'the order is a ledger fact');
      await drain();
      assert.equal(bol.offerState(offerId).amount, 7);
      assert.equal(shopify.available(itemId), 7, 'Shopify decremented itself; our push agrees (compare-and-set)');
      assert.equal(bol.stats().rateLimitViolations, 0);
    });

    it('and the reverse: a Bol.com order, polled, lowers Shopify', async (t) => {
      if (!bolPollsEvents) {
        t.skip('the Bol connector does not poll order-line events yet');
        return;
      }
      bol.createOrder({ items: [{ offerId, quantity: 1 }] });
      const report = await polling.pollOnce('bol');
      assert.deepEqual([report?.changed, report?.blocked, report?.invalid], [1, [], []]);
      assert.equal(await reserved(), 4);
      await drain();
      assert.equal(shopify.available(itemId), 6);
      assert.equal(bol.offerState(offerId).amount, 6);
      // Put the stock back for the cases below.
      await ledger.submit([
        {
          type: 'receipt',
          key: 'restock',
          payloadHash: 'restock',
          sku: 'TEE',
          location: 'WH1',
          quantity: 1,
        } as LedgerCommand,
      ]);
      await drain();
    });

    it('refuses a webhook with a bad signature (401) and changes nothing', async () => {
      const body = JSON.stringify({
        id: 1,
        admin_graphql_api_id: 'gid://shopify/Order/1',
        created_at: new Date().toISOString(),
        line_items: [],
      });
      const before = await store.canonicalDump();
      const response = await fetch(webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-shop-domain': shopify.shopDomain,
          'x-shopify-hmac-sha256': signShopifyWebhook(body, 'not-the-secret'),
        },
        body,
      });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(((await response.json()) as { code: string }).code, 'ONH_ERR_WEBHOOK_SIGNATURE');
      assert.deepEqual(await store.canonicalDump(), before);
    });

    it('applies an order and its cancellation once, however often and in whatever order they are delivered', async () => {
      shopify.faults.webhookDuplicateRate = 1; // every event delivered twice, under two delivery ids
      shopify.faults.webhookDelayMsMax = 30; // deliveries overtake each other
      // 4 held (3 + the Bol order's 1), or 3 while the Bol poll is skipped.
      const start = await reserved();
      assert.equal(start, bolPollsEvents ? 4 : 3);
      const { orderId } = shopify.createOrder({ lines: [{ inventoryItemId: itemId, quantity: 2 }] });
      await shopify.webhooksIdle();
      assert.equal(await reserved(), start + 2, 'the order once, not twice');
      shopify.cancelOrder(orderId, { restock: true });
      await shopify.webhooksIdle();
      assert.equal(await reserved(), start, 'the cancellation once');
      const creates = shopify.deliveries.filter(
        (delivery) => delivery.topic === 'orders/create' && delivery.status === 200,
      );
      const events = new Set(creates.map((delivery) => delivery.eventId));
      assert.ok(creates.length > events.size, 'some events were in fact delivered more than once');
      shopify.faults.webhookDuplicateRate = 0;
      shopify.faults.webhookDelayMsMax = 0;
      await drain();
      assert.equal(bol.offerState(offerId).amount, 7);
      assert.equal(shopify.available(itemId), 7);
    });
  });
}
