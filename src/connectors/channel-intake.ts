import type { OrderLineFact } from '../core/orders/line-events.js';

/**
 * What a platform says about ONE order line, in one event. An order line is identified by
 * `lineKey` (`<platform>:<account>:<order id>:<line id>`) in every event about it: the order
 * itself, its edits, cancellations, fulfilments, refunds and returns. src/ingest folds each
 * event into the line's state (src/core/orders) and writes to the ledger only the difference
 * between the effect already applied and the effect the new state implies, so events may
 * arrive in any order, twice, or years apart.
 *
 * `eventId` names the business event within the line (a fulfilment id, a refund line id,
 * `order` for the order's own line): two deliveries of one event carry the same id, and the
 * fold merges them (rules per kind in src/core/orders/line-state.ts).
 */
export interface OrderLineEvent {
  lineKey: string;
  /** Unique per business event within the line; never a delivery or poll id. */
  eventId: string;
  /** The platform's order id (shown in the audit as the movement's source reference). */
  orderId: string;
  /** The platform's line id within the order. */
  lineId: string;
  /** How to find the onhand variant: listing external id, then sku, then barcode. */
  item: OrderLineItem;
  /** When it happened at the source (epoch ms). */
  occurredAt: number;
  fact: OrderLineFact;
}

export interface OrderLineItem {
  /** The listing's external id (Bol offer id), or another id a listing carries in externalRefs (Shopify variant gid). */
  externalId: string;
  sku: string | null;
  barcode: string | null;
}

/** The facts themselves are the core's (src/core/orders/line-events.ts): the fold lives there. */
export type { FulfilledBy, OrderLineFact, RestockType } from '../core/orders/line-events.js';

/**
 * The intake side of the connector port: what a platform sends us (webhooks) or lets us read
 * (order polling), turned into platform-neutral intake events. A connector implements the
 * parts its platform has: Shopify signs webhooks, Bol.com is polled. Everything around these
 * members (finding the channel, the lease, the cursor, the ledger commands) lives in
 * src/ingest/ and is the same for every platform.
 */

/** One webhook delivery as the HTTP layer received it: the raw body bytes, before any parsing. */
export interface WebhookDelivery {
  /** The exact bytes received: a signature is computed over these, never over re-serialised JSON. */
  body: Buffer;
  /** Node's lower-cased request headers. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Whether a delivery is authentic and meant for this connection. */
export type WebhookCheck = { ok: true } | { ok: false; reason: string };

/** What one delivery means, whatever the platform. */
export type IntakeEvent =
  /** Events about channel order lines (orders, edits, cancellations, fulfilments, refunds, returns). */
  | { kind: 'lines'; events: OrderLineEvent[] }
  /**
   * What the channel shows now for an item this connection pushes (our own push's echo, or an
   * edit made on the platform): never a ledger fact, only compared with the desired quantity.
   */
  | { kind: 'level'; externalId: string; quantity: number | null }
  /** A topic, or a location, this connection does not turn into anything. */
  | { kind: 'ignored'; reason: string }
  /** Authentic but malformed: it will not improve on a retry. */
  | { kind: 'invalid'; reason: string };

/** One bounded poll: the lines seen and the position to continue from. */
export interface OrderPollBatch {
  events: OrderLineEvent[];
  /** Opaque to ingest; saved only after the events are durably recorded, so a crash re-reads and the fold dedupes. */
  cursor: string;
  /** A request failed; the lines and cursor are still valid (partial progress). */
  error?: string;
  /**
   * Set when the poll caught up: every order the channel took before this moment is in these
   * events or an earlier batch's. Once the cursor is saved, the drift judge may rely on it
   * (src/core/drift.ts). Unset when the poll left work for a later one.
   */
  caughtUpTo?: number;
}

export interface WebhookIntake {
  /** Signature (and account) check on the raw bytes, before anything is parsed. Never throws. */
  verifyWebhook(delivery: WebhookDelivery): WebhookCheck;
  /** Call only after verifyWebhook said ok. Never throws: a bad shape is `invalid`. */
  parseWebhook(delivery: WebhookDelivery): IntakeEvent;
}

/** What the marketplace holds of one listing in its own fulfilment network (Amazon FBA). */
export interface MarketplaceStockLevel {
  /** The listing's external id (the seller SKU). */
  externalId: string;
  /** Units in the marketplace's network that are the merchant's and not yet shipped. */
  onHand: number;
  /** When the marketplace last changed any of its figures (epoch ms): the count's time and key. */
  updatedAt: number;
}

/**
 * The marketplace's own warehouses, read back (Amazon FBA inventory): src/ingest turns each
 * level into a `count` at the channel's `marketplace_fulfilment` location.
 */
export interface MarketplaceStockIntake {
  /** Pause between two reads of this connection. */
  readonly marketplaceStockIntervalMs: number;
  /**
   * The levels of these listings (external ids) the marketplace holds; listings it holds none of
   * are left out. Waits inside the platform's read budget; a read cut short returns what it has
   * with `error`.
   */
  readMarketplaceStock(
    externalIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ levels: MarketplaceStockLevel[]; calls: number; error?: string }>;
}

export interface OrderPollIntake {
  /** Pause between two polls of this connection. */
  readonly pollIntervalMs: number;
  /** Poll from `cursor` (null = from the start). May throw on a cursor it cannot read. */
  pollOrders(cursor: string | null, signal?: AbortSignal): Promise<OrderPollBatch>;
  /**
   * Every event each of these orders holds now, read order by order (bounded by the caller):
   * the intake asks for orders whose lines it still holds open and has not heard of for a
   * while, so a change the change-based poll could not see (a cursor lost in a crash, a pause
   * longer than the platform's change window) is still applied. The fold ignores what it has.
   */
  refreshOrders?(
    orderIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ events: OrderLineEvent[]; error?: string }>;
}

/**
 * The identity of one channel order line, `<platform>:<account>:<order id>:<line id>`: the same
 * in every event about the line, whatever delivered it.
 */
export function orderLineKey(platform: string, account: string, orderId: string, lineId: string): string {
  return [platform, account, orderId, lineId].join(':');
}
