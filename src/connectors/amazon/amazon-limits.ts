import type { RateLimitStatus } from '../channel-connector.js';
import { sleepOrWake } from '../limiter-sleep.js';

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
  | 'getOrder'
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
  getOrder: { rate: 0.5, burst: 30 },
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
  /** Seller SKUs per getInventorySummaries call (`sellerSkus`: "up to 50", fbaInventory.json). */
  inventorySkusPerCallMax: 50,
  /** LWA access tokens live one hour (`expires_in: 3600`). */
  accessTokenLifetimeS: 3600,

  // --- onhand's bounds on its Amazon calls -------------------------------------------------
  /** Deadline of one outbound request (core/limits.ts outboundRequestTimeoutMs). */
  requestTimeoutMs: 10_000,
  /**
   * Longest a request waits for its token bucket before the push answers `retry` (with the
   * wait) instead. Longer than bol's 1.5 s: Amazon's PATCH bucket restores 5 a second, and a
   * `retry` costs the dispatcher's backoff (1 s, 2 s, 4 s...), so a claim should rather wait its
   * turn; with the request deadline (10 s) it stays under the claim TTL (30 s, core/limits.ts).
   * Measured on the 10x burst bench with 1.5 s: PATCHes answered retry after ~200 ms more
   * would have done, p95 3.4-4.5 s.
   */
  limiterWaitMsMax: 5_000,
  /**
   * Restore our copy of each bucket this much slower than Amazon does, against clock drift and
   * the send-to-arrival jitter: a request we let through never finds Amazon's bucket empty.
   */
  rateMarginRatio: 0.05,
  /**
   * A restored token is used this much later than our clock says, against the difference in
   * transit between two requests (a burst on fresh connections arrives later than the next
   * request on a warm one, so Amazon's bucket would start later than ours): our bucket is
   * Amazon's shifted by this much time.
   */
  jitterMarginMs: 250,
  /** Listings PATCHes in flight at once (the bucket allows 5 per second). */
  pushConcurrencyMax: 5,
  /**
   * From this many items in one push, a JSON_LISTINGS_FEED instead of one PATCH each: 5 PATCHes
   * per second would take 10 s for 50 items, a feed takes 4 calls whatever its size (createFeed
   * restores only one per two minutes, so the patch path stays the default).
   */
  feedThresholdItems: 50,
  /** Fewer items than this always go by PATCH, even when the PATCH bucket is short. */
  feedItemsMin: 2,
  /** Items per pushLevels call: one listings feed holds them all. */
  pushBatchSizeMax: 500,
  /** How long pushLevels waits for a submitted feed to finish before answering `retry` (it is remembered). */
  feedWaitMsMax: 4_000,
  /** Longest pause between two getFeed calls while waiting. */
  feedPollIntervalMs: 250,
  /**
   * First pause after a getFeed that found the feed unfinished; each next one doubles, up to
   * `feedPollIntervalMs`. A feed that is done in 50 ms held its push (and with it, the channel's
   * claims) for the whole 250 ms otherwise. Over the 4 s wait as many calls as a flat 250 ms.
   */
  feedPollFirstMs: 50,
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
  /**
   * Pause between two reads of the FBA inventory summaries: Amazon updates them within minutes
   * of a change, and one read of 1,000 listings is 20 calls (10 s of the 2-per-second plan).
   */
  inventoryPollIntervalMs: 5 * 60_000,
  /** getInventorySummaries calls per read (NextToken pages included); the rest of the SKUs wait for the next read. */
  inventoryCallsPerReadMax: 40,
  /** Consecutive 429s double the hold-off from 1 s up to this. */
  throttleBackoffMsMax: 60_000,
});

/**
 * One request let through: when it was sent, and when its answer came back (null until then,
 * or for good when none came). Handed back to `observe` with the answer.
 */
export interface SendTicket {
  readonly at: number;
  answeredAt: number | null;
}

export type AcquireResult = { ok: true; ticket: SendTicket } | { ok: false; waitMs: number };

interface Bucket {
  plan: AmazonUsagePlan;
  /** Our sends, oldest first (the last `logLength`). */
  sent: SendTicket[];
  /** Amazon said 429: nothing goes before this. */
  blockedUntil: number;
  /** Consecutive 429s, for the backoff. */
  throttled: number;
  /** Acquires sleeping for this bucket: an answer can shorten their wait (see `observe`). */
  waiters: Set<() => void>;
}

/**
 * Our model of Amazon's bucket per operation, shared by pushes, reads and polls.
 *
 * A bucket starting full accepts a run of requests exactly when every stretch of them fits:
 * `n` requests ARRIVING within `t` seconds need `n <= burst + rate x t`. We know when we SEND,
 * not when Amazon receives: a request may arrive up to `jitterMarginMs` after it left (a burst
 * opening fresh connections on a busy host arrives later than the next request on a warm one),
 * and it has arrived by the time its answer is back, so send `i` arrives by
 * `s_i + jitter_i` with `jitter_i = min(jitterMarginMs, answered_i - s_i)` (the whole margin while
 * it is unanswered). A stretch from send `i` to the new send `k` may then arrive within
 * `s_k - s_i - jitter_i` only. A request therefore goes when, for every earlier send `i` in the
 * log, `k - i + 1 <= burst + rate' x max(0, s_k - s_i - jitter_i)`, with
 * `rate' = rate x (1 - margin)` against clock drift. Price: the first request past a full burst
 * waits up to `jitterMarginMs` longer. The answered bound matters when Amazon grants far more
 * than the published plan: with the whole margin for every send, at most `burst` requests could
 * go per `jitterMarginMs` (20 a second for a burst of 5), whatever the rate; with answers back in
 * a few ms the sustained rate is `rate'`. The rate adopts `x-amzn-RateLimit-Limit`; a 429 holds the operation
 * off 1 s, 2 s, 4 s... (and the log is no longer trusted: the hold-off covers it).
 */
export class AmazonRateLimiter {
  private readonly buckets = new Map<AmazonOperation, Bucket>();

  constructor(
    plans: Readonly<Record<AmazonOperation, AmazonUsagePlan>>,
    private readonly now: () => number,
  ) {
    for (const [operation, plan] of Object.entries(plans) as [AmazonOperation, AmazonUsagePlan][])
      this.buckets.set(operation, { plan: { ...plan }, sent: [], blockedUntil: 0, throttled: 0, waiters: new Set() });
  }

  private bucket(operation: AmazonOperation): Bucket {
    const bucket = this.buckets.get(operation);
    if (bucket === undefined) throw new Error(`no usage plan for ${operation}`);
    return bucket;
  }

  /** Sends remembered per operation: a full burst and a minute of the rate, bounded. */
  private logLength(bucket: Bucket): number {
    return Math.min(1_000, Math.ceil(bucket.plan.burst + bucket.plan.rate * 60) + 1);
  }

  /**
   * From the newest send back: the sends are in time order (a ticket never gets an earlier time
   * than the one before it), so once a send's bound with the whole margin and the largest count
   * cannot move `earliest` any more, no older send can either. Under a large adopted rate that
   * stops after a few sends instead of scanning the whole log (up to 1,000) on every call.
   */
  private waitMs(bucket: Bucket, now: number): number {
    const rate = bucket.plan.rate * (1 - amazonLimits.rateMarginRatio);
    const { burst } = bucket.plan;
    let earliest = Math.max(now, bucket.blockedUntil);
    const sent = bucket.sent;
    const widest = amazonLimits.jitterMarginMs + ((sent.length + 1 - burst) / rate) * 1000;
    for (let index = sent.length - burst; index >= 0; index--) {
      const count = sent.length - index + 1; // sends from `index` to the new one, > burst
      const { at, answeredAt } = sent[index]!;
      if (at + widest <= earliest) break;
      const jitter =
        answeredAt === null ? amazonLimits.jitterMarginMs : Math.min(amazonLimits.jitterMarginMs, answeredAt - at);
      earliest = Math.max(earliest, at + jitter + ((count - burst) / rate) * 1000);
    }
    return Math.ceil(earliest - now);
  }

  /** Takes one slot, waiting up to `maxWaitMs`; `{ok: false, waitMs}` when the wait would be longer. */
  async acquire(operation: AmazonOperation, maxWaitMs: number, signal?: AbortSignal): Promise<AcquireResult> {
    const bucket = this.bucket(operation);
    const deadline = this.now() + maxWaitMs;
    for (;;) {
      const now = this.now();
      const wait = this.waitMs(bucket, now);
      if (wait <= 0) {
        // Never earlier than the send before it (a clock stepping back), so the log stays in order.
        const ticket: SendTicket = { at: Math.max(now, bucket.sent.at(-1)?.at ?? now), answeredAt: null };
        bucket.sent.push(ticket);
        if (bucket.sent.length > this.logLength(bucket)) bucket.sent.shift();
        return { ok: true, ticket };
      }
      if (now + wait > deadline) return { ok: false, waitMs: wait };
      // Until the wait is over, or an answer comes back: an answered send is known to have
      // arrived, which may let this one go sooner than the margin assumed.
      await sleepOrWake(wait, bucket.waiters, signal);
    }
  }

  /** Learns from Amazon's answer to the send `ticket`: it has arrived, the granted rate, and 429s. */
  observe(operation: AmazonOperation, ticket: SendTicket, status: number, rateHeader: string | null): void {
    const bucket = this.bucket(operation);
    if (ticket.answeredAt === null) {
      ticket.answeredAt = Math.max(ticket.at, this.now());
      for (const wake of [...bucket.waiters]) wake();
    }
    const granted = rateHeader === null ? Number.NaN : Number(rateHeader);
    if (Number.isFinite(granted) && granted > 0) bucket.plan.rate = granted;
    if (status === 429) {
      bucket.throttled++;
      const backoff = Math.min(amazonLimits.throttleBackoffMsMax, 1000 * 2 ** (bucket.throttled - 1));
      bucket.blockedUntil = Math.max(bucket.blockedUntil, this.now() + backoff);
    } else if (status < 500) {
      bucket.throttled = 0;
    }
  }

  /** The rate in force for an operation (the plan, or what Amazon's header said). */
  rate(operation: AmazonOperation): number {
    return this.bucket(operation).plan.rate;
  }

  /** Requests that may go now without waiting (at most a burst), and the wait for the next. */
  status(operation: AmazonOperation): RateLimitStatus {
    const bucket = this.bucket(operation);
    const now = this.now();
    const waitMs = Math.max(0, this.waitMs(bucket, now));
    let available = 0;
    if (waitMs === 0) {
      // How many of a burst sent now would pass: try them on the log, then take them out again.
      const last = bucket.sent.at(-1)?.at ?? now;
      while (available < bucket.plan.burst && this.waitMs(bucket, now) <= 0) {
        bucket.sent.push({ at: Math.max(now, last), answeredAt: null });
        available++;
      }
      bucket.sent.length -= available;
    }
    return { available, capacity: bucket.plan.burst, waitMs };
  }
}
