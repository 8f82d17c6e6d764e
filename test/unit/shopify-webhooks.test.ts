/**
 * Goal: Shopify webhook input is handled safely and maps to the right order-line events
 * (src/connectors/shopify/shopify-webhooks.ts, shopify-order-events.ts; docs/RELIABILITY.md,
 * sections 1 and 15; the mapping table is docs/channels/shopify.md, Order lifecycle).
 *
 * (a) verifyShopifyWebhook accepts exactly base64(HMAC-SHA256(raw body, secret)) for the current
 *     or previous secret, and nothing else: a flipped body bit, a flipped header bit, a wrong
 *     length, hex instead of base64, a missing header, an empty body, non-canonical base64 - and it
 *     never throws (a RangeError from timingSafeEqual must never become a 500).
 * (b) shopifyWebhookToEvents maps every order topic to OrderLineEvents keyed by the line
 *     (shop, order, line item) and the business event (order, cancel, fulfillment:<id>,
 *     refund:<refund line id>), so a duplicate delivery, a retry, the same JSON with another key
 *     order, or a refund seen inside an order body and as its own webhook map to the same ids;
 *     64-bit REST ids survive parsing exactly; bad shapes are `invalid` naming the field path,
 *     never a throw.
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
import { limits } from '../../src/core/limits.js';
import {
  shopifyOrderTopics,
  shopifyRestockTypes,
  shopifyWebhookToEvents,
} from '../../src/connectors/shopify/shopify-order-events.js';
import {
  parseShopifyWebhookBody,
  readShopifyWebhookHeaders,
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
const ORDER = '5600000000101';
const LINE_MUG = '14000000000201';
const LINE_CUP = '14000000000202';
const VARIANT_MUG = 'gid://shopify/ProductVariant/45000000000301';
const VARIANT_CUP = 'gid://shopify/ProductVariant/45000000000302';
const WAREHOUSE = 'gid://shopify/Location/65000000000001';
const SHOP_FLOOR = 'gid://shopify/Location/65000000000002';
const lineKey = (line: string, order = ORDER) => `shopify:${SHOP}:${order}:${line}`;
const at = (iso: string) => Date.parse(iso);
const mug = { externalId: VARIANT_MUG, sku: 'MUG-RED', barcode: null };
const cup = { externalId: VARIANT_CUP, sku: null, barcode: null };

const orderCreated = {
  id: 5600000000101,
  admin_graphql_api_id: 'gid://shopify/Order/5600000000101',
  name: '#1001',
  created_at: '2026-11-23T10:00:00Z',
  updated_at: '2026-11-23T10:00:00Z',
  cancelled_at: null,
  location_id: null,
  line_items: [
    {
      id: 14000000000201,
      admin_graphql_api_id: 'gid://shopify/LineItem/14000000000201',
      variant_id: 45000000000301,
      product_id: 8000000000301,
      sku: 'MUG-RED',
      quantity: 2,
      current_quantity: 2,
    },
    {
      id: 14000000000202,
      admin_graphql_api_id: 'gid://shopify/LineItem/14000000000202',
      variant_id: 45000000000302,
      sku: '',
      quantity: 1,
    },
    { id: 14000000000203, variant_id: null, sku: null, quantity: 1, title: 'Gift wrapping (custom item)' },
  ],
  refunds: [],
  fulfillments: [],
};

const fulfillmentLine = (id: number, variant: number | null, sku: string | null, quantity: number) => ({
  id,
  admin_graphql_api_id: `gid://shopify/LineItem/${id}`,
  variant_id: variant,
  sku,
  quantity,
  fulfillment_status: 'fulfilled',
});

const fulfillmentCreated = {
  id: 7300000000601,
  admin_graphql_api_id: 'gid://shopify/Fulfillment/7300000000601',
  order_id: 5600000000101,
  status: 'success',
  location_id: 65000000000002,
  created_at: '2026-11-23T15:00:00Z',
  updated_at: '2026-11-23T15:00:00Z',
  tracking_number: null,
  line_items: [
    fulfillmentLine(14000000000201, 45000000000301, 'MUG-RED', 2),
    fulfillmentLine(14000000000202, 45000000000302, '', 0),
    fulfillmentLine(14000000000203, null, null, 1),
  ],
};

const fulfillmentCancelled = { ...fulfillmentCreated, status: 'cancelled', updated_at: '2026-11-24T08:00:00Z' };

const refundLine = (id: number, lineItem: number, quantity: number, restock: unknown, location: number | null) => ({
  id,
  line_item_id: lineItem,
  location_id: location,
  quantity,
  restock_type: restock,
  subtotal: '10.00',
  line_item:
    lineItem === 14000000000201
      ? { id: lineItem, variant_id: 45000000000301, sku: 'MUG-RED', quantity: 2 }
      : { id: lineItem, variant_id: 45000000000302, sku: '', quantity: 1 },
});

const refundCreated = {
  id: 9200000000401,
  order_id: 5600000000101,
  created_at: '2026-11-24T09:30:00Z',
  restock: true,
  refund_line_items: [
    refundLine(10000000000501, 14000000000201, 1, 'return', 65000000000001),
    refundLine(10000000000502, 14000000000202, 1, 'no_restock', null),
    refundLine(10000000000503, 14000000000202, 0, 'cancel', 65000000000001),
  ],
};

/** The same order later: fulfilled once, the fulfilment cancelled, one unit returned, then cancelled. */
const orderLater = {
  ...orderCreated,
  updated_at: '2026-11-25T08:00:00Z',
  cancelled_at: '2026-11-25T08:00:00Z',
  refunds: [refundCreated],
  fulfillments: [fulfillmentCancelled],
};

const linesOf = (event: ReturnType<typeof shopifyWebhookToEvents>) => {
  assert.equal(event.kind, 'lines', event.kind === 'invalid' ? event.reason : event.kind);
  return event.kind === 'lines' ? event.events : [];
};

describe('shopifyWebhookToEvents: order bodies', () => {
  it('orders/create: an ordered fact per stocked line under eventId "order"; custom items skipped', () => {
    const event = shopifyWebhookToEvents('orders/create', orderCreated, SHOP);
    const version = at('2026-11-23T10:00:00Z');
    const ordered = (quantity: number) => ({
      kind: 'ordered',
      quantity,
      version,
      fulfilledBy: 'merchant',
      locationId: null,
    });
    assert.deepEqual(event, {
      kind: 'lines',
      topic: 'orders/create',
      events: [
        {
          lineKey: lineKey(LINE_MUG),
          eventId: 'order',
          orderId: ORDER,
          lineId: LINE_MUG,
          item: mug,
          occurredAt: version,
          fact: ordered(2),
        },
        {
          lineKey: lineKey(LINE_CUP),
          eventId: 'order',
          orderId: ORDER,
          lineId: LINE_CUP,
          item: cup,
          occurredAt: version,
          fact: ordered(1),
        },
      ],
    });
  });

  const orderTable: [string, string, Record<string, unknown>, [string, string, unknown][]][] = [
    [
      'an edit lowers current_quantity: it wins over quantity; version = updated_at',
      'orders/updated',
      {
        ...orderCreated,
        updated_at: '2026-11-23T12:00:00Z',
        line_items: [{ ...orderCreated.line_items[0], quantity: 2, current_quantity: 1 }],
      },
      [[LINE_MUG, 'order', { quantity: 1, version: at('2026-11-23T12:00:00Z') }]],
    ],
    [
      'an edit that removes a line is an ordered fact of 0, not a skipped line',
      'orders/updated',
      {
        ...orderCreated,
        updated_at: '2026-11-23T12:00:00Z',
        line_items: [{ ...orderCreated.line_items[0], current_quantity: 0 }],
      },
      [[LINE_MUG, 'order', { quantity: 0 }]],
    ],
    [
      'an edit that adds units (current_quantity above the first quantity)',
      'orders/updated',
      { ...orderCreated, line_items: [{ ...orderCreated.line_items[0], quantity: 3, current_quantity: 3 }] },
      [[LINE_MUG, 'order', { quantity: 3 }]],
    ],
    [
      'without current_quantity (REST before 2024-01), quantity; without updated_at, created_at',
      'orders/create',
      { ...orderCreated, updated_at: undefined, line_items: [orderCreated.line_items[1]] },
      [[LINE_CUP, 'order', { quantity: 1, version: at('2026-11-23T10:00:00Z') }]],
    ],
    [
      'a point-of-sale order names its location',
      'orders/create',
      { ...orderCreated, location_id: 65000000000002, line_items: [orderCreated.line_items[0]] },
      [[LINE_MUG, 'order', { locationId: SHOP_FLOOR }]],
    ],
    [
      'orders/cancelled: a cancelled fact per line (all open units), at cancelled_at',
      'orders/cancelled',
      {
        ...orderCreated,
        cancelled_at: '2026-11-25T08:00:00Z',
        updated_at: '2026-11-25T08:01:00Z',
        line_items: [orderCreated.line_items[0]],
      },
      [
        [LINE_MUG, 'order', { kind: 'ordered', version: at('2026-11-25T08:01:00Z') }],
        [LINE_MUG, 'cancel', { kind: 'cancelled', quantity: null }],
      ],
    ],
    [
      'orders/updated of a cancelled order carries the cancellation too',
      'orders/updated',
      { ...orderCreated, cancelled_at: '2026-11-25T08:00:00Z', line_items: [orderCreated.line_items[1]] },
      [
        [LINE_CUP, 'order', { kind: 'ordered' }],
        [LINE_CUP, 'cancel', { kind: 'cancelled' }],
      ],
    ],
  ];
  for (const [name, topic, payload, expected] of orderTable) {
    it(`${topic}: ${name}`, () => {
      const events = linesOf(shopifyWebhookToEvents(topic, payload, SHOP));
      assert.equal(events.length, expected.length, JSON.stringify(events));
      expected.forEach(([line, eventId, fact], index) => {
        const event = events[index]!;
        assert.equal(event.lineKey, lineKey(line));
        assert.equal(event.eventId, eventId);
        for (const [field, value] of Object.entries(fact as object))
          assert.deepEqual((event.fact as Record<string, unknown>)[field], value, `${eventId}.${field}`);
      });
      const cancelled = events.find((event) => event.fact.kind === 'cancelled');
      if (cancelled) assert.equal(cancelled.occurredAt, at((payload as { cancelled_at: string }).cancelled_at));
    });
  }

  it('orders/cancelled without cancelled_at is invalid', () => {
    assert.deepEqual(shopifyWebhookToEvents('orders/cancelled', orderCreated, SHOP), {
      kind: 'invalid',
      topic: 'orders/cancelled',
      reason: 'cancelled_at: missing on orders/cancelled',
    });
  });
});

describe('shopifyWebhookToEvents: fulfilments', () => {
  it('fulfillments/create: a fulfilled fact per line item under fulfillment:<id>, from its location', () => {
    const events = linesOf(shopifyWebhookToEvents('fulfillments/create', fulfillmentCreated, SHOP));
    const time = at('2026-11-23T15:00:00Z');
    assert.deepEqual(events, [
      {
        lineKey: lineKey(LINE_MUG),
        eventId: 'fulfillment:7300000000601',
        orderId: ORDER,
        lineId: LINE_MUG,
        item: mug,
        occurredAt: time,
        fact: { kind: 'fulfilled', quantity: 2, locationId: SHOP_FLOOR, active: true, version: time },
      },
    ]);
  });

  const statuses: [string, boolean][] = [
    ['success', true],
    ['open', true],
    ['pending', true],
    ['cancelled', false],
    ['error', false],
    ['failure', false],
  ];
  for (const [status, active] of statuses) {
    it(`fulfillments/update with status ${status}: active ${active}; version = updated_at`, () => {
      const payload = { ...fulfillmentCreated, status, updated_at: '2026-11-24T08:00:00Z' };
      const [event] = linesOf(shopifyWebhookToEvents('fulfillments/update', payload, SHOP));
      assert.equal(event!.eventId, 'fulfillment:7300000000601', 'the same event id as its creation');
      assert.equal(event!.fact.kind === 'fulfilled' && event!.fact.active, active);
      assert.equal(event!.fact.kind === 'fulfilled' && event!.fact.version, at('2026-11-24T08:00:00Z'));
      assert.equal(event!.occurredAt, at(active ? '2026-11-23T15:00:00Z' : '2026-11-24T08:00:00Z'));
    });
  }

  it('a fulfilment with a status onhand does not know is not understood for each of its lines, not a shipment', () => {
    for (const status of ['in_transit', 'SUCCESS_PARTIAL', 'x'.repeat(40)]) {
      const payload = { ...fulfillmentCreated, status, updated_at: '2026-11-24T08:00:00Z' };
      const events = linesOf(shopifyWebhookToEvents('fulfillments/update', payload, SHOP));
      assert.deepEqual(
        events.map((event) => [event.lineKey, event.eventId, event.fact.kind]),
        [[lineKey(LINE_MUG), 'fulfillment:7300000000601', 'not_understood']],
      );
      const fact = events[0]!.fact;
      assert.match(fact.kind === 'not_understood' ? fact.reason : '', /^fulfillment 7300000000601 has status "/);
      assert.ok(fact.kind === 'not_understood' && fact.reason.length <= limits.textLengthMax);
    }
  });

  it('a fulfilment without a location names none', () => {
    const [event] = linesOf(
      shopifyWebhookToEvents('fulfillments/create', { ...fulfillmentCreated, location_id: null }, SHOP),
    );
    assert.equal(event!.fact.kind === 'fulfilled' && event!.fact.locationId, null);
  });
});

describe('shopifyWebhookToEvents: refunds', () => {
  it('refunds/create: a refunded fact per refund line under refund:<refund line id>; zero quantities skipped', () => {
    const events = linesOf(shopifyWebhookToEvents('refunds/create', refundCreated, SHOP));
    const time = at('2026-11-24T09:30:00Z');
    assert.deepEqual(events, [
      {
        lineKey: lineKey(LINE_MUG),
        eventId: 'refund:10000000000501',
        orderId: ORDER,
        lineId: LINE_MUG,
        item: mug,
        occurredAt: time,
        fact: { kind: 'refunded', quantity: 1, restock: 'return', locationId: WAREHOUSE },
      },
      {
        lineKey: lineKey(LINE_CUP),
        eventId: 'refund:10000000000502',
        orderId: ORDER,
        lineId: LINE_CUP,
        item: cup,
        occurredAt: time,
        fact: { kind: 'refunded', quantity: 1, restock: 'no_restock', locationId: null },
      },
    ]);
  });

  const restocks: [string, unknown, string][] = [
    ['cancel', 'cancel', 'cancel'],
    ['return', 'return', 'return'],
    ['legacy_restock', 'legacy_restock', 'legacy_restock'],
    ['no_restock', 'no_restock', 'no_restock'],
    ['null', null, 'no_restock'],
    ['absent', undefined, 'no_restock'],
  ];
  for (const [name, restockType, expected] of restocks) {
    it(`restock_type ${name} -> restock ${expected}, at the refund line's location`, () => {
      const payload = {
        ...refundCreated,
        refund_line_items: [refundLine(10000000000501, 14000000000201, 2, restockType, 65000000000002)],
      };
      const [event] = linesOf(shopifyWebhookToEvents('refunds/create', payload, SHOP));
      assert.deepEqual(event!.fact, { kind: 'refunded', quantity: 2, restock: expected, locationId: SHOP_FLOOR });
    });
  }

  it('an unknown restock_type is a not-understood event of its line; the rest of the delivery is taken', () => {
    const payload = {
      ...refundCreated,
      refund_line_items: [
        refundCreated.refund_line_items[0],
        { ...refundCreated.refund_line_items[1], restock_type: 'scrap' },
      ],
    };
    const events = linesOf(shopifyWebhookToEvents('refunds/create', payload, SHOP));
    assert.deepEqual(
      events.map((event) => [event.lineKey, event.eventId, event.fact]),
      [
        [
          lineKey(LINE_MUG),
          'refund:10000000000501',
          { kind: 'refunded', quantity: 1, restock: 'return', locationId: WAREHOUSE },
        ],
        [
          lineKey(LINE_CUP),
          'refund:10000000000502',
          {
            kind: 'not_understood',
            reason:
              'refund line item 10000000000502 has restock_type "scrap", which onhand does not know (cancel, return, legacy_restock, no_restock)',
          },
        ],
      ],
    );
  });

  it('an unknown restock_type inside an order body is not understood for its line only', () => {
    const payload = {
      ...orderLater,
      refunds: [
        { ...refundCreated, refund_line_items: [{ ...refundCreated.refund_line_items[0], restock_type: 'x' }] },
      ],
    };
    const events = linesOf(shopifyWebhookToEvents('orders/updated', payload, SHOP));
    const refund = events.find((event) => event.eventId === 'refund:10000000000501');
    assert.equal(refund?.lineKey, lineKey(LINE_MUG));
    assert.equal(refund?.fact.kind, 'not_understood');
    assert.ok(events.some((event) => event.eventId === 'order' && event.fact.kind === 'ordered'));
  });

  it('a refund of a custom item (no variant) is skipped; one without its line_item cannot be placed', () => {
    const custom = {
      ...refundCreated,
      refund_line_items: [
        { ...refundCreated.refund_line_items[0], line_item: { id: 1, variant_id: null, quantity: 1 } },
      ],
    };
    assert.deepEqual(linesOf(shopifyWebhookToEvents('refunds/create', custom, SHOP)), []);
    const bare = {
      ...refundCreated,
      refund_line_items: [{ id: 1, line_item_id: 2, quantity: 1, restock_type: 'return' }],
    };
    const event = shopifyWebhookToEvents('refunds/create', bare, SHOP);
    assert.match(event.kind === 'invalid' ? event.reason : '', /^refund_line_items\.0\.line_item: /);
  });
});

describe('shopifyWebhookToEvents: one business event, one id, whichever resource carried it', () => {
  const key = (event: { lineKey: string; eventId: string }) => `${event.lineKey}|${event.eventId}`;

  it("an order body's embedded refunds and fulfilments equal their own webhooks' events", () => {
    const fromOrder = linesOf(shopifyWebhookToEvents('orders/updated', orderLater, SHOP));
    const fromRefund = linesOf(shopifyWebhookToEvents('refunds/create', refundCreated, SHOP));
    const fromFulfilment = linesOf(shopifyWebhookToEvents('fulfillments/update', fulfillmentCancelled, SHOP));
    for (const own of [...fromRefund, ...fromFulfilment]) {
      const embedded = fromOrder.find((event) => key(event) === key(own));
      assert.deepEqual(embedded, own, key(own));
    }
    assert.deepEqual(
      fromOrder.map(key).sort(),
      [
        `${lineKey(LINE_CUP)}|cancel`,
        `${lineKey(LINE_CUP)}|order`,
        `${lineKey(LINE_CUP)}|refund:10000000000502`,
        `${lineKey(LINE_MUG)}|cancel`,
        `${lineKey(LINE_MUG)}|fulfillment:7300000000601`,
        `${lineKey(LINE_MUG)}|order`,
        `${lineKey(LINE_MUG)}|refund:10000000000501`,
      ].sort(),
    );
  });

  it('an embedded refund line without its line_item takes the item from the order line', () => {
    const stripped = {
      ...orderLater,
      refunds: [
        {
          ...refundCreated,
          refund_line_items: refundCreated.refund_line_items.map(({ line_item: _, ...rest }) => rest),
        },
      ],
    };
    const events = linesOf(shopifyWebhookToEvents('orders/updated', stripped, SHOP));
    const refund = events.find((event) => event.eventId === 'refund:10000000000501');
    assert.deepEqual(refund?.item, mug);
  });

  it('duplicate deliveries, retries and re-serialised JSON map to the same keys', () => {
    const first = shopifyWebhookToEvents('orders/updated', JSON.parse(JSON.stringify(orderLater)), SHOP);
    const reordered = Object.fromEntries(Object.entries(orderLater).reverse());
    assert.deepEqual(shopifyWebhookToEvents('orders/updated', reordered, SHOP), first);
    assert.deepEqual(
      shopifyWebhookToEvents('orders/updated', orderLater, SHOP.toUpperCase()),
      first,
      'the shop domain header is case-insensitive',
    );
    const keys = linesOf(first).map(key);
    assert.equal(new Set(keys).size, keys.length, 'one event per (line, event id) in a delivery');
  });
});

describe('shopifyWebhookToEvents: ids, levels, bad shapes', () => {
  it('64-bit ids: exact through parseShopifyWebhookBody, the same line key from every topic', () => {
    const order = Buffer.from(
      '{"id":9007199254740993123,"created_at":"2026-11-23T10:00:00Z","note":"id 12345678901234567890 in text stays text",' +
        '"line_items":[{"id":18446744073709551615,"variant_id":12345678901234567890,"sku":"BIG","quantity":1,"price":"1.50"}]}',
    );
    const refund = Buffer.from(
      '{"id":9200000000000000001,"order_id":9007199254740993123,"created_at":"2026-11-24T10:00:00Z","refund_line_items":' +
        '[{"id":10000000000000000001,"line_item_id":18446744073709551615,"quantity":1,"restock_type":"cancel","location_id":65000000000000000001,' +
        '"line_item":{"id":18446744073709551615,"variant_id":12345678901234567890,"sku":"BIG"}}]}',
    );
    const fulfilment = Buffer.from(
      '{"id":7300000000000000001,"order_id":9007199254740993123,"status":"success","location_id":65000000000000000001,' +
        '"created_at":"2026-11-24T10:00:00Z","line_items":[{"id":18446744073709551615,"variant_id":12345678901234567890,"quantity":1}]}',
    );
    const parsed = [order, refund, fulfilment].map((raw) => parseShopifyWebhookBody(raw));
    assert.ok(parsed.every((result) => result.ok));
    const payloads = parsed.map((result) => (result.ok ? result.payload : null));
    assert.equal((payloads[0] as { note: string }).note, 'id 12345678901234567890 in text stays text');
    const topics = ['orders/create', 'refunds/create', 'fulfillments/create'];
    const events = topics.flatMap((topic, index) => linesOf(shopifyWebhookToEvents(topic, payloads[index], SHOP)));
    assert.deepEqual(
      events.map((event) => [event.lineKey, event.eventId, event.item.externalId]),
      [
        [
          lineKey('18446744073709551615', '9007199254740993123'),
          'order',
          'gid://shopify/ProductVariant/12345678901234567890',
        ],
        [
          lineKey('18446744073709551615', '9007199254740993123'),
          'refund:10000000000000000001',
          'gid://shopify/ProductVariant/12345678901234567890',
        ],
        [
          lineKey('18446744073709551615', '9007199254740993123'),
          'fulfillment:7300000000000000001',
          'gid://shopify/ProductVariant/12345678901234567890',
        ],
      ],
    );
    assert.equal(
      events[1]!.fact.kind === 'refunded' && events[1]!.fact.locationId,
      'gid://shopify/Location/65000000000000000001',
    );
    const lossy = shopifyWebhookToEvents('orders/create', JSON.parse(order.toString()), SHOP);
    assert.equal(lossy.kind, 'invalid', 'a rounded number is refused, never used');
    assert.deepEqual(parseShopifyWebhookBody(Buffer.from('{"truncated":')).ok, false);
  });

  it('the gid in admin_graphql_api_id wins over the REST id when both are present', () => {
    const events = linesOf(
      shopifyWebhookToEvents(
        'orders/create',
        { ...orderCreated, id: '5600000000101', admin_graphql_api_id: 'gid://shopify/Order/5600000000101' },
        SHOP,
      ),
    );
    assert.equal(events[0]!.orderId, ORDER);
  });

  it('inventory_levels/update: a level signal (for reconciliation and echo detection), never events', () => {
    const event = shopifyWebhookToEvents(
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
      locationId: WAREHOUSE,
      available: 7,
      updatedAt: at('2026-11-23T10:00:01Z'),
    });
  });

  /** [name, topic, payload, shop, the reason's start (the field path)] */
  const invalid: [string, string, unknown, string, RegExp][] = [
    ['no line_items', 'orders/create', { ...orderCreated, line_items: undefined }, SHOP, /^line_items: /],
    [
      'a negative quantity',
      'orders/create',
      { ...orderCreated, line_items: [{ id: 1, variant_id: 2, quantity: -1 }] },
      SHOP,
      /^line_items\.0\.quantity: /,
    ],
    [
      'a fractional current_quantity',
      'orders/updated',
      { ...orderCreated, line_items: [{ id: 1, variant_id: 2, quantity: 2, current_quantity: 1.5 }] },
      SHOP,
      /^line_items\.0\.current_quantity: /,
    ],
    ['an id that is not a number', 'orders/create', { ...orderCreated, id: 'abc' }, SHOP, /^id: /],
    ['a bad timestamp', 'orders/create', { ...orderCreated, created_at: 'yesterday' }, SHOP, /^created_at: /],
    ['a bad POS location', 'orders/create', { ...orderCreated, location_id: -4 }, SHOP, /^location_id: /],
    [
      'an embedded fulfilment without a status',
      'orders/updated',
      { ...orderLater, fulfillments: [{ ...fulfillmentCreated, status: undefined }] },
      SHOP,
      /^fulfillments\.0\.status: /,
    ],
    [
      'a fulfilment without order_id',
      'fulfillments/create',
      { ...fulfillmentCreated, order_id: undefined },
      SHOP,
      /^order_id: /,
    ],
    [
      'a fulfilment line with a fractional quantity',
      'fulfillments/update',
      { ...fulfillmentCreated, line_items: [fulfillmentLine(1, 2, 'X', 0.5)] },
      SHOP,
      /^line_items\.0\.quantity: /,
    ],
    ['an array instead of an object', 'refunds/create', [refundCreated], SHOP, /^\(root\): /],
    [
      'a level without available',
      'inventory_levels/update',
      { inventory_item_id: 1, location_id: 2, updated_at: '2026-11-23T10:00:01Z' },
      SHOP,
      /^available: /,
    ],
    ['a shop domain that is not *.myshopify.com', 'orders/create', orderCreated, 'evil.example.com', /Shop-Domain/],
    ['a shop domain with a colon', 'orders/create', orderCreated, 'a:b.myshopify.com', /Shop-Domain/],
    ['null', 'orders/create', null, SHOP, /^\(root\): /],
    [
      'too many line items',
      'orders/create',
      { ...orderCreated, line_items: Array.from({ length: 1_001 }, () => orderCreated.line_items[0]) },
      SHOP,
      /^line_items: /,
    ],
  ];
  for (const [name, topic, payload, shop, reason] of invalid) {
    it(`invalid, naming the field: ${name}`, () => {
      const event = shopifyWebhookToEvents(topic, payload, shop);
      assert.equal(event.kind, 'invalid');
      assert.match(event.kind === 'invalid' ? event.reason : '', reason);
    });
  }

  it('other topics are ignored', () => {
    assert.deepEqual(shopifyWebhookToEvents('products/update', { id: 1 }, SHOP), {
      kind: 'ignored',
      topic: 'products/update',
    });
  });

  it('property: arbitrary JSON on every topic never throws; events are well-formed (3,000 cases)', () => {
    const topics = [...shopifyOrderTopics, 'inventory_levels/update', 'app/uninstalled'];
    const mutatedLine = fc.record({
      id: fc.oneof(fc.nat(), fc.string()),
      variant_id: fc.oneof(fc.nat(), fc.constant(null)),
      quantity: fc.oneof(fc.integer(), fc.double()),
      current_quantity: fc.oneof(fc.nat(), fc.constant(null), fc.constant(undefined)),
      sku: fc.oneof(fc.string(), fc.constant(null)),
    });
    const mutatedRefund = fc.record({
      id: fc.oneof(fc.nat(), fc.string()),
      order_id: fc.oneof(fc.nat(), fc.string()),
      created_at: fc.oneof(fc.constant('2026-11-24T10:00:00Z'), fc.string()),
      refund_line_items: fc.array(
        fc.record({
          id: fc.oneof(fc.nat(), fc.string()),
          line_item_id: fc.oneof(fc.nat(), fc.string()),
          quantity: fc.oneof(fc.nat(), fc.integer()),
          restock_type: fc.oneof(fc.constantFrom(...shopifyRestockTypes), fc.constant(null), fc.string()),
          location_id: fc.oneof(fc.nat(), fc.constant(null)),
          line_item: fc.oneof(mutatedLine, fc.constant(null)),
        }),
        { maxLength: 4 },
      ),
    });
    const mutatedFulfilment = fc.record({
      id: fc.oneof(fc.nat(), fc.string()),
      order_id: fc.oneof(fc.nat(), fc.string()),
      status: fc.oneof(fc.constantFrom('success', 'cancelled', 'error'), fc.string()),
      location_id: fc.oneof(fc.nat(), fc.constant(null)),
      created_at: fc.oneof(fc.constant('2026-11-24T10:00:00Z'), fc.string()),
      line_items: fc.array(mutatedLine, { maxLength: 4 }),
    });
    const mutatedOrder = fc.record({
      id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
      created_at: fc.oneof(fc.constant('2026-11-23T10:00:00Z'), fc.string()),
      cancelled_at: fc.oneof(fc.constant('2026-11-25T08:00:00Z'), fc.constant(null)),
      location_id: fc.oneof(fc.nat(), fc.constant(null)),
      line_items: fc.array(mutatedLine, { maxLength: 5 }),
      refunds: fc.oneof(fc.array(mutatedRefund, { maxLength: 2 }), fc.anything()),
      fulfillments: fc.oneof(fc.array(mutatedFulfilment, { maxLength: 2 }), fc.anything()),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...topics),
        fc.oneof(fc.jsonValue(), mutatedOrder, mutatedRefund, mutatedFulfilment, fc.anything()),
        fc.oneof(fc.constant(SHOP), fc.string()),
        (topic, payload, shop) => {
          const event = shopifyWebhookToEvents(topic, payload, shop);
          if (!['lines', 'level', 'ignored', 'invalid'].includes(event.kind)) return false;
          if (event.kind !== 'lines') return true;
          return event.events.every(
            (line) =>
              line.lineKey === `shopify:${SHOP}:${line.orderId}:${line.lineId}` &&
              line.eventId.length > 0 &&
              Number.isFinite(line.occurredAt) &&
              line.item.externalId.startsWith('gid://shopify/ProductVariant/') &&
              (line.fact.kind === 'not_understood'
                ? line.fact.reason.length > 0 && line.fact.reason.length <= limits.textLengthMax
                : line.fact.quantity === null || (Number.isSafeInteger(line.fact.quantity) && line.fact.quantity >= 0)),
          );
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
