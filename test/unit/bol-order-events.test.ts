/**
 * Goal: a bol order item becomes the right order-line events (docs/channels/bol.md, Order
 * lifecycle), and the poll cursor that remembers what was reported is read in every version it
 * was saved in. Method: table cases over bolOrderItemEvents with the item as the order detail
 * shows it and what the cursor remembers; then readBolOrdersCursor and boundBolOrdersCursor on
 * hand-made cursors, a version 1 cursor among them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BolOrderItem } from '../../src/connectors/bol/bol-client.js';
import {
  type BolRememberedOrderItem,
  bolItemChanged,
  bolItemHandled,
  bolOrderItemEvents,
} from '../../src/connectors/bol/bol-order-events.js';
import {
  boundBolOrdersCursor,
  initialBolOrdersCursor,
  readBolOrdersCursor,
} from '../../src/connectors/bol/bol-orders-cursor.js';
import type { OrderLineFact } from '../../src/connectors/channel-intake.js';

const placed = '2026-03-02T10:00:00+01:00';
const changed = '2026-03-03T15:30:00+01:00';
const now = Date.parse('2026-03-04T08:00:00Z');
const offerId = '6ff736b5-cdd0-4150-8c67-78269ee986f5';

function detailItem(overrides: Partial<BolOrderItem> = {}): BolOrderItem {
  return {
    orderItemId: '2012345678',
    cancellationRequest: false,
    fulfilment: { method: 'FBR', timeFrameType: 'REGULAR' },
    offer: { offerId, reference: 'SKU-RED-M' },
    product: { ean: '8712345000017', title: 'Red tee M' },
    quantity: 3,
    quantityShipped: 0,
    quantityCancelled: 0,
    unitPrice: 12.99,
    totalPrice: 38.97,
    discounts: [],
    commission: 1.5,
    latestChangedDateTime: changed,
    ...overrides,
  };
}

const remembered = (quantity: number | null, cancelled: number | null, shipped: number | null) =>
  ({ quantity, cancelled, shipped, seenAt: 0 }) satisfies BolRememberedOrderItem;

const ordered = (quantity: number, fulfilledBy: 'merchant' | 'marketplace' = 'merchant'): OrderLineFact => ({
  kind: 'ordered',
  quantity,
  version: 0,
  fulfilledBy,
  locationId: null,
});
const cancelled = (quantity: number): OrderLineFact => ({ kind: 'cancelled', quantity });
const shipped = (quantity: number): OrderLineFact => ({
  kind: 'fulfilled',
  quantity,
  locationId: null,
  active: true,
  version: quantity,
});

interface Case {
  name: string;
  item: Partial<BolOrderItem>;
  remembered?: BolRememberedOrderItem;
  listedMethod?: 'FBR' | 'FBB';
  expected: [eventId: string, fact: OrderLineFact][];
}

const cases: Case[] = [
  { name: 'FBR, new: the order, shipped by the retailer', item: {}, expected: [['order', ordered(3)]] },
  {
    name: 'FBB, new: the order, shipped by bol',
    item: { fulfilment: { method: 'FBB', distributionParty: 'BOL', timeFrameType: 'REGULAR' } },
    expected: [['order', ordered(3, 'marketplace')]],
  },
  {
    name: 'a detail without fulfilment takes the method the list gave',
    item: { fulfilment: null },
    listedMethod: 'FBB',
    expected: [['order', ordered(3, 'marketplace')]],
  },
  {
    name: 'partial cancellation of a known item: the cancelled total only',
    item: { quantityCancelled: 1 },
    remembered: remembered(3, 0, 0),
    expected: [['cancel', cancelled(1)]],
  },
  {
    name: 'full cancellation after a partial one: the new total under the same event id',
    item: { quantityCancelled: 3 },
    remembered: remembered(3, 1, 0),
    expected: [['cancel', cancelled(3)]],
  },
  {
    name: 'partial shipment: shipped total, version = total',
    item: { quantityShipped: 2 },
    remembered: remembered(3, 0, 0),
    expected: [['shipped', shipped(2)]],
  },
  {
    name: 'full shipment after a partial one',
    item: { quantityShipped: 3 },
    remembered: remembered(3, 0, 2),
    expected: [['shipped', shipped(3)]],
  },
  {
    name: 'shipped and cancelled in parts, first seen: every event',
    item: { quantityShipped: 2, quantityCancelled: 1 },
    expected: [
      ['order', ordered(3)],
      ['cancel', cancelled(1)],
      ['shipped', shipped(2)],
    ],
  },
  {
    name: "a customer's cancellation request alone: no event, the units stay sold",
    item: { cancellationRequest: true },
    remembered: remembered(3, 0, 0),
    expected: [],
  },
  {
    name: 'a request the retailer confirmed: the cancelled units',
    item: { cancellationRequest: true, quantityCancelled: 3 },
    remembered: remembered(3, 0, 0),
    expected: [['cancel', cancelled(3)]],
  },
  {
    name: 'nothing changed: nothing emitted',
    item: { quantityShipped: 1 },
    remembered: remembered(3, 0, 1),
    expected: [],
  },
  {
    name: 'totals unknown (a version 1 cursor): the totals bol shows, not the order again',
    item: { quantityShipped: 1, quantityCancelled: 2 },
    remembered: remembered(3, null, null),
    expected: [
      ['cancel', cancelled(2)],
      ['shipped', shipped(1)],
    ],
  },
];

describe('bol order item -> order-line events', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = bolOrderItemEvents({
        account: 'shop1',
        order: { orderId: 'A2K8290LP8', orderPlacedDateTime: placed },
        item: detailItem(testCase.item),
        remembered: testCase.remembered,
        listedMethod: testCase.listedMethod,
        now,
      });
      assert.deepEqual(
        result.events.map((event) => [event.eventId, event.fact]),
        testCase.expected,
      );
      for (const event of result.events) {
        assert.equal(event.lineKey, 'bol:shop1:A2K8290LP8:2012345678');
        assert.equal(event.orderId, 'A2K8290LP8');
        assert.equal(event.lineId, '2012345678');
        assert.deepEqual(event.item, { externalId: offerId, sku: 'SKU-RED-M', barcode: '8712345000017' });
        assert.equal(event.occurredAt, Date.parse(event.eventId === 'order' ? placed : changed));
      }
      const item = detailItem(testCase.item);
      assert.deepEqual(result.remembered, {
        quantity: item.quantity,
        cancelled: item.quantityCancelled,
        shipped: item.quantityShipped,
        seenAt: now,
      });
    });
  }

  it('without an offer the EAN is the external id; without a reference or product, null', () => {
    const noOffer = bolOrderItemEvents({
      account: 'shop1',
      order: { orderId: 'A1', orderPlacedDateTime: null },
      item: detailItem({ offer: null, latestChangedDateTime: null, quantityShipped: 1 }),
      remembered: undefined,
      now,
    });
    assert.deepEqual(noOffer.events[0]!.item, { externalId: '8712345000017', sku: null, barcode: '8712345000017' });
    assert.deepEqual(
      noOffer.events.map((event) => event.occurredAt),
      [now, now],
      'no dates: the time of the poll',
    );
    const noProduct = bolOrderItemEvents({
      account: 'shop1',
      order: { orderId: 'A1', orderPlacedDateTime: placed },
      item: detailItem({ offer: { offerId, reference: null }, product: null }),
      remembered: undefined,
      now,
    });
    assert.deepEqual(noProduct.events[0]!.item, { externalId: offerId, sku: null, barcode: null });
  });

  it('change and handled checks on the remembered totals', () => {
    const totals = { quantity: 3, quantityShipped: 1, quantityCancelled: 0 };
    assert.equal(bolItemChanged(undefined, totals), true);
    assert.equal(bolItemChanged(remembered(3, 0, 1), totals), false);
    assert.equal(bolItemChanged(remembered(3, 0, 0), totals), true);
    assert.equal(bolItemChanged(remembered(3, null, 1), totals), true, 'unknown totals are read once');
    assert.equal(bolItemHandled(remembered(3, 1, 2)), true);
    assert.equal(bolItemHandled(remembered(3, 1, 1)), false);
    assert.equal(bolItemHandled(remembered(3, null, 3)), false, 'unknown counts as open');
  });
});

describe('bol orders cursor', () => {
  it('null or empty starts; a saved version 2 cursor reads back as it was', () => {
    assert.deepEqual(readBolOrdersCursor(null), initialBolOrdersCursor());
    assert.deepEqual(readBolOrdersCursor(''), initialBolOrdersCursor());
    const cursor = initialBolOrdersCursor();
    cursor.scan = { startedAt: 5, nextPage: 3, intervalMinute: 2 };
    cursor.lastScanStartedAt = 4;
    cursor.lastFullScanStartedAt = 1;
    cursor.deferredOrderIds = ['A1'];
    cursor.items['A1/1'] = remembered(3, 1, 2);
    assert.deepEqual(readBolOrdersCursor(JSON.stringify(cursor)), cursor);
  });

  it('a version 1 cursor is migrated: quantities kept, unknown totals, a full scan first', () => {
    const version1 = {
      version: 1,
      scan: { startedAt: 1_000, nextPage: 4, intervalMinute: 3 },
      lastScanStartedAt: 900,
      lastFullScanStartedAt: 500,
      deferredOrderIds: ['A2'],
      items: {
        'A1/1': { quantity: 2, cancelled: false, seenAt: 900 },
        'A1/2': { quantity: 1, cancelled: true, seenAt: 800 },
        'A3/1': { quantity: null, cancelled: false, seenAt: 700 },
      },
    };
    assert.deepEqual(readBolOrdersCursor(JSON.stringify(version1)), {
      version: 2,
      scan: null,
      lastScanStartedAt: 900,
      lastFullScanStartedAt: null,
      deferredOrderIds: ['A2'],
      items: {
        'A1/1': { quantity: 2, cancelled: 0, shipped: null, seenAt: 900 },
        'A1/2': { quantity: 1, cancelled: null, shipped: null, seenAt: 800 },
        'A3/1': { quantity: null, cancelled: 0, shipped: null, seenAt: 700 },
      },
    });
  });

  it('an unreadable cursor throws', () => {
    assert.throws(() => readBolOrdersCursor('not json'));
    assert.throws(() => readBolOrdersCursor('[]'), /not an object/);
    assert.throws(() => readBolOrdersCursor('{"version":3}'), /unknown version 3/);
    assert.throws(
      () => readBolOrdersCursor('{"version":2,"items":{"A1/1":{"quantity":-1,"seenAt":0}}}'),
      /bad count in items.A1\/1/,
    );
  });

  it('forgets handled items no list can show again, keeps open ones', () => {
    const cursor = initialBolOrdersCursor();
    const hour = 60 * 60_000;
    cursor.items['old-handled/1'] = { ...remembered(2, 0, 2), seenAt: now - 2 * hour };
    cursor.items['recent-handled/1'] = { ...remembered(2, 2, 0), seenAt: now - 30 * 60_000 };
    cursor.items['old-open/1'] = { ...remembered(2, 0, 1), seenAt: now - 24 * hour };
    boundBolOrdersCursor(cursor, now);
    assert.deepEqual(Object.keys(cursor.items).sort(), ['old-open/1', 'recent-handled/1']);
  });
});
