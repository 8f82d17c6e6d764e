import assert from 'node:assert';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import type { BulkLevel, ChannelConnector, PushItem, PushOutcome, RateLimitStatus } from '../channel-connector.js';
import type { OrderLineEvent, OrderPollBatch, OrderPollIntake } from '../channel-intake.js';
import { bolOrderItemEvents } from './bol-order-events.js';
import { BolAuth } from './bol-auth.js';
import { BolClient } from './bol-client.js';
import { type BolRateRule, BolRateLimiter, bolLimits, bolRateRules } from './bol-limits.js';
import { type BolOrdersCursor, type BolOrdersPollResult, BolOrderPoller, readBolOrdersCursor } from './bol-orders.js';

/**
 * Bol.com behind the connector port: Offers API v11 for stock, Retailer API v10 for orders.
 *
 * Push: one `PATCH /retailer/offers/{offer-id}` `{stock: {amount, managedByRetailer}}` per offer,
 * an ABSOLUTE amount (a retried push after a lost answer sets the same value again,
 * docs/RELIABILITY.md, section 11), inside the client-side model of bol's 50-per-second window, at
 * most `pushConcurrencyMax` in flight. bol has no compare-and-set, so `expectedChannelQuantity` is
 * not used and the outcome is never `stale`.
 *
 * managedByRetailer decides how bol derives what it sells, `correctedStock` (docs/channels/bol.md,
 * Push: one PATCH per offer):
 * - `true` (default): correctedStock = amount - orders placed AFTER our last update. onhand's
 *   ledger already subtracts every Bol order it has ingested, so bol subtracts only the ones we
 *   cannot have seen yet: nothing is subtracted twice. Residual risk: an order placed just before
 *   our PATCH but not yet polled is forgotten by bol's correction until onhand ingests it and
 *   pushes again (bounded by the poll interval).
 * - `false`: correctedStock = amount - ALL open bol orders. Pushing the ledger's available amount
 *   would subtract every open Bol order twice (once in the ledger, once at bol) until it ships;
 *   choose it only if the quantity you push adds back the units reserved for open Bol orders
 *   (the port carries no such figure today).
 *
 * Read-back returns `correctedStock`: what bol offers for sale now (it becomes unavailable at 0).
 */

export interface BolConnectorConfig {
  /** bol account in order line keys (`bol:<account>:...`), e.g. the retailer id or connection name. */
  account: string;
  /** API origin. @default https://api.bol.com */
  baseUrl?: string;
  /** @default https://login.bol.com/token */
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  /** See the class comment. @default true */
  managedByRetailer?: boolean;
  /** @default the system clock */
  clock?: Clock;
  /** @default bolLimits.requestTimeoutMs (10 s) */
  requestTimeoutMs?: number;
  /** @default bolLimits.pushBatchSizeMax (20) */
  maxBatchSize?: number;
  /** @default bolLimits.pushConcurrencyMax (8) */
  pushConcurrencyMax?: number;
  /** @default bolLimits.limiterWaitMsMax (1.5 s) */
  limiterWaitMsMax?: number;
  /** bol's windows; change only when bol publishes new ones. @default bolRateRules (docs/channels/bol.md) */
  rateRules?: readonly BolRateRule[];
  /** @default bolLimits.tokenFailureHoldOffMs (1 s) */
  tokenFailureHoldOffMs?: number;
  /** Pause between two order polls. @default limits.orderPollIntervalMs */
  pollIntervalMs?: number;
}

const int32Max = 2_147_483_647;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs `work` over `items` with at most `concurrency` at once; results in input order. */
async function mapBounded<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

export class BolConnector implements ChannelConnector, OrderPollIntake {
  readonly platform = 'bol';
  readonly maxBatchSize: number;
  readonly pollIntervalMs: number;
  private readonly managedByRetailer: boolean;
  private readonly pushConcurrencyMax: number;
  private readonly auth: BolAuth;
  private readonly limiter: BolRateLimiter;
  private readonly client: BolClient;
  private readonly poller: BolOrderPoller;
  private readonly account: string;
  private readonly now: () => number;

  constructor(config: BolConnectorConfig) {
    const now = config.clock === undefined ? () => Date.now() : () => config.clock!.now();
    this.now = now;
    this.account = config.account;
    this.maxBatchSize = config.maxBatchSize ?? bolLimits.pushBatchSizeMax;
    this.pushConcurrencyMax = config.pushConcurrencyMax ?? bolLimits.pushConcurrencyMax;
    this.managedByRetailer = config.managedByRetailer ?? true;
    this.pollIntervalMs = config.pollIntervalMs ?? limits.orderPollIntervalMs;
    assert(this.maxBatchSize >= 1 && this.pushConcurrencyMax >= 1);
    assert(
      config.account !== '' && !config.account.includes(':'),
      'bol account must be non-empty without ":" (it is part of order line keys)',
    );
    this.auth = new BolAuth({
      tokenUrl: config.tokenUrl ?? 'https://login.bol.com/token',
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      now,
      requestTimeoutMs: config.requestTimeoutMs ?? bolLimits.requestTimeoutMs,
      failureHoldOffMs: config.tokenFailureHoldOffMs ?? bolLimits.tokenFailureHoldOffMs,
    });
    this.limiter = new BolRateLimiter(config.rateRules ?? bolRateRules, now);
    this.client = new BolClient({
      baseUrl: config.baseUrl ?? 'https://api.bol.com',
      auth: this.auth,
      limiter: this.limiter,
      now,
      requestTimeoutMs: config.requestTimeoutMs ?? bolLimits.requestTimeoutMs,
      limiterWaitMsMax: config.limiterWaitMsMax ?? bolLimits.limiterWaitMsMax,
    });
    this.poller = new BolOrderPoller(this.client, { account: config.account, now });
  }

  /** Token requests sent so far (observability; tests check single flight). */
  get tokenRequestCount(): number {
    return this.auth.tokenRequestCount;
  }

  async pushLevels(items: readonly PushItem[], signal?: AbortSignal): Promise<PushOutcome[]> {
    assert(items.length <= this.maxBatchSize, `at most ${this.maxBatchSize} items per pushLevels call`);
    return mapBounded(items, this.pushConcurrencyMax, (item) => this.pushOne(item, signal));
  }

  private async pushOne(item: PushItem, signal: AbortSignal | undefined): Promise<PushOutcome> {
    const { listingId } = item;
    if (!Number.isInteger(item.quantity) || item.quantity < 0 || item.quantity > int32Max) {
      return {
        listingId,
        status: 'permanent',
        reason: `quantity ${item.quantity} is not an int32 >= 0 (bol stock.amount)`,
      };
    }
    // v11 offer ids are UUIDs (offers-api-v11.json); anything else would only earn a 400.
    if (!uuidPattern.test(item.externalId)) {
      return {
        listingId,
        status: 'permanent',
        reason: `bol offer id ${JSON.stringify(item.externalId)} is not a UUID`,
      };
    }
    const result = await this.client.patchOffer(
      item.externalId,
      { stock: { amount: item.quantity, managedByRetailer: this.managedByRetailer } },
      signal,
    );
    if (result.kind === 'ok') return { listingId, status: 'ok', channelQuantity: item.quantity };
    if (result.retryable)
      return {
        listingId,
        status: 'retry',
        reason: result.reason,
        ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
      };
    const reason = result.status === 404 ? `unknown bol offer ${item.externalId}: ${result.reason}` : result.reason;
    return { listingId, status: 'permanent', reason };
  }

  /** `GET /retailer/offers/{id}` per item: correctedStock (what bol sells); null when bol has no such offer. Throws on other failures. */
  async readLevels(
    items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[],
    signal?: AbortSignal,
  ): Promise<{ listingId: string; quantity: number | null }[]> {
    return mapBounded(items, bolLimits.readConcurrencyMax, async (item) => {
      if (!uuidPattern.test(item.externalId)) return { listingId: item.listingId, quantity: null };
      // Reads have no `retry` outcome: wait out our window or the token hold-off, a few times at most.
      for (let attempt = 1; ; attempt++) {
        const result = await this.client.getOffer(item.externalId, signal);
        if (result.kind === 'ok') {
          const stock = result.body.stock;
          return { listingId: item.listingId, quantity: stock?.correctedStock ?? stock?.amount ?? 0 };
        }
        if (result.status === 404) return { listingId: item.listingId, quantity: null };
        if (
          result.status === null &&
          result.retryable &&
          result.retryAfterMs !== undefined &&
          attempt < 5 &&
          !signal?.aborted
        ) {
          await new Promise((resolve) => setTimeout(resolve, result.retryAfterMs));
          continue;
        }
        throw new Error(`bol read-back of offer ${item.externalId} failed: ${result.reason}`);
      }
    });
  }

  /**
   * The full audit: `GET /retailer/offers` a page of `offersPageSize` (bol's maximum, 100) at a
   * time, following `page.nextCursor`, each page inside the offers-list window (25 per second),
   * a window of its own: pushes (the PATCH window) are never delayed by it. Yields correctedStock
   * per offer, as readLevels does. Throws when a page cannot be read after a few waits.
   */
  async *readAllLevels(signal?: AbortSignal): AsyncGenerator<BulkLevel[]> {
    let cursor: string | null = null;
    for (let pages = 0; pages < bolLimits.offersListPagesMax; pages++) {
      let result: Awaited<ReturnType<BolClient['listOffers']>>;
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        result = await this.client.listOffers({ pageSize: bolLimits.offersPageSize, cursor }, signal);
        if (result.kind === 'ok') break;
        if (result.retryable && attempt < 5 && !signal?.aborted) {
          const waitMs = Math.max(100, result.retryAfterMs ?? 1_000);
          await new Promise((resolve) => setTimeout(resolve, waitMs));
          continue;
        }
        throw new Error(`bol offers list failed: ${result.reason}`);
      }
      const offers = Array.isArray(result.body.offers) ? result.body.offers : [];
      yield offers.map((offer) => ({
        externalId: offer.offerId,
        externalLocationId: null,
        quantity: offer.stock?.correctedStock ?? offer.stock?.amount ?? 0,
      }));
      cursor = result.body.page?.nextCursor ?? null;
      if (cursor === null || offers.length === 0) return;
    }
    throw new Error(`bol offers list longer than ${bolLimits.offersListPagesMax} pages`);
  }

  /** The PATCH window (bol's 50 per second), as our limiter sees it. */
  rateLimit(): RateLimitStatus {
    return this.limiter.status('offers-write');
  }

  /** One bounded poll of the order changes (FBR and FBB); see bol-orders.ts. Save `cursor` after recording `events`. */
  pollOrderEvents(cursor: BolOrdersCursor, signal?: AbortSignal): Promise<BolOrdersPollResult> {
    return this.poller.pollOrderEvents(cursor, signal);
  }

  /** Every item event of these orders as bol shows them now, one detail read each (404: gone, skipped). */
  async refreshOrders(
    orderIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ events: OrderLineEvent[]; error?: string }> {
    const events: OrderLineEvent[] = [];
    for (const orderId of orderIds.slice(0, bolLimits.orderDetailsPerPollMax)) {
      const detail = await this.client.getOrder(orderId, signal);
      if (detail.kind === 'failed') {
        if (detail.status === 404) continue;
        return { events, error: detail.reason };
      }
      for (const item of detail.body.orderItems)
        events.push(
          ...bolOrderItemEvents({
            account: this.account,
            order: detail.body,
            item,
            remembered: undefined,
            now: this.now(),
          }).events,
        );
    }
    return { events };
  }

  /**
   * The port's poll: the cursor is the JSON of a BolOrdersCursor, opaque to ingest; one of an
   * earlier version is read and migrated (bol-orders-cursor.ts), anything unreadable throws.
   */
  async pollOrders(cursor: string | null, signal?: AbortSignal): Promise<OrderPollBatch> {
    const result = await this.pollOrderEvents(readBolOrdersCursor(cursor), signal);
    return {
      events: result.events,
      cursor: JSON.stringify(result.cursor),
      ...(result.error ? { error: result.error.reason } : {}),
      ...(result.caughtUpTo === null ? {} : { caughtUpTo: result.caughtUpTo }),
    };
  }
}
