import assert from 'node:assert';
import { limits } from '../../core/limits.js';
import type { RateLimitStatus } from '../channel-connector.js';
import { sleep } from '../limiter-sleep.js';

/**
 * Bol.com's per-endpoint rate limits (bol's numbers, kept with the connector) and the Bol
 * connector's bounds (onhand's own, defined in core/limits.ts).
 *
 * bol limits each (client, method, path pattern) with a FIXED window: at most `capacity` requests
 * per `windowMs`, then 429 with Retry-After (docs/channels/bol.md, Rate limits). We do not know where bol's windows
 * start, nor how long a request takes to reach bol, so a fixed window on our side could let through
 * up to twice the capacity across a boundary. The limiter therefore keeps a SLIDING log of send
 * times over `windowMs + margin`: any interval of length windowMs (wherever bol's window sits)
 * then sees at most `capacity` of our requests, as long as network jitter stays under the margin.
 * Price: capacity / (window + margin), e.g. 50 / 1.05 s = 47.6 PATCHes/s instead of 50.
 *
 * bol states a rule's capacity on every answer (`x-ratelimit-limit`, with `-remaining` and
 * `-reset`; docs/channels/bol.md): the limiter adopts it, raised or lowered, up to
 * `limits.bolRateCapacityMax`. The window stays the published one (the headers do not give it).
 */

export type BolRateRuleName =
  | 'orders-list'
  | 'orders-detail'
  | 'offers-list'
  | 'offers-create'
  | 'offers-read'
  | 'offers-write';

export interface BolRateRule {
  name: BolRateRuleName;
  methods: readonly string[];
  path: RegExp;
  capacity: number;
  windowMs: number;
}

/**
 * docs/channels/bol.md, Rate limits: transcribed from bol's published ratelimits (secondary). bol's
 * table has no row for the v11 PATCH; it is a write to /retailer/offers/*, so it takes the
 * PUT/DELETE bucket (50/s).
 */
export const bolRateRules: readonly BolRateRule[] = Object.freeze([
  { name: 'orders-list', methods: ['GET'], path: /^\/retailer\/orders$/, capacity: 25, windowMs: 60_000 },
  { name: 'orders-detail', methods: ['GET'], path: /^\/retailer\/orders\/[^/]+$/, capacity: 25, windowMs: 1_000 },
  { name: 'offers-list', methods: ['GET'], path: /^\/retailer\/offers$/, capacity: 25, windowMs: 1_000 },
  { name: 'offers-create', methods: ['POST'], path: /^\/retailer\/offers$/, capacity: 50, windowMs: 1_000 },
  { name: 'offers-read', methods: ['GET', 'HEAD'], path: /^\/retailer\/offers\/.+$/, capacity: 25, windowMs: 1_000 },
  {
    name: 'offers-write',
    methods: ['PUT', 'PATCH', 'DELETE'],
    path: /^\/retailer\/offers\/.+$/,
    capacity: 50,
    windowMs: 1_000,
  },
]);

export const bolLimits = Object.freeze({
  // onhand's own bounds on its bol calls come from core/limits.ts (the reasons and the relations
  // between them are there); bol's own numbers follow.
  requestTimeoutMs: limits.outboundRequestTimeoutMs,
  pushBatchSizeMax: limits.bolPushBatchSizeMax,
  pushConcurrencyMax: limits.bolPushConcurrencyMax,
  readConcurrencyMax: limits.bolReadConcurrencyMax,
  limiterWaitMsMax: limits.bolLimiterWaitMsMax,
  windowMarginRatio: limits.bolWindowMarginRatio,
  windowMarginMsMin: limits.bolWindowMarginMsMin,
  tokenRefreshRatio: limits.bolTokenRefreshRatio,
  tokenUseRatioMax: limits.bolTokenUseRatioMax,
  tokenFailureHoldOffMs: limits.bolTokenFailureHoldOffMs,
  ordersPagesPerPollMax: limits.bolOrdersPagesPerPollMax,
  orderDetailsPerPollMax: limits.bolOrderDetailsPerPollMax,
  deferredOrdersMax: limits.bolDeferredOrdersMax,
  rememberedOrderItemsMax: limits.bolRememberedOrderItemsMax,
  ordersFullScanIntervalMs: limits.bolOrdersFullScanIntervalMs,
  /** bol's maximum change-interval-minute (retailer-api-v10.json). */
  changeIntervalMinuteMax: 60,
  /** Offers per page of GET /retailer/offers: bol's maximum page-size (offers-api-v11). */
  offersPageSize: 100,
  /** Pages one full audit reads at most (10 million offers): a cursor that never ends stops here. */
  offersListPagesMax: 100_000,
  /** Orders per page of GET /retailer/orders (docs/channels/bol.md, Orders in: polling). */
  ordersPageSize: 50,
});

export function findBolRateRule(rules: readonly BolRateRule[], method: string, path: string): BolRateRule | undefined {
  return rules.find((rule) => rule.methods.includes(method) && rule.path.test(path));
}

export type AcquireResult = { ok: true } | { ok: false; waitMs: number };

interface RuleState {
  rule: BolRateRule;
  /** Requests per window in force: the published capacity, or what bol's last answer stated. */
  capacity: number;
  spanMs: number;
  /** Send times inside the current span, oldest first (at most `capacity`). */
  sent: number[];
  /** bol said wait (Retry-After, or remaining 0 until reset). */
  blockedUntil: number;
}

/** The client-side model of bol's windows, one per rule; shared by pushes, reads and order polls. */
export class BolRateLimiter {
  private readonly states = new Map<BolRateRuleName, RuleState>();

  constructor(
    readonly rules: readonly BolRateRule[],
    private readonly now: () => number,
  ) {
    for (const rule of rules) {
      const spanMs =
        rule.windowMs + Math.max(bolLimits.windowMarginMsMin, Math.ceil(rule.windowMs * bolLimits.windowMarginRatio));
      this.states.set(rule.name, { rule, capacity: rule.capacity, spanMs, sent: [], blockedUntil: 0 });
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
    // Past a lowered capacity, the oldest sends beyond it wait their span out too.
    const over = state.sent.length - state.capacity;
    const full = over >= 0 ? state.sent[over]! + state.spanMs - now : 0;
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

  /**
   * Learns from bol's answer: the capacity it states, Retry-After on 429, or an exhausted budget
   * until its reset.
   */
  observe(
    name: BolRateRuleName,
    answer: {
      status: number;
      retryAfterMs: number | undefined;
      remaining: number | undefined;
      resetMs: number | undefined;
      limit: number | undefined;
    },
  ): void {
    const state = this.state(name);
    const now = this.now();
    if (answer.limit !== undefined && Number.isSafeInteger(answer.limit) && answer.limit >= 1)
      state.capacity = Math.min(answer.limit, limits.bolRateCapacityMax);
    if (answer.status === 429) {
      state.blockedUntil = Math.max(
        state.blockedUntil,
        now + (answer.retryAfterMs ?? answer.resetMs ?? state.rule.windowMs),
      );
    } else if (answer.remaining === 0 && answer.resetMs !== undefined) {
      state.blockedUntil = Math.max(state.blockedUntil, now + answer.resetMs);
    }
  }

  status(name: BolRateRuleName): RateLimitStatus {
    // No rule for it (a test or simulator without limits): nothing to wait for.
    if (!this.states.has(name))
      return { available: Number.POSITIVE_INFINITY, capacity: Number.POSITIVE_INFINITY, waitMs: 0 };
    const state = this.state(name);
    const now = this.now();
    const waitMs = this.waitMs(state, now);
    const available = state.blockedUntil > now ? 0 : Math.max(0, state.capacity - state.sent.length);
    return { available, capacity: state.capacity, waitMs };
  }
}
