import type { OrderLineItem } from '../connectors/channel-intake.js';
import type { AvailabilityPort } from '../store/availability-store.js';
import type { OrderItemMatcher } from './order-line-intake.js';

/**
 * Order lines are matched to variants as listings are: an explicit mapping of the item, the
 * channel's listing with that external id, a listing that carries the id among its references
 * (a Shopify listing is keyed by inventory item and carries its variant), then the sku, then a
 * barcode only one variant has (store.availability.findOrderItem).
 */
export function storeOrderItemMatcher(availability: Pick<AvailabilityPort, 'findOrderItem'>): OrderItemMatcher {
  return async (channel: string, item: OrderLineItem) => (await availability.findOrderItem(channel, item))?.sku ?? null;
}
