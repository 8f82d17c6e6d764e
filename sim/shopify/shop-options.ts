import type { WebhookScheduler } from './webhook-scheduler.js';

/** Restore rate by plan, points per second [doc: shopify.dev graphql-admin rate limits]. */
export const shopifyPlans = Object.freeze({ standard: 100, advanced: 200, plus: 1000, enterprise: 2000 });

export interface ShopifySimulatorOptions {
  /** How long a bulk operation runs: a fixed part plus a part per object (bulk-operations.ts). */
  bulkOperation?: { baseMs?: number; objectsPerSecond?: number };
  /** @default "onhand-sim.myshopify.com" */
  shopDomain?: string;
  /** @default "shpat_simulator" */
  accessToken?: string;
  /** The app's client secret that signs webhooks. @default "simulator-app-secret" */
  appSecret?: string;
  /** Restore rate, by plan name or in points/s. @default "standard" (100/s) */
  plan?: keyof typeof shopifyPlans | number;
  /** Bucket size. @default 2000 [unverified for the new tiers] */
  maximumAvailable?: number;
  /** THROTTLED as HTTP 429 instead of 200 (Shopify's status for it is not settled: docs/channels/shopify.md,
   * Rate limit: the cost bucket). @default false */
  throttleWithHttp429?: boolean;
  /** Names of the locations created with the shop after its first ("Main warehouse"); more with addLocation. */
  locations?: readonly string[];
  /** Where webhooks go; none until set (also settable with subscribeWebhooks). */
  webhookUrl?: string;
  /** API version of the webhook subscription (X-Shopify-API-Version). @default "2026-04" */
  webhookApiVersion?: string;
  /**
   * How webhook events are delivered: `in-order` as emitted, or the events of one turn shuffled
   * by a seeded PRNG with each delivered twice with probability `duplicates`. @default "in-order"
   */
  deliveryOrder?: WebhookDeliveryOrder;
  /** Retry timing; @default real time. */
  scheduler?: WebhookScheduler;
  /** How long an idempotency key is remembered. @default 24 h [unverified] */
  idempotencyRetentionMs?: number;
  /**
   * First id the shop hands out to what is created after its locations (items, orders, lines,
   * fulfilments, refunds); the locations created with the shop keep their ids. A shop started
   * again on the same onhand database passes a later value (e.g. the start time in ms), so its
   * orders never reuse an earlier run's ids. At most 10^15. @default 1 (after the locations)
   */
  firstId?: number;
  /** Seed of the fault dice. @default 1 */
  seed?: number;
  /** Monotonic ms for the bucket. @default performance.now */
  now?: () => number;
  /** Wall-clock ms for timestamps. @default Date.now */
  wallNow?: () => number;
}

/** Webhook delivery order (webhook-dispatcher.ts). */
export type WebhookDeliveryOrder = 'in-order' | { shuffle: number; duplicates: number };

export interface ShopifyFaults {
  /** Added to every GraphQL request, before it runs. */
  latencyMs: number;
  /** Share of GraphQL requests answered 500/502/503/504 before anything runs. */
  serverErrorRate: number;
  /** Share of GraphQL requests answered THROTTLED whatever the bucket holds (not a violation). */
  throttleStormRate: number;
  /** Share of mutations whose write is applied and whose answer is then lost. */
  lostResponseRate: number;
  /** How an answer is lost: the TCP connection reset, or a 502 from a proxy. */
  lostResponseMode: 'reset' | '502';
  /** Share of webhook events delivered twice (two deliveries, one event id). */
  webhookDuplicateRate: number;
  /** Each delivery waits a random 0..N ms first, so deliveries overtake each other. */
  webhookDelayMsMax: number;
}

export const noFaults: ShopifyFaults = Object.freeze({
  latencyMs: 0,
  serverErrorRate: 0,
  throttleStormRate: 0,
  lostResponseRate: 0,
  lostResponseMode: 'reset',
  webhookDuplicateRate: 0,
  webhookDelayMsMax: 0,
});

export type InjectedFault = 'server-error' | 'throttle' | 'lost-response';

/** The API versions this shop answers (quarterly names: docs/channels/shopify.md, API and authentication). */
export const simulatedVersions = Object.freeze([
  '2025-01',
  '2025-04',
  '2025-07',
  '2025-10',
  '2026-01',
  '2026-04',
  '2026-07',
  '2026-10',
  'unstable',
]);

/** 8 retries, doubling, about 4 hours in all (1+2+4+...+64 min + 113 min = 240 min) [doc: count and span; steps unverified]. */
export const webhookRetryDelaysMs = Object.freeze([1, 2, 4, 8, 16, 32, 64, 113].map((minutes) => minutes * 60_000));

/** The counters a test reads from `sim.stats`. */
export function newShopStats() {
  return {
    graphqlRequests: 0,
    /** Requests refused because the bucket was short: our fault, tests require 0. */
    rateLimitViolations: 0,
    /** THROTTLED answers from a storm (faults), not counted as violations. */
    injectedThrottles: 0,
    injectedServerErrors: 0,
    /** Mutations applied whose answer was then dropped. */
    lostResponses: 0,
    unauthorized: 0,
    /** inventorySetQuantities calls that changed state (idempotent replays excluded). */
    mutationsApplied: 0,
    idempotentReplays: 0,
    userErrorAnswers: 0,
    webhookAttempts: 0,
    webhooksDelivered: 0,
    webhooksAbandoned: 0,
    /** GETs of bulk operation result files (outside the cost bucket). */
    bulkResultDownloads: 0,
  };
}

export type ShopStats = ReturnType<typeof newShopStats>;
