/**
 * A WooCommerce sale lowers the other channels, end to end, on every store: a real onhand HTTP
 * server receives the WooCommerce simulator's signed webhooks at POST /webhooks/woocommerce/woo
 * (and its unsigned ping); each order line is folded and its reservation written to the ledger;
 * the dispatcher pushes the new quantities to WooCommerce (batch endpoints, OAuth 1.0a on the
 * simulator's plain http) and to the Bol.com simulator. Also: an order whose webhook was lost is
 * caught by the order poll; the order's lifecycle (shipped, cancelled, refunded with restock)
 * moves the ledger as docs/channels/woocommerce.md says; the channel settings a read token sees
 * hide the keys and the webhook secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { WooSimulator } from '../../sim/woocommerce/woo-simulator.js';
import { issueToken } from '../../src/api/tokens.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import { connectChannel } from '../../src/connectors/connector-registry.js';
import { signWooWebhook } from '../../src/connectors/woocommerce/woocommerce-webhooks.js';
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

const webhookSecret = 'woo-webhook-secret';

for (const factory of STORES) {
  describe(`${factory.name}: WooCommerce order -> ledger -> Bol.com and WooCommerce (simulated)`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let app: FastifyInstance;
    let address = '';
    let propagation: Propagation;
    let polling: OrderPolling;
    const bol = new BolSimulator();
    const woo = new WooSimulator({ hostLimits: { requestsPerSecond: 10, concurrency: 4 } });
    let offerId = '';
    let tee = '';
    let mug = '';
    let key = 0;
    const clock = { now: () => Date.now() };

    // Until nothing is pending. A round that pushes nothing while rows are pending met a spent
    // request budget (the shop's 8 a second, shared with the order polls): wait for it.
    const drain = async () => {
      for (let round = 0; round < 100; round += 1) {
        let pushed = 0;
        for (const dispatcher of propagation.dispatchers.values()) pushed += await dispatcher.tick();
        if (pushed > 0) continue;
        const status = await store.outbox.syncStatus(Date.now());
        if (status.every((channel) => channel.queueDepth === 0)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('dispatch did not settle');
    };
    const stock = async (sku: string) => (await store.ledger.getStock(sku, Date.now()))!.total;

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      const orders = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      app = await buildServer({ store, ledger, clock, orders, ids: { next: (prefix) => `${prefix}_${++key}` } });
      address = await app.listen({ host: '127.0.0.1', port: 0 });
      const wooUrl = await woo.start();
      const bolUrl = await bol.start();
      tee = woo.seedVariableProduct({ sku: 'TEE', variations: [{ sku: 'TEE-RED', quantity: 0 }] })[0]!;
      mug = woo.seedProduct({ sku: 'MUG', quantity: 0 });
      offerId = bol.seedOffer({ amount: 0 });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        [
          { sku: 'TEE-RED', name: 'Tee' },
          { sku: 'MUG', name: 'Mug' },
        ],
        clock.now(),
      );
      await store.availability.upsertChannels(
        [
          {
            code: 'woo',
            name: 'WooCommerce',
            platform: 'woocommerce',
            locations: ['WH1'],
            settings: {
              connector: {
                store_url: wooUrl,
                consumer_key: woo.consumerKey,
                consumer_secret: woo.consumerSecret,
                webhook_secret: webhookSecret,
                requests_per_second: 8,
                concurrency: 2,
              },
            },
          },
          { code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] },
        ],
        clock.now(),
      );
      await store.availability.upsertListings(
        [
          { channel: 'woo', externalId: tee, sku: 'TEE-RED' },
          { channel: 'woo', externalId: mug, sku: 'MUG' },
          { channel: 'bol', externalId: offerId, sku: 'TEE-RED' },
        ],
        clock.now(),
      );
      const wooChannel = (await store.availability.getChannel('woo'))!;
      const channels = [
        // The connector exactly as serve builds it from the channel's settings.
        { channel: 'woo', connector: connectChannel(wooChannel, clock)! },
        {
          channel: 'bol',
          connector: new BolConnector({
            account: 'sim',
            baseUrl: bolUrl,
            tokenUrl: bol.tokenUrl,
            clientId: 'onhand-sim',
            clientSecret: 'onhand-sim-secret',
          }),
        },
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
      for (const topic of ['order.created', 'order.updated', 'order.deleted', 'order.restored'])
        await woo.addWebhook({ topic, deliveryUrl: `${address}/webhooks/woocommerce/woo`, secret: webhookSecret });
      await ledger.submit(
        ['TEE-RED', 'MUG'].map(
          (sku) =>
            ({
              type: 'receipt',
              key: `stock-${sku}`,
              payloadHash: `stock-${sku}`,
              sku,
              location: 'WH1',
              quantity: 10,
            }) as LedgerCommand,
        ),
      );
      await drain();
    });
    after(async () => {
      await polling.stop();
      await propagation.stop();
      await woo.stop();
      await bol.stop();
      await app.close();
      await ledger.close();
      await test.cleanup();
    });

    it('starts with both channels showing the ledger; the pings of the new webhooks were answered 200', () => {
      assert.equal(woo.stockOf(tee), 10);
      assert.equal(woo.stockOf(mug), 10);
      assert.equal(bol.offerState(offerId).amount, 10);
      assert.equal(woo.stats().pings, 4);
      assert.equal(woo.webhookState(1).failureCount, 0, 'the ping did not count as a failure');
    });

    it('a WooCommerce order lowers Bol.com and WooCommerce itself agrees', async () => {
      woo.createOrder({
        lines: [
          { externalId: tee, quantity: 3 },
          { externalId: mug, quantity: 1 },
        ],
      });
      await woo.settled();
      assert.equal(woo.stats().webhooksFailed, 0);
      assert.equal((await stock('TEE-RED')).reserved, 3, 'the order is a ledger fact');
      await drain();
      assert.equal(bol.offerState(offerId).amount, 7);
      assert.equal(woo.stockOf(tee), 7);
      assert.equal(woo.stockOf(mug), 9);
      assert.equal(woo.stats().rateLimitViolations, 0);
    });

    it('an order whose webhook was lost is caught by the poll', async () => {
      woo.setFaults({ dropWebhooks: 1 });
      woo.createOrder({ lines: [{ externalId: tee, quantity: 2 }] });
      await woo.settled();
      assert.equal(woo.stats().webhooksDropped, 1);
      assert.equal((await stock('TEE-RED')).reserved, 3, 'not seen yet');
      const report = await polling.pollOnce('woo');
      assert.ok(report && report.changed >= 1, JSON.stringify(report));
      assert.equal((await stock('TEE-RED')).reserved, 5);
      await drain();
      assert.equal(bol.offerState(offerId).amount, 5);
      const again = await polling.pollOnce('woo');
      assert.equal(again?.changed, 0, 'a second poll changes nothing');
    });

    it('the lifecycle: complete ships, cancel releases, a refund with restock after shipping returns', async () => {
      const order = woo.createOrder({ lines: [{ externalId: mug, quantity: 2 }] });
      await woo.settled();
      assert.equal((await stock('MUG')).reserved, 3);
      woo.setOrderStatus(order.id, 'completed');
      await woo.settled();
      let mugStock = await stock('MUG');
      assert.deepEqual([mugStock.reserved, mugStock.on_hand], [1, 8], 'two shipped');
      woo.refundOrder(order.id, [{ lineId: order.lines[0]!.id, quantity: 1 }], true);
      await woo.settled();
      await polling.pollOnce('woo'); // refund lines come with the poll
      mugStock = await stock('MUG');
      assert.deepEqual([mugStock.on_hand, mugStock.quarantine], [8, 1], 'one returned, into quarantine');
      const cancelled = woo.createOrder({ lines: [{ externalId: mug, quantity: 4 }] });
      await woo.settled();
      assert.equal((await stock('MUG')).reserved, 5);
      woo.setOrderStatus(cancelled.id, 'cancelled');
      await woo.settled();
      assert.equal((await stock('MUG')).reserved, 1, 'cancelled: released');
      await drain();
      assert.equal(woo.stockOf(mug), 7, '8 on hand less the first order still open');
    });

    it('refuses a tampered webhook (401) and changes nothing; a ping changes nothing', async () => {
      const body = '{"id":1,"status":"processing","date_created_gmt":"2026-03-02T08:00:00","line_items":[]}';
      const before = await store.canonicalDump();
      const tampered = await fetch(`${address}/webhooks/woocommerce/woo`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-wc-webhook-topic': 'order.created',
          'x-wc-webhook-signature': signWooWebhook(`${body} `, webhookSecret),
        },
        body,
      });
      assert.equal(tampered.status, 401);
      assert.equal(((await tampered.json()) as { code: string }).code, 'ONH_ERR_WEBHOOK_SIGNATURE');
      const ping = await fetch(`${address}/webhooks/woocommerce/woo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'webhook_id=99',
      });
      assert.equal(ping.status, 200);
      assert.equal(((await ping.json()) as { ignored: boolean }).ignored, true);
      assert.deepEqual(await store.canonicalDump(), before);
    });

    it('a read token sees the connector settings without the keys or the webhook secret', async () => {
      const { token } = await issueToken(store, { scope: 'read', name: 'reader' }, clock, {
        next: (prefix) => `${prefix}_${++key}`,
      });
      const response = await fetch(`${address}/v1/channels/woo`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
      const text = await response.text();
      for (const secret of [woo.consumerKey, woo.consumerSecret, webhookSecret])
        assert.ok(!text.includes(secret), `${secret} shown: ${text}`);
      const connector = (JSON.parse(text) as { settings: { connector: Record<string, unknown> } }).settings.connector;
      assert.equal(connector.consumer_secret, '***');
      assert.equal(connector.requests_per_second, 8);
    });
  });
}
