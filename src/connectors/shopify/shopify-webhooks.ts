import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ChannelOrderLine } from '../channel-connector.js';
import { businessEventKey, type IntakeEvent, type WebhookCheck, type WebhookDelivery } from '../channel-intake.js';

/**
 * Shopify webhooks in: signature check on the raw bytes, and the mapping from a delivery to ledger
 * facts whose idempotency keys come from the BUSINESS event (shop, order, line, kind), never from
 * X-Shopify-Webhook-Id (docs/RELIABILITY.md, section 1: dedupe on the delivery id would re-apply a
 * business event Shopify sends twice under two delivery ids).
 *
 * Facts followed (docs/channels/shopify.md, Webhooks; the promise is docs/RELIABILITY.md, section 15):
 * - X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(raw body, app client secret)); a rotated secret
 *   "can take up to an hour" to be used, so the previous secret is accepted alongside.
 * - Retries (8 over 4 hours) carry the original payload; deliveries are unordered and may repeat.
 * - Payloads are the REST resources: Order, Refund, InventoryLevel. REST ids are 64-bit integers,
 *   beyond JavaScript's 2^53 - parseShopifyWebhookBody keeps long ones exact as strings.
 */

// ---------------------------------------------------------------------------------------------
// Signature

/** Secrets tried per delivery: current + previous during a rotation, with room to spare. */
const secretsMax = 4;
/** base64 of exactly 32 bytes: 43 characters and one '='. */
const base64Digest = /^[A-Za-z0-9+/]{43}=$/;

/**
 * True only if `hmacHeader` is the base64 HMAC-SHA256 of `rawBody` under one of `secrets`.
 * Never throws: a malformed header must be a 401, never a RangeError that becomes a 500:
 * 1. the header must be canonical base64 of exactly 32 bytes - anything else (hex, wrong length,
 *    whitespace, a second header joined with a comma, non-canonical padding bits) is rejected
 *    before any comparison, which leaks only the public length;
 * 2. the digest for each secret is compared with crypto.timingSafeEqual, equal lengths
 *    guaranteed by step 1, and all secrets are tried (no early exit on a match);
 * 3. an empty body is rejected: Shopify never sends one, and it is the one input every secret
 *    signs the same way for everybody who can guess nothing else.
 */
export function verifyShopifyWebhook(
  rawBody: Buffer,
  hmacHeader: string | undefined,
  secrets: readonly string[],
): boolean {
  try {
    if (!Buffer.isBuffer(rawBody) || rawBody.length === 0) return false;
    if (typeof hmacHeader !== 'string' || !base64Digest.test(hmacHeader)) return false;
    const received = Buffer.from(hmacHeader, 'base64');
    // Canonical only: two header strings that decode to the same bytes (the 2 spare bits of the
    // last character) must not both verify.
    if (received.length !== 32 || received.toString('base64') !== hmacHeader) return false;
    if (!Array.isArray(secrets)) return false;
    let matched = false;
    for (const secret of secrets.slice(0, secretsMax)) {
      if (typeof secret !== 'string' || secret.length === 0) continue;
      const expected = createHmac('sha256', secret).update(rawBody).digest();
      if (timingSafeEqual(expected, received)) matched = true;
    }
    return matched;
  } catch {
    return false;
  }
}

/** The signature Shopify would send (for the simulator and tests). */
export function signShopifyWebhook(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

// ---------------------------------------------------------------------------------------------
// Headers and body

export interface ShopifyWebhookHeaders {
  topic: string | null;
  hmac: string | undefined;
  shopDomain: string | null;
  /** Per delivery: dedupes deliveries, never business events. */
  webhookId: string | null;
  /** Shared by duplicates of one event. */
  eventId: string | null;
  /** Unsigned, so informational only: never trusted for ordering or keys. */
  triggeredAt: string | null;
  apiVersion: string | null;
}

/** Read Shopify's headers from Node's lower-cased header object; a repeated header counts as absent. */
export function readShopifyWebhookHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): ShopifyWebhookHeaders {
  const one = (name: string): string | null => {
    const value = headers[name];
    return typeof value === 'string' && value.length <= 1000 ? value : null;
  };
  return {
    topic: one('x-shopify-topic'),
    hmac: one('x-shopify-hmac-sha256') ?? undefined,
    shopDomain: one('x-shopify-shop-domain'),
    webhookId: one('x-shopify-webhook-id'),
    eventId: one('x-shopify-event-id'),
    triggeredAt: one('x-shopify-triggered-at'),
    apiVersion: one('x-shopify-api-version'),
  };
}

/**
 * JSON.parse, except that integer literals too long to be exact doubles (16+ digits) become
 * strings, so 64-bit REST ids survive. Strings in the JSON are matched first by the pattern, so
 * digits inside them are never touched. Call after verifyShopifyWebhook, on the same bytes.
 */
export function parseShopifyWebhookBody(
  rawBody: Buffer,
): { ok: true; payload: unknown } | { ok: false; reason: string } {
  try {
    const text = rawBody.toString('utf8');
    const exact = text.replace(/"(?:[^"\\]|\\.)*"|(-?\d{16,})(?![\d.eE])/g, (match, digits: string | undefined) =>
      digits === undefined ? match : `"${digits}"`,
    );
    return { ok: true, payload: JSON.parse(exact) as unknown };
  } catch (error) {
    return {
      ok: false,
      reason: `body is not JSON: ${error instanceof Error ? error.message.slice(0, 200) : 'parse error'}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** A REST id: a safe integer, or the exact digits as a string (from parseShopifyWebhookBody). */
const restId = z
  .union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9][0-9]{0,19}$/)])
  .transform(String);
const timestamp = z
  .string()
  .max(64)
  .refine((value) => Number.isFinite(Date.parse(value)), 'an ISO 8601 timestamp');
const quantity = z.number().int().min(0).max(1_000_000_000);

const lineItemSchema = z.object({
  id: restId,
  admin_graphql_api_id: z.string().max(200).optional(),
  variant_id: restId.nullable().optional(),
  sku: z.string().max(255).nullable().optional(),
  quantity,
});

const refundLineItemSchema = z.object({
  id: restId,
  line_item_id: restId,
  quantity,
  restock_type: z.string().max(40).nullable().optional(),
  location_id: restId.nullable().optional(),
  line_item: lineItemSchema.partial({ quantity: true }).nullable().optional(),
});

const refundSchema = z.object({
  id: restId,
  order_id: restId,
  created_at: timestamp,
  refund_line_items: z.array(refundLineItemSchema).max(1_000),
});

const orderSchema = z.object({
  id: restId,
  admin_graphql_api_id: z.string().max(200).optional(),
  name: z.string().max(100).optional(),
  created_at: timestamp,
  cancelled_at: timestamp.nullable().optional(),
  line_items: z.array(lineItemSchema).max(1_000),
  refunds: z.array(refundSchema).max(1_000).optional(),
});

const inventoryLevelSchema = z.object({
  inventory_item_id: restId,
  location_id: restId,
  available: z.number().int().min(-1_000_000_000).max(1_000_000_000).nullable(),
  updated_at: timestamp,
});

/** An order line as a ledger fact, with the Shopify ids the ingest needs to find the listing. */
export interface ShopifyOrderLine extends ChannelOrderLine {
  /**
   * REST order lines carry `variant_id` and `sku`, not the inventory item id the push side uses;
   * so `externalId` is the variant gid (`gid://shopify/ProductVariant/<id>`) and the ingest maps it
   * (or `sku`) to the listing.
   */
  variantId: string;
  lineItemId: string;
  /** Where a refund restocked (refund_line_items[].location_id); null when unknown. */
  locationId: string | null;
}

export type ShopifyWebhookEvent =
  | { kind: 'lines'; topic: string; lines: ShopifyOrderLine[] }
  /**
   * inventory_levels/update: what Shopify shows now, for reconciliation and to recognise the echo
   * of our own push (same item, location and quantity we just set) - never a ledger fact.
   */
  | {
      kind: 'level';
      topic: string;
      inventoryItemId: string;
      locationId: string;
      available: number | null;
      updatedAt: number;
    }
  /** A topic onhand does not turn into facts. */
  | { kind: 'ignored'; topic: string }
  /** Not a well-formed payload for its topic: answer 400 (or 200 and log) - it will not improve on retry. */
  | { kind: 'invalid'; topic: string; reason: string };

const shopDomainPattern = /^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$/;

/**
 * One delivery -> facts. Keys (the port's `<platform>:<account>:<order id>:<line id>:<kind>`):
 * - orders/create    `shopify:<shop>:<order>:<line item>:order`, quantity = line quantity;
 * - orders/cancelled `shopify:<shop>:<order>:<line item>:cancellation`, quantity = line quantity
 *   minus every unit already refunded on that line (order.refunds[]): a refund that restocked
 *   is its own fact below, and a refund without restock means the unit is gone - either way the
 *   cancellation must not release it again;
 * - refunds/create   `shopify:<shop>:<order>:<refund>:<refund line item>:return` for
 *   restock_type return / legacy_restock, `...:cancellation` for restock_type cancel (units of an
 *   unfulfilled line going back); no_restock lines are not stock facts and are skipped.
 * Lines without a variant (custom items) and zero quantities hold no stock and are skipped.
 * The same event delivered again - a retry, a duplicate, a new X-Shopify-Webhook-Id - gives the
 * same keys and quantities, so the ledger's idempotency answers `exists`.
 * Never throws: a bad shape is `{ kind: 'invalid', reason }`.
 */
export function shopifyWebhookToOrderLines(topic: string, payload: unknown, shopDomain: string): ShopifyWebhookEvent {
  try {
    const shop = typeof shopDomain === 'string' ? shopDomain.toLowerCase() : '';
    if (!shopDomainPattern.test(shop))
      return { kind: 'invalid', topic, reason: 'X-Shopify-Shop-Domain is not a *.myshopify.com domain' };
    switch (topic) {
      case 'orders/create':
      case 'orders/cancelled':
        return orderLines(topic, payload, shop);
      case 'refunds/create':
        return refundLines(topic, payload, shop);
      case 'inventory_levels/update':
        return levelSignal(topic, payload);
      default:
        return { kind: 'ignored', topic: String(topic).slice(0, 100) };
    }
  } catch (error) {
    return {
      kind: 'invalid',
      topic: String(topic).slice(0, 100),
      reason: `unexpected: ${error instanceof Error ? error.message.slice(0, 200) : 'error'}`,
    };
  }
}

function invalid(topic: string, error: z.ZodError): ShopifyWebhookEvent {
  const issue = error.issues[0];
  return {
    kind: 'invalid',
    topic,
    reason: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid payload',
  };
}

/** The exact numeric id: the gid's digits when present (always exact), else the REST id. */
function exactId(restIdValue: string, gid: string | undefined, type: string): string {
  const match = gid === undefined ? null : new RegExp(`^gid://shopify/${type}/([1-9][0-9]{0,19})$`).exec(gid);
  return match ? match[1]! : restIdValue;
}

function orderLines(topic: 'orders/create' | 'orders/cancelled', payload: unknown, shop: string): ShopifyWebhookEvent {
  const parsed = orderSchema.safeParse(payload);
  if (!parsed.success) return invalid(topic, parsed.error);
  const order = parsed.data;
  const orderId = exactId(order.id, order.admin_graphql_api_id, 'Order');
  const cancelling = topic === 'orders/cancelled';
  if (cancelling && !order.cancelled_at)
    return { kind: 'invalid', topic, reason: 'cancelled_at: missing on orders/cancelled' };
  const occurredAt = Date.parse(cancelling ? order.cancelled_at! : order.created_at);
  const refunded = new Map<string, number>();
  if (cancelling) {
    for (const refund of order.refunds ?? []) {
      for (const line of refund.refund_line_items)
        refunded.set(line.line_item_id, (refunded.get(line.line_item_id) ?? 0) + line.quantity);
    }
  }
  const kind = cancelling ? 'cancellation' : 'order';
  const lines: ShopifyOrderLine[] = [];
  for (const line of order.line_items) {
    if (line.variant_id === null || line.variant_id === undefined) continue;
    const lineItemId = exactId(line.id, line.admin_graphql_api_id, 'LineItem');
    const units = cancelling ? line.quantity - (refunded.get(line.id) ?? 0) : line.quantity;
    if (units <= 0) continue;
    lines.push({
      key: businessEventKey('shopify', shop, [orderId, lineItemId], kind),
      kind,
      externalId: `gid://shopify/ProductVariant/${line.variant_id}`,
      sku: line.sku ? line.sku : null,
      quantity: units,
      orderReference: orderId,
      occurredAt,
      variantId: `gid://shopify/ProductVariant/${line.variant_id}`,
      lineItemId,
      locationId: null,
    });
  }
  return { kind: 'lines', topic, lines };
}

function refundLines(topic: 'refunds/create', payload: unknown, shop: string): ShopifyWebhookEvent {
  const parsed = refundSchema.safeParse(payload);
  if (!parsed.success) return invalid(topic, parsed.error);
  const refund = parsed.data;
  const occurredAt = Date.parse(refund.created_at);
  const lines: ShopifyOrderLine[] = [];
  for (const line of refund.refund_line_items) {
    const restock = line.restock_type ?? 'no_restock';
    const kind =
      restock === 'return' || restock === 'legacy_restock' ? 'return' : restock === 'cancel' ? 'cancellation' : null;
    if (kind === null || line.quantity === 0) continue;
    const variant = line.line_item?.variant_id;
    if (variant === null || variant === undefined)
      return { kind: 'invalid', topic, reason: `refund_line_items.${line.id}: line_item.variant_id missing` };
    lines.push({
      key: businessEventKey('shopify', shop, [refund.order_id, refund.id, line.id], kind),
      kind,
      externalId: `gid://shopify/ProductVariant/${variant}`,
      sku: line.line_item?.sku ? line.line_item.sku : null,
      quantity: line.quantity,
      orderReference: refund.order_id,
      occurredAt,
      variantId: `gid://shopify/ProductVariant/${variant}`,
      lineItemId: line.line_item_id,
      locationId: line.location_id ? `gid://shopify/Location/${line.location_id}` : null,
    });
  }
  return { kind: 'lines', topic, lines };
}

function levelSignal(topic: 'inventory_levels/update', payload: unknown): ShopifyWebhookEvent {
  const parsed = inventoryLevelSchema.safeParse(payload);
  if (!parsed.success) return invalid(topic, parsed.error);
  const level = parsed.data;
  return {
    kind: 'level',
    topic,
    inventoryItemId: `gid://shopify/InventoryItem/${level.inventory_item_id}`,
    locationId: `gid://shopify/Location/${level.location_id}`,
    available: level.available,
    updatedAt: Date.parse(level.updated_at),
  };
}

// ---------------------------------------------------------------------------------------------
// The connector port's webhook intake (channel-intake.ts)

export interface ShopifyWebhookConnection {
  /** The connection's shop; X-Shopify-Shop-Domain must name it. */
  shopDomain: string;
  /** The location this connection pushes to: level updates elsewhere are ignored. */
  locationId: string | null;
  /** Current secret first, then the previous one during a rotation. */
  secrets: readonly string[];
}

/**
 * 1. the HMAC over the raw bytes, with the current or the previous secret, before anything is
 *    parsed; 2. X-Shopify-Shop-Domain (unsigned, so only after 1) must be this connection's shop.
 */
export function checkShopifyDelivery(delivery: WebhookDelivery, connection: ShopifyWebhookConnection): WebhookCheck {
  const headers = readShopifyWebhookHeaders(delivery.headers);
  if (!verifyShopifyWebhook(delivery.body, headers.hmac, connection.secrets))
    return { ok: false, reason: 'X-Shopify-Hmac-Sha256 does not verify' };
  if ((headers.shopDomain ?? '').toLowerCase() !== connection.shopDomain.toLowerCase())
    return { ok: false, reason: "X-Shopify-Shop-Domain is not this channel's shop" };
  return { ok: true };
}

/** A verified delivery as a platform-neutral intake event. */
export function shopifyDeliveryToEvent(delivery: WebhookDelivery, connection: ShopifyWebhookConnection): IntakeEvent {
  const headers = readShopifyWebhookHeaders(delivery.headers);
  const parsed = parseShopifyWebhookBody(delivery.body);
  if (!parsed.ok) return { kind: 'invalid', reason: parsed.reason };
  const event = shopifyWebhookToOrderLines(headers.topic ?? '', parsed.payload, connection.shopDomain);
  switch (event.kind) {
    case 'lines':
      return { kind: 'lines', lines: event.lines };
    case 'level':
      if (event.available === null || event.locationId !== connection.locationId)
        return { kind: 'ignored', reason: `${event.topic}: not a level this connection pushes` };
      return { kind: 'level', externalId: event.inventoryItemId, quantity: event.available };
    case 'ignored':
      return { kind: 'ignored', reason: `topic ${event.topic}` };
    case 'invalid':
      return { kind: 'invalid', reason: event.reason };
  }
}
