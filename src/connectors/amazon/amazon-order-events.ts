import { type FulfilledBy, type OrderLineEvent, orderLineKey } from '../channel-intake.js';
import type { OrderStatus } from './amazon-client.js';

/**
 * One Amazon order item turned into order-line events (docs/channels/amazon.md, Order lifecycle).
 * Pure: the same figures give the same events whether they came from getOrders + getOrderItems
 * or from an ORDER_CHANGE notification's summary.
 *
 * Per item, line key `amazon:<sellerId>:<AmazonOrderId>:<OrderItemId>`:
 * - `ordered` (event `order`): QuantityOrdered units, version = the order's LastUpdateDate (a
 *   later figure wins), fulfilled by Amazon (`marketplace`) for AFN (FBA), else by the seller.
 *   Emitted for EVERY status, Pending included: Amazon does not reserve stock for a Pending order
 *   (payment not yet authorised), but the buyer has taken the offer, and onhand reserves so the
 *   other channels do not sell the same unit; a payment that fails turns the order Canceled,
 *   which releases it.
 * - `fulfilled` (event `shipped`) when QuantityShipped > 0: the total shipped so far, version =
 *   that total (it only grows).
 * - `cancelled` (event `cancel`, every unit not shipped) when the order is Canceled.
 */
export interface AmazonOrderFigures {
  orderId: string;
  status: OrderStatus;
  fulfillmentChannel: 'MFN' | 'AFN';
  /** Epoch ms of the order's LastUpdateDate (or the notification's event time). */
  updatedAt: number;
  purchasedAt: number;
}

export interface AmazonItemFigures {
  orderItemId: string;
  sellerSku: string | null;
  asin: string | null;
  quantityOrdered: number;
  quantityShipped: number;
}

export function amazonOrderItemEvents(
  sellerId: string,
  order: AmazonOrderFigures,
  item: AmazonItemFigures,
): OrderLineEvent[] {
  const base = {
    lineKey: orderLineKey('amazon', sellerId, order.orderId, item.orderItemId),
    orderId: order.orderId,
    lineId: item.orderItemId,
    // Listings are keyed by seller SKU (the id patchListingsItem takes).
    item: { externalId: item.sellerSku ?? item.asin ?? '', sku: item.sellerSku, barcode: null },
  };
  const fulfilledBy: FulfilledBy = order.fulfillmentChannel === 'AFN' ? 'marketplace' : 'merchant';
  const events: OrderLineEvent[] = [
    {
      ...base,
      eventId: 'order',
      occurredAt: order.purchasedAt,
      fact: {
        kind: 'ordered',
        quantity: item.quantityOrdered,
        version: order.updatedAt,
        fulfilledBy,
        locationId: null,
      },
    },
  ];
  if (item.quantityShipped > 0)
    events.push({
      ...base,
      eventId: 'shipped',
      occurredAt: order.updatedAt,
      fact: {
        kind: 'fulfilled',
        quantity: item.quantityShipped,
        locationId: null,
        active: true,
        version: item.quantityShipped,
      },
    });
  if (order.status === 'Canceled')
    events.push({
      ...base,
      eventId: 'cancel',
      occurredAt: order.updatedAt,
      fact: { kind: 'cancelled', quantity: null },
    });
  return events;
}

export function parseAmazonTime(value: string | null | undefined, fallback: number): number {
  if (value === null || value === undefined) return fallback;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? fallback : parsed;
}
