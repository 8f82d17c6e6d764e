import assert from 'node:assert';
import type { RateLimitStatus } from '../channel-connector.js';

/**
 * Bol.com's per-endpoint rate limits and every bound of the Bol connector (CONVENTIONS 12; kept
 * here rather than in core/limits.ts because they are bol's numbers, not onhand's).
 *
 * bol limits each (client, method, path pattern) with a FIXED window: at most `capacity` requests
 * per `windowMs`, then 429 with Retry-After (CHANNELS.md 3.7, 6). We do not know where bol's windows
 * start, nor how long a request takes to reach bol, so a fixed window on our side could let through
 * up to twice the capacity across a boundary. The limiter therefore keeps a SLIDING log of send
 * times over `windowMs + margin`: any interval of length windowMs (wherever bol's window sits)
 * then sees at most `capacity` of our requests, as long as network jitter stays under the margin.
 * Price: capacity / (window + margin), e.g. 50 / 1.05 s = 47.6 PATCHes/s instead of 50.
 */

export type BolRateRuleName = 'orders-list' | 'orders-detail' | 'offers-list' | 'offers-create' | 'offers-read' | 'offers-write';

export interface BolRateRule {
  name: BolRateRuleName;
  methods: readonly string[];
  path: RegExp;
  capacity: number;
  windowMs: number;
}

/**
 * CHANNELS.md 3.7, transcribed from bol's published ratelimits [2nd]. bol's table has no row for
 * the v11 PATCH; it is a write to /retailer/offers/*, so it takes the PUT/DELETE bucket (50/s).
 */
export const bolRateRules: readonly BolRateRule[] = Object.freeze([
  { name: 'orders-list', methods: ['GET'], path: /^\/retailer\/orders$/, capacity: 25, windowMs: 60_000 },
  { name: 'orders-detail', methods: ['GET'], path: /^\/retailer\/orders\/[^/]+$/, capacity: 25, windowMs: 1_000 },
  { name: 'offers-list', methods: ['GET'], path: /^\/retailer\/offers$/, capacity: 25, windowMs: 1_000 },
  { name: 'offers-create', methods: ['POST'], path: /^\/retailer\/offers$/, capacity: 50, windowMs: 1_000 },
  { name: 'offers-read', methods: ['GET', 'HEAD'], path: /^\/retailer\/offers\/.+$/, capacity: 25, windowMs: 1_000 },
  { name: 'offers-write', methods: ['PUT', 'PATCH', 'DELETE'], path: /^\/retailer\/offers\/.+$/, capacity: 50, windowMs: 1_000 },
]);

export const bolLimits = Object.freeze({
  /** Deadline of one HTTP request (RELIABILITY P5: every outbound call has a timeout). */
  requestTimeoutMs: 10_000,
  /** Offers per pushLevels call: one PATCH each, so small (the dispatcher coalesces before us). */
  pushBatchSizeMax: 20,
  /** PATCHes in flight at once per connection (50/s at ~100 ms each needs ~5). */
  pushConcurrencyMax: 8,
  /** GETs in flight at once for readLevels. */
  readConcurrencyMax: 4,
  /** Longest a request waits for its window before the push answers `retry` instead. */
  limiterWaitMsMax: 1_500,
  /** Sliding-window margin: max(ratio x window, minimum) (see the file comment). */
  windowMarginRatio: 0.05,
  windowMarginMsMin: 25,
  /** Renew the token at this fraction of expires_in (299 s -> after 239 s), in the background. */
  tokenRefreshRatio: 0.8,
  /** Never send a token older than this fraction of its lifetime (299 s -> 284 s); wait for renewal. */
  tokenUseRatioMax: 0.95,
  /** After a failed token request, wait this long before the next (bol blocks IPs that hammer it, 3.1). */
  tokenFailureHoldOffMs: 1_000,
  /** Pages of GET /retailer/orders per poll (25 requests/min budget, 3.7). */
  ordersPagesPerPollMax: 10,
  /** Order details fetched per poll (GET /retailer/orders/{id}, 25/s). */
  orderDetailsPerPollMax: 100,
  /** Order ids whose detail is still owed, carried in the cursor. */
  deferredOrdersMax: 1_000,
  /** Order items remembered for dedupe in the cursor (oldest-seen evicted beyond this). */
  rememberedOrderItemsMax: 20_000,
  /** A full scan of the OPEN orders at least this often; between them, change-interval polls. */
  ordersFullScanIntervalMs: 10 * 60_000,
  /** bol's maximum change-interval-minute (retailer-api-v10.json). */
  changeIntervalMinuteMax: 60,
  /** Orders per page of GET /retailer/orders (3.5). */
  ordersPageSize: 50,
});

assert(bolLimits.pushConcurrencyMax <= bolLimits.pushBatchSizeMax);
assert(bolLimits.tokenRefreshRatio < bolLimits.tokenUseRatioMax && bolLimits.tokenUseRatioMax < 1);
assert(bolLimits.orderDetailsPerPollMax <= bolLimits.deferredOrdersMax);
assert(bolLimits.limiterWaitMsMax < bolLimits.requestTimeoutMs);

export function findBolRateRule(rules: readonly BolRateRule[], method: string, path: string): BolRateRule | undefined {
  return rules.find((rule) => rule.methods.includes(method) && rule.path.test(path));
}

export type AcquireResult = { ok: true } | { ok: false; waitMs: number };

interface RuleState {
  rule: BolRateRule;
  spanMs: number;
  /** Send times inside the current span, oldest first (at most `capacity`). */
  sent: number[];
  /** bol said wait (Retry-After, or remaining 0 until reset). */
  blockedUntil: number;
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

/** The client-side model of bol's windows, one per rule; shared by pushes, reads and order polls. */
export class BolRateLimiter {
  private readonly states = new Map<BolRateRuleName, RuleState>();

  constructor(
    readonly rules: readonly BolRateRule[],
    private readonly now: () => number,
  ) {
    for (const rule of rules) {
      const spanMs = rule.windowMs + Math.max(bolLimits.windowMarginMsMin, Math.ceil(rule.windowMs * bolLimits.windowMarginRatio));
      this.states.set(rule.name, { rule, spanMs, sent: [], blockedUntil: 0 });
    }
  }

  private state(name: BolRateRuleName): RuleState {
    const state = this.states.get(name);
    assert(state !== undefined, `no rate rule ${name}`);
    return state;
  }

  /** ms until one request may go (0 = now), after dropping send times older than the span. */
  private waitMs(state: RuleState, now: number): number {
    while (state.sent.length > 0 && state.sent[0]! <= now - state.spanMs) state.sent.shift();
    const blocked = Math.max(0, state.blockedUntil - now);
    const full = state.sent.length >= state.rule.capacity ? state.sent[0]! + state.spanMs - now : 0;
    return Math.max(blocked, full);
  }

  /**
   * Takes one slot of `name`, waiting up to `maxWaitMs`; `{ok: false, waitMs}` when the wait would
   * be longer (the caller answers `retry` with that delay instead of holding a dispatcher slot).
   */
  async acquire(name: BolRateRuleName, maxWaitMs: number, signal?: AbortSignal): Promise<AcquireResult> {
    const state = this.state(name);
    const deadline = this.now() + maxWaitMs;
    for (;;) {
      const now = this.now();
      const wait = this.waitMs(state, now);
      if (wait === 0) {
        state.sent.push(now);
        return { ok: true };
      }
      if (now + wait > deadline) return { ok: false, waitMs: wait };
      await sleep(wait, signal);
    }
  }

  /** Learns from bol's answer: Retry-After on 429, or an exhausted budget until its reset. */
  observe(name: BolRateRuleName, answer: { status: number; retryAfterMs: number | undefined; remaining: number | undefined; resetMs: number | undefined }): void {
    const state = this.state(name);
    const now = this.now();
    if (answer.status === 429) {
      state.blockedUntil = Math.max(state.blockedUntil, now + (answer.retryAfterMs ?? answer.resetMs ?? state.rule.windowMs));
    } else if (answer.remaining === 0 && answer.resetMs !== undefined) {
      state.blockedUntil = Math.max(state.blockedUntil, now + answer.resetMs);
    }
  }

  status(name: BolRateRuleName): RateLimitStatus {
    // No rule for it (a test or simulator without limits): nothing to wait for.
    if (!this.states.has(name)) return { available: Number.POSITIVE_INFINITY, capacity: Number.POSITIVE_INFINITY, waitMs: 0 };
    const state = this.state(name);
    const now = this.now();
    const waitMs = this.waitMs(state, now);
    const available = state.blockedUntil > now ? 0 : state.rule.capacity - state.sent.length;
    return { available, capacity: state.rule.capacity, waitMs };
  }
}
