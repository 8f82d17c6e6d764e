import type { RateLimitStatus } from '../channel-connector.js';

/**
 * Amazon Selling Partner API facts the connector relies on (docs/channels/amazon.md, Rate limits)
 * and the connector's own bounds, with their sources.
 *
 * Amazon limits each operation with a TOKEN BUCKET per selling partner and application: `rate`
 * requests per second restore the bucket up to `burst`; a request on an empty bucket gets 429
 * `QuotaExceeded`. The published figures are the "usage plan" table in each operation's
 * description of the official models (specs/amazon/models, commit 34dc93fe, tables
 * transcribed below); Amazon may grant a selling partner more, and says so per answer in
 * `x-amzn-RateLimit-Limit` (the rate, requests per second), which the limiter adopts.
 */

export type AmazonOperation =
  | 'patchListingsItem'
  | 'getListingsItem'
  | 'searchListingsItems'
  | 'createFeedDocument'
  | 'createFeed'
  | 'getFeed'
  | 'getFeedDocument'
  | 'getOrders'
  | 'getOrderItems'
  | 'getInventorySummaries';

export interface AmazonUsagePlan {
  /** Requests per second restored. */
  rate: number;
  /** Bucket size: requests that may go at once from a full bucket. */
  burst: number;
}

/** The models' usage plans (rate, burst), one row per operation we call. */
export const amazonUsagePlans: Readonly<Record<AmazonOperation, AmazonUsagePlan>> = Object.freeze({
  // listingsItems_2021-08-01.json
  patchListingsItem: { rate: 5, burst: 5 },
  getListingsItem: { rate: 5, burst: 10 },
  searchListingsItems: { rate: 5, burst: 5 },
  // feeds_2021-06-30.json
  createFeedDocument: { rate: 0.5, burst: 15 },
  createFeed: { rate: 0.0083, burst: 15 },
  getFeed: { rate: 2, burst: 15 },
  getFeedDocument: { rate: 0.0222, burst: 10 },
  // ordersV0.json
  getOrders: { rate: 0.0167, burst: 20 },
  getOrderItems: { rate: 0.5, burst: 30 },
  // fbaInventory.json
  getInventorySummaries: { rate: 2, burst: 2 },
});

/** Selling Partner API regions (docs/channels/amazon.md, Regions): API origin and the LWA token endpoint. */
export const amazonRegions = Object.freeze({
  na: { endpoint: 'https://sellingpartnerapi-na.amazon.com' },
  eu: { endpoint: 'https://sellingpartnerapi-eu.amazon.com' },
  fe: { endpoint: 'https://sellingpartnerapi-fe.amazon.com' },
});
export type AmazonRegion = keyof typeof amazonRegions;
export const lwaTokenUrl = 'https://api.amazon.com/auth/o2/token';

export const amazonLimits = Object.freeze({
  // --- Amazon's figures --------------------------------------------------------------------
  /** SKUs per searchListingsItems call (`identifiers` maxItems 20, listingsItems_2021-08-01.json). */
  searchIdentifiersMax: 20,
  /** Orders per getOrders page (`MaxResultsPerPage` maximum 100, ordersV0.json). */
  ordersPageSize: 100,
  /** getOrders refuses a LastUpdatedAfter/Before within 2 minutes of now (ordersV0.json, LastUpdatedBefore). */
  ordersRecentWindowMs: 2 * 60 * 1000,
  /** LWA access tokens live one hour (`expires_in: 3600`). */
  accessTokenLifetimeS: 3600,

  // --- onhand's bounds on its Amazon calls -------------------------------------------------
  /** Deadline of one outbound request (core/limits.ts outboundRequestTimeoutMs). */
  requestTimeoutMs: 10_000,
  /**
   * Longest a request waits for its token bucket before the push answers `retry` (with the
   * wait) instead of holding a dispatcher slot; with the request deadline it stays under the
   * claim TTL (30 s, core/limits.ts).
   */
  limiterWaitMsMax: 1_500,
  /**
   * Restore our copy of each bucket this much slower than Amazon does, against clock drift and
   * the send-to-arrival jitter: a request we let through never finds Amazon's bucket empty.
   */
  rateMarginRatio: 0.05,
  /** Listings PATCHes in flight at once (the bucket allows 5 per second). */
  pushConcurrencyMax: 5,
  /**
   * From this many items in one push, a JSON_LISTINGS_FEED instead of one PATCH each: 5 PATCHes
   * per second would take 10 s for 50 items, a feed takes 4 calls whatever its size (createFeed
   * restores only one per two minutes, so the patch path stays the default).
   */
  feedThresholdItems: 50,
  /** Items per pushLevels call: one listings feed holds them all. */
  pushBatchSizeMax: 500,
  /** How long pushLevels waits for a submitted feed to finish before answering `retry` (it is remembered). */
  feedWaitMsMax: 4_000,
  /** Pause between two getFeed calls while waiting. */
  feedPollIntervalMs: 250,
  /** Feeds remembered between a `retry` and the push that collects their report. */
  pendingFeedsMax: 100,
  /** A remembered feed older than this is forgotten and its items submitted again. */
  pendingFeedTtlMs: 60 * 60 * 1000,
  /** Renew the access token this long before it expires, in the background (5 minutes of 60). */
  tokenRenewBeforeMs: 5 * 60 * 1000,
  /** Never send a token closer than this to its expiry: wait for the renewal. */
  tokenUseMarginMs: 30 * 1000,
  /** After a failed token request, wait this long before the next. */
  tokenFailureHoldOffMs: 1_000,
  /** Pause between two order polls: getOrders restores one request a minute, so polling faster only drains the burst. */
  pollIntervalMs: 60_000,
  /** getOrders pages per poll. */
  ordersPagesPerPollMax: 5,
  /** getOrderItems calls per poll (0.5 per second, burst 30); the rest wait in the cursor. */
  orderItemsPerPollMax: 30,
  /** Orders whose items are still owed, carried in the cursor. */
  deferredOrdersMax: 1_000,
  /** Orders remembered with their LastUpdateDate, so an unchanged order is not read twice. */
  rememberedOrdersMax: 20_000,
  /** Notification ids remembered for dedupe. */
  rememberedNotificationsMax: 5_000,
  /** Notifications taken from the source per poll. */
  notificationsPerPollMax: 100,
  /** Consecutive 429s double the hold-off from 1 s up to this. */
  throttleBackoffMsMax: 60_000,
});

export type AcquireResult = { ok: true } | { ok: false; waitMs: number };

interface Bucket {
  plan: AmazonUsagePlan;
  tokens: number;
  updatedAt: number;
  /** Amazon said 429: nothing goes before this. */
  blockedUntil: number;
  /** Consecutive 429s, for the backoff. */
  throttled: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Our copy of Amazon's bucket per operation, shared by pushes, reads and polls. It starts full
 * (Amazon's does for a new client), restores `rate x (1 - margin)` per second, adopts the rate of
 * `x-amzn-RateLimit-Limit`, and on a 429 empties the bucket and holds off 1 s, 2 s, 4 s...
 */
export class AmazonRateLimiter {
  private readonly buckets = new Map<AmazonOperation, Bucket>();

  constructor(
    plans: Readonly<Record<AmazonOperation, AmazonUsagePlan>>,
    private readonly now: () => number,
  ) {
    const at = now();
    for (const [operation, plan] of Object.entries(plans) as [AmazonOperation, AmazonUsagePlan][])
      this.buckets.set(operation, {
        plan: { ...plan },
        tokens: plan.burst,
        updatedAt: at,
        blockedUntil: 0,
        throttled: 0,
      });
  }

  private bucket(operation: AmazonOperation): Bucket {
    const bucket = this.buckets.get(operation);
    if (bucket === undefined) throw new Error(`no usage plan for ${operation}`);
    return bucket;
  }

  private refill(bucket: Bucket, now: number): void {
    const rate = bucket.plan.rate * (1 - amazonLimits.rateMarginRatio);
    bucket.tokens = Math.min(bucket.plan.burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = now;
  }

  private waitMs(bucket: Bucket, now: number): number {
    this.refill(bucket, now);
    const blocked = Math.max(0, bucket.blockedUntil - now);
    const rate = bucket.plan.rate * (1 - amazonLimits.rateMarginRatio);
    const empty = bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / rate) * 1000);
    return Math.max(blocked, empty);
  }

  /** Takes one token, waiting up to `maxWaitMs`; `{ok: false, waitMs}` when the wait would be longer. */
  async acquire(operation: AmazonOperation, maxWaitMs: number, signal?: AbortSignal): Promise<AcquireResult> {
    const bucket = this.bucket(operation);
    const deadline = this.now() + maxWaitMs;
    for (;;) {
      const now = this.now();
      const wait = this.waitMs(bucket, now);
      if (wait === 0) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      if (now + wait > deadline) return { ok: false, waitMs: wait };
      await sleep(wait, signal);
    }
  }

  /** Learns from Amazon's answer: the granted rate, and 429s. */
  observe(operation: AmazonOperation, status: number, rateHeader: string | null): void {
    const bucket = this.bucket(operation);
    const now = this.now();
    const granted = rateHeader === null ? Number.NaN : Number(rateHeader);
    if (Number.isFinite(granted) && granted > 0 && granted !== bucket.plan.rate) {
      this.refill(bucket, now);
      bucket.plan.rate = granted;
    }
    if (status === 429) {
      bucket.throttled++;
      bucket.tokens = 0;
      bucket.updatedAt = now;
      const backoff = Math.min(amazonLimits.throttleBackoffMsMax, 1000 * 2 ** (bucket.throttled - 1));
      bucket.blockedUntil = Math.max(bucket.blockedUntil, now + backoff);
    } else if (status < 500) {
      bucket.throttled = 0;
    }
  }

  /** The rate in force for an operation (the plan, or what Amazon's header said). */
  rate(operation: AmazonOperation): number {
    return this.bucket(operation).plan.rate;
  }

  status(operation: AmazonOperation): RateLimitStatus {
    const bucket = this.bucket(operation);
    const now = this.now();
    const waitMs = this.waitMs(bucket, now);
    return {
      available: bucket.blockedUntil > now ? 0 : Math.floor(bucket.tokens),
      capacity: bucket.plan.burst,
      waitMs,
    };
  }
}
