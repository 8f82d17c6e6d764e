/**
 * Amazon notification bodies (specs/amazon/schemas/notifications) turned into what they mean:
 * the schemas' own shapes become order-line events or a level; another seller's, a malformed
 * body or an unknown type is ignored with its reason, never thrown.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAmazonNotification } from '../../src/connectors/amazon/amazon-notifications.js';

const seller = 'A3SELLER';
const envelope = (type: string, payload: unknown, id = 'n-1') =>
  JSON.stringify({
    NotificationVersion: '1.0',
    NotificationType: type,
    PayloadVersion: '1.0',
    EventTime: '2026-08-05T10:00:00.000Z',
    Payload: payload,
    NotificationMetadata: { ApplicationId: 'app', SubscriptionId: 'sub', PublishTime: 'x', NotificationId: id },
  });

const orderChange = (sellerId: string, status: string, fulfillment: 'AFN' | 'MFN') =>
  envelope('ORDER_CHANGE', {
    OrderChangeNotification: {
      NotificationLevel: 'OrderLevel',
      SellerId: sellerId,
      AmazonOrderId: '902-3159896-1390916',
      OrderChangeType: 'OrderStatusChange',
      OrderChangeTrigger: { TimeOfOrderChange: '2026-08-05T09:59:00.000Z', ChangeReason: 'OrderStatusChange' },
      Summary: {
        MarketplaceId: 'A1805IZSGTT6HS',
        OrderStatus: status,
        PurchaseDate: '2026-08-05T09:00:00.000Z',
        FulfillmentType: fulfillment,
        OrderItems: [
          { OrderItemId: '1', SellerSKU: 'MUG', Quantity: 3, QuantityShipped: 1 },
          { OrderItemId: '2', SellerSKU: 'LAMP', Quantity: 1 },
        ],
      },
    },
  });

describe('Amazon notifications', () => {
  it('an ORDER_CHANGE summary becomes the same line events as a poll', () => {
    const parsed = parseAmazonNotification(orderChange(seller, 'PartiallyShipped', 'MFN'), seller, 0);
    assert.equal(parsed.kind, 'order');
    if (parsed.kind !== 'order') return;
    assert.equal(parsed.notificationId, 'n-1');
    assert.deepEqual(
      parsed.events.map((event) => [event.lineKey, event.eventId, event.fact.kind]),
      [
        [`amazon:${seller}:902-3159896-1390916:1`, 'order', 'ordered'],
        [`amazon:${seller}:902-3159896-1390916:1`, 'shipped', 'fulfilled'],
        [`amazon:${seller}:902-3159896-1390916:2`, 'order', 'ordered'],
      ],
    );
    const ordered = parsed.events[0]!.fact;
    assert.deepEqual(ordered, {
      kind: 'ordered',
      quantity: 3,
      version: Date.parse('2026-08-05T09:59:00.000Z'),
      fulfilledBy: 'merchant',
      locationId: null,
    });
    assert.equal(parsed.events[0]!.occurredAt, Date.parse('2026-08-05T09:00:00.000Z'));
  });

  it('Canceled cancels every line; AFN is fulfilled by the marketplace', () => {
    const parsed = parseAmazonNotification(orderChange(seller, 'Canceled', 'AFN'), seller, 0);
    assert.equal(parsed.kind, 'order');
    if (parsed.kind !== 'order') return;
    assert.deepEqual(
      parsed.events.filter((event) => event.fact.kind === 'cancelled').map((event) => event.lineId),
      ['1', '2'],
    );
    for (const event of parsed.events)
      if (event.fact.kind === 'ordered') assert.equal(event.fact.fulfilledBy, 'marketplace');
  });

  it('a LISTINGS_ITEM_MFN_QUANTITY_CHANGE is a level', () => {
    const body = envelope('LISTINGS_ITEM_MFN_QUANTITY_CHANGE', {
      SellerId: seller,
      FulfillmentChannelCode: 'DEFAULT',
      Sku: 'MUG',
      Quantity: 7,
    });
    assert.deepEqual(parseAmazonNotification(body, seller, 0), {
      kind: 'level',
      notificationId: 'n-1',
      sku: 'MUG',
      quantity: 7,
      fulfillmentChannelCode: 'DEFAULT',
    });
  });

  it('another seller, malformed bodies and other types are ignored with a reason', () => {
    const cases: [string, RegExp][] = [
      [orderChange('A9OTHER', 'Unshipped', 'MFN'), /another seller/],
      ['{not json', /not JSON/],
      [JSON.stringify({ NotificationType: 'ORDER_CHANGE', Payload: {} }), /NotificationId/],
      [envelope('ORDER_CHANGE', { OrderChangeNotification: { SellerId: seller } }), /summary/],
      [envelope('FEED_PROCESSING_FINISHED', {}), /FEED_PROCESSING_FINISHED/],
      [envelope('LISTINGS_ITEM_MFN_QUANTITY_CHANGE', { SellerId: seller, Sku: 'MUG' }), /Quantity/],
    ];
    for (const [body, reason] of cases) {
      const parsed = parseAmazonNotification(body, seller, 0);
      assert.equal(parsed.kind, 'ignored', body);
      assert.match(parsed.kind === 'ignored' ? parsed.reason : '', reason);
    }
  });
});
