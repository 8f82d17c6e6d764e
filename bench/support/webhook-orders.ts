/**
 * The orders bench:webhooks sends, shared by the bench (its checks) and its load generator, and
 * the body and headers of a signed `orders/create` delivery, shared by both webhook load
 * generators.
 */
import { createHmac } from 'node:crypto';

/** Order ids and line ids: 10- and 11-digit integers, exact as doubles (16+ digits would be strings). */
export const orderIdBase = 6_000_000_000;
const lineIdBase = 70_000_000_000;

/** The lines of order `index`: 1 or 2 distinct variants, 1-3 units each. */
export function orderLines(
  index: number,
  variantCount: number,
): { variant: number; lineId: number; quantity: number }[] {
  const count = 1 + (index % 2);
  return Array.from({ length: count }, (_, line) => ({
    variant: (index + line * Math.floor(variantCount / 2)) % variantCount,
    lineId: lineIdBase + index * 2 + line,
    quantity: 1 + (index % 3),
  }));
}

/**
 * The headers Shopify sends with an `orders/create` delivery: X-Shopify-Hmac-Sha256 is the base64
 * HMAC-SHA256 of the raw body under the app's secret.
 */
export function orderCreateHeaders(delivery: {
  body: string | Buffer;
  secret: string;
  shopDomain: string;
  webhookId: string;
  eventId: string;
  triggeredAt: string;
}): Record<string, string | number> {
  return {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(delivery.body),
    'x-shopify-topic': 'orders/create',
    'x-shopify-hmac-sha256': createHmac('sha256', delivery.secret).update(delivery.body).digest('base64'),
    'x-shopify-shop-domain': delivery.shopDomain,
    'x-shopify-api-version': '2026-04',
    'x-shopify-webhook-id': delivery.webhookId,
    'x-shopify-event-id': delivery.eventId,
    'x-shopify-triggered-at': delivery.triggeredAt,
  };
}

/** A line of a REST Order body: one unit count of one Shopify variant. */
export interface RestOrderLine {
  lineId: number;
  variantId: number;
  /** Sent when given (the line's product). */
  productId?: number;
  sku: string;
  quantity: number;
}

/**
 * An `orders/create` body in Shopify's REST Order shape (sim/shopify/order-book.ts), paid, not
 * fulfilled, nothing refunded.
 */
export function restOrderBody(order: {
  id: number;
  number: number;
  createdAt: string;
  lines: RestOrderLine[];
}): string {
  return JSON.stringify({
    id: order.id,
    admin_graphql_api_id: `gid://shopify/Order/${order.id}`,
    name: `#${order.number}`,
    order_number: order.number,
    created_at: order.createdAt,
    updated_at: order.createdAt,
    cancelled_at: null,
    cancel_reason: null,
    location_id: null,
    source_name: 'web',
    currency: 'EUR',
    financial_status: 'paid',
    fulfillment_status: null,
    line_items: order.lines.map((line) => ({
      id: line.lineId,
      admin_graphql_api_id: `gid://shopify/LineItem/${line.lineId}`,
      variant_id: line.variantId,
      ...(line.productId === undefined ? {} : { product_id: line.productId }),
      sku: line.sku,
      name: line.sku,
      title: line.sku,
      quantity: line.quantity,
      current_quantity: line.quantity,
      fulfillable_quantity: line.quantity,
      fulfillment_status: null,
      variant_inventory_management: 'shopify',
      requires_shipping: true,
      price: '10.00',
    })),
    fulfillments: [],
    refunds: [],
  });
}
