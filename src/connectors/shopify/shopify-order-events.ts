import { z } from 'zod';
import {
  type OrderLineEvent,
  type OrderLineFact,
  type OrderLineItem,
  orderLineKey,
  type RestockType,
} from '../channel-intake.js';

/**
 * Shopify webhook payloads as order-line events (channel-intake.ts, OrderLineEvent): every
 * topic about an order line says something about the line `shopify:<shop>:<order>:<line item>`,
 * and each business event inside it has an id of its own, so the ingest's fold can take the
 * deliveries in any order, twice, or both inside an order body and as their own webhook.
 *
 * | topic                                  | payload    | events per line item                          |
 * |----------------------------------------|------------|-----------------------------------------------|
 * | orders/create, -updated, -cancelled    | Order      | `ordered` (eventId `order`), `cancelled` (`cancel`) when cancelled_at is set, plus the embedded refunds and fulfilments below |
 * | fulfillments/create, -update           | Fulfillment| `fulfilled` (eventId `fulfillment:<id>`)      |
 * | refunds/create                         | Refund     | `refunded` (eventId `refund:<refund line item id>`) |
 * | inventory_levels/update                | InventoryLevel | no event: a level signal                  |
 *
 * The platform facts behind each field are listed in docs/channels/shopify.md (Order lifecycle).
 * Lines without a variant (custom items) hold no stock and are skipped; so are refund and
 * fulfilment lines of zero units. REST ids are 64-bit: parse the body with
 * parseShopifyWebhookBody, which keeps long ids as exact strings; a number beyond 2^53 is refused.
 */

// ---------------------------------------------------------------------------------------------
// Payload schemas (only the fields read; the rest of the REST resource passes through)

/** A REST id: a safe integer, or the exact digits as a string (from parseShopifyWebhookBody). */
const restId = z
  .union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9][0-9]{0,19}$/)])
  .transform(String);
const timestamp = z
  .string()
  .max(64)
  .refine((value) => Number.isFinite(Date.parse(value)), 'an ISO 8601 timestamp');
const quantity = z.number().int().min(0).max(1_000_000_000);
const gidText = z.string().max(200);

/** Shopify's restock types (RefundLineItem.restock_type); null or absent reads as no_restock. */
export const shopifyRestockTypes = Object.freeze(['cancel', 'return', 'legacy_restock', 'no_restock'] as const);

/** Fulfilment statuses that mean the units did not (or no longer) ship. */
const inactiveFulfilmentStatuses = new Set(['cancelled', 'error', 'failure']);

/** Fulfilment statuses onhand knows (REST Fulfillment.status); any other is not understood. */
export const shopifyFulfilmentStatuses = Object.freeze(['pending', 'open', 'success', 'cancelled', 'error', 'failure']);

/** At most this much of an unknown value is quoted in the reason of a not-understood event. */
const quotedValueLengthMax = 60;

const lineItemSchema = z.object({
  id: restId,
  admin_graphql_api_id: gidText.optional(),
  variant_id: restId.nullable().optional(),
  sku: z.string().max(255).nullable().optional(),
  quantity,
  /** Units still on the order after edits and removals (REST 2024-01 and later). */
  current_quantity: quantity.nullable().optional(),
});

const refundLineItemSchema = z.object({
  id: restId,
  line_item_id: restId,
  quantity,
  /** Any text: a value onhand does not know becomes a not-understood event of the line. */
  restock_type: z.string().max(100).nullable().optional(),
  location_id: restId.nullable().optional(),
  line_item: lineItemSchema.partial({ quantity: true }).nullable().optional(),
});

const refundSchema = z.object({
  id: restId,
  order_id: restId,
  created_at: timestamp,
  refund_line_items: z.array(refundLineItemSchema).max(1_000),
});

const fulfillmentSchema = z.object({
  id: restId,
  admin_graphql_api_id: gidText.optional(),
  order_id: restId,
  status: z.string().min(1).max(40),
  location_id: restId.nullable().optional(),
  created_at: timestamp,
  updated_at: timestamp.nullable().optional(),
  line_items: z.array(lineItemSchema).max(1_000),
});

const orderSchema = z.object({
  id: restId,
  admin_graphql_api_id: gidText.optional(),
  created_at: timestamp,
  updated_at: timestamp.nullable().optional(),
  cancelled_at: timestamp.nullable().optional(),
  /** The point-of-sale location the order was taken at; null for online orders. */
  location_id: restId.nullable().optional(),
  line_items: z.array(lineItemSchema).max(1_000),
  // Embedded resources: the order they belong to is the enclosing one.
  refunds: z
    .array(refundSchema.partial({ order_id: true }))
    .max(250)
    .nullable()
    .optional(),
  fulfillments: z
    .array(fulfillmentSchema.partial({ order_id: true }))
    .max(250)
    .nullable()
    .optional(),
});

const inventoryLevelSchema = z.object({
  inventory_item_id: restId,
  location_id: restId,
  available: z.number().int().min(-1_000_000_000).max(1_000_000_000).nullable(),
  updated_at: timestamp,
});

type LineItem = z.output<typeof lineItemSchema>;
type Refund = z.output<typeof refundSchema>;
type Fulfillment = z.output<typeof fulfillmentSchema>;

// ---------------------------------------------------------------------------------------------
// Mapping

/** The topics that carry order-line events. */
export const shopifyOrderTopics = Object.freeze([
  'orders/create',
  'orders/updated',
  'orders/cancelled',
  'fulfillments/create',
  'fulfillments/update',
  'refunds/create',
] as const);

export type ShopifyWebhookEvent =
  | { kind: 'lines'; topic: string; events: OrderLineEvent[] }
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
  /** A topic onhand does not turn into events. */
  | { kind: 'ignored'; topic: string }
  /** Not a well-formed payload for its topic: it will not improve on a retry. */
  | { kind: 'invalid'; topic: string; reason: string };

const shopDomainPattern = /^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$/;

/**
 * One webhook payload -> order-line events (or a level signal). The same business event always
 * maps to the same `lineKey` and `eventId`, whichever delivery or resource carried it. Never
 * throws: a bad shape is `{ kind: 'invalid', reason }` naming the field path.
 */
export function shopifyWebhookToEvents(topic: string, payload: unknown, shopDomain: string): ShopifyWebhookEvent {
  const name = String(topic).slice(0, 100);
  try {
    const shop = typeof shopDomain === 'string' ? shopDomain.toLowerCase() : '';
    if (!shopDomainPattern.test(shop))
      return { kind: 'invalid', topic: name, reason: 'X-Shopify-Shop-Domain is not a *.myshopify.com domain' };
    switch (topic) {
      case 'orders/create':
      case 'orders/updated':
      case 'orders/cancelled':
        return orderEvents(topic, payload, shop);
      case 'fulfillments/create':
      case 'fulfillments/update':
        return fulfillmentEvents(topic, payload, shop);
      case 'refunds/create':
        return refundEvents(topic, payload, shop);
      case 'inventory_levels/update':
        return levelSignal(topic, payload);
      default:
        return { kind: 'ignored', topic: name };
    }
  } catch (error) {
    return {
      kind: 'invalid',
      topic: name,
      reason: `unexpected: ${error instanceof Error ? error.message.slice(0, 200) : 'error'}`,
    };
  }
}

/** A zod failure as `invalid`, naming the first issue's field path. */
function invalid(topic: string, error: z.ZodError): ShopifyWebhookEvent {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map(String).join('.');
  return {
    kind: 'invalid',
    topic,
    reason: issue ? `${path || '(root)'}: ${issue.message}` : 'invalid payload',
  };
}

/** `gid://shopify/<type>/<digits>` per resource type, compiled once. */
const gidPatterns = new Map<string, RegExp>();

/** The exact numeric id: the gid's digits when present (always exact), else the REST id. */
function exactId(
  restIdValue: string,
  gid: string | undefined | null,
  type: 'Order' | 'LineItem' | 'Fulfillment',
): string {
  if (typeof gid !== 'string') return restIdValue;
  let pattern = gidPatterns.get(type);
  if (pattern === undefined) {
    pattern = new RegExp(`^gid://shopify/${type}/([1-9][0-9]{0,19})$`);
    gidPatterns.set(type, pattern);
  }
  const match = pattern.exec(gid);
  return match ? match[1]! : restIdValue;
}

const locationGid = (id: string | null | undefined): string | null =>
  id === null || id === undefined ? null : `gid://shopify/Location/${id}`;

/** The variant as the ingest finds the listing; null for a custom item (no variant, no stock). */
function itemOf(
  line: { variant_id?: string | null | undefined; sku?: string | null | undefined } | null | undefined,
): OrderLineItem | null {
  if (!line || line.variant_id === null || line.variant_id === undefined) return null;
  return {
    externalId: `gid://shopify/ProductVariant/${line.variant_id}`,
    sku: line.sku ? line.sku : null,
    barcode: null,
  };
}

/** Collects events for one order; the line key is derived once per line. */
class EventSink {
  readonly events: OrderLineEvent[] = [];
  constructor(
    private readonly shop: string,
    readonly orderId: string,
  ) {}

  add(lineId: string, item: OrderLineItem, eventId: string, occurredAt: number, fact: OrderLineFact): void {
    this.events.push({
      lineKey: orderLineKey('shopify', this.shop, this.orderId, lineId),
      eventId,
      orderId: this.orderId,
      lineId,
      item,
      occurredAt,
      fact,
    });
  }
}

function orderEvents(
  topic: 'orders/create' | 'orders/updated' | 'orders/cancelled',
  payload: unknown,
  shop: string,
): ShopifyWebhookEvent {
  const parsed = orderSchema.safeParse(payload);
  if (!parsed.success) return invalid(topic, parsed.error);
  const order = parsed.data;
  if (topic === 'orders/cancelled' && !order.cancelled_at)
    return { kind: 'invalid', topic, reason: 'cancelled_at: missing on orders/cancelled' };
  const sink = new EventSink(shop, exactId(order.id, order.admin_graphql_api_id, 'Order'));
  const version = Date.parse(order.updated_at ?? order.created_at);
  const sold = locationGid(order.location_id);
  const lines = new Map<string, LineItem>();
  const refundedUnits = new Map<string, number>();
  for (const refund of order.refunds ?? [])
    for (const line of refund.refund_line_items)
      refundedUnits.set(line.line_item_id, (refundedUnits.get(line.line_item_id) ?? 0) + line.quantity);
  for (const line of order.line_items) {
    lines.set(line.id, line);
    const item = itemOf(line);
    if (item === null) continue;
    const lineId = exactId(line.id, line.admin_graphql_api_id, 'LineItem');
    // current_quantity is the quantity less what edits removed AND less what refunds took back;
    // the refunds arrive as their own facts (below, or as refunds/create), so they are added back
    // here and counted once, by the fold. Zero is kept: it is how an edit removes a line.
    const units =
      line.current_quantity === null || line.current_quantity === undefined
        ? line.quantity
        : line.current_quantity + (refundedUnits.get(line.id) ?? 0);
    sink.add(lineId, item, 'order', version, {
      kind: 'ordered',
      quantity: units,
      version,
      fulfilledBy: 'merchant',
      locationId: sold,
    });
    if (order.cancelled_at)
      sink.add(lineId, item, 'cancel', Date.parse(order.cancelled_at), { kind: 'cancelled', quantity: null });
  }
  for (const fulfillment of order.fulfillments ?? []) addFulfillment(sink, fulfillment, lines);
  for (const [index, refund] of (order.refunds ?? []).entries()) {
    const problem = addRefund(sink, refund, lines);
    if (problem !== null) return { kind: 'invalid', topic, reason: `refunds.${index}.${problem}` };
  }
  return { kind: 'lines', topic, events: sink.events };
}

function fulfillmentEvents(
  topic: 'fulfillments/create' | 'fulfillments/update',
  payload: unknown,
  shop: string,
): ShopifyWebhookEvent {
  const parsed = fulfillmentSchema.safeParse(payload);
  if (!parsed.success) return invalid(topic, parsed.error);
  const sink = new EventSink(shop, parsed.data.order_id);
  addFulfillment(sink, parsed.data, new Map());
  return { kind: 'lines', topic, events: sink.events };
}

function refundEvents(topic: 'refunds/create', payload: unknown, shop: string): ShopifyWebhookEvent {
  const parsed = refundSchema.safeParse(payload);
  if (!parsed.success) return invalid(topic, parsed.error);
  const sink = new EventSink(shop, parsed.data.order_id);
  const problem = addRefund(sink, parsed.data, new Map());
  if (problem !== null) return { kind: 'invalid', topic, reason: problem };
  return { kind: 'lines', topic, events: sink.events };
}

/**
 * A fulfilment: one `fulfilled` fact per line item, all under `fulfillment:<id>`. It ships at
 * its created_at; a cancelled or failed one is inactive from its updated_at. The greater
 * updated_at wins in the fold.
 */
function addFulfillment(
  sink: EventSink,
  fulfillment: Omit<Fulfillment, 'order_id'>,
  orderLines: ReadonlyMap<string, LineItem>,
): void {
  const id = exactId(fulfillment.id, fulfillment.admin_graphql_api_id, 'Fulfillment');
  const status = fulfillment.status.toLowerCase();
  const active = !inactiveFulfilmentStatuses.has(status);
  const understood = shopifyFulfilmentStatuses.includes(status);
  const version = Date.parse(fulfillment.updated_at ?? fulfillment.created_at);
  const occurredAt = active ? Date.parse(fulfillment.created_at) : version;
  const locationId = locationGid(fulfillment.location_id);
  for (const line of fulfillment.line_items) {
    if (line.quantity === 0) continue;
    const item = itemOf(line) ?? itemOf(orderLines.get(line.id));
    if (item === null) continue;
    const lineId = exactId(line.id, line.admin_graphql_api_id, 'LineItem');
    // An unknown status is neither a shipment nor a cancelled one: the line waits in the inbox.
    if (!understood)
      sink.add(lineId, item, `fulfillment:${id}`, occurredAt, {
        kind: 'not_understood',
        reason: `fulfillment ${id} has status ${quoted(fulfillment.status)}, which onhand does not know (${shopifyFulfilmentStatuses.join(', ')})`,
      });
    else
      sink.add(lineId, item, `fulfillment:${id}`, occurredAt, {
        kind: 'fulfilled',
        quantity: line.quantity,
        locationId,
        active,
        version,
      });
  }
}

/**
 * A refund: one `refunded` fact per refund line item, under `refund:<refund line item id>`.
 * The item comes from the order's own line (inside an order body) or from the refund line's
 * embedded `line_item`; without either, the refund cannot be placed and the delivery is invalid.
 * Returns the field path of a problem, or null.
 */
function addRefund(
  sink: EventSink,
  refund: Omit<Refund, 'order_id'>,
  orderLines: ReadonlyMap<string, LineItem>,
): string | null {
  const occurredAt = Date.parse(refund.created_at);
  for (const [index, refundLine] of refund.refund_line_items.entries()) {
    if (refundLine.quantity === 0) continue;
    const orderLine = orderLines.get(refundLine.line_item_id);
    const source = orderLine ?? refundLine.line_item;
    if (source === null || source === undefined)
      return `refund_line_items.${index}.line_item: missing, so the refunded variant is unknown`;
    const item = itemOf(source);
    if (item === null) continue;
    const lineId = exactId(refundLine.line_item_id, source.admin_graphql_api_id, 'LineItem');
    const restock = (refundLine.restock_type ?? 'no_restock') as RestockType;
    if (!shopifyRestockTypes.includes(restock)) {
      // Its effect on stock is unknown: the line waits in the inbox, the rest of the delivery is taken.
      sink.add(lineId, item, `refund:${refundLine.id}`, occurredAt, {
        kind: 'not_understood',
        reason: `refund line item ${refundLine.id} has restock_type ${quoted(restock)}, which onhand does not know (${shopifyRestockTypes.join(', ')})`,
      });
      continue;
    }
    sink.add(lineId, item, `refund:${refundLine.id}`, occurredAt, {
      kind: 'refunded',
      quantity: refundLine.quantity,
      restock,
      locationId: locationGid(refundLine.location_id),
    });
  }
  return null;
}

/** A platform value quoted in a reason, bounded. */
function quoted(value: string): string {
  const text = JSON.stringify(value);
  if (text.length <= quotedValueLengthMax) return text;
  // Never cut a surrogate pair in two: half of one is text no store holds.
  return `${text.slice(0, quotedValueLengthMax - 2).replace(/[\uD800-\uDBFF]$/, '')}…"`;
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
