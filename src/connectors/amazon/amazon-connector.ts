import assert from 'node:assert';
import type { Clock } from '../../core/clock.js';
import type { ChannelConnector, PushItem, PushOutcome, RateLimitStatus } from '../channel-connector.js';
import type { MarketplaceStockIntake, OrderLineEvent, OrderPollBatch, OrderPollIntake } from '../channel-intake.js';
import { AmazonAuth } from './amazon-auth.js';
import { type AmazonCallResult, AmazonClient, type Issue } from './amazon-client.js';
import { type FbaInventoryRead, readFbaInventory } from './amazon-fba-inventory.js';
import {
  feedContentType,
  type FeedLine,
  listingsFeedDocument,
  listingsFeedType,
  quantityPatch,
  readProcessingReport,
} from './amazon-feeds.js';
import {
  type AmazonOperation,
  AmazonRateLimiter,
  type AmazonRegion,
  type AmazonUsagePlan,
  amazonLimits,
  amazonRegions,
  amazonUsagePlans,
  lwaTokenUrl,
} from './amazon-limits.js';
import type { AmazonNotificationSource } from './amazon-notifications.js';
import { AmazonOrderPoller, type AmazonOrdersPollResult, readAmazonOrdersCursor } from './amazon-orders.js';

/**
 * Amazon Selling Partner API behind the connector port (docs/channels/amazon.md).
 *
 * Push, for merchant-fulfilled offers (fulfillment channel DEFAULT), an ABSOLUTE quantity per
 * seller SKU (the listing's external id):
 * - few items: one Listings Items `patchListingsItem` each, replacing
 *   `/attributes/fulfillment_availability`, at most `pushConcurrencyMax` in flight inside the
 *   operation's bucket (5 per second);
 * - from `feedThresholdItems` items, or from `feedItemsMin` when the PATCH bucket would not take
 *   them all within `limiterWaitMsMax` and createFeed has a token: one JSON_LISTINGS_FEED
 *   (createFeedDocument, upload, createFeed), then getFeed until DONE and the processing report.
 * `ACCEPTED` only means Amazon took the submission for processing: a PATCH whose answer carries
 * ERROR issues, or a feed message the report rejects, is `permanent` with Amazon's reason (the
 * dispatcher dead-letters it); only a submission without errors is `ok`. A feed that has not
 * finished within `feedWaitMsMax` answers `retry`, and the connector remembers it: the retried
 * push of the same SKU and quantity collects that feed's report instead of submitting again.
 *
 * Amazon has no compare-and-set on quantity: `expectedChannelQuantity` is not used, the outcome
 * is never `stale`.
 */

export interface AmazonConnectorConfig {
  /** Merchant token (selling partner id): in the API paths and the order line keys. */
  sellerId: string;
  marketplaceIds: readonly string[];
  region?: AmazonRegion;
  /** API origin instead of the region's (the simulator). */
  baseUrl?: string;
  /** @default https://api.amazon.com/auth/o2/token */
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** productType sent with each patch. @default PRODUCT */
  productType?: string;
  clock?: Clock;
  pollIntervalMs?: number;
  /** Pause between two reads of the FBA inventory summaries. @default amazonLimits.inventoryPollIntervalMs */
  inventoryPollIntervalMs?: number;
  /** Notifications (ORDER_CHANGE, LISTINGS_ITEM_MFN_QUANTITY_CHANGE) from an SQS-shaped queue. */
  notificationSource?: AmazonNotificationSource;
  /** What a LISTINGS_ITEM_MFN_QUANTITY_CHANGE says Amazon shows for a SKU now. */
  onLevel?: (sku: string, quantity: number) => void;
  /** @default amazonUsagePlans */
  usagePlans?: Readonly<Record<AmazonOperation, AmazonUsagePlan>>;
  feedThresholdItems?: number;
  /** @default amazonLimits.feedItemsMin */
  feedItemsMin?: number;
  feedWaitMsMax?: number;
  requestTimeoutMs?: number;
  limiterWaitMsMax?: number;
}

/** An outcome before it is given its listing id. */
type LineOutcome = PushOutcome extends infer O ? (O extends PushOutcome ? Omit<O, 'listingId'> : never) : never;

interface PendingFeed {
  feedId: string;
  lines: FeedLine[];
  submittedAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function mapBounded<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

function errorIssues(issues: readonly Issue[] | undefined): string | null {
  const errors = (issues ?? []).filter((issue) => issue.severity === 'ERROR');
  return errors.length === 0 ? null : errors.map((issue) => `${issue.code}: ${issue.message}`).join('; ');
}

export class AmazonConnector implements ChannelConnector, OrderPollIntake, MarketplaceStockIntake {
  readonly platform = 'amazon';
  readonly maxBatchSize = amazonLimits.pushBatchSizeMax;
  readonly pollIntervalMs: number;
  readonly marketplaceStockIntervalMs: number;
  private readonly auth: AmazonAuth;
  private readonly limiter: AmazonRateLimiter;
  private readonly client: AmazonClient;
  private readonly poller: AmazonOrderPoller;
  private readonly now: () => number;
  private readonly productType: string;
  private readonly feedThreshold: number;
  private readonly feedWaitMsMax: number;
  /** `sku\u0000quantity` -> the feed that carries it, while its report is owed. */
  private readonly pendingFeeds = new Map<string, PendingFeed>();

  constructor(private readonly config: AmazonConnectorConfig) {
    assert(config.sellerId !== '' && !config.sellerId.includes(':'), 'Amazon seller id must be non-empty without ":"');
    assert(config.marketplaceIds.length > 0, 'at least one Amazon marketplace id');
    const now = config.clock === undefined ? () => Date.now() : () => config.clock!.now();
    this.now = now;
    this.pollIntervalMs = config.pollIntervalMs ?? amazonLimits.pollIntervalMs;
    this.marketplaceStockIntervalMs = config.inventoryPollIntervalMs ?? amazonLimits.inventoryPollIntervalMs;
    this.productType = config.productType ?? 'PRODUCT';
    this.feedThreshold = config.feedThresholdItems ?? amazonLimits.feedThresholdItems;
    this.feedWaitMsMax = config.feedWaitMsMax ?? amazonLimits.feedWaitMsMax;
    this.auth = new AmazonAuth({
      tokenUrl: config.tokenUrl ?? lwaTokenUrl,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      refreshToken: config.refreshToken,
      now,
      ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
    });
    this.limiter = new AmazonRateLimiter(config.usagePlans ?? amazonUsagePlans, now);
    this.client = new AmazonClient({
      baseUrl: config.baseUrl ?? amazonRegions[config.region ?? 'na'].endpoint,
      auth: this.auth,
      limiter: this.limiter,
      ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
      ...(config.limiterWaitMsMax === undefined ? {} : { limiterWaitMsMax: config.limiterWaitMsMax }),
    });
    this.poller = new AmazonOrderPoller(this.client, {
      sellerId: config.sellerId,
      marketplaceIds: config.marketplaceIds,
      now,
      source: config.notificationSource,
      onLevel: config.onLevel,
    });
  }

  get tokenRequestCount(): number {
    return this.auth.tokenRequestCount;
  }

  /** The rate in force for an operation (the usage plan, or what x-amzn-RateLimit-Limit said). */
  operationRate(operation: AmazonOperation): number {
    return this.limiter.rate(operation);
  }

  async pushLevels(items: readonly PushItem[], signal?: AbortSignal): Promise<PushOutcome[]> {
    assert(items.length <= this.maxBatchSize, `at most ${this.maxBatchSize} items per pushLevels call`);
    const outcomes = new Array<PushOutcome | undefined>(items.length);
    // 1. items no push can carry
    items.forEach((item, index) => {
      if (!Number.isInteger(item.quantity) || item.quantity < 0)
        outcomes[index] = {
          listingId: item.listingId,
          status: 'permanent',
          reason: `quantity ${item.quantity} is not an integer >= 0 (fulfillment_availability.quantity)`,
        };
      else if (item.externalId === '')
        outcomes[index] = { listingId: item.listingId, status: 'permanent', reason: 'empty seller SKU' };
    });
    // 2. items a remembered feed carries: collect its report
    await this.collectPendingFeeds(items, outcomes, signal);
    // 3. the rest: a feed when many, else one PATCH each
    const open = items.map((item, index) => ({ item, index })).filter(({ index }) => outcomes[index] === undefined);
    if (this.wantsFeed(open.length)) {
      const lines = open.map(({ item }) => ({ sku: item.externalId, quantity: item.quantity }));
      const results = await this.submitFeed(lines, signal);
      open.forEach(({ item, index }, position) => {
        outcomes[index] = { ...results[position]!, listingId: item.listingId } as PushOutcome;
      });
    } else {
      const results = await mapBounded(open, amazonLimits.pushConcurrencyMax, ({ item }) =>
        this.patchOne(item, signal),
      );
      open.forEach(({ index }, position) => {
        outcomes[index] = results[position]!;
      });
    }
    return outcomes as PushOutcome[];
  }

  private async patchOne(item: PushItem, signal: AbortSignal | undefined): Promise<PushOutcome> {
    const { listingId } = item;
    const answer = await this.client.patchListingsItem(
      this.config.sellerId,
      item.externalId,
      this.config.marketplaceIds,
      { productType: this.productType, patches: [quantityPatch(item.quantity)] },
      signal,
    );
    if (answer.kind === 'failed') return failedOutcome(listingId, item.externalId, answer);
    const errors = errorIssues(answer.body.issues);
    if (answer.body.status !== 'ACCEPTED' || errors !== null)
      return {
        listingId,
        status: 'permanent',
        reason: `Amazon rejected SKU ${item.externalId} (${answer.body.status}): ${errors ?? 'no reason given'}`,
      };
    return { listingId, status: 'ok', channelQuantity: item.quantity };
  }

  private feedKey(sku: string, quantity: number): string {
    return `${sku}\u0000${quantity}`;
  }

  /** Outcomes without listingId, one per line. */
  private async submitFeed(lines: FeedLine[], signal?: AbortSignal): Promise<LineOutcome[]> {
    const all = (outcome: LineOutcome) => lines.map(() => outcome);
    const document = await this.client.createFeedDocument(feedContentType, signal);
    if (document.kind === 'failed') return all(retryOf(document));
    const uploaded = await this.client.upload(
      document.body.url,
      feedContentType,
      listingsFeedDocument(this.config.sellerId, this.productType, lines),
      signal,
    );
    if (uploaded.kind === 'failed') return all(retryOf(uploaded));
    const created = await this.client.createFeed(
      {
        feedType: listingsFeedType,
        marketplaceIds: this.config.marketplaceIds,
        inputFeedDocumentId: document.body.feedDocumentId,
      },
      signal,
    );
    if (created.kind === 'failed') {
      // A lost createFeed answer may still have created the feed: a second one sets the same values.
      return all(created.retryable || created.maybeApplied ? retryOf(created) : permanentOf(created));
    }
    const pending: PendingFeed = { feedId: created.body.feedId, lines, submittedAt: this.now() };
    this.rememberFeed(pending);
    return this.awaitFeed(pending, signal);
  }

  private rememberFeed(feed: PendingFeed): void {
    const now = this.now();
    for (const [key, each] of this.pendingFeeds)
      if (now - each.submittedAt > amazonLimits.pendingFeedTtlMs) this.pendingFeeds.delete(key);
    const feeds = new Set([...this.pendingFeeds.values()]);
    if (feeds.size >= amazonLimits.pendingFeedsMax) {
      const oldest = [...feeds].sort((a, b) => a.submittedAt - b.submittedAt)[0]!;
      this.forgetFeed(oldest);
    }
    for (const line of feed.lines) this.pendingFeeds.set(this.feedKey(line.sku, line.quantity), feed);
  }

  private forgetFeed(feed: PendingFeed): void {
    for (const line of feed.lines) {
      const key = this.feedKey(line.sku, line.quantity);
      if (this.pendingFeeds.get(key) === feed) this.pendingFeeds.delete(key);
    }
  }

  private async collectPendingFeeds(
    items: readonly PushItem[],
    outcomes: (PushOutcome | undefined)[],
    signal?: AbortSignal,
  ): Promise<void> {
    const byFeed = new Map<PendingFeed, number[]>();
    items.forEach((item, index) => {
      if (outcomes[index] !== undefined) return;
      const feed = this.pendingFeeds.get(this.feedKey(item.externalId, item.quantity));
      if (feed === undefined) return;
      byFeed.set(feed, [...(byFeed.get(feed) ?? []), index]);
    });
    for (const [feed, indexes] of byFeed) {
      const results = await this.awaitFeed(feed, signal);
      for (const index of indexes) {
        const item = items[index]!;
        const line = feed.lines.findIndex((each) => each.sku === item.externalId && each.quantity === item.quantity);
        outcomes[index] = { ...results[line]!, listingId: item.listingId } as PushOutcome;
      }
    }
  }

  /** getFeed until DONE (within feedWaitMsMax), then the report; `retry` while it runs. */
  private async awaitFeed(feed: PendingFeed, signal?: AbortSignal): Promise<LineOutcome[]> {
    const all = (outcome: LineOutcome) => feed.lines.map(() => outcome);
    const deadline = this.now() + this.feedWaitMsMax;
    for (
      let pause: number = amazonLimits.feedPollFirstMs;
      ;
      pause = Math.min(amazonLimits.feedPollIntervalMs, pause * 2)
    ) {
      const status = await this.client.getFeed(feed.feedId, signal);
      if (status.kind === 'failed') {
        if (status.status === 404) this.forgetFeed(feed);
        return all(retryOf(status));
      }
      const processing = status.body.processingStatus;
      if (processing === 'CANCELLED' || processing === 'FATAL') {
        this.forgetFeed(feed);
        return all({ status: 'retry', reason: `Amazon feed ${feed.feedId} ended ${processing}` });
      }
      if (processing === 'DONE') {
        if (status.body.resultFeedDocumentId === undefined) {
          this.forgetFeed(feed);
          return all({ status: 'retry', reason: `Amazon feed ${feed.feedId} is DONE without a processing report` });
        }
        return this.readReport(feed, status.body.resultFeedDocumentId, signal);
      }
      if (this.now() + pause > deadline)
        return all({
          status: 'retry',
          reason: `Amazon feed ${feed.feedId} is ${processing}`,
          retryAfterMs: Math.max(1_000, amazonLimits.feedPollIntervalMs),
        });
      await sleep(pause);
    }
  }

  private async readReport(feed: PendingFeed, documentId: string, signal?: AbortSignal): Promise<LineOutcome[]> {
    const all = (outcome: LineOutcome) => feed.lines.map(() => outcome);
    const document = await this.client.getFeedDocument(documentId, signal);
    if (document.kind === 'failed') return all(retryOf(document));
    const downloaded = await this.client.download(document.body.url, signal);
    if (downloaded.kind === 'failed') return all(retryOf(downloaded));
    let reasons: (string | null)[];
    try {
      reasons = readProcessingReport(downloaded.body, feed.lines.length);
    } catch (error) {
      this.forgetFeed(feed);
      return all({ status: 'retry', reason: `Amazon feed ${feed.feedId}: ${String(error)}` });
    }
    this.forgetFeed(feed);
    return feed.lines.map((line, index) =>
      reasons[index] === null
        ? { status: 'ok', channelQuantity: line.quantity }
        : {
            status: 'permanent',
            reason: `Amazon rejected SKU ${line.sku} in feed ${feed.feedId}: ${reasons[index]}`,
          },
    );
  }

  /**
   * searchListingsItems, 20 SKUs a call (the bulk read of a full reconcile): the DEFAULT
   * fulfillment channel's quantity, null for a SKU Amazon does not list. Throws when a call
   * fails after a few waits.
   */
  async readLevels(
    items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[],
    signal?: AbortSignal,
  ): Promise<{ listingId: string; quantity: number | null }[]> {
    const found = new Map<string, number | null>();
    const skus = [...new Set(items.map((item) => item.externalId).filter((sku) => sku !== ''))];
    for (let start = 0; start < skus.length; start += amazonLimits.searchIdentifiersMax) {
      const chunk = skus.slice(start, start + amazonLimits.searchIdentifiersMax);
      for (let attempt = 1; ; attempt++) {
        const answer = await this.client.searchListingsItems(
          this.config.sellerId,
          this.config.marketplaceIds,
          chunk,
          signal,
        );
        if (answer.kind === 'ok') {
          for (const listing of answer.body.items ?? []) {
            const merchant = listing.fulfillmentAvailability?.find((each) => each.fulfillmentChannelCode === 'DEFAULT');
            found.set(listing.sku, merchant === undefined ? null : (merchant.quantity ?? 0));
          }
          break;
        }
        if (answer.retryable && attempt < 5 && !signal?.aborted) {
          await sleep(Math.max(100, answer.retryAfterMs ?? 1_000));
          continue;
        }
        throw new Error(`Amazon read-back failed: ${answer.reason}`);
      }
    }
    return items.map((item) => ({ listingId: item.listingId, quantity: found.get(item.externalId) ?? null }));
  }

  /**
   * What the dispatcher may claim now. While the PATCH bucket has a token: what the bucket takes
   * within the jitter margin (the limiter lets a send wait that long anyway), kept under a feed's
   * size so those rows go by PATCH. Under the published plan that is one row more than the
   * bucket holds; under a larger adopted plan it is up to 49, not 5 rows a round (on PostgreSQL
   * a round is ~10 round trips: Amazon fell seconds behind at 200 orders/s in
   * bench:order-latency). Once the bucket is empty and createFeed has a token, a whole batch (the
   * backlog then goes as one feed, see wantsFeed). Advertising the feed while PATCH tokens remain
   * would make the dispatcher claim more than the PATCHes take, and the rest would wait out the
   * retry backoff: measured on the 10x burst bench, p95 9.2 s against 1.4 s.
   */
  rateLimit(): RateLimitStatus {
    const patch = this.limiter.status('patchListingsItem');
    if (patch.available >= 1) {
      const patchable = Math.max(patch.available, Math.min(this.maxBatchSize, this.feedThreshold - 1));
      return { ...patch, available: Math.min(patchable, this.patchesWithin(patch, amazonLimits.jitterMarginMs)) };
    }
    if (this.limiter.status('createFeed').available < 1) return patch;
    return { available: this.maxBatchSize, capacity: this.maxBatchSize, waitMs: 0 };
  }

  /** PATCHes the bucket (`patch`, its status now) lets go within `ms`: its tokens and what it restores meanwhile. */
  private patchesWithin(patch: RateLimitStatus, ms: number): number {
    const rate = this.limiter.rate('patchListingsItem') * (1 - amazonLimits.rateMarginRatio);
    return patch.available + Math.floor((rate * Math.max(0, ms)) / 1000);
  }

  /** A feed rather than PATCHes: many items, or more than the PATCH bucket takes before a push gives up waiting. */
  private wantsFeed(count: number): boolean {
    if (count >= this.feedThreshold) return true;
    if (count < (this.config.feedItemsMin ?? amazonLimits.feedItemsMin)) return false;
    const waitMs = (this.config.limiterWaitMsMax ?? amazonLimits.limiterWaitMsMax) - amazonLimits.jitterMarginMs;
    const patch = this.limiter.status('patchListingsItem');
    return count > this.patchesWithin(patch, waitMs) && this.limiter.status('createFeed').available >= 1;
  }

  pollOrderEvents(cursor: string | null, signal?: AbortSignal): Promise<AmazonOrdersPollResult> {
    return this.poller.poll(readAmazonOrdersCursor(cursor), signal);
  }

  /** Every event of these orders as Amazon shows them now (getOrder and getOrderItems each; unknown orders skipped). */
  refreshOrders(
    orderIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ events: OrderLineEvent[]; error?: string }> {
    return this.poller.refresh(orderIds, signal);
  }

  /**
   * FBA inventory of these seller SKUs in the first marketplace (amazon-fba-inventory.ts):
   * fulfillable plus pending customer orders per SKU, with the summary's lastUpdatedTime.
   */
  readMarketplaceStock(sellerSkus: readonly string[], signal?: AbortSignal): Promise<FbaInventoryRead> {
    return readFbaInventory(
      this.client,
      { marketplaceId: this.config.marketplaceIds[0]!, sellerSkus, now: this.now },
      signal,
    );
  }

  async pollOrders(cursor: string | null, signal?: AbortSignal): Promise<OrderPollBatch> {
    const result = await this.pollOrderEvents(cursor, signal);
    return {
      events: result.events,
      cursor: JSON.stringify(result.cursor),
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(result.caughtUpTo === null ? {} : { caughtUpTo: result.caughtUpTo }),
    };
  }
}

function retryOf(answer: Extract<AmazonCallResult<unknown>, { kind: 'failed' }>): LineOutcome {
  return {
    status: 'retry',
    reason: answer.reason,
    ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
  };
}

function permanentOf(answer: Extract<AmazonCallResult<unknown>, { kind: 'failed' }>): LineOutcome {
  return { status: 'permanent', reason: answer.reason };
}

function failedOutcome(
  listingId: string,
  sku: string,
  answer: Extract<AmazonCallResult<unknown>, { kind: 'failed' }>,
): PushOutcome {
  if (answer.retryable) return { listingId, ...retryOf(answer) } as PushOutcome;
  const reason = answer.status === 404 ? `unknown Amazon SKU ${sku}: ${answer.reason}` : answer.reason;
  return { listingId, status: 'permanent', reason };
}
