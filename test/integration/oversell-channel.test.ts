/**
 * Goal: GET /v1/oversells names, beside the movement's key and the pool in its reason, the
 * onhand channel and the channel order line an oversell was booked for (issue 10, routing), on
 * every store; a fact not from a channel order line names none, even when its key looks like a
 * line's step key.
 *
 * Method: a signed Shopify orders/create through app.inject (test/support/api-server.ts) for
 * three units where the channel's whole pool holds one, and a plain order fact through the
 * ledger; then the list as a client reads it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signShopifyWebhook } from '../../src/connectors/shopify/shopify-webhooks.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { STORES } from '../support/stores.js';

const shopDomain = 'short.myshopify.com';
const secret = 'short-webhook-secret';

for (const factory of STORES) {
  describe(`${factory.name}: the oversell list names the channel`, { skip: factory.skip }, () => {
    let s: ApiServer;
    before(async () => {
      s = await startApiServer(factory);
      const now = Date.now();
      await s.store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await s.store.catalogue.upsertVariants([{ sku: 'C', name: 'C' }], now);
      const receipt = {
        type: 'receipt' as const,
        key: 'stock-C',
        payloadHash: 'stock',
        sku: 'C',
        location: 'WH1',
        quantity: 1,
      };
      assert.equal((await s.ledger.submit([receipt]))[0]?.status, 'applied');
      await s.store.availability.upsertChannels(
        [
          {
            code: 'short-shop',
            name: 'Short',
            platform: 'shopify',
            locations: ['WH1'],
            settings: {
              connector: {
                shop_domain: shopDomain,
                access_token: 'shpat_short',
                location_id: 'gid://shopify/Location/1',
                webhook_secret: secret,
              },
            },
          },
        ],
        now,
      );
    });
    after(async () => s?.close());

    it('names the channel and the order line of a channel order’s oversell, and none for a plain fact', async () => {
      const body = JSON.stringify({
        id: 5101,
        created_at: '2026-03-02T08:00:00Z',
        updated_at: '2026-03-02T08:00:00Z',
        line_items: [{ id: 6101, variant_id: 7101, sku: 'C', quantity: 3 }],
      });
      const delivered = await s.call({
        method: 'POST',
        url: '/webhooks/shopify/short-shop',
        as: null,
        payload: body,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-shop-domain': shopDomain,
          'x-shopify-hmac-sha256': signShopifyWebhook(body, secret),
        },
      });
      assert.equal(delivered.statusCode, 200, delivered.body);
      // A key shaped like a line's step key, and an order id, that no channel order line has.
      const [plain] = await s.ledger.submit([
        {
          type: 'order',
          key: 'pos:till:5101:1:0',
          payloadHash: 'plain',
          sku: 'C',
          location: 'WH1',
          quantity: 1,
          pool: ['WH1'],
          source: { system: 'pos', reference: '5101' },
        },
      ]);
      assert.equal(plain?.status, 'applied');

      const response = await s.call({ method: 'GET', url: '/v1/oversells', as: 'read' });
      assert.equal(response.statusCode, 200, response.body);
      const items = response.json().items as Record<string, unknown>[];
      assert.deepEqual(
        items.map((item) => [item.key, item.channel, item.order_line, item.oversold]),
        [
          ['pos:till:5101:1:0', null, null, 1],
          [`shopify:${shopDomain}:5101:6101:1:0`, 'short-shop', `shopify:${shopDomain}:5101:6101`, 2],
        ],
      );
      assert.match(String(items[1]!.reason), /pool WH1 short by 2/);
    });
  });
}
