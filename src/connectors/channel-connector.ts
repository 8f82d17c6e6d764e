import type { MarketplaceStockIntake, OrderPollIntake, WebhookIntake } from './channel-intake.js';

/**
 * THE connector port: what the dispatcher (src/sync/), the intake (src/ingest/) and the
 * read-back (src/reconcile/) need from a sales platform, whatever its API. One folder per
 * platform implements it (shopify/, bol/...), each tested by one connector conformance suite
 * against its simulator in sim/.
 *
 * Every push is an ABSOLUTE quantity ("set to N", never "add N"): a push retried after a lost
 * response cannot double-apply. Where the platform can compare-and-set (Shopify's
 * changeFromQuantity) the connector passes the quantity we last saw on the channel, so a sale
 * the channel took meanwhile is never overwritten; the outcome is then `stale` with what the
 * channel shows now.
 */

export interface PushItem {
  /** onhand listing id, echoed in the outcome. */
  listingId: string;
  /** The channel's id for the item (Shopify inventory item gid, Bol offer id...). */
  externalId: string;
  /** Where the quantity is set on the channel (Shopify location gid); null when the platform has none. */
  externalLocationId: string | null;
  /** The desired quantity to show. */
  quantity: number;
  /** What we last saw on the channel for compare-and-set; null = unknown (no compare). */
  expectedChannelQuantity: number | null;
  /**
   * Idempotency key for platforms that take one (Shopify `@idempotent`): derived from the
   * listing and the desired value's version, so a retry of the same push reuses it.
   */
  idempotencyKey: string;
  /**
   * The pre-order offer beside the quantity (core/availability: incoming stock sold ahead), for
   * platforms that show availability rather than a count (Google Merchant Center: `preorder`
   * with an availability date). Absent or null: no offer. Quantity platforms ignore it.
   */
  preorder?: PushPreorder | null;
}

/** A listing's pre-order offer as stored with its desired quantity; dates in epoch ms, null when unknown. */
export interface PushPreorder {
  quantity: number;
  earliestAt: number | null;
  latestAt: number | null;
}

export type PushOutcome =
  | { listingId: string; status: 'ok'; channelQuantity: number }
  /** The channel's quantity was not what we expected (it sold meanwhile): read, recompute, retry. */
  | { listingId: string; status: 'stale'; channelQuantity: number | null; reason: string }
  /** Try again later (5xx, timeout, throttled); `retryAfterMs` when the platform said when. */
  | { listingId: string; status: 'retry'; reason: string; retryAfterMs?: number }
  /** Will never succeed as sent (bad credentials, unknown offer): dead letter at once. */
  | { listingId: string; status: 'permanent'; reason: string };

/** One level from a bulk read: the channel's item, where (null when the platform has no locations), the quantity shown. */
export interface BulkLevel {
  externalId: string;
  externalLocationId: string | null;
  quantity: number;
}

export interface RateLimitStatus {
  /** Requests (or cost points) the platform would accept right now. */
  available: number;
  capacity: number;
  /** When the budget is empty: ms until a request would be accepted. */
  waitMs: number;
}

/**
 * Push, read back, and the intake members the platform has (channel-intake.ts): webhooks
 * (`verifyWebhook`, `parseWebhook`) where the platform signs them, `pollOrders` where it is
 * polled. A platform with neither is pushed to only.
 */
export interface ChannelConnector
  extends Partial<WebhookIntake>,
    Partial<OrderPollIntake>,
    Partial<MarketplaceStockIntake> {
  readonly platform: string;
  /** Most items in one pushLevels call (Shopify: 250 quantities per mutation; Bol: 1 offer per PATCH). */
  readonly maxBatchSize: number;
  /** Push desired quantities; one outcome per item, in order. Never throws for a platform answer. */
  pushLevels(items: readonly PushItem[], signal?: AbortSignal): Promise<PushOutcome[]>;
  /** What the channel shows now, for reconciliation and after a stale compare. null = not found. */
  readLevels(
    items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[],
    signal?: AbortSignal,
  ): Promise<{ listingId: string; quantity: number | null }[]>;
  /**
   * Optional: every level the channel holds for this connection, on the platform's cheapest
   * bulk path (Shopify: a bulk operation and its JSONL result; Bol: the paged offers list), a
   * bounded page at a time. A full reconcile pass uses it when present instead of readLevels per
   * listing. It waits inside the platform's read budget itself and leaves the write budget to
   * pushes; it throws when the read cannot complete (the pass then records a read error).
   */
  readAllLevels?(signal?: AbortSignal): AsyncIterable<BulkLevel[]>;
  /** The same item whatever the form of its id (e.g. numeric or gid): how bulk levels meet listings. @default the id itself */
  itemKey?(externalId: string): string;
  /** The connector's view of the platform's rate budget (from the platform's own headers/extensions). */
  rateLimit(): RateLimitStatus;
}

/** The connector takes webhooks. */
export function takesWebhooks(connector: ChannelConnector): connector is ChannelConnector & WebhookIntake {
  return typeof connector.verifyWebhook === 'function' && typeof connector.parseWebhook === 'function';
}

/** The connector's orders are polled. */
export function pollsOrders(connector: ChannelConnector): connector is ChannelConnector & OrderPollIntake {
  return typeof connector.pollOrders === 'function' && typeof connector.pollIntervalMs === 'number';
}

/** The connector reads the marketplace's own fulfilment stock (Amazon FBA). */
export function readsMarketplaceStock(
  connector: ChannelConnector,
): connector is ChannelConnector & MarketplaceStockIntake {
  return (
    typeof connector.readMarketplaceStock === 'function' && typeof connector.marketplaceStockIntervalMs === 'number'
  );
}
