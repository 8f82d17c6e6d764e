import type { ChannelOrderLine } from '../channel-connector.js';
import { businessEventKey } from '../channel-intake.js';
import type { BolCallResult, BolClient, BolOrder, BolOrderItem, GetOrdersQuery, ReducedOrders } from './bol-client.js';
import { bolLimits } from './bol-limits.js';

/**
 * Orders in by polling (docs/channels/bol.md, Orders in: polling): bol pushes nothing we must rely
 * on (push messages "may arrive out of order or not at all"), so onhand reads
 * `GET /retailer/orders?fulfilment-method=FBR&status=OPEN` and turns what it sees into ledger facts.
 *
 * Keys come from the business event, never from a page or a poll:
 * `bol:<account>:<orderId>:<orderItemId>:order|cancellation`, so a re-poll, a restart that re-reads
 * the same pages, or two pollers map to the same key and the ledger applies it once.
 *
 * Method, per poll (bounded: at most `ordersPagesPerPollMax` list pages and
 * `orderDetailsPerPollMax` detail GETs):
 * 1. Continue the scan in the cursor, or start one: a FULL scan of the OPEN orders at least every
 *    `ordersFullScanIntervalMs` (and after a pause longer than bol's 60-minute maximum interval);
 *    otherwise a QUICK scan with `change-interval-minute` covering everything since the previous
 *    scan started plus one minute (bol: "poll at least one minute more often than the interval").
 * 2. Read pages (50 orders each) until a short page; an order item needs attention when the cursor
 *    has not seen it with this quantity, or when it newly shows a cancellation (request or
 *    cancelled units).
 * 3. The list carries only the EAN, not the offer id that onhand listings are keyed by, so an
 *    order needing attention is read in full (`GET /retailer/orders/{id}`: offer id, reference).
 *    Orders beyond the per-poll budget are carried in the cursor and read first next time.
 * 4. Emit at most one `order` line per order item (quantity ordered) and at most one
 *    `cancellation` line (cancelled units, or for a customer's cancellation request the units not
 *    shipped).
 * 5. Return the lines with the NEXT cursor; the caller persists it only after applying the lines,
 *    so a crash in between re-reads and the keys dedupe (the cursor only advances past durable
 *    work: docs/RELIABILITY.md, section 14).
 * A full scan that completes forgets the order items it did not see (shipped or cancelled, no
 * longer OPEN), which bounds the cursor; an item missed by a page shift and later seen again
 * re-emits its line under the same key, which the ledger answers `exists`.
 */

/** What the cursor remembers of one order item (key `<orderId>/<orderItemId>`). */
export interface BolRememberedOrderItem {
  /** Quantity of the `order` line emitted; null when none was emitted yet. */
  quantity: number | null;
  /** A `cancellation` line was emitted (or none is due: nothing left to release). */
  cancelled: boolean;
  /** Last time a scan listed it (epoch ms). */
  seenAt: number;
}

/** The poll position; JSON-serialisable, bounded, persisted by the caller after applying the lines. */
export interface BolOrdersCursor {
  version: 1;
  /** The scan in progress (it spans polls when it has more pages than one poll may read). */
  scan: { startedAt: number; nextPage: number; intervalMinute: number | null } | null;
  lastScanStartedAt: number | null;
  lastFullScanStartedAt: number | null;
  /** Orders whose detail is still owed (over the per-poll budget or a failed GET). */
  deferredOrderIds: string[];
  items: Record<string, BolRememberedOrderItem>;
}

export function initialBolOrdersCursor(): BolOrdersCursor {
  return {
    version: 1,
    scan: null,
    lastScanStartedAt: null,
    lastFullScanStartedAt: null,
    deferredOrderIds: [],
    items: {},
  };
}

export interface BolOrdersPollResult {
  lines: ChannelOrderLine[];
  /** Persist only after the lines are applied. */
  cursor: BolOrdersCursor;
  /** The scan reached its last page in this poll. */
  scanCompleted: boolean;
  pagesRead: number;
  ordersRead: number;
  /** Set when a request failed; the lines and cursor are still valid (partial progress). */
  error?: { status: 'retry' | 'permanent'; reason: string; retryAfterMs?: number };
}

export interface BolOrderPollerConfig {
  /** bol account (retailer id or connection name) in the keys. */
  account: string;
  now: () => number;
}

type OrderItemView = Pick<BolOrderItem, 'quantity' | 'quantityShipped' | 'quantityCancelled' | 'cancellationRequest'>;

function hasCancellation(item: OrderItemView): boolean {
  return item.cancellationRequest || item.quantityCancelled > 0;
}

function parseTime(value: string | null | undefined, fallback: number): number {
  if (value === null || value === undefined) return fallback;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? fallback : parsed;
}

export class BolOrderPoller {
  constructor(
    private readonly client: BolClient,
    private readonly config: BolOrderPollerConfig,
  ) {}

  async pollOpenOrders(previous: BolOrdersCursor, signal?: AbortSignal): Promise<BolOrdersPollResult> {
    const now = this.config.now();
    const cursor = structuredClone(previous);
    const result: BolOrdersPollResult = { lines: [], cursor, scanCompleted: false, pagesRead: 0, ordersRead: 0 };

    // 1. scan to continue or start
    const scan = cursor.scan ?? this.startScan(cursor, now);
    cursor.scan = scan;

    // 2. list pages
    const needDetail = new Set<string>(cursor.deferredOrderIds);
    for (let pageCount = 0; pageCount < bolLimits.ordersPagesPerPollMax; pageCount++) {
      const query: GetOrdersQuery = { page: scan.nextPage, 'fulfilment-method': 'FBR', status: 'OPEN' };
      if (scan.intervalMinute !== null) query['change-interval-minute'] = scan.intervalMinute;
      const page: BolCallResult<ReducedOrders> = await this.client.getOrders(query, signal);
      if (page.kind === 'failed') {
        result.error = failure(page);
        break;
      }
      result.pagesRead++;
      for (const order of page.body.orders) {
        result.ordersRead++;
        for (const item of order.orderItems) {
          const remembered = cursor.items[`${order.orderId}/${item.orderItemId}`];
          if (remembered !== undefined) remembered.seenAt = now;
          const changed =
            remembered === undefined ||
            remembered.quantity !== item.quantity ||
            (!remembered.cancelled && hasCancellation(item));
          if (changed) needDetail.add(order.orderId);
        }
      }
      if (page.body.orders.length < bolLimits.ordersPageSize) {
        result.scanCompleted = true;
        break;
      }
      scan.nextPage++;
    }

    // 3. details, 4. lines
    const queue = [...needDetail];
    let fetched = 0;
    while (queue.length > 0 && fetched < bolLimits.orderDetailsPerPollMax && result.error?.status !== 'permanent') {
      const orderId = queue[0]!;
      const detail = await this.client.getOrder(orderId, signal);
      if (detail.kind === 'failed') {
        if (detail.status === 404) {
          queue.shift(); // gone from bol: nothing to ingest
          continue;
        }
        result.error = failure(detail);
        break;
      }
      queue.shift();
      fetched++;
      this.collectLines(detail.body, cursor, now, result.lines);
    }
    cursor.deferredOrderIds = queue.slice(0, bolLimits.deferredOrdersMax);

    // 5. close the scan
    if (result.scanCompleted) {
      cursor.lastScanStartedAt = scan.startedAt;
      if (scan.intervalMinute === null) {
        cursor.lastFullScanStartedAt = scan.startedAt;
        for (const [key, item] of Object.entries(cursor.items))
          if (item.seenAt < scan.startedAt) delete cursor.items[key];
      }
      cursor.scan = null;
    }
    const keys = Object.keys(cursor.items);
    if (keys.length > bolLimits.rememberedOrderItemsMax) {
      keys.sort((a, b) => cursor.items[a]!.seenAt - cursor.items[b]!.seenAt);
      for (const key of keys.slice(0, keys.length - bolLimits.rememberedOrderItemsMax)) delete cursor.items[key];
    }
    return result;
  }

  private startScan(cursor: BolOrdersCursor, now: number): NonNullable<BolOrdersCursor['scan']> {
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

  private collectLines(order: BolOrder, cursor: BolOrdersCursor, now: number, lines: ChannelOrderLine[]): void {
    for (const item of order.orderItems) {
      const key = `${order.orderId}/${item.orderItemId}`;
      const remembered = cursor.items[key] ?? { quantity: null, cancelled: false, seenAt: now };
      remembered.seenAt = now;
      cursor.items[key] = remembered;
      // The listing is keyed by the offer id; without one (bol may omit it) the EAN is all we have.
      const externalId = item.offer?.offerId ?? item.product?.ean ?? '';
      const sku = item.offer?.reference ?? null;
      const lineKey = (kind: ChannelOrderLine['kind']) =>
        businessEventKey('bol', this.config.account, [order.orderId, item.orderItemId], kind);
      if (remembered.quantity !== item.quantity) {
        lines.push({
          key: lineKey('order'),
          kind: 'order',
          externalId,
          sku,
          quantity: item.quantity,
          orderReference: order.orderId,
          occurredAt: parseTime(order.orderPlacedDateTime, now),
        });
        remembered.quantity = item.quantity;
      }
      if (!remembered.cancelled && hasCancellation(item)) {
        const units = item.quantityCancelled > 0 ? item.quantityCancelled : item.quantity - item.quantityShipped;
        if (units > 0) {
          lines.push({
            key: lineKey('cancellation'),
            kind: 'cancellation',
            externalId,
            sku,
            quantity: units,
            orderReference: order.orderId,
            occurredAt: parseTime(item.latestChangedDateTime, now),
          });
        }
        remembered.cancelled = true;
      }
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
