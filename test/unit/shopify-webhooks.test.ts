/**
 * Goal: Shopify webhook input is handled safely and maps to the right ledger facts
 * (src/connectors/shopify/shopify-webhooks.ts; docs/RELIABILITY.md, sections 1 and 15).
 *
 * (a) verifyShopifyWebhook accepts exactly base64(HMAC-SHA256(raw body, secret)) for the current
 *     or previous secret, and nothing else: a flipped body bit, a flipped header bit, a wrong
 *     length, hex instead of base64, a missing header, an empty body, non-canonical base64 - and it
 *     never throws (a RangeError from timingSafeEqual must never become a 500).
 * (b) shopifyWebhookToOrderLines keys facts by the business event (shop, order, line, kind), so a
 *     duplicate delivery, a retry, or the same JSON with another key order maps to the same keys;
 *     64-bit REST ids survive parsing exactly; bad shapes are `invalid`, never a throw.
 *
 * Method: tables for the named cases; fast-check for the mutations - every single-bit flip of
 * random bodies and of the header string (thousands of cases), random header strings, random
 * bodies and secret lists, and arbitrary JSON for every topic.
 * Control (run once by hand, not kept): with the canonical-base64 check removed from
 * verifyShopifyWebhook, the header bit-flip property and the non-canonical case both fail - Node's
 * base64 decoder ignores the 2 spare bits, so a lenient verifier accepts a modified header.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  parseShopifyWebhookBody,
  readShopifyWebhookHeaders,
  shopifyWebhookToOrderLines,
  signShopifyWebhook,
  verifyShopifyWebhook,
} from '../../src/connectors/shopify/shopify-webhooks.js';

const SECRET = 'shpss_current_secret';
const OLD_SECRET = 'shpss_previous_secret';
const SHOP = 'onhand-test.myshopify.com';

const flipBit = (buffer: Buffer, bit: number): Buffer => {
  const copy = Buffer.from(buffer);
  copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
  return copy;
};

describe('verifyShopifyWebhook', () => {
  const body = Buffer.from('{"id":820982911946154508,"line_items":[]}');
  const header = createHmac('sha256', SECRET).update(body).digest('base64');

  it('accepts the signature of the raw body; during a rotation, the previous secret too', () => {
    assert.equal(verifyShopifyWebhook(body, header, [SECRET]), true);
    assert.equal(signShopifyWebhook(body, SECRET), header);
    const signedWithOld = signShopifyWebhook(body, OLD_SECRET);
    assert.equal(
      verifyShopifyWebhook(body, signedWithOld, [SECRET, OLD_SECRET]),
      true,
      'old secret within the rotation window',
    );
    assert.equal(verifyShopifyWebhook(body, signedWithOld, [SECRET]), false, 'old secret after the rotation window');
    assert.equal(
      verifyShopifyWebhook(body, header, [OLD_SECRET, SECRET]),
      true,
      'order of the secrets does not matter',
    );
  });

  const rejected: [string, Buffer, string | undefined, string[]][] = [
    ['a flipped body bit', flipBit(body, 13), header, [SECRET]],
    ['a flipped header bit', body, String.fromCharCode(header.charCodeAt(0) ^ 1) + header.slice(1), [SECRET]],
    ['hex instead of base64', body, createHmac('sha256', SECRET).update(body).digest('hex'), [SECRET]],
    [
      'a digest of 31 bytes',
      body,
      createHmac('sha256', SECRET).update(body).digest().subarray(0, 31).toString('base64'),
      [SECRET],
    ],
    [
      'a digest of 33 bytes',
      body,
      Buffer.concat([createHmac('sha256', SECRET).update(body).digest(), Buffer.from([0])]).toString('base64'),
      [SECRET],
    ],
    ['base64 without padding', body, header.replace(/=$/, ''), [SECRET]],
    ['base64url', body, createHmac('sha256', SECRET).update(body).digest('base64url'), [SECRET]],
    ['trailing whitespace', body, `${header} `, [SECRET]],
    ['two headers joined', body, `${header}, ${header}`, [SECRET]],
    ['a missing header', body, undefined, [SECRET]],
    ['an empty header', body, '', [SECRET]],
    ['the wrong secret', body, header, ['another']],
    ['no secrets', body, header, []],
    ['an empty secret (skipped, never a key)', body, createHmac('sha256', '').update(body).digest('base64'), ['']],
    [
      'an empty body, even correctly signed',
      Buffer.alloc(0),
      createHmac('sha256', SECRET).update('').digest('base64'),
      [SECRET],
    ],
    ['SHA-1 instead of SHA-256', body, createHmac('sha1', SECRET).update(body).digest('base64'), [SECRET]],
  ];
  for (const [name, candidateBody, candidateHeader, secrets] of rejected) {
    it(`rejects ${name}`, () => {
      assert.equal(verifyShopifyWebhook(candidateBody, candidateHeader, secrets), false);
    });
  }

  it('rejects non-canonical base64 that decodes to the right 32 bytes', () => {
    // 32 bytes = 43 base64 digits + "="; the 43rd digit carries 4 data bits and 2 spare bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(header[42]!);
    const variant = `${header.slice(0, 42)}${alphabet[last | 1]!}=`;
    assert.notEqual(variant, header);
    assert.deepEqual(
      Buffer.from(variant, 'base64'),
      Buffer.from(header, 'base64'),
      'Node decodes both to the same digest',
    );
    assert.equal(verifyShopifyWebhook(body, variant, [SECRET]), false);
  });

  it('never throws on values a caller could pass by mistake', () => {
    const odd: [unknown, unknown, unknown][] = [
      ['not a buffer', header, [SECRET]],
      [null, header, [SECRET]],
      [body, 42, [SECRET]],
      [body, header, 'not-an-array'],
      [body, header, [null, 7, SECRET]],
      [body, header, null],
    ];
    for (const [candidateBody, candidateHeader, secrets] of odd) {
      assert.doesNotThrow(() =>
        verifyShopifyWebhook(candidateBody as Buffer, candidateHeader as string, secrets as string[]),
      );
    }
    assert.equal(
      verifyShopifyWebhook(body, header, [null, 7, SECRET] as unknown as string[]),
      true,
      'odd entries are skipped, the real secret still works',
    );
  });

  it('property: any single-bit flip of the body is rejected (2,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), (bytes, seed) => {
        const original = Buffer.from(bytes);
        const signature = signShopifyWebhook(original, SECRET);
        assert.equal(verifyShopifyWebhook(original, signature, [SECRET, OLD_SECRET]), true);
        const mutated = flipBit(original, seed % (original.length * 8));
        return verifyShopifyWebhook(mutated, signature, [SECRET, OLD_SECRET]) === false;
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: any single-bit flip of the header is rejected (2,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), (bytes, seed) => {
        const original = Buffer.from(bytes);
        const signature = Buffer.from(signShopifyWebhook(original, SECRET), 'latin1');
        const mutated = flipBit(signature, seed % (signature.length * 8)).toString('latin1');
        return verifyShopifyWebhook(original, mutated, [SECRET, OLD_SECRET]) === false;
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: random headers, bodies and secret lists are never accepted and never throw (3,000 cases)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.base64String({ minLength: 40, maxLength: 48 }),
          fc.constant(undefined),
        ),
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }),
        (bytes, candidateHeader, secrets) => {
          const verdict = verifyShopifyWebhook(Buffer.from(bytes), candidateHeader, secrets);
          return verdict === false;
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

// -----------------------------------------------------------------------------------------------

/** REST payloads as Shopify sends them (trimmed; fields from docs/channels/shopify.md and public samples). */
const orderCreated = {
  id: 5600000000101,
  admin_graphql_api_id: 'gid://shopify/Order/5600000000101',
  name: '#1001',
  created_at: '2026-11-23T10:00:00Z',
  updated_at: '2026-11-23T10:00:00Z',
  cancelled_at: null,
  line_items: [
    {
      id: 14000000000201,
      admin_graphql_api_id: 'gid://shopify/LineItem/14000000000201',
      variant_id: 45000000000301,
      product_id: 8000000000301,
      sku: 'MUG-RED',
      quantity: 2,
    },
    {
      id: 14000000000202,
      admin_graphql_api_id: 'gid://shopify/LineItem/14000000000202',
      variant_id: 45000000000302,
      sku: '',
      quantity: 1,
    },
    { id: 14000000000203, variant_id: null, sku: null, quantity: 1, title: 'Gift wrapping (custom item)' },
    { id: 14000000000204, variant_id: 45000000000303, sku: 'ZERO', quantity: 0 },
  ],
  refunds: [],
};

const refundCreated = {
  id: 9200000000401,
  order_id: 5600000000101,
  created_at: '2026-11-24T09:30:00Z',
  restock: true,
  refund_line_items: [
    {
      id: 10000000000501,
      line_item_id: 14000000000201,
      location_id: 65000000000001,
      quantity: 1,
      restock_type: 'return',
      line_item: { id: 14000000000201, variant_id: 45000000000301, sku: 'MUG-RED', quantity: 2 },
    },
    {
      id: 10000000000502,
      line_item_id: 14000000000202,
      location_id: 65000000000001,
      quantity: 1,
      restock_type: 'no_restock',
      line_item: { id: 14000000000202, variant_id: 45000000000302, sku: '', quantity: 1 },
    },
  ],
};

const orderCancelled = {
  ...orderCreated,
  cancelled_at: '2026-11-25T08:00:00Z',
  updated_at: '2026-11-25T08:00:00Z',
  refunds: [refundCreated],
};

describe('shopifyWebhookToOrderLines', () => {
  it('orders/create: one order fact per stocked line, keyed shop:order:line:order', () => {
    const event = shopifyWebhookToOrderLines('orders/create', orderCreated, SHOP);
    assert.deepEqual(event, {
      kind: 'lines',
      topic: 'orders/create',
      lines: [
        {
          key: `shopify:${SHOP}:5600000000101:14000000000201:order`,
          kind: 'order',
          externalId: 'gid://shopify/ProductVariant/45000000000301',
          sku: 'MUG-RED',
          quantity: 2,
          orderReference: '5600000000101',
          occurredAt: Date.parse('2026-11-23T10:00:00Z'),
          variantId: 'gid://shopify/ProductVariant/45000000000301',
          lineItemId: '14000000000201',
          locationId: null,
        },
        {
          key: `shopify:${SHOP}:5600000000101:14000000000202:order`,
          kind: 'order',
          externalId: 'gid://shopify/ProductVariant/45000000000302',
          sku: null,
          quantity: 1,
          orderReference: '5600000000101',
          occurredAt: Date.parse('2026-11-23T10:00:00Z'),
          variantId: 'gid://shopify/ProductVariant/45000000000302',
          lineItemId: '14000000000202',
          locationId: null,
        },
      ],
    });
  });

  it('orders/cancelled: a cancellation per line, minus units already refunded; occurredAt = cancelled_at', () => {
    const event = shopifyWebhookToOrderLines('orders/cancelled', orderCancelled, SHOP);
    assert.equal(event.kind, 'lines');
    assert.deepEqual(
      event.kind === 'lines' ? event.lines.map((line) => [line.key, line.kind, line.quantity, line.occurredAt]) : [],
      // Line 201: 2 ordered, 1 returned -> 1 to release. Line 202: 1 ordered, 1 refunded without restock -> nothing.
      [
        [
          `shopify:${SHOP}:5600000000101:14000000000201:cancellation`,
          'cancellation',
          1,
          Date.parse('2026-11-25T08:00:00Z'),
        ],
      ],
    );
    assert.equal(
      shopifyWebhookToOrderLines('orders/cancelled', orderCreated, SHOP).kind,
      'invalid',
      'orders/cancelled without cancelled_at',
    );
  });

  it('refunds/create: a return per restocked refund line, keyed shop:order:refund:refund line:return; no_restock skipped', () => {
    const event = shopifyWebhookToOrderLines('refunds/create', refundCreated, SHOP);
    assert.deepEqual(event.kind === 'lines' ? event.lines : null, [
      {
        key: `shopify:${SHOP}:5600000000101:9200000000401:10000000000501:return`,
        kind: 'return',
        externalId: 'gid://shopify/ProductVariant/45000000000301',
        sku: 'MUG-RED',
        quantity: 1,
        orderReference: '5600000000101',
        occurredAt: Date.parse('2026-11-24T09:30:00Z'),
        variantId: 'gid://shopify/ProductVariant/45000000000301',
        lineItemId: '14000000000201',
        locationId: 'gid://shopify/Location/65000000000001',
      },
    ]);
    const cancelRestock = {
      ...refundCreated,
      refund_line_items: [{ ...refundCreated.refund_line_items[0]!, restock_type: 'cancel' }],
    };
    const cancelled = shopifyWebhookToOrderLines('refunds/create', cancelRestock, SHOP);
    assert.deepEqual(cancelled.kind === 'lines' ? cancelled.lines.map((line) => [line.key, line.kind]) : null, [
      [`shopify:${SHOP}:5600000000101:9200000000401:10000000000501:cancellation`, 'cancellation'],
    ]);
  });

  it('inventory_levels/update: a level signal (for reconciliation and echo detection), never order lines', () => {
    const event = shopifyWebhookToOrderLines(
      'inventory_levels/update',
      {
        inventory_item_id: 44000000000301,
        location_id: 65000000000001,
        available: 7,
        updated_at: '2026-11-23T10:00:01Z',
        admin_graphql_api_id: 'gid://shopify/InventoryLevel/65000000000001?inventory_item_id=44000000000301',
      },
      SHOP,
    );
    assert.deepEqual(event, {
      kind: 'level',
      topic: 'inventory_levels/update',
      inventoryItemId: 'gid://shopify/InventoryItem/44000000000301',
      locationId: 'gid://shopify/Location/65000000000001',
      available: 7,
      updatedAt: Date.parse('2026-11-23T10:00:01Z'),
    });
  });

  it('duplicate deliveries, retries and re-serialised JSON map to the same keys', () => {
    const first = shopifyWebhookToOrderLines('orders/create', JSON.parse(JSON.stringify(orderCreated)), SHOP);
    const reordered = Object.fromEntries(Object.entries(orderCreated).reverse());
    const second = shopifyWebhookToOrderLines('orders/create', reordered, SHOP);
    const third = shopifyWebhookToOrderLines('orders/create', orderCreated, SHOP.toUpperCase());
    assert.deepEqual(second, first);
    assert.deepEqual(third, first, 'the shop domain header is case-insensitive');
    const keys = first.kind === 'lines' ? first.lines.map((line) => line.key) : [];
    assert.equal(new Set(keys).size, keys.length, 'one key per line');
  });

  it('64-bit ids: exact through parseShopifyWebhookBody; plain JSON.parse rounding is refused, not used', () => {
    const raw = Buffer.from(
      '{"id":9007199254740993123,"created_at":"2026-11-23T10:00:00Z","note":"id 12345678901234567890 in text stays text",' +
        '"line_items":[{"id":18446744073709551615,"variant_id":12345678901234567890,"sku":"BIG","quantity":1,"price":"1.50"}]}',
    );
    const parsed = parseShopifyWebhookBody(raw);
    assert.ok(parsed.ok);
    assert.equal((parsed.payload as { note: string }).note, 'id 12345678901234567890 in text stays text');
    const event = shopifyWebhookToOrderLines('orders/create', parsed.payload, SHOP);
    assert.deepEqual(event.kind === 'lines' ? event.lines.map((line) => [line.key, line.externalId]) : event, [
      [
        `shopify:${SHOP}:9007199254740993123:18446744073709551615:order`,
        'gid://shopify/ProductVariant/12345678901234567890',
      ],
    ]);
    const lossy = shopifyWebhookToOrderLines('orders/create', JSON.parse(raw.toString()), SHOP);
    assert.equal(lossy.kind, 'invalid');
    // When the exact gid is in the payload, it wins over a rounded number.
    const withGid = shopifyWebhookToOrderLines(
      'orders/create',
      { ...orderCreated, id: 5600000000101, admin_graphql_api_id: 'gid://shopify/Order/5600000000101' },
      SHOP,
    );
    assert.equal(withGid.kind === 'lines' && withGid.lines[0]!.orderReference, '5600000000101');
    assert.deepEqual(parseShopifyWebhookBody(Buffer.from('{"truncated":')).ok, false);
  });

  const invalid: [string, string, unknown, string][] = [
    ['no line_items', 'orders/create', { ...orderCreated, line_items: undefined }, SHOP],
    [
      'a negative quantity',
      'orders/create',
      { ...orderCreated, line_items: [{ id: 1, variant_id: 2, quantity: -1 }] },
      SHOP,
    ],
    [
      'a fractional quantity',
      'orders/create',
      { ...orderCreated, line_items: [{ id: 1, variant_id: 2, quantity: 1.5 }] },
      SHOP,
    ],
    ['an id that is not a number', 'orders/create', { ...orderCreated, id: 'abc' }, SHOP],
    ['a bad timestamp', 'orders/create', { ...orderCreated, created_at: 'yesterday' }, SHOP],
    ['an array instead of an object', 'refunds/create', [refundCreated], SHOP],
    [
      'a refund line without its line item',
      'refunds/create',
      { ...refundCreated, refund_line_items: [{ id: 1, line_item_id: 2, quantity: 1, restock_type: 'return' }] },
      SHOP,
    ],
    [
      'a level without available',
      'inventory_levels/update',
      { inventory_item_id: 1, location_id: 2, updated_at: '2026-11-23T10:00:01Z' },
      SHOP,
    ],
    ['a shop domain that is not *.myshopify.com', 'orders/create', orderCreated, 'evil.example.com'],
    ['a shop domain with a colon', 'orders/create', orderCreated, 'a:b.myshopify.com'],
    ['null', 'orders/create', null, SHOP],
  ];
  for (const [name, topic, payload, shop] of invalid) {
    it(`invalid, with a reason: ${name}`, () => {
      const event = shopifyWebhookToOrderLines(topic, payload, shop);
      assert.equal(event.kind, 'invalid');
      assert.ok(event.kind === 'invalid' && event.reason.length > 0);
    });
  }

  it('other topics are ignored', () => {
    assert.deepEqual(shopifyWebhookToOrderLines('products/update', { id: 1 }, SHOP), {
      kind: 'ignored',
      topic: 'products/update',
    });
  });

  it('property: arbitrary JSON on every topic never throws and is lines, level, ignored or invalid (3,000 cases)', () => {
    const topics = [
      'orders/create',
      'orders/cancelled',
      'refunds/create',
      'inventory_levels/update',
      'app/uninstalled',
    ];
    const mutatedOrder = fc.record({
      id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
      created_at: fc.oneof(fc.constant('2026-11-23T10:00:00Z'), fc.string()),
      cancelled_at: fc.oneof(fc.constant('2026-11-25T08:00:00Z'), fc.constant(null)),
      line_items: fc.array(
        fc.record({
          id: fc.oneof(fc.nat(), fc.string()),
          variant_id: fc.oneof(fc.nat(), fc.constant(null)),
          quantity: fc.oneof(fc.integer(), fc.double()),
          sku: fc.oneof(fc.string(), fc.constant(null)),
        }),
        { maxLength: 5 },
      ),
      refunds: fc.anything(),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...topics),
        fc.oneof(fc.jsonValue(), mutatedOrder, fc.anything()),
        fc.oneof(fc.constant(SHOP), fc.string()),
        (topic, payload, shop) => {
          const event = shopifyWebhookToOrderLines(topic, payload, shop);
          if (!['lines', 'level', 'ignored', 'invalid'].includes(event.kind)) return false;
          if (event.kind === 'lines')
            return event.lines.every(
              (line) =>
                line.key.startsWith(`shopify:${SHOP}:`) && Number.isSafeInteger(line.quantity) && line.quantity > 0,
            );
          return true;
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('readShopifyWebhookHeaders', () => {
  it("reads Node's lower-cased headers; a repeated header counts as missing", () => {
    const headers = readShopifyWebhookHeaders({
      'x-shopify-topic': 'orders/create',
      'x-shopify-hmac-sha256': ['a', 'b'],
      'x-shopify-shop-domain': SHOP,
      'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
      'x-shopify-triggered-at': '2026-11-23T10:00:00.000Z',
      'x-shopify-api-version': '2026-04',
    });
    assert.deepEqual(headers, {
      topic: 'orders/create',
      hmac: undefined,
      shopDomain: SHOP,
      webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      eventId: '98880550-7158-44d4-b7cd-2c97c8a091b5',
      triggeredAt: '2026-11-23T10:00:00.000Z',
      apiVersion: '2026-04',
    });
  });
});
