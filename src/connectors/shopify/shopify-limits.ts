import { setTimeout as sleep } from 'node:timers/promises';
import { limits } from '../../core/limits.js';
import type { RateLimitStatus } from '../channel-connector.js';

/**
 * Shopify's numbers in one place, each with its source (docs/channels/shopify.md lists them with
 * their URLs), and the connector's model of the cost-based leaky bucket. They stay here rather than
 * in core/limits.ts because they are Shopify's figures, not onhand's. The tag after a figure says
 * where it comes from: [doc] Shopify's documentation, [spec] the 2025-01 schema extract, [2nd] a
 * secondary source.
 */
export const shopifyLimits = Object.freeze({
  /** "Input arguments that accept an array have a maximum size of 250 for all APIs" [doc: shopify.dev/docs/api/usage/limits]. */
  quantitiesPerMutationMax: 250,
  /** Same array limit for `nodes(ids:)`. */
  idsPerReadMax: 250,
  /** "Single query max cost 1000 points regardless of plan" [2nd]; above it MAX_COST_EXCEEDED. */
  queryCostMax: 1000,
  /** Mutations cost 10 points [doc table truncated + 2nd]; learned upward from `requestedQueryCost`. */
  mutationCostEstimate: 10,
  /**
   * A `nodes(ids:)` read of item -> inventoryLevel -> quantities: 1 for the root plus about 3 per
   * id (one object each). Shopify's exact figure is not in the stored docs; the connector learns
   * the real one from `requestedQueryCost` and only ever raises its estimate.
   */
  readCostBase: 1,
  readCostPerItemEstimate: 3,
  /** INVALID_QUANTITY_TOO_HIGH above 1,000,000,000 [spec InventorySetQuantitiesUserErrorCode]. */
  quantityMax: 1_000_000_000,
  // onhand's own bounds on its Shopify calls come from core/limits.ts (the reasons are there).
  requestTimeoutMsDefault: limits.outboundRequestTimeoutMs,
  bucketWaitMsMaxDefault: limits.shopifyBucketWaitMsMax,
  pushRoundsMax: limits.shopifyPushRoundsMax,
  /**
   * What the connector assumes before the first `throttleStatus` arrives: the oldest documented
   * bucket (1000 points, 50/s) [doc: help.shopify.com graphql-admin-api-rate-limits]. Until then
   * only one request is in flight (a probe), so a smaller real bucket is never overrun.
   */
  /** How often a running bulk operation's status is asked for (1 point each). */
  bulkPollIntervalMsDefault: 1_000,
  /** Longest wait for a bulk operation to finish before the audit gives up. */
  bulkWaitMsMax: 2 * 60 * 60 * 1000,
  /** Longest line of a bulk result (one inventory item is about 150 characters). */
  bulkLineLengthMax: 64 * 1024,
  /** Levels per page handed to the reconcile pass. */
  bulkPageSize: 1_000,
  /** The audit's few calls may wait this long for the bucket (pushes go first meanwhile). */
  bulkBucketWaitMsMax: 30_000,
  assumedMaximumAvailable: 1000,
  assumedRestoreRatePerSecond: 50,
  releaseGraceMs: limits.shopifyReleaseGraceMs,
  bucketSafetyMarginPoints: limits.shopifyBucketSafetyMarginPoints,
});

/** `extensions.cost.throttleStatus` as Shopify sends it on every GraphQL answer [doc]. */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export type BucketAdmission =
  | { admitted: true; ticket: number }
  | { admitted: false; retryAfterMs: number; reason: string };

/**
 * The connector's picture of Shopify's leaky bucket (docs/channels/shopify.md, Rate limit: the
 * cost bucket: a request is admitted only
 * if `currentlyAvailable >= requestedQueryCost`; the bucket refills at `restoreRate` points/s up
 * to `maximumAvailable`; the difference requested - actual is refunded after execution).
 *
 * Why a local model and not just "send and see": a THROTTLED answer is a rate-limit violation the
 * simulator counts (the target is zero) and wastes a round trip. So every request is admitted
 * here first, and the model must never think the bucket holds MORE than Shopify's does:
 *
 * 1. available(now) = min(max, base + elapsed x restoreRate) - inFlight, where `base` is a lower
 *    bound of Shopify's level at `baseAt` and `inFlight` the cost of admitted requests Shopify may
 *    not have charged yet. In-flight cost is subtracted OUTSIDE the cap: Shopify's bucket can sit
 *    full while our requests are on the wire and drop by their cost when they land; subtracting
 *    inside, min(max, base - inFlight + refill), refills "through" the cap and overshoots (the first
 *    version did, and drew THROTTLED in 6 of 30 bursts under CPU load).
 * 2. Admission is FIFO (one promise chain): the head of the queue sleeps until its cost fits,
 *    re-checking in steps of at most 100 ms (an answer may move the level either way), then counts
 *    as in flight and is sent; requests then run concurrently.
 * 3. An answer with `throttleStatus` sets base = min(max, currentlyAvailable) minus the cost of
 *    requests that finished after this one was admitted: answers arrive out of order, and an older
 *    snapshot read after a newer one must not hand back points a later request already spent.
 *    Those requests have been charged by now, so subtracting them inside the cap is a valid lower
 *    bound (level + charges since the snapshot >= min(max, snapshot + refill)); counting a request
 *    Shopify did include twice errs on the safe side. Refunds (requested - actual) arrive this way.
 * 4. A request that ends without an answer (network error, timeout, 5xx) may or may not have been
 *    charged, and may even land a little later: it stays in flight for `releaseGraceMs`, then its
 *    cost is taken from `base` (as if charged) until the next answer says what Shopify holds.
 *    This is the model's one assumption: nothing we gave up on lands after the grace period.
 * 5. Until the first answer the bucket's size is unknown: one probe request at a time.
 *
 * Waiting is bounded: if the head of the queue would wait longer than the caller allows, it is not
 * admitted and gets the wait as `retryAfterMs` - the dispatcher decides what to push first
 * (in urgency order, docs/RELIABILITY.md, section 10) rather than the connector blocking.
 */
export class CostBucket {
  readonly #now: () => number;
  #maximumAvailable: number = shopifyLimits.assumedMaximumAvailable;
  #restoreRatePerSecond: number = shopifyLimits.assumedRestoreRatePerSecond;
  /** A lower bound of Shopify's level at #baseAt, in-flight requests aside. */
  #base: number = shopifyLimits.assumedMaximumAvailable;
  #baseAt: number;
  #observed = false;
  #firstObservation: Promise<void>;
  #resolveFirstObservation!: () => void;
  /** Admitted requests Shopify may not have counted yet: ticket -> cost, admission sequence number. */
  readonly #inFlight = new Map<number, { cost: number; admittedAt: number }>();
  /** Admitted requests still waiting for their HTTP answer (gates the probe). */
  readonly #awaiting = new Set<number>();
  /** Requests that ended without an answer: ticket -> when they stop counting as in flight. */
  readonly #released = new Map<number, number>();
  /** Finished requests that an answer to a request admitted before them may not include. */
  #finished: { cost: number; finishedAt: number }[] = [];
  /** Orders admissions and completions (a logical clock, not time). */
  #sequence = 0;
  #nextTicket = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #idleWaiters: (() => void)[] = [];

  constructor(now: () => number) {
    this.#now = now;
    this.#baseAt = now();
    this.#firstObservation = new Promise((resolve) => {
      this.#resolveFirstObservation = resolve;
    });
  }

  #inFlightCost(): number {
    let cost = 0;
    for (const request of this.#inFlight.values()) cost += request.cost;
    return cost;
  }

  /** The base refilled up to `now`, capped: Shopify's level at best, in-flight requests aside. */
  #refilled(now: number): number {
    const elapsedSeconds = Math.max(0, now - this.#baseAt) / 1000;
    return Math.min(this.#maximumAvailable, this.#base + elapsedSeconds * this.#restoreRatePerSecond);
  }

  /** Points available now, as far as we know (negative while admitted requests are in flight). */
  level(now = this.#now()): number {
    return this.#refilled(now) - this.#inFlightCost();
  }

  get maximumAvailable(): number {
    return this.#maximumAvailable;
  }

  get observed(): boolean {
    return this.#observed;
  }

  /**
   * Milliseconds until `cost` points (plus the margin) are in the bucket; 0 = now. When the
   * pending requests alone keep it short even when full, the refill cannot help and the figure is
   * the time those requests' cost takes to restore (a lower bound; answers usually come sooner).
   */
  waitMsFor(cost: number, now = this.#now()): number {
    this.#expireReleased(now);
    const missing = cost + shopifyLimits.bucketSafetyMarginPoints - this.level(now);
    if (missing <= 0) return 0;
    return Math.max(1, Math.ceil((missing / this.#restoreRatePerSecond) * 1000));
  }

  /**
   * Wait in FIFO order until `cost` is affordable, then count it as pending and return a ticket;
   * or refuse (`admitted: false`) when that would take longer than `waitMsMax`, or `signal` aborts.
   */
  admit(cost: number, waitMsMax: number, signal?: AbortSignal): Promise<BucketAdmission> {
    const startedAt = this.#now();
    const turn = this.#queue.then(() => this.#admitAtHead(cost, startedAt, waitMsMax, signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #admitAtHead(
    cost: number,
    startedAt: number,
    waitMsMax: number,
    signal?: AbortSignal,
  ): Promise<BucketAdmission> {
    // 5. Before the first throttleStatus: one probe at a time.
    if (!this.#observed && this.#awaiting.size > 0) {
      const remaining = waitMsMax - (this.#now() - startedAt);
      const timer = new AbortController();
      let settled: boolean;
      try {
        settled = await Promise.race([
          this.#firstObservation.then(() => true),
          this.#whenNothingAwaited(),
          sleep(Math.max(0, remaining), false, { signal: timer.signal }).catch(() => false),
        ]);
      } finally {
        timer.abort(); // no timer left behind once the race is decided
      }
      if (!settled)
        return { admitted: false, retryAfterMs: 100, reason: 'waiting for the first throttleStatus from Shopify' };
    }
    // 2. Sleep until the cost fits; every step is bounded by the caller's wait and by 100 ms.
    for (;;) {
      if (signal?.aborted) return { admitted: false, retryAfterMs: 0, reason: 'aborted by the caller' };
      const waitMs = this.waitMsFor(cost);
      if (waitMs === 0) {
        const ticket = this.#nextTicket++;
        this.#inFlight.set(ticket, { cost, admittedAt: ++this.#sequence });
        this.#awaiting.add(ticket);
        return { admitted: true, ticket };
      }
      const waitedMs = this.#now() - startedAt;
      if (waitedMs + waitMs > waitMsMax) {
        return {
          admitted: false,
          retryAfterMs: waitMs,
          reason: `rate budget: ${cost} points needed, ${Math.max(0, Math.floor(this.level()))} available`,
        };
      }
      try {
        await sleep(Math.min(waitMs, 100), undefined, signal ? { signal } : undefined);
      } catch {
        return { admitted: false, retryAfterMs: 0, reason: 'aborted by the caller' };
      }
    }
  }

  #whenNothingAwaited(): Promise<boolean> {
    if (this.#awaiting.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => this.#idleWaiters.push(() => resolve(true)));
  }

  /** 3. An answer carried throttleStatus: resynchronise and close the ticket. */
  observe(ticket: number, status: ThrottleStatus): void {
    this.#expireReleased(this.#now());
    const mine = this.#inFlight.get(ticket);
    if (mine && status.maximumAvailable > 0 && status.restoreRate > 0 && Number.isFinite(status.currentlyAvailable)) {
      let chargedSince = 0;
      for (const other of this.#finished) if (other.finishedAt > mine.admittedAt) chargedSince += other.cost;
      this.#maximumAvailable = status.maximumAvailable;
      this.#restoreRatePerSecond = status.restoreRate;
      this.#base = Math.min(status.maximumAvailable, status.currentlyAvailable) - chargedSince;
      this.#baseAt = this.#now();
      this.#inFlight.delete(ticket);
      this.#recordFinished(mine.cost);
      if (!this.#observed) {
        this.#observed = true;
        this.#resolveFirstObservation();
      }
    } else {
      this.#finishUnobserved(ticket);
    }
    this.#awaiting.delete(ticket);
    this.#notifyIfNothingAwaited();
  }

  /** 4. The request ended without throttleStatus. */
  release(ticket: number): void {
    this.#awaiting.delete(ticket);
    if (this.#inFlight.has(ticket)) this.#released.set(ticket, this.#now() + shopifyLimits.releaseGraceMs);
    this.#notifyIfNothingAwaited();
  }

  /** End the grace of released requests (lazily, on the injected clock: no timers). */
  #expireReleased(now: number): void {
    for (const [ticket, until] of this.#released) {
      if (until > now) continue;
      this.#released.delete(ticket);
      this.#finishUnobserved(ticket);
    }
  }

  /** Out of flight without an answer: counted as charged, until the next answer says otherwise. */
  #finishUnobserved(ticket: number): void {
    const request = this.#inFlight.get(ticket);
    if (!request) return;
    const now = this.#now();
    this.#base = this.#refilled(now) - request.cost;
    this.#baseAt = now;
    this.#inFlight.delete(ticket);
    this.#recordFinished(request.cost);
  }

  #recordFinished(cost: number): void {
    this.#finished.push({ cost, finishedAt: ++this.#sequence });
    // Only answers to requests still in flight can be older than a finished request.
    let oldestAdmission = Number.POSITIVE_INFINITY;
    for (const other of this.#inFlight.values()) oldestAdmission = Math.min(oldestAdmission, other.admittedAt);
    this.#finished = this.#finished.filter((entry) => entry.finishedAt > oldestAdmission);
  }

  #notifyIfNothingAwaited(): void {
    if (this.#awaiting.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The port's view: points now, capacity, and how long until one mutation fits. */
  status(): RateLimitStatus {
    const now = this.#now();
    this.#expireReleased(now);
    return {
      available: Math.max(0, Math.floor(this.level(now))),
      capacity: this.#maximumAvailable,
      waitMs: this.waitMsFor(shopifyLimits.mutationCostEstimate, now),
    };
  }
}

/**
 * Wait for a THROTTLED answer: the missing points at the restore rate (docs/channels/shopify.md,
 * Rate limit: the cost bucket).
 */
export function throttledRetryAfterMs(requestedCost: number, status: ThrottleStatus): number {
  const missing = requestedCost - status.currentlyAvailable;
  if (!(status.restoreRate > 0) || !(missing > 0)) return 1000;
  return Math.ceil((missing / status.restoreRate) * 1000);
}
