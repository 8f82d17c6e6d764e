/** One rate-limit rule: bol's (method, path-match, time unit, capacity) (docs/channels/bol.md, Rate limits). */
export interface BolSimulatorRateRule {
  name: string;
  methods: readonly string[];
  path: RegExp;
  capacity: number;
  windowMs: number;
}

/**
 * The table of docs/channels/bol.md, Rate limits (transcribed from bol's published ratelimits [2nd]).
 * bol does not list the v11 PATCH: like the connector we give it the PUT/DELETE bucket of /retailer/offers/*.
 */
export const bolSimulatorRateRules: readonly BolSimulatorRateRule[] = Object.freeze([
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

export interface BolSimulatorOptions {
  /** API clients (client id and secret). @default one client `onhand-sim` / `onhand-sim-secret` */
  clients?: readonly { clientId: string; clientSecret: string }[];
  /** Token lifetime, `expires_in`. @default 299 (docs/channels/bol.md, Authentication) */
  tokenLifetimeSeconds?: number;
  /** @default bolSimulatorRateRules */
  rateRules?: readonly BolSimulatorRateRule[];
  /** Time between a 204 on PATCH and the new stock being visible (v11 writes may show later). @default 0 */
  propagationDelayMs?: number;
  /** A request arriving this soon after a 429 is not a Retry-After violation (it was in flight). @default 250 */
  retryAfterGraceMs?: number;
  /**
   * Sequence number of the first order and order item: order ids and order item ids count up
   * from it. A simulator started again on the same onhand database passes a later value (e.g.
   * the start time in ms), so its orders never reuse an earlier run's ids. At most 10^15. @default 1
   */
  firstId?: number;
  /** Seed of the PRNG behind `serverErrorRate`. @default 1 */
  seed?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface BolSimulatorFaults {
  /** Added before every answer (token endpoint included). */
  latencyMs: number;
  /** Probability that an API request is answered 5xx, unprocessed. */
  serverErrorRate: number;
  /** The next N API requests are answered 5xx, unprocessed. */
  serverErrorsNext: number;
  serverErrorStatus: 500 | 502 | 503 | 504;
  /** The next N API requests are refused with this 4xx Problem, unprocessed (e.g. bol's 400 validation). */
  rejectNext: number;
  rejectStatus: 400 | 409 | 422;
  /** The next N API requests are answered 429 whatever the budget (a storm bol imposes). */
  throttleStormNext: number;
  throttleStormRetryAfterSeconds: number;
  /** The next N API requests with this method are processed, then the connection is dropped. */
  loseResponsesNext: number;
  loseResponsesMethod: string;
  /** The next N token requests fail with this status (0 = drop the connection). */
  tokenFailuresNext: number;
  tokenFailureStatus: number;
  /** The next N order-list requests are answered with the previous order-list body again (stale or duplicated pages). */
  replayOrderListNext: number;
}

export const noFaults: BolSimulatorFaults = Object.freeze({
  latencyMs: 0,
  serverErrorRate: 0,
  serverErrorsNext: 0,
  serverErrorStatus: 503,
  rejectNext: 0,
  rejectStatus: 400,
  throttleStormNext: 0,
  throttleStormRetryAfterSeconds: 1,
  loseResponsesNext: 0,
  loseResponsesMethod: 'PATCH',
  tokenFailuresNext: 0,
  tokenFailureStatus: 503,
  replayOrderListNext: 0,
});

export interface BolSimulatorStats {
  requests: number;
  tokenRequests: number;
  tokensIssued: number;
  /** API requests answered 401 (missing, unknown or expired token). */
  unauthorized: number;
  forbidden: number;
  /** 429s the CLIENT caused by exceeding a window. Tests require 0. */
  rateLimitViolations: number;
  /** Requests that arrived (after the grace) before a Retry-After we gave had elapsed. Tests require 0. */
  retryAfterViolations: number;
  injectedThrottles: number;
  injectedServerErrors: number;
  lostResponses: number;
  notAcceptable: number;
  unsupportedMediaType: number;
  /** Stock writes accepted (PATCH with a stock object answered 204). */
  stockWritesAccepted: number;
  /** Order-list answers that repeated the previous body (`replayOrderListNext`). */
  replayedOrderLists: number;
  /** Admitted requests per rate rule name. */
  requestsByRule: Record<string, number>;
}

export interface BolSimulatorOfferState {
  offerId: string;
  ean: string;
  reference: string | null;
  fulfilmentMethod: 'FBR' | 'FBB';
  amount: number;
  correctedStock: number;
  managedByRetailer: boolean;
  /**
   * Stock writes applied to this offer, in order (API and out of band); `seq` orders writes across
   * offers where several share a millisecond.
   */
  stockHistory: readonly { seq: number; at: number; amount: number; source: 'api' | 'out-of-band' }[];
}

export interface BolSimulatorRequestRecord {
  at: number;
  method: string;
  path: string;
  /** The query string without `?` ('' when none). */
  query: string;
  status: number;
  clientId: string | null;
}

export function emptyBolStats(): BolSimulatorStats {
  return {
    requests: 0,
    tokenRequests: 0,
    tokensIssued: 0,
    unauthorized: 0,
    forbidden: 0,
    rateLimitViolations: 0,
    retryAfterViolations: 0,
    injectedThrottles: 0,
    injectedServerErrors: 0,
    lostResponses: 0,
    notAcceptable: 0,
    unsupportedMediaType: 0,
    stockWritesAccepted: 0,
    replayedOrderLists: 0,
    requestsByRule: {},
  };
}
