/**
 * Goal: an order-line event onhand does not understand waits in the intake inbox with its
 * reason and is never applied halfway (issue 10, bad input; docs/channels/shopify.md, Order
 * lifecycle; src/ingest/not-understood.ts), on every store:
 * - a Shopify fulfilment with a status onhand does not know, or a refund with an unknown
 *   restock_type, is answered 200 and holds its line: no shipment, no restock, and later events
 *   of the line are folded but not applied; the rest of the delivery is applied;
 * - a retry (the sweep's, the API's) keeps the line held with the same reason; only a retry with
 *   `dismiss` lets it go, and then the line is applied whole from what was understood;
 * - a redelivery of a dismissed event holds nothing again; the same event understood later is
 *   applied as usual;
 * - an event of an unknown kind from a poll holds a line that was already applied, keeping what
 *   it holds.
 *
 * Method: signed webhooks through app.inject (test/support/api-server.ts) and the intake
 * directly for the poll case; levels read from the ledger after each step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OrderLineEvent } from '../../src/connectors/channel-intake.js';
import { signShopifyWebhook } from '../../src/connectors/shopify/shopify-webhooks.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { referenceTime } from '../support/http-harness.js';
import { STORES } from '../support/stores.js';

const shopDomain = 'held.myshopify.com';
const secret = 'held-webhook-secret';
const lineKey = `shopify:${shopDomain}:5001:6001`;

for (const factory of STORES) {
  describe(`${factory.name}: order-line events not understood`, { skip: factory.skip }, () => {
    let s: ApiServer;
    before(async () => {
      s = await startApiServer(factory);
      const now = Date.now();
      await s.store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await s.store.catalogue.upsertVariants(
        ['A', 'B'].map((sku) => ({ sku, name: sku })),
        now,
      );
      const receipts = ['A', 'B'].map((sku) => ({
        type: 'receipt' as const,
        key: `stock-${sku}`,
        payloadHash: 'stock',
        sku,
        location: 'WH1',
        quantity: 10,
      }));
      assert.ok((await s.ledger.submit(receipts)).every((answer) => answer.status === 'applied'));
      await s.store.availability.upsertChannels(
        [
          {
            code: 'held',
            name: 'Held',
            platform: 'shopify',
            locations: ['WH1'],
            settings: {
              connector: {
                shop_domain: shopDomain,
                access_token: 'shpat_held',
                location_id: 'gid://shopify/Location/1',
                webhook_secret: secret,
              },
            },
          },
          { code: 'poll', name: 'Poll', platform: 'bol', locations: ['WH1'], settings: {} },
        ],
        now,
      );
    });
    after(async () => s?.close());

    const deliver = async (topic: string, payload: unknown) => {
      const body = JSON.stringify(payload);
      const response = await s.call({
        method: 'POST',
        url: '/webhooks/shopify/held',
        as: null,
        payload: body,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': topic,
          'x-shopify-shop-domain': shopDomain,
          'x-shopify-hmac-sha256': signShopifyWebhook(body, secret),
        },
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { changed: number; blocked: number; invalid: number };
    };
    const level = async (sku: string) => {
      const at = (await s.store.ledger.getStock(sku, Date.now()))!.locations.find((l) => l.location === 'WH1')!;
      return { onHand: at.on_hand, reserved: at.reserved };
    };
    const order = (quantity: number, updatedAt: string) => ({
      id: 5001,
      created_at: '2026-03-02T08:00:00Z',
      updated_at: updatedAt,
      line_items: [
        { id: 6001, variant_id: 7001, sku: 'A', quantity },
        { id: 6002, variant_id: 7002, sku: 'B', quantity: 1 },
      ],
    });
    const fulfilment = (status: string) => ({
      id: 8001,
      order_id: 5001,
      status,
      location_id: 1,
      created_at: '2026-03-02T10:00:00Z',
      updated_at: '2026-03-02T10:00:00Z',
      line_items: [{ id: 6001, variant_id: 7001, sku: 'A', quantity: 2 }],
    });
    const retry = (payload: object) =>
      s.call({ method: 'POST', url: '/v1/intake/inbox/retry', payload: { channel: 'held', ...payload } });

    it('holds the line on an unknown fulfilment status until dismissed, then applies it whole', async () => {
      assert.equal((await deliver('orders/create', order(2, '2026-03-02T08:00:00Z'))).changed, 2);
      assert.deepEqual(await level('A'), { onHand: 10, reserved: 2 });

      // Not a shipment: answered 200, the line waits in the inbox with the reason.
      assert.deepEqual(await deliver('fulfillments/create', fulfilment('in_transit')), {
        events: 1,
        changed: 0,
        unchanged: 0,
        blocked: 1,
        invalid: 1,
        ignored: false,
      });
      assert.deepEqual(await level('A'), { onHand: 10, reserved: 2 });
      const inbox = await s.call({ method: 'GET', url: '/v1/intake/inbox?channel=held', as: 'read' });
      const lines = inbox.json().lines as { line_key: string; status: string; reason: string }[];
      assert.deepEqual(
        lines.map((line) => [line.line_key, line.status]),
        [[lineKey, 'blocked']],
      );
      const reason = lines[0]!.reason;
      assert.match(reason, /^not understood: event fulfillment:8001: fulfillment 8001 has status "in_transit"/);

      // An edit of the held line is folded, not applied; the other line of the order is.
      const edit = await deliver('orders/updated', order(3, '2026-03-02T09:00:00Z'));
      assert.deepEqual([edit.changed, edit.blocked], [0, 1]);
      assert.deepEqual(await level('A'), { onHand: 10, reserved: 2 });
      assert.deepEqual(await level('B'), { onHand: 10, reserved: 1 });

      // A retry keeps it held, with the same reason; dismiss needs the line.
      const again = await retry({ line_key: lineKey });
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(again.json().still_blocked, [{ line_key: lineKey, reason }]);
      assert.equal((await retry({ dismiss: true })).statusCode, 400);
      assert.deepEqual(await level('A'), { onHand: 10, reserved: 2 });

      // Dismissed: the line is applied from what was understood (the edit to 3; no shipment).
      const dismissed = await retry({ line_key: lineKey, dismiss: true });
      assert.deepEqual(dismissed.json(), { retried: 1, changed: 1, still_blocked: [] });
      assert.deepEqual(await level('A'), { onHand: 10, reserved: 3 });
      const empty = await s.call({ method: 'GET', url: '/v1/intake/inbox?channel=held', as: 'read' });
      assert.deepEqual(empty.json().lines, []);

      // The same event delivered again holds nothing; understood later, it ships.
      const redelivered = await deliver('fulfillments/update', fulfilment('in_transit'));
      assert.deepEqual([redelivered.invalid, redelivered.blocked], [1, 0]);
      assert.deepEqual(await level('A'), { onHand: 10, reserved: 3 });
      assert.equal((await deliver('fulfillments/update', fulfilment('success'))).changed, 1);
      assert.deepEqual(await level('A'), { onHand: 8, reserved: 1 });
    });

    it('holds the line on an unknown restock_type instead of refusing the whole delivery', async () => {
      const refund = {
        id: 9001,
        order_id: 5001,
        created_at: '2026-03-02T11:00:00Z',
        refund_line_items: [
          {
            id: 9101,
            line_item_id: 6002,
            quantity: 1,
            restock_type: 'cancel',
            line_item: { id: 6002, variant_id: 7002, sku: 'B', quantity: 1 },
          },
          {
            id: 9102,
            line_item_id: 6001,
            quantity: 1,
            restock_type: 'scrap',
            line_item: { id: 6001, variant_id: 7001, sku: 'A', quantity: 3 },
          },
        ],
      };
      const answer = await deliver('refunds/create', refund);
      assert.deepEqual([answer.changed, answer.blocked, answer.invalid], [1, 1, 1]);
      assert.deepEqual(await level('B'), { onHand: 10, reserved: 0 }, 'the understood refund line is applied');
      assert.deepEqual(await level('A'), { onHand: 8, reserved: 1 }, 'the other is not, nor anything after it');
      const line = await s.store.orders.getLine('held', lineKey);
      assert.equal(line?.status, 'blocked');
      assert.match(line?.reason ?? '', /restock_type "scrap", which onhand does not know/);
    });

    it('an event of an unknown kind from a poll holds a line already applied, keeping what it holds', async () => {
      const intake = new OrderLineIntake({
        store: s.store,
        ledger: s.ledger,
        clock: { now: () => referenceTime },
        match: storeOrderItemMatcher(s.store.availability),
      });
      const channel = (await s.store.availability.getChannel('poll'))!;
      const base = {
        lineKey: 'bol:acct:7:1',
        orderId: '7',
        lineId: '1',
        item: { externalId: 'offer-7', sku: 'B', barcode: null },
        occurredAt: referenceTime - 60_000,
      };
      const ordered: OrderLineEvent = {
        ...base,
        eventId: 'order',
        fact: { kind: 'ordered', quantity: 4, version: 1, fulfilledBy: 'merchant', locationId: null },
      };
      const first = await intake.ingest(channel, [ordered]);
      assert.equal(first.changed, 1, JSON.stringify(first));
      assert.deepEqual(await level('B'), { onHand: 10, reserved: 4 });
      const odd = { ...base, eventId: 'drone', fact: { kind: 'teleported', quantity: 4 } } as unknown as OrderLineEvent;
      const cancel: OrderLineEvent = { ...base, eventId: 'cancel', fact: { kind: 'cancelled', quantity: null } };
      const report = await intake.ingest(channel, [odd, cancel]);
      assert.deepEqual(
        [report.changed, report.invalid.map((event) => event.reason), report.blocked.length],
        [0, ['unknown order line event kind "teleported"'], 1],
      );
      assert.deepEqual(await level('B'), { onHand: 10, reserved: 4 }, 'the cancellation waits with the line');
      // The sweep's retry keeps it held.
      const swept = await intake.retryDue({ channel: 'poll' });
      assert.deepEqual([swept.changed, swept.blocked.map((line) => line.lineKey)], [0, ['bol:acct:7:1']]);
      assert.equal((await intake.retry('poll', 'bol:acct:7:1', { dismiss: true })).kind, 'changed');
      assert.deepEqual(await level('B'), { onHand: 10, reserved: 0 });
    });
  });
}
