import type { OrderLineEvent, OrderPollBatch } from '../channel-intake.js';
import type { WooClient } from './woocommerce-client.js';
import { wooLimits } from './woocommerce-limits.js';
import { wooOrderEvents, wooOrderHasRefunds, wooOrderModifiedAt } from './woocommerce-order-events.js';

/**
 * The order poll behind WooCommerce's webhooks, which are delivered once, never retried, and
 * switched off after 5 failures (docs/channels/woocommerce.md, Orders in): every poll reads
 * `GET /orders?modified_after=<cursor - overlap>&dates_are_gmt=true&orderby=modified&order=asc`,
 * 100 a page, at most `ordersPagesPerPollMax` pages, and the refunds of each order that lists
 * some. An order the webhook already brought folds to the same line state (same keys, same event
 * ids), so reading one twice costs a request and changes nothing.
 *
 * The cursor is `{"v":1,"modifiedAfter":<ms>}`: the newest `date_modified_gmt` seen or, once a
 * poll caught up, the shop's own clock at the poll (its Date header) less the overlap, whichever
 * is later: a quiet shop's cursor still moves on, on the shop's clock, not ours. The overlap
 * (`ordersPollOverlapMs`) re-reads the last seconds each time, because `modified_after` is strict
 * and to the second, and an order saved in the second the poll ran may be committed after it.
 */

export interface WooOrdersCursor {
  v: 1;
  /** Newest date_modified_gmt seen, epoch ms. */
  modifiedAfter: number;
}

export function readWooOrdersCursor(text: string | null, now: number): WooOrdersCursor {
  if (text === null) return { v: 1, modifiedAfter: now - wooLimits.ordersFirstPollLookbackMs };
  const parsed = JSON.parse(text) as Partial<WooOrdersCursor>;
  if (parsed?.v !== 1 || typeof parsed.modifiedAfter !== 'number' || !Number.isFinite(parsed.modifiedAfter))
    throw new Error(`not a WooCommerce orders cursor: ${text.slice(0, 100)}`);
  return { v: 1, modifiedAfter: parsed.modifiedAfter };
}

/** ISO 8601 in UTC to the second, as WooCommerce takes it with dates_are_gmt. */
const isoSecond = (ms: number) => new Date(Math.max(0, ms)).toISOString().slice(0, 19);

export class WooOrderPoller {
  constructor(
    private readonly client: WooClient,
    private readonly account: string,
    private readonly now: () => number,
  ) {}

  private async refundsOf(orderId: number, signal?: AbortSignal): Promise<unknown[] | string> {
    const result = await this.client.call<unknown[]>({
      method: 'GET',
      path: `/orders/${orderId}/refunds`,
      query: { per_page: wooLimits.pageSizeMax },
      kind: 'read',
      signal,
    });
    if (result.kind === 'failed') return result.reason;
    return Array.isArray(result.body) ? result.body : [];
  }

  async poll(cursorText: string | null, signal?: AbortSignal): Promise<OrderPollBatch> {
    const startedAt = this.now();
    const cursor = readWooOrdersCursor(cursorText, startedAt);
    const events: OrderLineEvent[] = [];
    let newest = cursor.modifiedAfter;
    let refundReads = 0;
    const save = () => JSON.stringify({ v: 1, modifiedAfter: newest } satisfies WooOrdersCursor);
    const after = isoSecond(cursor.modifiedAfter - wooLimits.ordersPollOverlapMs);
    let shopTime: number | null = null;
    for (let page = 1; page <= wooLimits.ordersPagesPerPollMax; page++) {
      const result = await this.client.call<unknown[]>({
        method: 'GET',
        path: '/orders',
        query: {
          modified_after: after,
          dates_are_gmt: 'true',
          orderby: 'modified',
          order: 'asc',
          per_page: wooLimits.pageSizeMax,
          page,
        },
        kind: 'read',
        signal,
      });
      if (result.kind === 'failed') return { events, cursor: save(), error: result.reason };
      shopTime ??= result.serverTime;
      const orders = Array.isArray(result.body) ? result.body : [];
      for (const order of orders) {
        let refunds: unknown[] | undefined;
        if (wooOrderHasRefunds(order)) {
          if (refundReads >= wooLimits.refundReadsPerPollMax) return { events, cursor: save() };
          refundReads++;
          const read = await this.refundsOf((order as { id: number }).id, signal);
          if (typeof read === 'string') return { events, cursor: save(), error: read };
          refunds = read;
        }
        const mapped = wooOrderEvents(this.account, order, refunds ?? []);
        const modifiedAt = wooOrderModifiedAt(order);
        if (mapped.ok) events.push(...mapped.events);
        if (modifiedAt !== null && modifiedAt > newest) newest = modifiedAt;
        if (!mapped.ok)
          return {
            events,
            cursor: save(),
            error: `order ${String((order as { id?: unknown })?.id).slice(0, 40)}: ${mapped.reason}`,
          };
      }
      const lastPage =
        orders.length < wooLimits.pageSizeMax || (result.totalPages !== null && page >= result.totalPages);
      if (lastPage) {
        if (shopTime !== null) newest = Math.max(newest, shopTime - wooLimits.ordersPollOverlapMs);
        return { events, cursor: save(), caughtUpTo: startedAt - wooLimits.ordersPollOverlapMs };
      }
    }
    return { events, cursor: save() };
  }

  /** The events each order holds now (`GET /orders/<id>` and its refunds); a 404 is skipped. */
  async refresh(
    orderIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ events: OrderLineEvent[]; error?: string }> {
    const events: OrderLineEvent[] = [];
    for (const orderId of orderIds.slice(0, wooLimits.refundReadsPerPollMax)) {
      if (!/^[1-9][0-9]{0,17}$/.test(orderId)) continue;
      const result = await this.client.call<unknown>({
        method: 'GET',
        path: `/orders/${orderId}`,
        kind: 'read',
        signal,
      });
      if (result.kind === 'failed') {
        if (result.status === 404) continue;
        return { events, error: result.reason };
      }
      let refunds: unknown[] = [];
      if (wooOrderHasRefunds(result.body)) {
        const read = await this.refundsOf(Number(orderId), signal);
        if (typeof read === 'string') return { events, error: read };
        refunds = read;
      }
      const mapped = wooOrderEvents(this.account, result.body, refunds);
      if (!mapped.ok) return { events, error: `order ${orderId}: ${mapped.reason}` };
      events.push(...mapped.events);
    }
    return { events };
  }
}
