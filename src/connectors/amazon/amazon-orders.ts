import type { OrderLineEvent } from '../channel-intake.js';
import type { AmazonCallResult, AmazonClient, Order, OrderItem } from './amazon-client.js';
import { amazonLimits } from './amazon-limits.js';
import { type AmazonNotificationSource, parseAmazonNotification } from './amazon-notifications.js';
import { type AmazonOrderFigures, amazonOrderItemEvents, parseAmazonTime } from './amazon-order-events.js';

/**
 * Orders in (docs/channels/amazon.md, Orders in): one bounded poll.
 * 0. With a notification source: delete the messages the previous poll handled (its cursor is
 *    saved, so their events are recorded), then take a batch, skip ids already seen, and turn
 *    each ORDER_CHANGE into events from its summary; a LISTINGS_ITEM_MFN_QUANTITY_CHANGE goes to
 *    `onLevel` (what the channel shows, never a ledger fact).
 * 1. Continue the getOrders scan in the cursor, or start one at `LastUpdatedAfter` = where the
 *    last completed scan started, minus an overlap (Amazon shows a change with some delay).
 * 2. Read at most `ordersPagesPerPollMax` pages, following NextToken; an order whose
 *    LastUpdateDate the cursor remembers is skipped, any other waits for its items.
 * 3. getOrderItems (following its NextToken) for at most `orderItemsPerPollMax` orders; the rest
 *    wait in the cursor and go first next time.
 * 4. Return the events with the NEXT cursor: ingest saves it only after recording them.
 */

export interface AmazonOrdersCursor {
  v: 1;
  /** LastUpdatedAfter of the next scan (ISO); null before the first. */
  after: string | null;
  scan: { startedAt: number; after: string; nextToken: string | null } | null;
  /** Orders whose items are owed. */
  deferred: AmazonOrderFigures[];
  /** AmazonOrderId -> LastUpdateDate last read (insertion order = age). */
  orders: Record<string, string>;
  /** NotificationIds recently handled. */
  notifications: string[];
  /** Receipt handles of handled messages, deleted by the next poll. */
  handled: string[];
}

export function initialAmazonOrdersCursor(): AmazonOrdersCursor {
  return { v: 1, after: null, scan: null, deferred: [], orders: {}, notifications: [], handled: [] };
}

export function readAmazonOrdersCursor(text: string | null): AmazonOrdersCursor {
  if (text === null) return initialAmazonOrdersCursor();
  const parsed = JSON.parse(text) as Partial<AmazonOrdersCursor>;
  if (parsed.v !== 1) throw new Error(`unknown Amazon orders cursor version ${String(parsed.v)}`);
  return { ...initialAmazonOrdersCursor(), ...parsed } as AmazonOrdersCursor;
}

export interface AmazonOrdersPollResult {
  events: OrderLineEvent[];
  cursor: AmazonOrdersCursor;
  caughtUpTo: number | null;
  pagesRead: number;
  itemCalls: number;
  notificationsRead: number;
  duplicateNotifications: number;
  error?: string;
}

export interface AmazonOrderPollerConfig {
  sellerId: string;
  marketplaceIds: readonly string[];
  now: () => number;
  source?: AmazonNotificationSource | undefined;
  onLevel?: ((sku: string, quantity: number) => void) | undefined;
  /** First scan looks back this far. @default 1 day */
  initialLookbackMs?: number;
}

/** Overlap of consecutive scans: Amazon's order list trails its changes by up to a few minutes. */
const scanOverlapMs = amazonLimits.ordersRecentWindowMs + 60_000;

export class AmazonOrderPoller {
  constructor(
    private readonly client: AmazonClient,
    private readonly config: AmazonOrderPollerConfig,
  ) {}

  async poll(previous: AmazonOrdersCursor, signal?: AbortSignal): Promise<AmazonOrdersPollResult> {
    const now = this.config.now();
    const cursor = structuredClone(previous);
    const result: AmazonOrdersPollResult = {
      events: [],
      cursor,
      caughtUpTo: null,
      pagesRead: 0,
      itemCalls: 0,
      notificationsRead: 0,
      duplicateNotifications: 0,
    };

    // 0. notifications
    if (this.config.source) {
      try {
        await this.takeNotifications(this.config.source, cursor, result, now, signal);
      } catch (error) {
        result.error = `notification source: ${error instanceof Error ? error.message : String(error)}`;
      }
    }

    // 1. scan
    const scan = cursor.scan ?? {
      startedAt: now,
      after: cursor.after ?? new Date(now - (this.config.initialLookbackMs ?? 24 * 3600 * 1000)).toISOString(),
      nextToken: null,
    };
    cursor.scan = scan;
    let scanCompleted = false;

    // 2. pages
    for (let page = 0; page < amazonLimits.ordersPagesPerPollMax; page++) {
      const answer = await this.client.getOrders(
        { marketplaceIds: this.config.marketplaceIds, lastUpdatedAfter: scan.after, nextToken: scan.nextToken },
        signal,
      );
      if (answer.kind === 'failed' || answer.body.payload === undefined) {
        result.error = answer.kind === 'failed' ? answer.reason : 'getOrders answered without payload';
        break;
      }
      result.pagesRead++;
      for (const order of answer.body.payload.Orders ?? []) this.noteOrder(cursor, order, now);
      scan.nextToken = answer.body.payload.NextToken ?? null;
      if (scan.nextToken === null) {
        scanCompleted = true;
        break;
      }
    }

    // 3. items
    while (cursor.deferred.length > 0 && result.itemCalls < amazonLimits.orderItemsPerPollMax) {
      const order = cursor.deferred[0]!;
      const items = await this.readItems(order.orderId, result, signal);
      if (items.kind === 'failed') {
        if (items.status === 404 || items.status === 400) {
          cursor.deferred.shift(); // unknown to Amazon: nothing to report
          continue;
        }
        result.error = items.reason;
        break;
      }
      cursor.deferred.shift();
      for (const item of items.body) result.events.push(...this.itemEvents(order, item));
      remember(cursor.orders, order.orderId, new Date(order.updatedAt).toISOString(), amazonLimits.rememberedOrdersMax);
    }

    // 4. close the scan
    if (scanCompleted) {
      cursor.after = new Date(scan.startedAt - scanOverlapMs).toISOString();
      cursor.scan = null;
      if (result.error === undefined && cursor.deferred.length === 0)
        result.caughtUpTo = scan.startedAt - amazonLimits.ordersRecentWindowMs;
    }
    if (cursor.deferred.length > amazonLimits.deferredOrdersMax)
      cursor.deferred = cursor.deferred.slice(-amazonLimits.deferredOrdersMax);
    return result;
  }

  /**
   * Every event of these orders as Amazon shows them now: getOrder and getOrderItems each, at
   * most `orderItemsPerPollMax` orders (unknown orders are skipped). The caller bounds the list.
   */
  async refresh(
    orderIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ events: OrderLineEvent[]; error?: string }> {
    const events: OrderLineEvent[] = [];
    const result: AmazonOrdersPollResult = {
      events,
      cursor: initialAmazonOrdersCursor(),
      caughtUpTo: null,
      pagesRead: 0,
      itemCalls: 0,
      notificationsRead: 0,
      duplicateNotifications: 0,
    };
    for (const orderId of orderIds.slice(0, amazonLimits.orderItemsPerPollMax)) {
      const order = await this.client.getOrder(orderId, signal);
      if (order.kind === 'failed') {
        if (order.status === 404 || order.status === 400) continue;
        return { events, error: order.reason };
      }
      if (order.body.payload === undefined) continue;
      const figures = orderFigures(order.body.payload, this.config.now());
      const items = await this.readItems(orderId, result, signal);
      if (items.kind === 'failed') {
        if (items.status === 404 || items.status === 400) continue;
        return { events, error: items.reason };
      }
      for (const item of items.body) events.push(...this.itemEvents(figures, item));
    }
    return { events };
  }

  private itemEvents(order: AmazonOrderFigures, item: OrderItem): OrderLineEvent[] {
    return amazonOrderItemEvents(this.config.sellerId, order, {
      orderItemId: item.OrderItemId,
      sellerSku: item.SellerSKU ?? null,
      asin: item.ASIN ?? null,
      quantityOrdered: item.QuantityOrdered,
      quantityShipped: item.QuantityShipped ?? 0,
    });
  }

  private noteOrder(cursor: AmazonOrdersCursor, order: Order, now: number): void {
    const figures = orderFigures(order, now);
    if (cursor.orders[order.AmazonOrderId] === new Date(figures.updatedAt).toISOString()) return;
    const index = cursor.deferred.findIndex((each) => each.orderId === order.AmazonOrderId);
    if (index === -1) cursor.deferred.push(figures);
    else cursor.deferred[index] = figures;
  }

  private async readItems(
    orderId: string,
    result: AmazonOrdersPollResult,
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<OrderItem[]>> {
    const items: OrderItem[] = [];
    let nextToken: string | null = null;
    do {
      result.itemCalls++;
      const answer = await this.client.getOrderItems(orderId, nextToken, signal);
      if (answer.kind === 'failed') return answer;
      items.push(...(answer.body.payload?.OrderItems ?? []));
      nextToken = answer.body.payload?.NextToken ?? null;
    } while (nextToken !== null);
    return { kind: 'ok', status: 200, body: items };
  }

  private async takeNotifications(
    source: AmazonNotificationSource,
    cursor: AmazonOrdersCursor,
    result: AmazonOrdersPollResult,
    now: number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (cursor.handled.length > 0) {
      await source.delete(cursor.handled, signal);
      cursor.handled = [];
    }
    const messages = await source.receive(amazonLimits.notificationsPerPollMax, signal);
    const seen = new Set(cursor.notifications);
    for (const message of messages) {
      result.notificationsRead++;
      cursor.handled.push(message.receiptHandle);
      const parsed = parseAmazonNotification(message.body, this.config.sellerId, now);
      if (parsed.notificationId !== null) {
        if (seen.has(parsed.notificationId)) {
          result.duplicateNotifications++;
          continue;
        }
        seen.add(parsed.notificationId);
        cursor.notifications.push(parsed.notificationId);
      }
      if (parsed.kind === 'order') result.events.push(...parsed.events);
      else if (parsed.kind === 'level') this.config.onLevel?.(parsed.sku, parsed.quantity);
    }
    if (cursor.notifications.length > amazonLimits.rememberedNotificationsMax)
      cursor.notifications = cursor.notifications.slice(-amazonLimits.rememberedNotificationsMax);
  }
}

function orderFigures(order: Order, now: number): AmazonOrderFigures {
  const updatedAt = parseAmazonTime(order.LastUpdateDate, now);
  return {
    orderId: order.AmazonOrderId,
    status: order.OrderStatus,
    fulfillmentChannel: order.FulfillmentChannel === 'AFN' ? 'AFN' : 'MFN',
    updatedAt,
    purchasedAt: parseAmazonTime(order.PurchaseDate, updatedAt),
  };
}

function remember(map: Record<string, string>, key: string, value: string, max: number): void {
  delete map[key];
  map[key] = value;
  const keys = Object.keys(map);
  for (let index = 0; index < keys.length - max; index++) delete map[keys[index]!];
}
