import assert from 'node:assert';
import { limits } from '../../core/limits.js';
import type { RateLimitStatus } from '../channel-connector.js';
import { sleepOrWake } from '../limiter-sleep.js';

/**
 * WooCommerce's own numbers (facts about the platform, with their source in
 * docs/channels/woocommerce.md) and the connector's bounds (onhand's, from core/limits.ts).
 *
 * WooCommerce core has NO rate limit on wc/v3; the host in front of it has one: a few PHP
 * workers (a request beyond them queues or gets 503), a WAF or a proxy that answers 429 with
 * Retry-After. So the budget is the shop's, configured per channel: at most `requestsPerSecond`
 * requests started in any one second and at most `concurrency` in flight. The limiter keeps a
 * SLIDING log of start times over one second plus a margin (as the Bol.com limiter does), so any
 * one-second interval the host measures sees at most the configured number, wherever its window
 * starts. A request counts in the log from the moment it is sent until one window after its ANSWER
 * came back: it reached the host before its answer, so the next request the log lets through
 * arrives at the host at least one window after it, whatever the latency (an event loop or a
 * network that delays a request by a few hundred ms would otherwise let two requests of two
 * windows land in one). Price: about one latency per window of rate (5 per second at 100 ms per
 * request: 4.6). A 429 or 503 with Retry-After blocks every request of the shop until it elapses.
 */
export const wooLimits = Object.freeze({
  /** "By default it's limited to up to 100 objects to be created, updated or deleted" (batch endpoints). */
  batchItemsMax: 100,
  /** per_page maximum of WordPress REST collections (WP_REST_Controller: 1..100). */
  pageSizeMax: 100,
  /** WooCommerce disables a webhook once its failures exceed this (woocommerce_max_webhook_delivery_failures). */
  webhookFailuresMax: 5,
  /** OAuth 1.0a: WooCommerce refuses a timestamp older than 15 minutes. */
  oauthTimestampWindowS: 15 * 60,
  // onhand's bounds:
  requestTimeoutMs: limits.outboundRequestTimeoutMs,
  requestsPerSecondDefault: limits.wooRequestsPerSecondDefault,
  concurrencyDefault: limits.wooConcurrencyDefault,
  limiterWaitMsMax: limits.wooLimiterWaitMsMax,
  readSharePercent: limits.wooReadSharePercent,
  ordersPagesPerPollMax: limits.wooOrdersPagesPerPollMax,
  refundReadsPerPollMax: limits.wooRefundReadsPerPollMax,
  ordersFirstPollLookbackMs: limits.wooOrdersFirstPollLookbackMs,
  ordersPollOverlapMs: limits.wooOrdersPollOverlapMs,
  orderPollIntervalMs: limits.wooOrderPollIntervalMs,
  /** Margin of the sliding second over the host's: network jitter between us and the host. */
  windowMarginMs: 50,
  windowMs: 1_000,
  /**
   * Pacing: at most a tenth of the rate (at least 1) starts in any such window. Without it a busy
   * shop spent its whole second in the first ~200 ms, then waited ~800 ms for the window to move,
   * and every change queued behind that gap (bench:order-latency, 200 orders/s at 100 requests/s:
   * bursts of ~100 requests, then silences; WooCommerce p95 600 ms).
   */
  paceWindowMs: limits.wooPaceWindowMs,
  /** Pages one full read-back reads at most (10 million products): a list that never ends stops here. */
  productPagesMax: 100_000,
  /** When the host said wait but not how long (429/503 without Retry-After). */
  defaultBackoffMs: 1_000,
  /** Longest Retry-After taken as it is (a larger one is clipped: the dispatcher retries with backoff anyway). */
  retryAfterMsMax: 10 * 60 * 1000,
});

/**
 * A slot: `release` once the answer is in (or the request failed); `unused` instead when nothing
 * was sent with it (a coalesced batch another request already carried), which gives it back.
 */
export type AcquireResult = { ok: true; release: () => void; unused: () => void } | { ok: false; waitMs: number };

export interface WooBudget {
  requestsPerSecond: number;
  concurrency: number;
}

/**
 * One shop's budget, shared by pushes, read-backs and order polls. `read` requests may use only
 * `readSharePercent` of the rate and of the concurrency, so a full read-back never starves pushes.
 */
interface Stamp {
  at: number;
}

const byTime = (a: Stamp, b: Stamp) => a.at - b.at;

const drop = <T>(list: T[], entry: T) => {
  const index = list.indexOf(entry);
  if (index >= 0) list.splice(index, 1);
};

export class WooRateLimiter {
  /** Send times (answer times once answered) inside the span, oldest first. */
  private readonly sent: Stamp[] = [];
  /** Start times inside the last pace window, oldest first (never moved to the answer). */
  private readonly started: number[] = [];
  private readonly paceCount: number;
  private readonly readSent: Stamp[] = [];
  private inFlight = 0;
  private readsInFlight = 0;
  private blockedUntil = 0;
  private readonly spanMs = wooLimits.windowMs + wooLimits.windowMarginMs;
  private readonly readRate: number;
  private readonly readConcurrency: number;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly budget: WooBudget,
    private readonly now: () => number,
  ) {
    assert(budget.requestsPerSecond >= 1 && budget.concurrency >= 1, 'a WooCommerce budget of at least 1');
    this.readRate = Math.max(1, Math.floor((budget.requestsPerSecond * wooLimits.readSharePercent) / 100));
    this.readConcurrency = Math.max(1, Math.floor((budget.concurrency * wooLimits.readSharePercent) / 100));
    this.paceCount = Math.max(1, Math.ceil((budget.requestsPerSecond * wooLimits.paceWindowMs) / wooLimits.windowMs));
  }

  private prune(now: number): void {
    while (this.started.length > 0 && this.started[0]! <= now - wooLimits.paceWindowMs) this.started.shift();
    while (this.sent.length > 0 && this.sent[0]!.at <= now - this.spanMs) this.sent.shift();
    while (this.readSent.length > 0 && this.readSent[0]!.at <= now - this.spanMs) this.readSent.shift();
  }

  /** ms until a request of this kind may start; -1 = only a finishing request frees it. */
  private waitMs(kind: 'write' | 'read', now: number): number {
    this.prune(now);
    const blocked = Math.max(0, this.blockedUntil - now);
    let full = this.sent.length >= this.budget.requestsPerSecond ? this.sent[0]!.at + this.spanMs - now : 0;
    if (this.started.length >= this.paceCount) full = Math.max(full, this.started[0]! + wooLimits.paceWindowMs - now);
    if (kind === 'read' && this.readSent.length >= this.readRate)
      full = Math.max(full, this.readSent[0]!.at + this.spanMs - now);
    const wait = Math.max(blocked, full);
    if (wait === 0) {
      if (this.inFlight >= this.budget.concurrency) return -1;
      if (kind === 'read' && this.readsInFlight >= this.readConcurrency) return -1;
    }
    return wait;
  }

  /**
   * Takes one slot, waiting up to `maxWaitMs` (Infinity for reads and polls, which have no `retry`
   * outcome); `{ok: false, waitMs}` when the wait would be longer. Call `release` when the answer
   * is in (or the request failed).
   */
  async acquire(kind: 'write' | 'read', maxWaitMs: number, signal?: AbortSignal): Promise<AcquireResult> {
    const deadline = this.now() + maxWaitMs;
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      const wait = this.waitMs(kind, now);
      if (wait === 0) {
        const stamp: Stamp = { at: now };
        this.sent.push(stamp);
        this.started.push(now);
        this.inFlight++;
        if (kind === 'read') {
          this.readSent.push(stamp);
          this.readsInFlight++;
        }
        let released = false;
        const finish = (used: boolean) => {
          if (released) return;
          released = true;
          if (used) {
            // Counted from its answer on (see the class comment); still inside the span, so kept.
            stamp.at = Math.max(stamp.at, this.now());
            this.sent.sort(byTime);
            if (kind === 'read') this.readSent.sort(byTime);
          } else {
            // Nothing went out with it: it never counted.
            drop(this.sent, stamp);
            drop(this.started, now);
            if (kind === 'read') drop(this.readSent, stamp);
          }
          this.inFlight--;
          if (kind === 'read') this.readsInFlight--;
          for (const wake of [...this.waiters]) wake();
        };
        return { ok: true, release: () => finish(true), unused: () => finish(false) };
      }
      if (wait > 0 && now + wait > deadline) return { ok: false, waitMs: wait };
      if (wait < 0 && now >= deadline) return { ok: false, waitMs: 50 };
      // Wait for the window to move, or for a request in flight to finish.
      const sleepMs = wait > 0 ? wait : Math.max(1, Math.min(250, deadline - now));
      await sleepOrWake(sleepMs, this.waiters, signal);
    }
  }

  /** The host said wait (429/503 with or without Retry-After): no request of this shop starts before. */
  holdOff(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }

  status(): RateLimitStatus {
    const now = this.now();
    this.prune(now);
    const blocked = this.blockedUntil > now;
    const available = blocked
      ? 0
      : Math.max(
          0,
          Math.min(this.budget.requestsPerSecond - this.sent.length, this.budget.concurrency - this.inFlight),
        );
    const wait = this.waitMs('write', now);
    return { available, capacity: this.budget.requestsPerSecond, waitMs: Math.max(0, wait) };
  }
}

/** Retry-After in ms (delta seconds or an HTTP date), clipped; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Math.ceil(Number(text) * 1000);
  else {
    const at = Date.parse(text);
    if (!Number.isFinite(at)) return undefined;
    ms = at - now;
  }
  return Math.max(0, Math.min(ms, wooLimits.retryAfterMsMax));
}
