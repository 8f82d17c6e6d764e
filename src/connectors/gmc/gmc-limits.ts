import assert from 'node:assert';
import { limits } from '../../core/limits.js';
import type { RateLimitStatus } from '../channel-connector.js';
import { sleep } from '../limiter-sleep.js';

/**
 * Google Merchant Center's published facts the connector relies on (docs/channels/google-merchant-center.md
 * says where each comes from) and the connector's own bounds, derived from core/limits.ts.
 *
 * Quotas are per method and per minute (and per day), counted per call whatever it carries, and
 * set per account: Google adjusts them with the account's product count and shows them through
 * `quotas.list` (`quotaMinuteLimit`). There is no one published figure, so the per-minute budgets
 * below are defaults the channel's settings override with the account's own numbers.
 */
export const gmcFacts = Object.freeze({
  /** Merchant API origin. */
  apiOrigin: 'https://merchantapi.googleapis.com',
  /** The Products sub-API's batch path: nested calls in one multipart/mixed request, each still one call for the quotas. */
  productsBatchPath: '/batch/products/v1',
  /** OAuth 2.0 token endpoint, also the JWT's `aud`. */
  tokenUrl: 'https://oauth2.googleapis.com/token',
  /** Scope of the Content API for Shopping and the Merchant API. */
  scope: 'https://www.googleapis.com/auth/content',
  /** A service-account assertion's `exp` is at most one hour after its `iat`. */
  assertionLifetimeSecondsMax: 3_600,
  /** Products per page of `products.list` (the Merchant API's maximum; larger values are coerced). */
  productsPageSizeMax: 1_000,
  /** The custom attribute that carries the quantity onhand showed as availability (read back for drift). */
  quantityAttribute: 'onhand_quantity',
});

/** The quota groups the connector calls; each has its own per-minute budget at Google. */
export type GmcMethod = 'insert' | 'get' | 'list';

export const gmcLimits = Object.freeze({
  requestTimeoutMs: limits.outboundRequestTimeoutMs,
  /**
   * Product inputs per pushLevels call: one insert each (the Merchant API has no multi-product
   * insert), sent together as the nested calls of one HTTP batch request.
   */
  pushBatchSizeMax: limits.gmcPushBatchSizeMax,
  /** Inserts in flight at once when the batch request is turned off (`batchRequests: false`). */
  pushConcurrencyMax: limits.gmcPushConcurrencyMax,
  /** products.get in flight at once during a read-back. */
  readConcurrencyMax: 4,
  /** Longest a call waits for its minute budget before the push answers `retry` instead. */
  limiterWaitMsMax: limits.gmcLimiterWaitMsMax,
  /** Default budgets per minute when the settings give none: well under a new account's quota. */
  insertPerMinuteDefault: 60,
  getPerMinuteDefault: 60,
  listPerMinuteDefault: 20,
  /** The window Google counts in, and the margin kept over it against clock and network skew. */
  windowMs: 60_000,
  windowMarginMs: 1_000,
  /** After a 429 RESOURCE_EXHAUSTED without a hint, the method waits this long (then backs off). */
  exhaustedBlockMs: 10_000,
  /** Renew the token at this fraction of its lifetime, in the background; never use it past the second. */
  tokenRefreshRatio: 0.8,
  tokenUseRatioMax: 0.95,
  tokenFailureHoldOffMs: 1_000,
  /**
   * The processed product lags an insert by "several minutes": for this long after an
   * acknowledged insert, a read-back answers what was sent instead of what Google still shows.
   */
  processingGraceMs: 15 * 60_000,
  /** Products remembered for the processing grace (oldest forgotten first). */
  recentPushesMax: 100_000,
  /** Pages one full audit reads at most (100 million products). */
  listPagesMax: 100_000,
});

assert(gmcLimits.pushConcurrencyMax <= gmcLimits.pushBatchSizeMax);
assert(gmcLimits.tokenRefreshRatio < gmcLimits.tokenUseRatioMax && gmcLimits.tokenUseRatioMax < 1);

interface MethodState {
  capacity: number;
  /** Send times within the span, oldest first. */
  sent: number[];
  /** Google said RESOURCE_EXHAUSTED: nothing goes before this. */
  blockedUntil: number;
  /** 429s in a row, for the backoff. */
  exhausted: number;
}

/**
 * The client-side model of Google's per-minute quotas: a sliding log per method over one minute
 * plus a margin, so any minute wherever Google's sits sees at most the budget; a 429 blocks the
 * method with an exponential backoff until a call succeeds again.
 */
export class GmcQuota {
  private readonly states = new Map<GmcMethod, MethodState>();
  private readonly spanMs = gmcLimits.windowMs + gmcLimits.windowMarginMs;

  constructor(
    perMinute: Readonly<Record<GmcMethod, number>>,
    private readonly now: () => number,
  ) {
    for (const method of ['insert', 'get', 'list'] as const) {
      assert(perMinute[method] >= 1, `${method} budget must be at least 1 per minute`);
      this.states.set(method, { capacity: perMinute[method], sent: [], blockedUntil: 0, exhausted: 0 });
    }
  }

  private state(method: GmcMethod): MethodState {
    return this.states.get(method)!;
  }

  private waitMs(state: MethodState, now: number): number {
    while (state.sent.length > 0 && state.sent[0]! <= now - this.spanMs) state.sent.shift();
    const full = state.sent.length >= state.capacity ? state.sent[0]! + this.spanMs - now : 0;
    return Math.max(full, state.blockedUntil - now, 0);
  }

  /** Takes one call of `method`, waiting at most `maxWaitMs`; else says how long the wait would be. */
  async acquire(
    method: GmcMethod,
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<{ ok: true } | { ok: false; waitMs: number }> {
    const state = this.state(method);
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

  /** Google's answer to a call of `method`: a 429 blocks it (backing off), anything else ends the backoff. */
  observe(method: GmcMethod, status: number): number | undefined {
    const state = this.state(method);
    if (status !== 429) {
      state.exhausted = 0;
      return undefined;
    }
    state.exhausted = Math.min(state.exhausted + 1, 6);
    const blockMs = gmcLimits.exhaustedBlockMs * 2 ** (state.exhausted - 1);
    state.blockedUntil = Math.max(state.blockedUntil, this.now() + blockMs);
    return blockMs;
  }

  status(method: GmcMethod): RateLimitStatus {
    const state = this.state(method);
    const now = this.now();
    const waitMs = this.waitMs(state, now);
    const available = state.blockedUntil > now ? 0 : state.capacity - state.sent.length;
    return { available: Math.max(0, available), capacity: state.capacity, waitMs };
  }
}
