/**
 * The order-line intake end to end, on every store: the Shopify simulator sends its signed
 * webhooks to a real onhand HTTP server (listening on a port), and what a Shopify order goes
 * through ends in the ledger:
 * - fulfilled from the second location (the reservation moves there, on_hand leaves there),
 *   then refunded with each restock type; delivered shuffled with duplicates it ends in the
 *   same levels as delivered in order;
 * - a point-of-sale order is booked at its location;
 * - a line whose item matches nothing answers 200, waits in the intake inbox and in
 *   GET /v1/unmapped, and is applied once PUT /v1/listings or /v1/listing-mappings adds it;
 * - shipments reported through the API count when the channel says `shipments: 'api'`, the
 *   channel's own fulfilments when it says `channel`; one shipment reported both ways counts once;
 * - the new routes' refusals: a problem naming the field, 404 for what does not exist, 403 for a
 *   read token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ShopifySimulator, type WebhookDeliveryOrder } from '../../sim/shopify/shopify-simulator.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { serveOver } from '../support/http-harness.js';
import { STORES, type TestStore } from '../support/stores.js';

type Server = Awaited<ReturnType<typeof serveOver>>;
interface Shop {
  code: string;
  sim: ShopifySimulator;
  main: string;
  second: string;
  items: Record<string, { inventoryItemId: string; variantId: string }>;
}

const clock = { now: () => Date.now() };
const skus = ['LIFE1', 'LIFE2', 'POS', 'GH1', 'GH2', 'SHIP1', 'SHIP2'];
const numericId = (gid: string) => gid.split('/').pop()!;

/** Per location of a sku: on_hand, reserved, quarantine. */
async function levels(store: LedgerStore, sku: string) {
  const stock = await store.ledger.getStock(sku, clock.now());
  return Object.fromEntries(
    (stock?.locations ?? []).map((level) => [
      level.location,
      { onHand: level.on_hand, reserved: level.reserved, quarantine: level.quarantine },
    ]),
  );
}

const level = (onHand: number, reserved: number, quarantine = 0) => ({ onHand, reserved, quarantine });

for (const factory of STORES) {
  describe(`${factory.name}: Shopify orders through the webhook route`, { skip: factory.skip }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let server: Server;
    let base = '';
    const shops: Shop[] = [];

    /** A simulated shop with a second location, its channel (WH1, WH2) and one listed item per sku. */
    async function openShop(
      code: string,
      options: { deliveryOrder?: WebhookDeliveryOrder; shipments?: 'api' | 'channel'; items: string[] },
    ): Promise<Shop> {
      const sim = new ShopifySimulator({
        shopDomain: `${code}.myshopify.com`,
        webhookUrl: `${base}/webhooks/shopify/${code}`,
        locations: ['Second'],
        ...(options.deliveryOrder ? { deliveryOrder: options.deliveryOrder } : {}),
      });
      const url = await sim.start();
      const [main, second] = sim.locationIds as [string, string];
      const items: Shop['items'] = {};
      for (const sku of options.items)
        items[sku] = sim.addItem({
          // An unlisted item's Shopify sku is none of onhand's: nothing matches it by itself.
          sku: sku.startsWith('GH') ? `shopify-${sku}` : sku,
          levels: { [main]: 10, [second]: 10 },
        });
      await store.availability.upsertChannels(
        [
          {
            code,
            name: code,
            platform: 'shopify',
            locations: ['WH1', 'WH2'],
            settings: {
              connector: {
                shop_domain: sim.shopDomain,
                access_token: sim.accessToken,
                location_id: main,
                webhook_secret: sim.appSecret,
                base_url: url,
              },
              // The main location is the connector's own (WH1, the channel's first); the second is mapped.
              orders: { locationMap: { [second]: 'WH2' }, shipments: options.shipments ?? 'channel' },
            },
          },
        ],
        clock.now(),
      );
      const listed = options.items.filter((sku) => !sku.startsWith('GH'));
      if (listed.length > 0)
        await store.availability.upsertListings(
          listed.map((sku) => ({
            channel: code,
            externalId: items[sku]!.inventoryItemId,
            sku,
            externalRefs: { variant: items[sku]!.variantId },
          })),
          clock.now(),
        );
      const shop = { code, sim, main, second, items };
      shops.push(shop);
      return shop;
    }

    /** Every delivery so far answered 200 (none refused, none failed). */
    async function settled(shop: Shop) {
      await shop.sim.webhooksIdle();
      const refused = shop.sim.deliveries.filter((delivery) => delivery.status !== 200);
      assert.deepEqual(refused, [], 'every webhook answered 200');
    }

    before(async () => {
      test = await factory.create();
      store = test.store;
      server = await serveOver(store, clock, 'write');
      base = await server.app.listen({ host: '127.0.0.1', port: 0 });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Warehouse', kind: 'warehouse' },
          { code: 'WH2', name: 'Shop floor', kind: 'store' },
        ],
        clock.now(),
      );
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      const receipts: LedgerCommand[] = skus.flatMap((sku) =>
        ['WH1', 'WH2'].map((location) => ({
          type: 'receipt' as const,
          key: `stock-${sku}-${location}`,
          payloadHash: 'stock',
          sku,
          location,
          quantity: 10,
        })),
      );
      await server.ledger.submit(receipts);
    });

    after(async () => {
      for (const shop of shops) await shop.sim.stop();
      await server.app.close();
      await server.ledger.close();
      await test.cleanup();
    });

    /**
     * Six units ordered; three fulfilled from the second location; then refunds: 1 returned
     * there, 1 unfulfilled cancelled, 3 legacy_restock (2 returnable, 1 cancelled) and 1
     * no_restock (the last unfulfilled unit, written off).
     */
    function lifecycleSteps(shop: Shop, sku: string, check: (step: string) => Promise<void> = async () => {}) {
      const context = { orderId: '', lineId: '' };
      const refund = (quantity: number, restockType: 'return' | 'cancel' | 'legacy_restock' | 'no_restock') => () =>
        void shop.sim.refundOrder(context.orderId, {
          lines: [
            {
              lineItemId: context.lineId,
              quantity,
              restockType,
              ...(restockType === 'cancel' || restockType === 'no_restock' ? {} : { locationId: shop.second }),
            },
          ],
        });
      const steps: [string, () => void][] = [
        [
          'ordered',
          () => {
            const order = shop.sim.createOrder({
              lines: [{ inventoryItemId: shop.items[sku]!.inventoryItemId, quantity: 6 }],
            });
            context.orderId = order.orderId;
            context.lineId = order.lineItemIds[0]!;
          },
        ],
        [
          'fulfilled',
          () =>
            void shop.sim.fulfillOrder(context.orderId, {
              locationId: shop.second,
              lines: [{ lineItemId: context.lineId, quantity: 3 }],
            }),
        ],
        ['return', refund(1, 'return')],
        ['cancel', refund(1, 'cancel')],
        ['legacy_restock', refund(3, 'legacy_restock')],
        ['no_restock', refund(1, 'no_restock')],
      ];
      return { context, steps, check };
    }

    const finalLevels = { WH1: level(9, 0), WH2: level(7, 0, 3) };

    it('a fulfilment from the second location, then refunds of each restock type, in order', async () => {
      const shop = await openShop('inorder', { items: ['LIFE1', 'POS', 'GH1', 'GH2', 'SHIP1'] });
      const expected: Record<string, Record<string, ReturnType<typeof level>>> = {
        ordered: { WH1: level(10, 6), WH2: level(10, 0) },
        // The reservation moved to where it shipped from, and on_hand left there.
        fulfilled: { WH1: level(10, 3), WH2: level(7, 0) },
        return: { WH1: level(10, 3), WH2: level(7, 0, 1) },
        cancel: { WH1: level(10, 2), WH2: level(7, 0, 1) },
        legacy_restock: { WH1: level(10, 1), WH2: level(7, 0, 3) },
        no_restock: finalLevels,
      };
      const { context, steps } = lifecycleSteps(shop, 'LIFE1');
      for (const [name, step] of steps) {
        step();
        await settled(shop);
        assert.deepEqual(await levels(store, 'LIFE1'), expected[name], `after ${name}`);
      }
      const order = await server.call({
        method: 'GET',
        url: `/v1/channels/inorder/orders/${numericId(context.orderId)}`,
        as: 'read',
      });
      assert.equal(order.statusCode, 200, order.body);
      const [line] = order.json().lines;
      assert.deepEqual([line.sku, line.status, line.steps > 0], ['LIFE1', 'closed', true]);
      assert.deepEqual(line.applied, {
        WH1: { reserved: 0, shipped: 0, written_off: 1, returned: 0 },
        WH2: { reserved: 0, shipped: 3, written_off: 0, returned: 3 },
      });
    });

    it('the same lifecycle delivered shuffled with duplicates ends in the same levels', async () => {
      const shop = await openShop('shuffled', { deliveryOrder: { shuffle: 7, duplicates: 0.5 }, items: ['LIFE2'] });
      // Every step in one turn: the simulator shuffles all their webhooks together.
      for (const [, step] of lifecycleSteps(shop, 'LIFE2').steps) step();
      await settled(shop);
      assert.deepEqual(await levels(store, 'LIFE2'), finalLevels);
      assert.deepEqual(await levels(store, 'LIFE2'), await levels(store, 'LIFE1'));
      const delivered = shop.sim.deliveries.map((delivery) => delivery.eventId);
      assert.ok(delivered.length > new Set(delivered).size, 'some events were delivered twice');
      const emitted = shop.sim.events.map((event) => event.eventId);
      assert.notDeepEqual([...new Set(delivered)], emitted, 'delivered in another order than emitted');
    });

    it('books a point-of-sale order at the location it was sold at', async () => {
      const shop = shops.find((each) => each.code === 'inorder')!;
      shop.sim.createOrder({
        lines: [{ inventoryItemId: shop.items.POS!.inventoryItemId, quantity: 2 }],
        locationId: shop.second,
        pointOfSale: true,
      });
      await settled(shop);
      // WH1 comes first and has stock: only the sale's location puts it at WH2.
      assert.deepEqual(await levels(store, 'POS'), { WH1: level(10, 0), WH2: level(10, 2) });
    });

    it('keeps an unmapped line in the inbox and applies it once a listing or a mapping adds it', async () => {
      const shop = shops.find((each) => each.code === 'inorder')!;
      for (const sku of ['GH1', 'GH2']) {
        // The Shopify sku is not onhand's: nothing matches the line until a listing or mapping does.
        shop.sim.createOrder({ lines: [{ inventoryItemId: shop.items[sku]!.inventoryItemId, quantity: 1 }] });
      }
      await shop.sim.webhooksIdle();
      const answers = shop.sim.deliveries.filter((delivery) => delivery.topic === 'orders/create').slice(-2);
      assert.deepEqual(
        answers.map((delivery) => delivery.status),
        [200, 200],
      );
      const inbox = await server.call({ method: 'GET', url: '/v1/intake/inbox?channel=inorder', as: 'read' });
      assert.equal(inbox.statusCode, 200, inbox.body);
      const waiting = inbox.json().lines.map((line: any) => [line.item.external_id, line.status, line.sku]);
      const variant = (sku: string) => shop.items[sku]!.variantId;
      assert.deepEqual(waiting.sort(), [
        [variant('GH1'), 'blocked', null],
        [variant('GH2'), 'blocked', null],
      ]);
      assert.match(inbox.json().lines[0].reason, /^unmapped/);
      const unmapped = await server.call({ method: 'GET', url: '/v1/unmapped?channel=inorder', as: 'read' });
      assert.equal(unmapped.statusCode, 200, unmapped.body);
      assert.deepEqual(
        unmapped
          .json()
          .items.map((item: any) => item.external_id)
          .sort(),
        [variant('GH1'), variant('GH2')],
      );
      for (const sku of ['GH1', 'GH2'])
        assert.deepEqual(await levels(store, sku), { WH1: level(10, 0), WH2: level(10, 0) }, 'nothing held yet');

      const listing = await server.call({
        method: 'PUT',
        url: '/v1/listings',
        payload: {
          listings: [
            {
              channel: 'inorder',
              external_id: shop.items.GH1!.inventoryItemId,
              sku: 'GH1',
              external_refs: { variant: variant('GH1') },
            },
          ],
        },
      });
      assert.equal(listing.statusCode, 200, listing.body);
      assert.deepEqual((await levels(store, 'GH1')).WH1, level(10, 1), 'applied before PUT /v1/listings answered');
      const mapping = await server.call({
        method: 'PUT',
        url: '/v1/listing-mappings',
        payload: { mappings: [{ channel: 'inorder', external_id: variant('GH2'), sku: 'GH2' }] },
      });
      assert.equal(mapping.statusCode, 200, mapping.body);
      assert.deepEqual((await levels(store, 'GH2')).WH1, level(10, 1), 'applied before the mapping answered');

      const after = await server.call({ method: 'GET', url: '/v1/intake/inbox?channel=inorder', as: 'read' });
      assert.deepEqual(after.json().lines, []);
      const left = await server.call({ method: 'GET', url: '/v1/unmapped?channel=inorder', as: 'read' });
      assert.deepEqual(left.json().items, []);
    });

    /** One order of 2, fulfilled by the channel and reported shipped through the API too. */
    async function shippedBothWays(shop: Shop, sku: string, shipmentId: string) {
      const order = shop.sim.createOrder({
        lines: [{ inventoryItemId: shop.items[sku]!.inventoryItemId, quantity: 2 }],
      });
      await settled(shop);
      assert.deepEqual(await levels(store, sku), { WH1: level(10, 2), WH2: level(10, 0) });
      const url = `/v1/channels/${shop.code}/orders/${numericId(order.orderId)}/lines/${numericId(order.lineItemIds[0]!)}/shipments`;
      const report = () =>
        server.call({ method: 'POST', url, payload: { id: shipmentId, quantity: 2, location: 'WH1' } });
      return { order, report };
    }

    it("counts the channel's own fulfilment when shipments are the channel's, not the API's", async () => {
      const shop = shops.find((each) => each.code === 'inorder')!;
      const { order, report } = await shippedBothWays(shop, 'SHIP1', 'wms-1');
      const reported = await report();
      assert.equal(reported.statusCode, 200, reported.body);
      assert.deepEqual(await levels(store, 'SHIP1'), { WH1: level(10, 2), WH2: level(10, 0) }, 'the API report waits');
      shop.sim.fulfillOrder(order.orderId);
      await settled(shop);
      assert.deepEqual(await levels(store, 'SHIP1'), { WH1: level(8, 0), WH2: level(10, 0) });
      assert.equal((await report()).statusCode, 200);
      assert.deepEqual(await levels(store, 'SHIP1'), { WH1: level(8, 0), WH2: level(10, 0) }, 'applied once');
    });

    it("counts the API's report when shipments are the API's, not the channel's fulfilment", async () => {
      const shop = await openShop('wms', { shipments: 'api', items: ['SHIP2'] });
      const { order, report } = await shippedBothWays(shop, 'SHIP2', 'wms-2');
      shop.sim.fulfillOrder(order.orderId);
      await settled(shop);
      assert.deepEqual(await levels(store, 'SHIP2'), { WH1: level(10, 2), WH2: level(10, 0) }, 'the fulfilment waits');
      const reported = await report();
      assert.equal(reported.statusCode, 200, reported.body);
      assert.deepEqual(reported.json().lines[0].applied, {
        WH1: { reserved: 0, shipped: 2, written_off: 0, returned: 0 },
      });
      assert.deepEqual(await levels(store, 'SHIP2'), { WH1: level(8, 0), WH2: level(10, 0) });
      assert.equal((await report()).statusCode, 200);
      shop.sim.editAvailable(shop.items.SHIP2!.inventoryItemId, shop.main, 3); // a level notice, no fact
      await settled(shop);
      assert.deepEqual(await levels(store, 'SHIP2'), { WH1: level(8, 0), WH2: level(10, 0) }, 'applied once');
    });

    it('refuses bad input to the order routes: the field named, 404 for the unknown, 403 for a read token', async () => {
      const shop = shops.find((each) => each.code === 'inorder')!;
      const { orderId, lineItemIds } = shop.sim.createOrder({
        lines: [{ inventoryItemId: shop.items.SHIP1!.inventoryItemId, quantity: 1 }],
      });
      await settled(shop);
      const order = numericId(orderId);
      const line = numericId(lineItemIds[0]!);
      const shipments = `/v1/channels/inorder/orders/${order}/lines/${line}/shipments`;
      const before = await store.canonicalDump();
      const problem = async (request: Parameters<Server['call']>[0], status: number, code: string) => {
        const response = await server.call(request);
        assert.equal(response.statusCode, status, response.body);
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
        assert.equal(response.json().code, code, response.body);
        return response.json();
      };
      const paths = (body: any) => body.errors.map((error: any) => error.path);

      const bad = (payload: object, url = shipments) =>
        problem({ method: 'POST', url, payload }, 400, 'ONH_ERR_VALIDATION');
      assert.deepEqual(paths(await bad({ id: 's', quantity: -1, location: 'WH1' })), ['/quantity']);
      assert.deepEqual(paths(await bad({ id: 's', quantity: 1 })), ['/location']);
      assert.deepEqual(paths(await bad({ id: 's', quantity: 1, location: 'WH1', extra: true })), ['/extra']);
      assert.deepEqual(paths(await bad({ id: 's', quantity: 1, location: 'WH1', occurred_at: 'yesterday' })), [
        '/occurred_at',
      ]);
      assert.deepEqual(paths(await bad({ line_key: 'x' }, '/v1/intake/inbox/retry')), ['/channel']);
      assert.deepEqual(
        paths(await problem({ method: 'GET', url: '/v1/intake/inbox?limit=0', as: 'read' }, 400, 'ONH_ERR_VALIDATION')),
        ['querystring/limit'],
      );

      for (const url of ['/v1/channels/nope/orders/1', '/v1/intake/inbox?channel=nope'])
        await problem({ method: 'GET', url, as: 'read' }, 404, 'ONH_ERR_CHANNEL_NOT_FOUND');
      await problem(
        { method: 'POST', url: '/v1/intake/inbox/retry', payload: { channel: 'nope' } },
        404,
        'ONH_ERR_CHANNEL_NOT_FOUND',
      );
      await problem(
        {
          method: 'POST',
          url: '/v1/channels/nope/orders/1/lines/1/shipments',
          payload: { id: 's', quantity: 1, location: 'WH1' },
        },
        404,
        'ONH_ERR_CHANNEL_NOT_FOUND',
      );
      await problem(
        { method: 'GET', url: '/v1/channels/inorder/orders/999', as: 'read' },
        404,
        'ONH_ERR_ORDER_LINE_NOT_FOUND',
      );
      for (const url of [
        `/v1/channels/inorder/orders/999/lines/${line}/shipments`,
        `/v1/channels/inorder/orders/${order}/lines/999/shipments`,
      ])
        await problem(
          { method: 'POST', url, payload: { id: 's', quantity: 1, location: 'WH1' } },
          404,
          'ONH_ERR_ORDER_LINE_NOT_FOUND',
        );
      await problem(
        { method: 'POST', url: '/v1/intake/inbox/retry', payload: { channel: 'inorder', line_key: 'shopify:x:1:1' } },
        404,
        'ONH_ERR_ORDER_LINE_NOT_FOUND',
      );

      await problem(
        { method: 'POST', url: '/v1/intake/inbox/retry', payload: {}, as: 'read' },
        403,
        'ONH_ERR_FORBIDDEN',
      );
      await problem(
        { method: 'POST', url: shipments, payload: { id: 's', quantity: 1, location: 'WH1' }, as: 'read' },
        403,
        'ONH_ERR_FORBIDDEN',
      );
      assert.deepEqual(await store.canonicalDump(), before, 'no refusal changed the ledger');
      // The write token may retry: nothing is blocked, nothing changes.
      const retry = await server.call({ method: 'POST', url: '/v1/intake/inbox/retry', payload: {} });
      assert.equal(retry.statusCode, 200, retry.body);
      assert.deepEqual(retry.json(), { retried: 0, changed: 0, still_blocked: [] });
    });
  });
}
