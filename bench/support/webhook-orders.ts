/**
 * The orders bench:webhooks sends, shared by the bench (its checks) and its load generator, and
 * the headers of a signed `orders/create` delivery, shared by both webhook load generators.
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
