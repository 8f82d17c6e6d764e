/**
 * WooCommerce orders in, on plain values: the webhook check (valid, tampered, the ping, the
 * secret as WooCommerce uses it, PHP-encoded bodies), the status table of
 * docs/channels/woocommerce.md (Order statuses), and the lifecycle property: whatever an order
 * goes through in the shop (the simulator's stock rules: statuses back and forth, refunds with or
 * without restock, the trash), its webhook and poll views folded in ANY delivery order, with
 * duplicates, end in what the final order means for each line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { phpJson, WooShop } from '../../sim/woocommerce/woo-shop.js';
import type { OrderLineEvent, WebhookDelivery } from '../../src/connectors/channel-intake.js';
import { wooOrderEvents } from '../../src/connectors/woocommerce/woocommerce-order-events.js';
import {
  checkWooDelivery,
  signWooWebhook,
  verifyWooSignature,
  wooDeliveryToEvent,
} from '../../src/connectors/woocommerce/woocommerce-webhooks.js';
import { emptyLineState, foldLine, lineUnits } from '../../src/core/orders/line-state.js';
import { deliveries } from '../support/order-lifecycles.js';

const connection = { account: 'shop1', secrets: ['s3cret'] };

function delivery(body: string | Buffer, headers: Record<string, string>): WebhookDelivery {
  return { body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), headers };
}

function signed(body: string, topic = 'order.created', secret = 's3cret'): WebhookDelivery {
  return delivery(body, {
    'content-type': 'application/json',
    'x-wc-webhook-topic': topic,
    'x-wc-webhook-signature': signWooWebhook(body, secret),
  });
}

/** An order as WooCommerce's webhook sends it: PHP's encoding, numbers partly as strings. */
const phpOrder = String.raw`{"id":5012,"parent_id":0,"status":"processing","currency":"EUR","date_created_gmt":"2026-03-02T08:00:00","date_modified_gmt":"2026-03-02T08:00:05","date_completed_gmt":null,"customer_note":"Z\u00fcrich \/ caf\u00e9 \ud83d\ude00","payment_url":"https:\/\/shop.example\/checkout\/order-pay\/5012\/","line_items":[{"id":"301","name":"T-shirt \u00e9t\u00e9","product_id":731,"variation_id":"733","quantity":"2","sku":"TEE-RED-M","price":19.95,"meta_data":[{"id":9,"key":"_reduced_stock","value":"2"}]},{"id":302,"name":"Gift card","product_id":0,"variation_id":0,"quantity":1,"sku":"","meta_data":[]},{"id":303,"name":"Mug","product_id":"740","variation_id":0,"quantity":1,"sku":null,"meta_data":{}}],"refunds":[],"shipping":[]}`;

describe('woocommerce webhooks: the signature', () => {
  it('a valid signature verifies; a tampered body, another secret or a malformed header does not', () => {
    const ok = signed(phpOrder);
    assert.deepEqual(checkWooDelivery(ok, connection), { ok: true });
    const tampered = delivery(
      phpOrder.replace('"quantity":"2"', '"quantity":"1"'),
      ok.headers as Record<string, string>,
    );
    assert.equal(checkWooDelivery(tampered, connection).ok, false);
    assert.equal(checkWooDelivery(signed(phpOrder, 'order.created', 'other'), connection).ok, false);
    const signature = signWooWebhook(phpOrder, 's3cret');
    for (const header of [signature.toLowerCase(), `${signature} `, signature.slice(0, -1), '', 'x'.repeat(44)])
      assert.equal(verifyWooSignature(Buffer.from(phpOrder), header, ['s3cret']), false, header);
    assert.equal(verifyWooSignature(Buffer.alloc(0), signWooWebhook('', 's3cret'), ['s3cret']), false, 'empty body');
  });

  it('the previous secret verifies during a rotation; the secret is used as WooCommerce decodes it', () => {
    assert.equal(
      checkWooDelivery(signed(phpOrder, 'order.created', 'old'), { ...connection, secrets: ['new', 'old'] }).ok,
      true,
    );
    // WooCommerce signs with wp_specialchars_decode($secret, ENT_QUOTES): a secret saved as "a&amp;b&#039;c" signs with "a&b'c".
    const body = '{"id":1}';
    const wooSignature = signWooWebhook(body, "a&b'c");
    assert.equal(verifyWooSignature(Buffer.from(body), wooSignature, ['a&amp;b&#039;c']), true);
    assert.equal(verifyWooSignature(Buffer.from(body), wooSignature, ["a&b'c"]), true);
  });

  it('the ping of a new webhook (unsigned, form-encoded) is accepted and changes nothing; nothing else unsigned is', () => {
    const ping = delivery('webhook_id=17', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.deepEqual(checkWooDelivery(ping, connection), { ok: true });
    assert.equal(wooDeliveryToEvent(ping, connection).kind, 'ignored');
    for (const body of ['webhook_id=17&x=1', 'webhook_id=', '{"webhook_id":17}', phpOrder])
      assert.equal(
        checkWooDelivery(delivery(body, { 'x-wc-webhook-topic': 'order.created' }), connection).ok,
        false,
        body,
      );
    const pingWithBadSignature = delivery('webhook_id=17', { 'x-wc-webhook-signature': `${'A'.repeat(43)}=` });
    assert.equal(checkWooDelivery(pingWithBadSignature, connection).ok, false);
  });
});

describe('woocommerce webhooks: the body', () => {
  it('a PHP-encoded order (escaped slashes, \\uXXXX, numbers as strings) becomes its line events', () => {
    const event = wooDeliveryToEvent(signed(phpOrder), connection);
    assert.equal(event.kind, 'lines');
    const events = (event as { events: OrderLineEvent[] }).events;
    assert.deepEqual(
      events.map((each) => [each.lineKey, each.eventId, each.item.externalId, each.item.sku, each.fact.kind]),
      [
        ['woocommerce:shop1:5012:301', 'order', '731/733', 'TEE-RED-M', 'ordered'],
        ['woocommerce:shop1:5012:301', 'complete', '731/733', 'TEE-RED-M', 'fulfilled'],
        ['woocommerce:shop1:5012:303', 'order', '740', null, 'ordered'],
        ['woocommerce:shop1:5012:303', 'complete', '740', null, 'fulfilled'],
      ],
      'the gift card (no product) holds no stock',
    );
    assert.deepEqual(events[0]!.fact, {
      kind: 'ordered',
      quantity: 2,
      version: Date.parse('2026-03-02T08:00:05Z'),
      fulfilledBy: 'merchant',
      locationId: null,
    });
    assert.equal(events[0]!.occurredAt, Date.parse('2026-03-02T08:00:05Z'), '_gmt times are UTC');
  });

  it('order.deleted names no lines, other topics are ignored, a broken body is invalid', () => {
    assert.equal(wooDeliveryToEvent(signed('{"id":5012}', 'order.deleted'), connection).kind, 'ignored');
    assert.equal(wooDeliveryToEvent(signed('{"id":1}', 'product.updated'), connection).kind, 'ignored');
    assert.equal(wooDeliveryToEvent(signed('{"id":', 'order.updated'), connection).kind, 'invalid');
    const noLines = wooDeliveryToEvent(signed('{"id":5,"status":"processing"}', 'order.updated'), connection);
    assert.equal(noLines.kind, 'invalid');
    assert.match((noLines as { reason: string }).reason, /date_created_gmt/);
    const restored = wooDeliveryToEvent(signed(phpOrder, 'order.restored'), connection);
    assert.equal(restored.kind, 'lines');
  });
});

// ---------------------------------------------------------------------------------------------

function orderBody(status: string, extra: Record<string, unknown> = {}) {
  return {
    id: 9,
    status,
    date_created_gmt: '2026-03-02T08:00:00',
    date_modified_gmt: '2026-03-02T09:00:00',
    date_completed_gmt: null,
    line_items: [{ id: 1, product_id: 5, variation_id: 0, quantity: 3, sku: 'A' }],
    refunds: [],
    ...extra,
  };
}

/** The line's units after folding the events of one order body. */
function unitsOf(body: unknown, refunds?: unknown[]) {
  const mapped = wooOrderEvents('shop1', body, refunds);
  assert.ok(mapped.ok, mapped.ok ? '' : mapped.reason);
  const units = lineUnits(foldLine(emptyLineState(), mapped.events));
  return {
    events: mapped.events.length,
    open: units.open,
    shipped: units.shipped.reduce((n, each) => n + each.quantity, 0),
    writtenOff: units.writtenOff,
    returned: units.returned.reduce((n, each) => n + each.quantity, 0),
  };
}

describe('woocommerce order statuses (docs/channels/woocommerce.md, Order statuses)', () => {
  const completed = { date_completed_gmt: '2026-03-02T08:30:00' };
  const table: [string, ReturnType<typeof orderBody>, { open: number; shipped: number }][] = [
    ['pending reserves', orderBody('pending'), { open: 3, shipped: 0 }],
    ['processing reserves', orderBody('processing'), { open: 3, shipped: 0 }],
    ['on-hold reserves', orderBody('on-hold'), { open: 3, shipped: 0 }],
    ["a plugin's own status reserves", orderBody('awaiting-shipment'), { open: 3, shipped: 0 }],
    ['completed ships', orderBody('completed', completed), { open: 0, shipped: 3 }],
    ['refunded after completion stays shipped', orderBody('refunded', completed), { open: 0, shipped: 3 }],
    ['refunded before shipping ships nothing', orderBody('refunded'), { open: 3, shipped: 0 }],
    ['cancelled releases', orderBody('cancelled'), { open: 0, shipped: 0 }],
    ['failed releases', orderBody('failed'), { open: 0, shipped: 0 }],
    ['trash releases an order never completed', orderBody('trash'), { open: 0, shipped: 0 }],
    ['trash keeps a completed order shipped', orderBody('trash', completed), { open: 0, shipped: 3 }],
  ];
  for (const [name, body, expected] of table)
    it(name, () => {
      const units = unitsOf(body);
      assert.deepEqual({ open: units.open, shipped: units.shipped }, expected);
    });

  it('checkout-draft is a cart: no events', () => {
    assert.equal(unitsOf(orderBody('checkout-draft')).events, 0);
  });

  it('a status that changes back is followed by version, whatever arrives first', () => {
    const failed = wooOrderEvents('shop1', orderBody('failed'));
    const paid = wooOrderEvents('shop1', orderBody('processing', { date_modified_gmt: '2026-03-02T09:05:00' }));
    assert.ok(failed.ok && paid.ok);
    for (const events of [
      [...failed.events, ...paid.events],
      [...paid.events, ...failed.events],
    ])
      assert.equal(lineUnits(foldLine(emptyLineState(), events)).open, 3);
  });

  it('refunds: restocked before completion free the units, after it return them; not restocked write off', () => {
    const refund = (id: number, at: string, quantity: number) => ({
      id,
      date_created_gmt: at,
      line_items: [
        {
          id: id * 10,
          product_id: 5,
          variation_id: 0,
          quantity: -quantity,
          meta_data: [{ key: '_refunded_item_id', value: '1' }],
        },
      ],
    });
    const withRestocked = (count: number) => [
      {
        id: 1,
        product_id: 5,
        variation_id: 0,
        quantity: 3,
        sku: 'A',
        meta_data: [{ key: '_restock_refunded_items', value: String(count) }],
      },
    ];
    // 1 refunded and restocked before completion, 1 after: 2 shipped, 1 back in quarantine.
    assert.deepEqual(
      unitsOf(
        orderBody('completed', { ...completed, refunds: [{ id: 70 }, { id: 71 }], line_items: withRestocked(2) }),
        [refund(70, '2026-03-02T08:10:00', 1), refund(71, '2026-03-02T08:40:00', 1)],
      ),
      { events: 4, open: 0, shipped: 2, writtenOff: 0, returned: 1 },
    );
    // Processing, 1 refunded without restock: 2 reserved, 1 written off.
    assert.deepEqual(
      unitsOf(orderBody('processing', { refunds: [{ id: 70 }], line_items: withRestocked(0) }), [
        refund(70, '2026-03-02T08:10:00', 1),
      ]),
      { events: 3, open: 2, shipped: 0, writtenOff: 1, returned: 0 },
    );
    // A webhook of a completed order with refunds leaves the shipment to the poll (it knows the refunds).
    const webhookView = wooOrderEvents('shop1', orderBody('completed', { ...completed, refunds: [{ id: 70 }] }));
    assert.ok(webhookView.ok);
    assert.deepEqual(
      webhookView.events.map((event) => event.eventId),
      ['order'],
    );
  });
});

// ---------------------------------------------------------------------------------------------

type Action =
  | { kind: 'status'; status: string }
  | { kind: 'refund'; line: number; units: number }
  | { kind: 'trash' }
  | { kind: 'restore' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc
    .constantFrom('pending', 'processing', 'on-hold', 'completed', 'cancelled', 'failed')
    .map((status) => ({ kind: 'status' as const, status })),
  fc.record({ kind: fc.constant('refund' as const), line: fc.nat({ max: 1 }), units: fc.integer({ min: 1, max: 2 }) }),
  fc.constant({ kind: 'trash' as const }),
  fc.constant({ kind: 'restore' as const }),
);

/** What the final order means for one line, written from the status table, not from the code. */
function expectedUnits(
  status: string,
  completedAt: number | null,
  quantity: number,
  refunds: readonly { at: number; units: number }[],
  restock: boolean,
) {
  const shipped = (completedAt !== null || status === 'completed') && !['cancelled', 'failed'].includes(status);
  const released = ['cancelled', 'failed'].includes(status) || (status === 'trash' && !shipped);
  const before = refunds
    .filter((refund) => completedAt === null || refund.at < completedAt)
    .reduce((n, r) => n + r.units, 0);
  const after = refunds.reduce((n, r) => n + r.units, 0) - before;
  // A unit returned stays returned, even if the order is cancelled afterwards.
  if (released) return { open: 0, shipped: 0, writtenOff: 0, returned: restock ? after : 0 };
  if (shipped)
    return { open: 0, shipped: quantity - before, writtenOff: restock ? 0 : before, returned: restock ? after : 0 };
  return { open: quantity - before, shipped: 0, writtenOff: restock ? 0 : before, returned: 0 };
}

describe('woocommerce order lifecycle (property)', () => {
  it('webhook and poll views of every step, delivered in any order with duplicates, end in the final order’s meaning', () => {
    fc.assert(
      fc.property(
        fc.record({
          quantities: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
          first: fc.constantFrom('pending', 'processing', 'on-hold'),
          restock: fc.boolean(),
          actions: fc.array(action, { maxLength: 6 }),
          seed: fc.nat(),
        }),
        ({ quantities, first, restock, actions, seed }) => {
          let clock = Date.parse('2026-03-02T08:00:00Z');
          const shop = new WooShop(() => clock, 100);
          const product = shop.addProduct({ sku: 'A', quantity: 50 });
          const other = shop.addProduct({ sku: 'B', quantity: 50 });
          const order = shop.createOrder({
            lines: [
              { productId: product.id, quantity: quantities[0] },
              { productId: other.id, quantity: quantities[1] },
            ],
            status: first,
          });
          const views: OrderLineEvent[] = [];
          const snapshot = () => {
            // The webhook view: PHP-encoded, numbers partly strings, no refund lines.
            const webhook = wooOrderEvents('shop1', JSON.parse(phpJson(shop.orderJson(order, true))));
            const poll = wooOrderEvents(
              'shop1',
              JSON.parse(phpJson(shop.orderJson(order, false))),
              order.refunds.map((refund) => JSON.parse(phpJson(shop.refundJson(refund)))),
            );
            assert.ok(webhook.ok && poll.ok);
            views.push(...webhook.events, ...poll.events);
          };
          snapshot();
          for (const step of actions) {
            clock += 1000;
            if (step.kind === 'status') shop.setStatus(order.id, step.status);
            if (step.kind === 'trash') shop.trash(order.id);
            if (step.kind === 'restore' && order.status === 'trash') shop.restore(order.id, 'processing');
            if (step.kind === 'refund') {
              const line = order.lines[step.line]!;
              const refunded = order.refunds
                .flatMap((refund) => refund.lines)
                .filter((each) => each.orderLineId === line.id);
              const left = line.quantity - refunded.reduce((n, each) => n + each.quantity, 0);
              if (left <= 0 || ['cancelled', 'failed', 'trash'].includes(order.status)) continue;
              shop.refund(order.id, [{ lineId: line.id, quantity: Math.min(left, step.units) }], restock);
            }
            snapshot();
          }
          const batches = fc.sample(deliveries(views), { numRuns: 1, seed })[0]!;
          for (const line of order.lines) {
            const key = `woocommerce:shop1:${order.id}:${line.id}`;
            let state = emptyLineState();
            for (const batch of batches)
              state = foldLine(
                state,
                batch.filter((event) => event.lineKey === key),
              );
            const units = lineUnits(state);
            const refunds = order.refunds.flatMap((refund) =>
              refund.lines
                .filter((each) => each.orderLineId === line.id)
                .map((each) => ({ at: refund.createdAt, units: each.quantity })),
            );
            assert.deepEqual(
              {
                open: units.open,
                shipped: units.shipped.reduce((n, each) => n + each.quantity, 0),
                writtenOff: units.writtenOff,
                returned: units.returned.reduce((n, each) => n + each.quantity, 0),
              },
              expectedUnits(order.status, order.completedAt, line.quantity, refunds, restock),
              `${order.status} ${JSON.stringify(actions)}`,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
