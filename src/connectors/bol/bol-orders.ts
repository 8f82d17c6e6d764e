import type { OrderLineEvent } from '../channel-intake.js';
import type { BolCallResult, BolClient, BolOrder, GetOrdersQuery, ReducedOrderItem } from './bol-client.js';
import { bolLimits } from './bol-limits.js';
import { bolItemChanged, bolItemHandled, bolOrderItemEvents } from './bol-order-events.js';
import { type BolOrdersCursor, type BolOrdersScan, boundBolOrdersCursor } from './bol-orders-cursor.js';

export { type BolOrdersCursor, initialBolOrdersCursor, readBolOrdersCursor } from './bol-orders-cursor.js';

/**
 * Orders in by polling (docs/channels/bol.md, Orders in: polling and Order lifecycle): bol pushes
 * nothing we must rely on (push messages "may arrive out of order or not at all"), so onhand reads
 * `GET /retailer/orders` and turns what changed into order-line events (bol-order-events.ts):
 * the order, its cancelled units, its shipped units, for items fulfilled by the retailer (FBR) and
 * by bol (FBB) alike (`fulfilment-method=ALL`).
 *
 * Method, per poll (bounded: at most `ordersPagesPerPollMax` list pages and
 * `orderDetailsPerPollMax` detail GETs, within bol's windows):
 * 1. Continue the scan in the cursor, or start one:
 *    - a QUICK scan, `status=ALL&change-interval-minute=N`: every item changed in the last N
 *      minutes whatever its state (placed, shipped, cancelled), N covering everything since the
 *      previous scan started plus one minute (bol: poll at least one minute more often than the
 *      interval);
 *    - a FULL scan, `status=OPEN`, at least every `ordersFullScanIntervalMs`, and whenever the
 *      quick scan would need more than bol's 60 minutes. Listing every order of every status
 *      would grow without end; the OPEN items are what may still change.
 * 2. Read pages (50 orders each) until a short page; an item needs its detail when its totals
 *    (quantity, cancelled, shipped) differ from what the cursor remembers.
 * 3. When a full scan completes, every remembered item with units still open that it did not list
 *    has left the OPEN list since it was last seen (shipped or cancelled, perhaps during a pause
 *    longer than any change interval): its detail is read too, so no shipment or cancellation is
 *    missed.
 * 4. Details (`GET /retailer/orders/{id}`: offer id, reference, fulfilment method, totals) give
 *    the events of what changed; orders over the per-poll budget are carried in the cursor and
 *    read first next time.
 * 5. Return the events with the NEXT cursor; the caller saves it only after recording the events,
 *    so a crash in between re-reads, and the ingest's fold merges what repeats (the cursor only
 *    advances past durable work: docs/RELIABILITY.md, section 14).
 */

export interface BolOrdersPollResult {
  events: OrderLineEvent[];
  /** Save only after the events are recorded. */
  cursor: BolOrdersCursor;
  /** The scan reached its last page in this poll. */
  scanCompleted: boolean;
  /**
   * Set when this poll leaves nothing behind: its scan completed, no request failed and no order
   * waits for a later poll. It is when that scan started: every order bol took before then is in
   * these events or earlier ones.
   */
  caughtUpTo: number | null;
  pagesRead: number;
  ordersRead: number;
  detailsRead: number;
  /** Set when a request failed; the events and cursor are still valid (partial progress). */
  error?: { status: 'retry' | 'permanent'; reason: string; retryAfterMs?: number };
}

export interface BolOrderPollerConfig {
  /** bol account (retailer id or connection name) in the line keys. */
  account: string;
  now: () => number;
}

const itemKey = (orderId: string, orderItemId: string) => `${orderId}/${orderItemId}`;

export class BolOrderPoller {
  constructor(
    private readonly client: BolClient,
    private readonly config: BolOrderPollerConfig,
  ) {}

  async pollOrderEvents(previous: BolOrdersCursor, signal?: AbortSignal): Promise<BolOrdersPollResult> {
    const now = this.config.now();
    const cursor = structuredClone(previous);
    const result: BolOrdersPollResult = {
      events: [],
      cursor,
      scanCompleted: false,
      caughtUpTo: null,
      pagesRead: 0,
      ordersRead: 0,
      detailsRead: 0,
    };

    // 1. scan to continue or start
    const scan = cursor.scan ?? this.startScan(cursor, now);
    cursor.scan = scan;

    // 2. list pages
    const needDetail = new Set<string>(cursor.deferredOrderIds);
    const listedMethods = new Map<string, ReducedOrderItem['fulfilmentMethod']>();
    for (let pageCount = 0; pageCount < bolLimits.ordersPagesPerPollMax; pageCount++) {
      const query: GetOrdersQuery =
        scan.intervalMinute === null
          ? { page: scan.nextPage, 'fulfilment-method': 'ALL', status: 'OPEN' }
          : {
              page: scan.nextPage,
              'fulfilment-method': 'ALL',
              status: 'ALL',
              'change-interval-minute': scan.intervalMinute,
            };
      const page = await this.client.getOrders(query, signal);
      if (page.kind === 'failed') {
        result.error = failure(page);
        break;
      }
      result.pagesRead++;
      for (const order of page.body.orders) {
        result.ordersRead++;
        for (const item of order.orderItems) {
          const key = itemKey(order.orderId, item.orderItemId);
          listedMethods.set(key, item.fulfilmentMethod);
          const remembered = cursor.items[key];
          if (remembered !== undefined) remembered.seenAt = now;
          if (bolItemChanged(remembered, item)) needDetail.add(order.orderId);
        }
      }
      if (page.body.orders.length < bolLimits.ordersPageSize) {
        result.scanCompleted = true;
        break;
      }
      scan.nextPage++;
    }

    // 3. items that left the OPEN list unseen
    if (result.scanCompleted && scan.intervalMinute === null) {
      for (const [key, item] of Object.entries(cursor.items))
        if (item.seenAt < scan.startedAt && !bolItemHandled(item)) needDetail.add(key.slice(0, key.indexOf('/')));
    }

    // 4. details, events
    const queue = [...needDetail];
    while (
      queue.length > 0 &&
      result.detailsRead < bolLimits.orderDetailsPerPollMax &&
      result.error?.status !== 'permanent'
    ) {
      const orderId = queue[0]!;
      const detail = await this.client.getOrder(orderId, signal);
      if (detail.kind === 'failed') {
        if (detail.status === 404) {
          queue.shift(); // gone from bol: nothing to report, nothing to remember
          for (const key of Object.keys(cursor.items)) if (key.startsWith(`${orderId}/`)) delete cursor.items[key];
          continue;
        }
        result.error = failure(detail);
        break;
      }
      queue.shift();
      result.detailsRead++;
      this.collectEvents(detail.body, cursor, listedMethods, now, result.events);
    }
    cursor.deferredOrderIds = queue;

    // 5. close the scan, bound the cursor
    if (result.scanCompleted && result.error === undefined && queue.length === 0) result.caughtUpTo = scan.startedAt;
    if (result.scanCompleted) {
      cursor.lastScanStartedAt = scan.startedAt;
      if (scan.intervalMinute === null) cursor.lastFullScanStartedAt = scan.startedAt;
      cursor.scan = null;
    }
    boundBolOrdersCursor(cursor, now);
    return result;
  }

  private startScan(cursor: BolOrdersCursor, now: number): BolOrdersScan {
    const full =
      cursor.lastScanStartedAt === null ||
      cursor.lastFullScanStartedAt === null ||
      now - cursor.lastFullScanStartedAt >= bolLimits.ordersFullScanIntervalMs;
    if (full || cursor.lastScanStartedAt === null) return { startedAt: now, nextPage: 1, intervalMinute: null };
    const intervalMinute = Math.ceil(Math.max(0, now - cursor.lastScanStartedAt) / 60_000) + 1;
    if (intervalMinute > bolLimits.changeIntervalMinuteMax)
      return { startedAt: now, nextPage: 1, intervalMinute: null };
    return { startedAt: now, nextPage: 1, intervalMinute };
  }

  private collectEvents(
    order: BolOrder,
    cursor: BolOrdersCursor,
    listedMethods: ReadonlyMap<string, ReducedOrderItem['fulfilmentMethod']>,
    now: number,
    events: OrderLineEvent[],
  ): void {
    for (const item of order.orderItems) {
      const key = itemKey(order.orderId, item.orderItemId);
      const mapped = bolOrderItemEvents({
        account: this.config.account,
        order,
        item,
        remembered: cursor.items[key],
        listedMethod: listedMethods.get(key),
        now,
      });
      events.push(...mapped.events);
      cursor.items[key] = mapped.remembered;
    }
  }
}

function failure(
  result: Extract<BolCallResult<unknown>, { kind: 'failed' }>,
): NonNullable<BolOrdersPollResult['error']> {
  return {
    status: result.retryable ? 'retry' : 'permanent',
    reason: result.reason,
    ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
  };
}
