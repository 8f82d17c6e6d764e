import assert from 'node:assert';
import type { Clock } from '../../core/clock.js';
import type { BulkLevel, ChannelConnector, PushItem, PushOutcome, RateLimitStatus } from '../channel-connector.js';
import type {
  IntakeEvent,
  OrderLineEvent,
  OrderPollBatch,
  OrderPollIntake,
  WebhookCheck,
  WebhookDelivery,
  WebhookIntake,
} from '../channel-intake.js';
import {
  type WooBatchAnswer,
  type WooBatchEntry,
  type WooCallResult,
  WooClient,
  type WooError,
  type WooStockResource,
} from './woocommerce-client.js';
import { parseWooItemId, wooItemId } from './woocommerce-ids.js';
import { WooRateLimiter, wooLimits } from './woocommerce-limits.js';
import { WooOrderPoller } from './woocommerce-orders.js';
import { checkWooDelivery, wooDeliveryToEvent } from './woocommerce-webhooks.js';

/**
 * WooCommerce (REST API v3) behind the connector port.
 *
 * Push: ABSOLUTE `stock_quantity` with `manage_stock: true`, through the batch endpoints:
 * `POST /products/batch` for simple products, `POST /products/<id>/variations/batch` for the
 * variations of one product, at most 100 items a call (WooCommerce's batch limit). WooCommerce
 * has no compare-and-set (last writer wins), so `expectedChannelQuantity` is not used and the
 * outcome is never `stale`; a retry after a lost answer sets the same value again. A batch
 * answers 200 with one entry per item, either the resource or `{id, error: {code, message,
 * data: {status}}}`: an item error of status 5xx or 429 is `retry`, any other (an unknown id, a
 * refused value) `permanent`. A whole call: 429/503/5xx/network `retry` (with Retry-After),
 * 401/403 `permanent` (credentials), 404 `permanent` (no such parent product), 413 (a host that
 * takes fewer items) split in halves and sent again.
 *
 * External ids: `<product id>` or `<product id>/<variation id>` (woocommerce-ids.ts).
 *
 * Budget: one WooRateLimiter per connection (woocommerce-limits.ts), requests per second and in
 * flight as the channel's settings say; 429/503 with Retry-After hold the whole shop off.
 */

export interface WooConnectorConfig {
  /** The shop's address (https://shop.example); plain http only with OAuth 1.0a signatures. */
  storeUrl: string;
  consumerKey: string;
  consumerSecret: string;
  /** Current webhook secret first, then the previous one during a rotation; none: no webhook intake. */
  webhookSecrets?: readonly string[];
  /** Account in order line keys (`woocommerce:<account>:...`). */
  account: string;
  /** @default wooLimits.requestsPerSecondDefault */
  requestsPerSecond?: number;
  /** @default wooLimits.concurrencyDefault */
  concurrency?: number;
  /** @default wooLimits.orderPollIntervalMs */
  pollIntervalMs?: number;
  /** @default wooLimits.batchItemsMax (100) */
  maxBatchSize?: number;
  /** @default wooLimits.requestTimeoutMs */
  requestTimeoutMs?: number;
  /** @default wooLimits.limiterWaitMsMax */
  limiterWaitMsMax?: number;
  /** @default the system clock */
  clock?: Clock;
  /** A certificate authority (PEM) to trust besides the system's (a private CA). */
  ca?: string;
}

const int32Max = 2_147_483_647;

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

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size));
  return out;
}

interface Target {
  item: PushItem;
  /** The id inside its batch (product or variation id). */
  id: number;
}

interface QueuedTarget extends Target {
  resolve: (outcome: PushOutcome) => void;
}

const batchBody = (targets: readonly Target[]) => ({
  update: targets.map((target) => ({ id: target.id, manage_stock: true, stock_quantity: target.item.quantity })),
});

function isEntryError(entry: WooBatchEntry): entry is { id: number; error: WooError } {
  return (
    typeof entry === 'object' && entry !== null && 'error' in entry && entry.error !== undefined && entry.error !== null
  );
}

export class WooCommerceConnector implements ChannelConnector, WebhookIntake, OrderPollIntake {
  readonly platform = 'woocommerce';
  readonly maxBatchSize: number;
  readonly pollIntervalMs: number;
  private readonly limiter: WooRateLimiter;
  private readonly client: WooClient;
  private readonly poller: WooOrderPoller;
  private readonly concurrency: number;
  private readonly connection: { account: string; secrets: readonly string[] };
  /** Items waiting for a slot of the shop's budget, per batch endpoint (see pushLevels). */
  private readonly queues = new Map<string, QueuedTarget[]>();

  constructor(config: WooConnectorConfig) {
    const now = config.clock === undefined ? () => Date.now() : () => config.clock!.now();
    assert(
      config.account !== '' && !config.account.includes(':'),
      'WooCommerce account must be non-empty without ":" (it is part of order line keys)',
    );
    this.maxBatchSize = config.maxBatchSize ?? wooLimits.batchItemsMax;
    assert(this.maxBatchSize >= 1 && this.maxBatchSize <= wooLimits.batchItemsMax);
    this.pollIntervalMs = config.pollIntervalMs ?? wooLimits.orderPollIntervalMs;
    this.concurrency = config.concurrency ?? wooLimits.concurrencyDefault;
    this.limiter = new WooRateLimiter(
      {
        requestsPerSecond: config.requestsPerSecond ?? wooLimits.requestsPerSecondDefault,
        concurrency: this.concurrency,
      },
      now,
    );
    this.client = new WooClient({
      storeUrl: config.storeUrl,
      consumerKey: config.consumerKey,
      consumerSecret: config.consumerSecret,
      limiter: this.limiter,
      now,
      ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
      ...(config.limiterWaitMsMax === undefined ? {} : { limiterWaitMsMax: config.limiterWaitMsMax }),
      ...(config.ca === undefined ? {} : { ca: config.ca }),
    });
    this.poller = new WooOrderPoller(this.client, config.account, now);
    this.connection = { account: config.account, secrets: config.webhookSecrets ?? [] };
  }

  /** Requests sent so far (observability; the bench counts API calls per movement). */
  get requestCount(): number {
    return this.client.requestCount;
  }

  /** Basic over HTTPS, OAuth 1.0a over HTTP. */
  get authScheme(): 'basic' | 'oauth1' {
    return this.client.authScheme;
  }

  // ---- push ---------------------------------------------------------------------------------

  async pushLevels(items: readonly PushItem[], signal?: AbortSignal): Promise<PushOutcome[]> {
    assert(items.length <= this.maxBatchSize, `at most ${this.maxBatchSize} items per pushLevels call`);
    const outcomes = new Map<PushItem, PushOutcome>();
    const products: Target[] = [];
    const variations = new Map<number, Target[]>();
    for (const item of items) {
      const { listingId } = item;
      if (!Number.isInteger(item.quantity) || item.quantity < 0 || item.quantity > int32Max) {
        outcomes.set(item, {
          listingId,
          status: 'permanent',
          reason: `quantity ${item.quantity} is not an integer >= 0`,
        });
        continue;
      }
      const ref = parseWooItemId(item.externalId);
      if (ref === null) {
        outcomes.set(item, {
          listingId,
          status: 'permanent',
          reason: `WooCommerce item id ${JSON.stringify(item.externalId).slice(0, 60)} is not <product> or <product>/<variation>`,
        });
        continue;
      }
      if (ref.kind === 'product') products.push({ item, id: ref.productId });
      else {
        const group = variations.get(ref.productId) ?? [];
        group.push({ item, id: ref.variationId });
        variations.set(ref.productId, group);
      }
    }
    const calls: { path: string; targets: Target[] }[] = [
      ...chunks(products, wooLimits.batchItemsMax).map((targets) => ({ path: '/products/batch', targets })),
      ...[...variations].flatMap(([productId, group]) =>
        chunks(group, wooLimits.batchItemsMax).map((targets) => ({
          path: `/products/${productId}/variations/batch`,
          targets,
        })),
      ),
    ];
    // Coalescing: the items wait in their endpoint's queue; whichever request of this connection
    // gets a slot of the shop's budget first sends everything queued there by then (up to 100),
    // so concurrent pushes under a tight host budget share calls instead of queueing one each.
    const queued = calls.flatMap((call) =>
      call.targets.map(
        (target) =>
          new Promise<void>((resolve) => {
            const entry: QueuedTarget = {
              ...target,
              resolve: (outcome) => {
                outcomes.set(target.item, outcome);
                resolve();
              },
            };
            const queue = this.queues.get(call.path) ?? [];
            queue.push(entry);
            this.queues.set(call.path, queue);
          }),
      ),
    );
    await mapBounded(calls, this.concurrency, (call) => this.sendQueued(call.path, call.targets, signal));
    await Promise.all(queued);
    return items.map((item) => outcomes.get(item)!);
  }

  /**
   * One batch call of whatever is queued for `path` when the budget lets it go; `own` are this
   * caller's items. Every caller's items come with a sender of their own, and a sender takes
   * min(100, queued) when it gets its slot, so no item is left behind; a sender that gets no slot
   * takes its own items still queued out and answers them with the reason.
   */
  private async sendQueued(path: string, own: readonly Target[], signal: AbortSignal | undefined): Promise<void> {
    let taken: QueuedTarget[] = [];
    const result = await this.client.callLazy<WooBatchAnswer>({ method: 'POST', path, kind: 'write', signal }, () => {
      const queue = this.queues.get(path) ?? [];
      taken = queue.splice(0, wooLimits.batchItemsMax);
      if (queue.length === 0) this.queues.delete(path);
      return taken.length === 0 ? null : batchBody(taken);
    });
    if (result === null) return; // another request sent our items
    if (taken.length === 0) {
      // No slot (the budget, an abort): our own items still queued answer with that result.
      const queue = this.queues.get(path) ?? [];
      const mine = queue.filter((entry) => own.some((target) => target.item === entry.item));
      this.queues.set(
        path,
        queue.filter((entry) => !mine.includes(entry)),
      );
      if (this.queues.get(path)?.length === 0) this.queues.delete(path);
      const outcomes = this.outcomesOf(result, mine);
      for (const entry of mine) entry.resolve(outcomes.get(entry.item)!);
      return;
    }
    const outcomes =
      result.kind === 'failed' && result.status === 413 && taken.length > 1
        ? await this.pushBatch(path, taken, signal)
        : this.outcomesOf(result, taken);
    for (const entry of taken) entry.resolve(outcomes.get(entry.item)!);
  }

  private async pushBatch(
    path: string,
    targets: readonly Target[],
    signal: AbortSignal | undefined,
  ): Promise<Map<PushItem, PushOutcome>> {
    const result: WooCallResult<WooBatchAnswer> = await this.client.call<WooBatchAnswer>({
      method: 'POST',
      path,
      body: batchBody(targets),
      kind: 'write',
      signal,
    });
    if (result.kind === 'failed' && result.status === 413 && targets.length > 1) {
      const out = new Map<PushItem, PushOutcome>();
      const half = Math.ceil(targets.length / 2);
      for (const part of [targets.slice(0, half), targets.slice(half)])
        for (const [item, outcome] of await this.pushBatch(path, part, signal)) out.set(item, outcome);
      return out;
    }
    return this.outcomesOf(result, targets);
  }

  /** One outcome per item from a batch call's answer. */
  private outcomesOf(result: WooCallResult<WooBatchAnswer>, targets: readonly Target[]): Map<PushItem, PushOutcome> {
    const out = new Map<PushItem, PushOutcome>();
    if (result.kind === 'failed') {
      for (const { item } of targets) {
        const { listingId } = item;
        if (result.retryable)
          out.set(item, {
            listingId,
            status: 'retry',
            reason: result.reason,
            ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
          });
        else
          out.set(item, {
            listingId,
            status: 'permanent',
            reason:
              result.status === 401 || result.status === 403
                ? `WooCommerce refused the consumer key: ${result.reason}`
                : result.status === 404
                  ? `no WooCommerce product for ${item.externalId}: ${result.reason}`
                  : result.reason,
          });
      }
      return out;
    }
    const entries = Array.isArray(result.body?.update) ? result.body.update : [];
    const byId = new Map<number, WooBatchEntry>();
    for (const entry of entries)
      if (entry !== null && typeof entry === 'object' && typeof (entry as { id?: unknown }).id === 'number')
        byId.set(Number((entry as { id: number }).id), entry);
    for (const [index, { item, id }] of targets.entries()) {
      const { listingId } = item;
      const positional = entries[index];
      const entry =
        positional !== undefined && Number((positional as { id?: unknown })?.id) === id ? positional : byId.get(id);
      if (entry === undefined) {
        out.set(item, { listingId, status: 'retry', reason: `the batch answer does not name item ${item.externalId}` });
        continue;
      }
      if (isEntryError(entry)) {
        const status = Number(entry.error?.data?.status);
        const code = typeof entry.error?.code === 'string' ? entry.error.code.slice(0, 100) : 'error';
        const message = typeof entry.error?.message === 'string' ? entry.error.message.slice(0, 200) : '';
        const reason = `WooCommerce refused ${item.externalId}: ${status || ''} ${code} ${message}`.replace(
          /\s+/g,
          ' ',
        );
        out.set(
          item,
          status >= 500 || status === 429 || status === 408
            ? { listingId, status: 'retry', reason }
            : { listingId, status: 'permanent', reason },
        );
        continue;
      }
      const shown = (entry as WooStockResource).stock_quantity;
      out.set(item, {
        listingId,
        status: 'ok',
        channelQuantity: typeof shown === 'number' && Number.isFinite(shown) ? shown : item.quantity,
      });
    }
    return out;
  }

  // ---- read back ------------------------------------------------------------------------------

  /**
   * What WooCommerce shows: `GET /products?include=...` for simple products and
   * `GET /products/<id>/variations?include=...` per parent, 100 ids a request. An item WooCommerce
   * does not know, or whose stock it does not manage (`stock_quantity` null), reads as null.
   * Waits for the read share of the budget; throws when a read fails after a few waits.
   */
  async readLevels(
    items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[],
    signal?: AbortSignal,
  ): Promise<{ listingId: string; quantity: number | null }[]> {
    const found = new Map<string, number | null>();
    const products: number[] = [];
    const variations = new Map<number, number[]>();
    for (const item of items) {
      const ref = parseWooItemId(item.externalId);
      if (ref === null) continue;
      if (ref.kind === 'product') products.push(ref.productId);
      else variations.set(ref.productId, [...(variations.get(ref.productId) ?? []), ref.variationId]);
    }
    const reads: { path: string; ids: number[]; parent: number | null }[] = [
      ...chunks([...new Set(products)], wooLimits.pageSizeMax).map((ids) => ({ path: '/products', ids, parent: null })),
      ...[...variations].flatMap(([parent, ids]) =>
        chunks([...new Set(ids)], wooLimits.pageSizeMax).map((part) => ({
          path: `/products/${parent}/variations`,
          ids: part,
          parent,
        })),
      ),
    ];
    await mapBounded(reads, this.concurrency, async (read) => {
      const result = await this.readWithWaits<WooStockResource[]>(
        read.path,
        { include: read.ids.join(','), per_page: wooLimits.pageSizeMax },
        signal,
        read.parent !== null,
      );
      for (const resource of result ?? [])
        found.set(
          wooItemId(read.parent ?? resource.id, read.parent === null ? null : resource.id),
          quantityOf(resource),
        );
    });
    return items.map((item) => ({ listingId: item.listingId, quantity: found.get(item.externalId) ?? null }));
  }

  /** A read that waits out 429/503/5xx a few times; null on a 404 when `missingOk`. Throws otherwise. */
  private async readWithWaits<T>(
    path: string,
    query: Record<string, string | number>,
    signal: AbortSignal | undefined,
    missingOk: boolean,
  ): Promise<T | null> {
    const result = await this.readPage<T>(path, query, signal, missingOk);
    return result === null ? null : result.body;
  }

  private async readPage<T>(
    path: string,
    query: Record<string, string | number>,
    signal: AbortSignal | undefined,
    missingOk: boolean,
  ): Promise<{ body: T; totalPages: number | null } | null> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const result = await this.client.call<T>({ method: 'GET', path, query, kind: 'read', signal });
      if (result.kind === 'ok') return { body: result.body, totalPages: result.totalPages };
      if (result.status === 404 && missingOk) return null;
      if (result.retryable && attempt < 5 && !signal?.aborted) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(50, result.retryAfterMs ?? 500 * attempt)));
        continue;
      }
      throw new Error(`WooCommerce read of ${path} failed: ${result.reason}`);
    }
  }

  /**
   * The full audit: every product, 100 a page (`GET /products?orderby=id&order=asc`), and for
   * each variable product its variations (no endpoint lists all variations of a shop), 100 a
   * page. Yields one batch of levels per product page. Reads take only the read share of the
   * shop's budget, so pushes keep theirs.
   */
  async *readAllLevels(signal?: AbortSignal): AsyncGenerator<BulkLevel[]> {
    for (let page = 1; page <= wooLimits.productPagesMax; page++) {
      const read = await this.readPage<WooStockResource[]>(
        '/products',
        { per_page: wooLimits.pageSizeMax, page, orderby: 'id', order: 'asc' },
        signal,
        false,
      );
      const products = Array.isArray(read?.body) ? read.body : [];
      const levels: BulkLevel[] = [];
      for (const product of products) {
        if (product.type === 'variable') {
          for (let variationPage = 1; variationPage <= wooLimits.productPagesMax; variationPage++) {
            const part = await this.readPage<WooStockResource[]>(
              `/products/${product.id}/variations`,
              { per_page: wooLimits.pageSizeMax, page: variationPage, orderby: 'id', order: 'asc' },
              signal,
              true,
            );
            const found = Array.isArray(part?.body) ? part.body : [];
            for (const variation of found) {
              const quantity = quantityOf(variation);
              if (quantity !== null)
                levels.push({ externalId: wooItemId(product.id, variation.id), externalLocationId: null, quantity });
            }
            // Without X-WP-TotalPages (a proxy may drop it) a full page means: read on.
            if (
              found.length < wooLimits.pageSizeMax ||
              (part !== null && part.totalPages !== null && part.totalPages <= variationPage)
            )
              break;
          }
          continue;
        }
        const quantity = quantityOf(product);
        if (quantity !== null) levels.push({ externalId: String(product.id), externalLocationId: null, quantity });
      }
      if (levels.length > 0) yield levels;
      if (
        products.length < wooLimits.pageSizeMax ||
        (read !== null && read.totalPages !== null && read.totalPages <= page)
      )
        return;
    }
    throw new Error(`WooCommerce products list longer than ${wooLimits.productPagesMax} pages`);
  }

  /**
   * The shop's budget in ITEMS, as the dispatcher claims rows by it: each request it has left
   * carries a batch of up to `maxBatchSize` items. Counted in requests, a budget of 10 per second
   * made the dispatcher claim 10 rows at a time, one batch call each (bench:propagation at 20
   * movements/s: 1 call per movement, p95 8.8 s).
   */
  rateLimit(): RateLimitStatus {
    const status = this.limiter.status();
    return {
      available: status.available * this.maxBatchSize,
      capacity: status.capacity * this.maxBatchSize,
      waitMs: status.waitMs,
    };
  }

  // ---- intake ---------------------------------------------------------------------------------

  verifyWebhook(delivery: WebhookDelivery): WebhookCheck {
    if (this.connection.secrets.length === 0) return { ok: false, reason: 'no webhook secret configured' };
    return checkWooDelivery(delivery, this.connection);
  }

  parseWebhook(delivery: WebhookDelivery): IntakeEvent {
    return wooDeliveryToEvent(delivery, this.connection);
  }

  pollOrders(cursor: string | null, signal?: AbortSignal): Promise<OrderPollBatch> {
    return this.poller.poll(cursor, signal);
  }

  refreshOrders(
    orderIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ events: OrderLineEvent[]; error?: string }> {
    return this.poller.refresh(orderIds, signal);
  }

  close(): void {
    this.client.close();
  }
}

/** The quantity WooCommerce shows for a resource: its stock_quantity while it manages stock, else null. */
function quantityOf(resource: WooStockResource): number | null {
  if (resource.manage_stock === false) return null;
  const quantity = resource.stock_quantity;
  return typeof quantity === 'number' && Number.isFinite(quantity) ? Math.trunc(quantity) : null;
}
