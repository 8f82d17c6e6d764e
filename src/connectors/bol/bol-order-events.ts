import { type FulfilledBy, type OrderLineEvent, orderLineKey } from '../channel-intake.js';
import type { BolOrder, BolOrderItem } from './bol-client.js';

/**
 * One bol order item, as the order detail (`GET /retailer/orders/{order-id}`) shows it, turned into
 * order-line events (docs/channels/bol.md, Order lifecycle). Pure: the poller (bol-orders.ts)
 * supplies what it remembers of the item and stores what this returns.
 *
 * Per item, line key `bol:<account>:<orderId>:<orderItemId>`:
 * - `ordered` (event `order`): `quantity` units, version 0 (bol never edits an item's quantity),
 *   fulfilled by bol (`marketplace`) for FBB, else by the retailer (`merchant`);
 * - `cancelled` (event `cancel`) when `quantityCancelled > 0`: the total cancelled so far, so a
 *   later, larger total under the same event id supersedes the earlier one;
 * - `fulfilled` (event `shipped`) when `quantityShipped > 0`: the total shipped so far, version =
 *   that total (it only grows, so the larger report wins).
 * A bare `cancellationRequest` is no event: the customer asked, the retailer has not confirmed
 * (`PUT /retailer/orders/cancellation` confirms a request or cancels what cannot be delivered), so
 * the units stay sold until `quantityCancelled` says otherwise, or they ship.
 *
 * Only what changed since the remembered totals is emitted; an item not remembered emits all of
 * its events. Re-emitting is harmless (the ingest folds events by line and event id), so any
 * doubt resolves towards emitting.
 */

/** What the cursor remembers of one order item (key `<orderId>/<orderItemId>`), as last reported. */
export interface BolRememberedOrderItem {
  /** `quantity` of the `ordered` event emitted; null when none was emitted yet. */
  quantity: number | null;
  /** `quantityCancelled` last seen (0: none); null when unknown (a cursor of version 1). */
  cancelled: number | null;
  /** `quantityShipped` last seen (0: none); null when unknown (a cursor of version 1). */
  shipped: number | null;
  /** Last time a list page or an order detail showed it (epoch ms). */
  seenAt: number;
}

/** The item's figures as the list (`ReducedOrderItem`) or the detail (`OrderOrderItem`) give them. */
export type BolItemTotals = Pick<BolOrderItem, 'quantity' | 'quantityShipped' | 'quantityCancelled'>;

/** Whether the remembered totals differ from what bol shows now (then the item needs its detail). */
export function bolItemChanged(remembered: BolRememberedOrderItem | undefined, now: BolItemTotals): boolean {
  return (
    remembered === undefined ||
    remembered.quantity !== now.quantity ||
    remembered.cancelled !== now.quantityCancelled ||
    remembered.shipped !== now.quantityShipped
  );
}

/** No unit left to ship or cancel, as far as the cursor knows (unknown totals count as open). */
export function bolItemHandled(item: BolRememberedOrderItem): boolean {
  return (
    item.quantity !== null &&
    item.cancelled !== null &&
    item.shipped !== null &&
    item.cancelled + item.shipped >= item.quantity
  );
}

export interface BolItemEventsInput {
  account: string;
  order: Pick<BolOrder, 'orderId' | 'orderPlacedDateTime'>;
  item: BolOrderItem;
  remembered: BolRememberedOrderItem | undefined;
  /** The list's `fulfilmentMethod` of the item, for a detail without `fulfilment`. */
  listedMethod?: 'FBR' | 'FBB' | undefined;
  now: number;
}

export function bolOrderItemEvents(input: BolItemEventsInput): {
  events: OrderLineEvent[];
  remembered: BolRememberedOrderItem;
} {
  const { order, item, remembered, now } = input;
  const base = {
    lineKey: orderLineKey('bol', input.account, order.orderId, item.orderItemId),
    orderId: order.orderId,
    lineId: item.orderItemId,
    // The listing is keyed by the offer id; without one (bol may omit it) the EAN is all there is.
    item: {
      externalId: item.offer?.offerId ?? item.product?.ean ?? '',
      sku: item.offer?.reference ?? null,
      barcode: item.product?.ean ?? null,
    },
  };
  const placedAt = parseTime(order.orderPlacedDateTime, now);
  const changedAt = parseTime(item.latestChangedDateTime, placedAt);
  const events: OrderLineEvent[] = [];
  if (remembered?.quantity !== item.quantity) {
    const method = item.fulfilment?.method ?? input.listedMethod;
    const fulfilledBy: FulfilledBy = method === 'FBB' ? 'marketplace' : 'merchant';
    events.push({
      ...base,
      eventId: 'order',
      occurredAt: placedAt,
      fact: { kind: 'ordered', quantity: item.quantity, version: 0, fulfilledBy, locationId: null },
    });
  }
  if (item.quantityCancelled > 0 && remembered?.cancelled !== item.quantityCancelled) {
    events.push({
      ...base,
      eventId: 'cancel',
      occurredAt: changedAt,
      fact: { kind: 'cancelled', quantity: item.quantityCancelled },
    });
  }
  if (item.quantityShipped > 0 && remembered?.shipped !== item.quantityShipped) {
    events.push({
      ...base,
      eventId: 'shipped',
      occurredAt: changedAt,
      fact: {
        kind: 'fulfilled',
        quantity: item.quantityShipped,
        locationId: null,
        active: true,
        version: item.quantityShipped,
      },
    });
  }
  return {
    events,
    remembered: {
      quantity: item.quantity,
      cancelled: item.quantityCancelled,
      shipped: item.quantityShipped,
      seenAt: now,
    },
  };
}

function parseTime(value: string | null | undefined, fallback: number): number {
  if (value === null || value === undefined) return fallback;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? fallback : parsed;
}
