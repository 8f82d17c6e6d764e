import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { argumentValue, parseOperation, type OperationField } from './graphql-operation.js';
import { scaledScheduler, type WebhookScheduler } from './webhook-scheduler.js';
import { mulberry32 } from '../prng.js';

/**
 * A local Shopify shop: the inventory subset of the Admin GraphQL API, its cost bucket, its
 * webhooks, and faults on demand, so the connector is tested against something that answers like
 * Shopify. Every behaviour below is a platform fact listed with its source in
 * docs/channels/shopify.md (its last section, What the simulator models, sums them up); the tag
 * after a fact says where it comes from ([spec] the 2025-01 schema extract, [doc] Shopify's
 * documentation, [2nd] a secondary source, [unverified] the shape is our best guess).
 *
 * Reproduced:
 * - POST /admin/api/{version}/graphql.json with X-Shopify-Access-Token; a wrong token -> 401
 *   `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`.
 * - inventorySetQuantities on `available`, per version: 2025-01 compareQuantity /
 *   ignoreCompareQuantity and COMPARE_QUANTITY_STALE / COMPARE_QUANTITY_REQUIRED [spec];
 *   2026-01 changeFromQuantity (null = no check) and an optional @idempotent [doc]; 2026-04+
 *   changeFromQuantity key and @idempotent both mandatory, compareQuantity gone [doc]. One failing
 *   quantity fails the call and applies nothing [doc/2nd]. userErrors with code, field path
 *   ["input","quantities","<i>","<field>"] and message [spec types]. At most 250 quantities [doc].
 * - @idempotent(key:): read from the mutation field's directives (a string literal, or a
 *   `$variable` resolved from the variables). Same key + same variables -> the stored answer of the
 *   first call, nothing applied again; same key + other variables -> IDEMPOTENCY_KEY_PARAMETER_MISMATCH;
 *   same key while the first is still running -> IDEMPOTENCY_CONCURRENT_REQUEST [doc enum
 *   InventorySetQuantitiesUserErrorCode 2026-01]. On 2025-01 the directive does not exist
 *   ([spec]: not in the schema's directive list) -> a GraphQL error.
 * - Reads: nodes(ids:) with `... on InventoryItem { inventoryLevel(locationId:) { quantities(names:) } }`,
 *   and inventoryItem(id:) with inventoryLevel(locationId:) / inventoryLevels(first:) [spec].
 * - Cost: leaky bucket per shop (maximumAvailable, restoreRate by plan 100/200/1000/2000 pts/s
 *   [doc], bucket size configurable, default 2000 [unverified]); a request is admitted only if the
 *   bucket holds its requested cost, the difference requested - actual is refunded after it ran,
 *   a single query above 1000 points is refused [2nd]; every answer carries extensions.cost;
 *   THROTTLED is HTTP 200 with no data [2nd] (or 429 by option). Mutations cost 10 [2nd].
 * - Webhooks orders/create, orders/cancelled, refunds/create, inventory_levels/update (after
 *   every change, our own pushes included - the echo), REST-shaped payloads, signed
 *   X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(raw body, app secret)) [doc], with X-Shopify-Topic,
 *   -Shop-Domain, -API-Version, -Webhook-Id (one per delivery, kept across its retries), -Event-Id
 *   (shared by duplicates), -Triggered-At; 5 s timeout [2nd]; non-2xx retried 8 times over about
 *   4 hours, exponential [doc: 8 times / 4 hours; the exact steps are unverified]; unordered,
 *   duplicates on demand.
 * - Faults: latency, 5xx, THROTTLED/429 storms, lost answers (the write is applied, then the
 *   connection is reset or a 502 returned), out-of-band edits.
 *
 * Not reproduced (on purpose, to stay small): other mutations (adjust, move, activate), on_hand and
 * the other quantity names as separate states (committed is not tracked), field selection (answers
 * carry a fixed superset of fields), query cost by the real per-field calculator (fixed figures
 * below), idempotency key retention beyond `idempotencyRetentionMs`, webhook subscription removal
 * after repeated failures, REST endpoints, the 2026-10 IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED rule
 * (a failed attempt is replayed like a successful one), unknown versions falling back to the
 * oldest supported one (here: 404).
 */

// ---------------------------------------------------------------------------------------------
// Options

/** Restore rate by plan, points per second [doc: shopify.dev graphql-admin rate limits]. */
export const shopifyPlans = Object.freeze({ standard: 100, advanced: 200, plus: 1000, enterprise: 2000 });

export interface ShopifySimulatorOptions {
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
  /** Where webhooks go; none until set (also settable with subscribeWebhooks). */
  webhookUrl?: string;
  /** API version of the webhook subscription (X-Shopify-API-Version). @default "2026-04" */
  webhookApiVersion?: string;
  /** Retry timing; @default real time. */
  scheduler?: WebhookScheduler;
  /** How long an idempotency key is remembered. @default 24 h [unverified] */
  idempotencyRetentionMs?: number;
  /** Seed of the fault dice. @default 1 */
  seed?: number;
  /** Monotonic ms for the bucket. @default performance.now */
  now?: () => number;
  /** Wall-clock ms for timestamps. @default Date.now */
  wallNow?: () => number;
}

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

const noFaults: ShopifyFaults = Object.freeze({
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
export const simulatedVersions = Object.freeze(['2025-01', '2025-04', '2025-07', '2025-10', '2026-01', '2026-04', '2026-07', '2026-10', 'unstable']);

/** 8 retries, doubling, about 4 hours in all (1+2+4+...+64 min + 113 min = 240 min) [doc: count and span; steps unverified]. */
export const webhookRetryDelaysMs = Object.freeze([1, 2, 4, 8, 16, 32, 64, 113].map((minutes) => minutes * 60_000));

/**
 * Documented reasons for inventory changes (docs/channels/shopify.md, Push: inventorySetQuantities)
 * [2nd]; others -> INVALID_REASON.
 */
const reasons = new Set([
  'correction', 'cycle_count_available', 'damaged', 'movement_created', 'movement_updated', 'movement_received', 'movement_canceled',
  'other', 'promotion', 'quality_control', 'received', 'reservation_created', 'reservation_deleted', 'reservation_updated', 'restock',
  'safety_stock', 'shrinkage',
]);

/** Fixed query costs (Shopify's calculator: 1 per object, connections by `first`; mutations 10). */
const cost = Object.freeze({ mutation: 10, queryMax: 1000, perNode: 3, root: 1, level: 2 });
const arrayInputMax = 250;
const graphqlIntMax = 2_147_483_647;

// ---------------------------------------------------------------------------------------------
// State

interface Level {
  available: number;
  updatedAt: number;
}

interface Item {
  id: number;
  variantId: number;
  productId: number;
  sku: string;
  levels: Map<number, Level>;
}

interface OrderLine {
  id: number;
  itemId: number;
  quantity: number;
  refunded: number;
}

interface Order {
  id: number;
  number: number;
  locationId: number;
  createdAt: number;
  updatedAt: number;
  cancelledAt: number | null;
  lines: OrderLine[];
  refunds: Refund[];
}

interface Refund {
  id: number;
  orderId: number;
  createdAt: number;
  lines: { id: number; lineItemId: number; quantity: number; restockType: RestockType; locationId: number }[];
}

export type RestockType = 'return' | 'cancel' | 'no_restock';

/** One change of a level, whoever made it: for tests that check nothing was applied twice. */
export interface LevelWrite {
  inventoryItemId: string;
  locationId: string;
  before: number;
  after: number;
  source: 'api' | 'order' | 'cancel' | 'refund' | 'edit';
  idempotencyKey: string | null;
  /** Wall-clock time of the write (bench:propagation measures latency with it). */
  at: number;
}

export interface WebhookDeliveryRecord {
  webhookId: string;
  eventId: string;
  topic: string;
  attempt: number;
  status: number | 'error';
}

interface WebhookEvent {
  eventId: string;
  topic: string;
  body: string;
  triggeredAt: string;
}

interface StoredAnswer {
  variablesHash: string;
  payload: unknown;
  storedAt: number;
  running: boolean;
}

type GraphqlError = { message: string; extensions?: Record<string, unknown>; path?: (string | number)[] };

class SimulatorError extends Error {}

const gid = (type: string, id: number) => `gid://shopify/${type}/${id}`;

function numericId(value: unknown, type: string): number | null {
  if (typeof value !== 'string') return null;
  const match = new RegExp(`^gid://shopify/${type}/([1-9][0-9]{0,15})$`).exec(value);
  const id = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(id) ? id : null;
}


function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// ---------------------------------------------------------------------------------------------
// The simulator

export class ShopifySimulator {
  readonly shopDomain: string;
  readonly accessToken: string;
  readonly appSecret: string;
  readonly maximumAvailable: number;
  readonly restoreRate: number;
  readonly webhookApiVersion: string;
  /** Current faults; assign fields per test (`sim.faults.latencyMs = 50`). */
  faults: ShopifyFaults = { ...noFaults };

  readonly stats = {
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
  };
  /** Every level change, oldest first (bounded to the last 100,000). */
  readonly writes: LevelWrite[] = [];
  /** Every webhook delivery attempt, oldest first (bounded to the last 100,000). */
  readonly deliveries: WebhookDeliveryRecord[] = [];
  /** Every event emitted (bounded to the last 100,000), whether or not a URL was set. */
  readonly events: { eventId: string; topic: string; payload: unknown }[] = [];

  readonly #now: () => number;
  readonly #wallNow: () => number;
  readonly #random: () => number;
  readonly #scheduler: WebhookScheduler;
  readonly #idempotencyRetentionMs: number;
  readonly #throttleWithHttp429: boolean;
  #webhookUrl: string | null;
  #server: Server | null = null;
  #url: string | null = null;
  #bucketLevel: number;
  #bucketAt: number;
  #nextId = 1;
  readonly #items = new Map<number, Item>();
  readonly #locations = new Map<number, string>();
  readonly #orders = new Map<number, Order>();
  readonly #answers = new Map<string, StoredAnswer>();
  readonly #injected: InjectedFault[] = [];
  readonly #cancelTimers = new Set<() => void>();
  readonly #deliveryAbort = new AbortController();
  #deliveriesInFlight = 0;
  #deliveriesScheduled = 0;
  #idleWaiters: (() => void)[] = [];
  /** The shop's first location, created with the shop. */
  readonly defaultLocationId: string;

  constructor(options: ShopifySimulatorOptions = {}) {
    this.shopDomain = options.shopDomain ?? 'onhand-sim.myshopify.com';
    this.accessToken = options.accessToken ?? 'shpat_simulator';
    this.appSecret = options.appSecret ?? 'simulator-app-secret';
    const plan = options.plan ?? 'standard';
    this.restoreRate = typeof plan === 'number' ? plan : shopifyPlans[plan];
    this.maximumAvailable = options.maximumAvailable ?? 2000;
    this.#throttleWithHttp429 = options.throttleWithHttp429 ?? false;
    this.webhookApiVersion = options.webhookApiVersion ?? '2026-04';
    this.#webhookUrl = options.webhookUrl ?? null;
    this.#scheduler = options.scheduler ?? scaledScheduler(1);
    this.#idempotencyRetentionMs = options.idempotencyRetentionMs ?? 24 * 3600_000;
    this.#random = mulberry32(options.seed ?? 1);
    this.#now = options.now ?? (() => performance.now());
    this.#wallNow = options.wallNow ?? (() => Date.now());
    this.#bucketLevel = this.maximumAvailable;
    this.#bucketAt = this.#now();
    this.defaultLocationId = this.addLocation('Main warehouse');
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Listen on 127.0.0.1, a free port; returns the base URL (e.g. http://127.0.0.1:43121). */
  async start(): Promise<string> {
    if (this.#url) return this.#url;
    const server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.#json(response, 500, { errors: `simulator: ${error instanceof Error ? error.message : String(error)}` });
        else response.destroy();
      });
    });
    server.keepAliveTimeout = 5_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  get url(): string {
    if (!this.#url) throw new Error('simulator not started');
    return this.#url;
  }

  /** Stop listening, cancel pending webhook retries and abort deliveries in flight. */
  async stop(): Promise<void> {
    for (const cancel of this.#cancelTimers) cancel();
    this.#cancelTimers.clear();
    this.#deliveriesScheduled = 0;
    this.#deliveryAbort.abort();
    const server = this.#server;
    this.#server = null;
    this.#url = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#notifyIdle();
  }

  // --- seeding and out-of-band state ---------------------------------------------------------

  addLocation(name = `Location ${this.#locations.size + 1}`): string {
    const id = 65_000_000_000 + this.#nextId++;
    this.#locations.set(id, name);
    return gid('Location', id);
  }

  /**
   * A product variant with its inventory item, stocked at the given locations
   * (`{ [locationGid]: available }`; default: 0 at the first location). Returns the gids.
   */
  addItem(options: { sku: string; levels?: Record<string, number>; inventoryItemId?: string }): { inventoryItemId: string; variantId: string; sku: string } {
    const serial = this.#nextId++;
    // A given inventory item gid (the demo keeps its listings' ids stable across restarts).
    const fixed = options.inventoryItemId === undefined ? null : numericId(options.inventoryItemId, 'InventoryItem');
    if (options.inventoryItemId !== undefined && (fixed === null || this.#items.has(fixed))) throw new SimulatorError(`bad or duplicate inventory item ${options.inventoryItemId}`);
    const item: Item = { id: fixed ?? 44_000_000_000_000 + serial, variantId: 45_000_000_000_000 + serial, productId: 8_000_000_000_000 + serial, sku: options.sku, levels: new Map() };
    const levels = options.levels ?? { [this.defaultLocationId]: 0 };
    for (const [locationGid, available] of Object.entries(levels)) {
      const locationId = numericId(locationGid, 'Location');
      if (locationId === null || !this.#locations.has(locationId)) throw new SimulatorError(`unknown location ${locationGid}`);
      item.levels.set(locationId, { available, updatedAt: this.#wallNow() });
    }
    this.#items.set(item.id, item);
    return { inventoryItemId: gid('InventoryItem', item.id), variantId: gid('ProductVariant', item.variantId), sku: item.sku };
  }

  /** `available` at a location; null when the item is unknown or not stocked there. */
  available(inventoryItemId: string, locationId: string = this.defaultLocationId): number | null {
    return this.#level(inventoryItemId, locationId)?.available ?? null;
  }

  /**
   * An edit made in Shopify's admin or by another app (out of band): sets `available` and emits
   * inventory_levels/update like any other change.
   */
  editAvailable(inventoryItemId: string, locationId: string, available: number): void {
    const itemId = numericId(inventoryItemId, 'InventoryItem');
    const locationNumber = numericId(locationId, 'Location');
    if (!this.#level(inventoryItemId, locationId) || itemId === null || locationNumber === null) throw new SimulatorError(`${inventoryItemId} is not stocked at ${locationId}`);
    this.#setLevel(itemId, locationNumber, available, 'edit', null);
  }

  /** Make the next `count` GraphQL requests (mutations only for lost-response) fail this way. */
  injectNext(fault: InjectedFault, count = 1): void {
    for (let i = 0; i < count; i += 1) this.#injected.push(fault);
  }

  #level(inventoryItemId: string, locationId: string): Level | null {
    const itemId = numericId(inventoryItemId, 'InventoryItem');
    const locationNumber = numericId(locationId, 'Location');
    if (itemId === null || locationNumber === null) return null;
    return this.#items.get(itemId)?.levels.get(locationNumber) ?? null;
  }

  #setLevel(itemId: number, locationId: number, available: number, source: LevelWrite['source'], idempotencyKey: string | null): void {
    const level = this.#items.get(itemId)!.levels.get(locationId)!;
    const before = level.available;
    level.available = available;
    level.updatedAt = this.#wallNow();
    this.writes.push({ inventoryItemId: gid('InventoryItem', itemId), locationId: gid('Location', locationId), before, after: available, source, idempotencyKey, at: level.updatedAt });
    if (this.writes.length > 100_000) this.writes.shift();
    if (before !== available) {
      this.#emit('inventory_levels/update', {
        inventory_item_id: itemId,
        location_id: locationId,
        available,
        updated_at: new Date(level.updatedAt).toISOString(),
        admin_graphql_api_id: `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${itemId}`,
      });
    }
  }

  // --- bucket -----------------------------------------------------------------------------------

  #bucket(): number {
    const now = this.#now();
    this.#bucketLevel = Math.min(this.maximumAvailable, this.#bucketLevel + ((now - this.#bucketAt) / 1000) * this.restoreRate);
    this.#bucketAt = now;
    return this.#bucketLevel;
  }

  #costExtension(requested: number, actual: number | null, currentlyAvailable = this.#bucket()) {
    return {
      cost: {
        requestedQueryCost: requested,
        actualQueryCost: actual,
        throttleStatus: { maximumAvailable: this.maximumAvailable, currentlyAvailable: Math.floor(currentlyAvailable * 100) / 100, restoreRate: this.restoreRate },
      },
    };
  }

  // --- HTTP -------------------------------------------------------------------------------------

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://simulator').pathname;
    if (path.startsWith('/_simulator/')) return this.#testApi(request, response, path);
    const route = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(path);
    if (!route || request.method !== 'POST') return this.#json(response, 404, { errors: 'Not Found' });
    const version = route[1]!;
    if (!simulatedVersions.includes(version)) return this.#json(response, 404, { errors: 'Not Found' });
    if (request.headers['x-shopify-access-token'] !== this.accessToken) {
      this.stats.unauthorized += 1;
      return this.#json(response, 401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
    const raw = await readBody(request, 1024 * 1024);
    if (raw === null) return this.#json(response, 413, { errors: 'Request body too large' });
    let body: { query?: unknown; variables?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8')) as typeof body;
    } catch {
      return this.#json(response, 400, { errors: { query: 'Required parameter missing or invalid' } });
    }
    if (typeof body?.query !== 'string') return this.#json(response, 400, { errors: { query: 'Required parameter missing or invalid' } });
    const variables = body.variables && typeof body.variables === 'object' && !Array.isArray(body.variables) ? (body.variables as Record<string, unknown>) : {};
    this.stats.graphqlRequests += 1;
    response.setHeader('X-Shopify-API-Version', version);

    // Faults that strike before anything runs.
    const injected = this.#injected[0];
    if (injected === 'server-error' || (injected === undefined && this.#random() < this.faults.serverErrorRate)) {
      if (injected) this.#injected.shift();
      this.stats.injectedServerErrors += 1;
      const status = [500, 502, 503, 504][Math.floor(this.#random() * 4)]!;
      return this.#json(response, status, { errors: 'Internal Server Error' });
    }
    if (injected === 'throttle' || (injected === undefined && this.#random() < this.faults.throttleStormRate)) {
      if (injected) this.#injected.shift();
      this.stats.injectedThrottles += 1;
      // A storm: Shopify "may temporarily reduce API rate limits" [doc]; report an empty bucket.
      return this.#throttled(response, cost.mutation, 0, true);
    }

    const operation = parseOperation(body.query);
    if (typeof operation === 'string') return this.#json(response, 200, { errors: [{ message: operation, extensions: { code: 'parseError' } }] });
    const plan = this.#plan(operation.type, operation.fields, variables, version);
    if ('errors' in plan) return this.#json(response, 200, { errors: plan.errors });

    if (plan.requestedCost > cost.queryMax) {
      return this.#json(response, 200, {
        errors: [{ message: `Query cost is ${plan.requestedCost}, which exceeds the single query max cost limit (${cost.queryMax}).`, extensions: { code: 'MAX_COST_EXCEEDED', cost: plan.requestedCost, maxCost: cost.queryMax } }],
        extensions: this.#costExtension(plan.requestedCost, null),
      });
    }
    // Admission: the bucket must hold the whole requested cost before execution
    // (docs/channels/shopify.md, Rate limit: the cost bucket).
    const available = this.#bucket();
    if (available < plan.requestedCost) {
      this.stats.rateLimitViolations += 1;
      return this.#throttled(response, plan.requestedCost, available, false);
    }
    this.#bucketLevel -= plan.requestedCost;

    // The idempotency verdict is taken on arrival: a key whose first request is still running is
    // "in progress", whatever happens while this one waits.
    const idempotency = plan.idempotency;
    let answer: StoredAnswer | null = null;
    let earlier: { userError: { code: string; message: string } | null; stored: StoredAnswer } | null = null;
    if (idempotency) {
      this.#pruneAnswers();
      const stored = this.#answers.get(idempotency.key);
      if (stored === undefined) {
        answer = { variablesHash: idempotency.variablesHash, payload: null, storedAt: this.#now(), running: true };
        this.#answers.set(idempotency.key, answer);
      } else {
        const userError = stored.running
          ? { code: 'IDEMPOTENCY_CONCURRENT_REQUEST', message: 'This request is currently in progress, please try again.' }
          : stored.variablesHash !== idempotency.variablesHash
            ? { code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH', message: 'The same idempotency key cannot be used with different operation parameters.' }
            : null;
        earlier = { userError, stored };
      }
    }
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);

    let data: Record<string, unknown>;
    let actualCost = plan.requestedCost;
    if (idempotency && earlier) {
      if (earlier.userError) {
        this.stats.userErrorAnswers += 1;
        data = { [idempotency.responseKey]: { inventoryAdjustmentGroup: null, userErrors: [{ ...earlier.userError, field: null }] } };
      } else {
        this.stats.idempotentReplays += 1;
        data = { [idempotency.responseKey]: earlier.stored.payload };
      }
    } else {
      try {
        const result = plan.run();
        data = result.data;
        actualCost = result.actualCost;
      } catch (error) {
        if (answer) this.#answers.delete(idempotency!.key);
        throw error;
      }
      if (answer) {
        answer.payload = data[idempotency!.responseKey];
        answer.running = false;
      }
    }
    this.#bucketLevel = Math.min(this.maximumAvailable, this.#bucket() + (plan.requestedCost - actualCost));

    if (plan.mutation) {
      const lost = this.#injected[0] === 'lost-response' ? this.#injected.shift() : this.#random() < this.faults.lostResponseRate ? 'lost-response' : undefined;
      if (lost) {
        this.stats.lostResponses += 1;
        if (this.faults.lostResponseMode === '502') {
          response.writeHead(502, { 'Content-Type': 'text/html' });
          response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
        } else {
          request.socket.destroy();
        }
        return;
      }
    }
    this.#json(response, 200, { data, extensions: this.#costExtension(plan.requestedCost, actualCost) });
  }

  #throttled(response: ServerResponse, requested: number, available: number, storm: boolean): void {
    const status = this.#throttleWithHttp429 ? 429 : 200;
    if (status === 429) response.setHeader('Retry-After', String(Math.max(1, Math.ceil((requested - available) / this.restoreRate))));
    this.#json(response, status, {
      errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
      extensions: this.#costExtension(requested, null, storm ? 0 : available),
    });
  }

  #json(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'X-Request-Id': randomUUID() });
    response.end(text);
  }

  #pruneAnswers(): void {
    const oldest = this.#now() - this.#idempotencyRetentionMs;
    for (const [key, stored] of this.#answers) {
      if (stored.storedAt >= oldest && this.#answers.size <= 100_000) break;
      if (!stored.running) this.#answers.delete(key);
    }
  }

  // --- operations -------------------------------------------------------------------------------

  #plan(
    type: string,
    fields: OperationField[],
    variables: Record<string, unknown>,
    version: string,
  ):
    | { errors: GraphqlError[] }
    | {
        requestedCost: number;
        mutation: boolean;
        idempotency: { key: string; variablesHash: string; responseKey: string } | null;
        run: () => { data: Record<string, unknown>; actualCost: number };
      } {
    if (type === 'subscription') return { errors: [{ message: 'Subscriptions are not supported', extensions: { code: 'undefinedType' } }] };
    if (type === 'mutation') {
      if (fields.length !== 1) return { errors: [{ message: 'simulator: one mutation field per request', extensions: { code: 'simulatorLimit' } }] };
      const field = fields[0]!;
      if (field.name !== 'inventorySetQuantities') return { errors: [undefinedField(field.name, 'Mutation')] };
      return this.#planSetQuantities(field, variables, version);
    }
    const runs: { key: string; requested: number; run: () => { value: unknown; actual: number } }[] = [];
    for (const field of fields) {
      const key = field.alias ?? field.name;
      if (field.name === 'nodes') {
        const ids = argumentValue(field.args, 'ids', variables);
        if (!ids.found || 'unsupported' in ids || !Array.isArray(ids.value) || !ids.value.every((id) => typeof id === 'string')) {
          return { errors: [{ message: "Argument 'ids' on Field 'nodes' has an invalid value. Expected type '[ID!]!'.", extensions: { code: 'argumentLiteralsIncompatible' } }] };
        }
        if (ids.value.length > arrayInputMax) return { errors: [maxInputSize(ids.value.length)] };
        const location = this.#locationArgument(field.selection, variables);
        if ('error' in location) return { errors: [location.error] };
        const list = ids.value as string[];
        runs.push({
          key,
          requested: cost.root + cost.perNode * list.length,
          run: () => {
            const nodes = list.map((id) => this.#node(id, location.locationId));
            return { value: nodes, actual: cost.root + cost.perNode * nodes.filter((node) => node !== null).length };
          },
        });
      } else if (field.name === 'inventoryItem') {
        const id = argumentValue(field.args, 'id', variables);
        if (!id.found || 'unsupported' in id || typeof id.value !== 'string') {
          return { errors: [{ message: "Argument 'id' on Field 'inventoryItem' has an invalid value. Expected type 'ID!'.", extensions: { code: 'argumentLiteralsIncompatible' } }] };
        }
        const location = this.#locationArgument(field.selection, variables);
        const first = /inventoryLevels\s*\(\s*first\s*:\s*(\d+)/.exec(field.selection);
        const levelsFirst = first ? Math.min(Number(first[1]), arrayInputMax) : 0;
        const itemId = id.value;
        runs.push({
          key,
          requested: cost.root + cost.level + 2 * levelsFirst,
          run: () => {
            const node = this.#node(itemId, 'locationId' in location ? location.locationId : null, levelsFirst);
            return { value: node, actual: node === null ? 1 : cost.root + cost.level + 2 * Math.min(levelsFirst, this.#items.get(numericId(itemId, 'InventoryItem')!)!.levels.size) };
          },
        });
      } else {
        return { errors: [undefinedField(field.name, 'QueryRoot')] };
      }
    }
    return {
      requestedCost: runs.reduce((sum, run) => sum + run.requested, 0),
      mutation: false,
      idempotency: null,
      run: () => {
        const data: Record<string, unknown> = {};
        let actualCost = 0;
        for (const run of runs) {
          const result = run.run();
          data[run.key] = result.value;
          actualCost += result.actual;
        }
        return { data, actualCost };
      },
    };
  }

  /** `inventoryLevel(locationId: ...)` inside a selection. */
  #locationArgument(selection: string, variables: Record<string, unknown>): { locationId: string | null } | { error: GraphqlError } {
    const match = /inventoryLevel\s*\(\s*locationId\s*:\s*(\$[_A-Za-z]\w*|"(?:[^"\\]|\\.)*")\s*\)/.exec(selection);
    if (!match) return { locationId: null };
    const value = match[1]!.startsWith('$') ? variables[match[1]!.slice(1)] : (JSON.parse(match[1]!) as unknown);
    if (typeof value !== 'string') return { error: { message: "Argument 'locationId' on Field 'inventoryLevel' has an invalid value. Expected type 'ID!'.", extensions: { code: 'argumentLiteralsIncompatible' } } };
    return { locationId: value };
  }

  #node(id: string, locationId: string | null, levelsFirst = 0): unknown {
    const itemId = numericId(id, 'InventoryItem');
    if (itemId === null) return numericId(id, 'Location') !== null && this.#locations.has(numericId(id, 'Location')!) ? {} : null;
    const item = this.#items.get(itemId);
    if (!item) return null;
    const levelNode = (location: number, level: Level) => ({
      id: `gid://shopify/InventoryLevel/${location}?inventory_item_id=${item.id}`,
      location: { id: gid('Location', location) },
      updatedAt: new Date(level.updatedAt).toISOString(),
      quantities: [
        { name: 'available', quantity: level.available, updatedAt: new Date(level.updatedAt).toISOString() },
        { name: 'on_hand', quantity: level.available, updatedAt: new Date(level.updatedAt).toISOString() },
      ],
    });
    const locationNumber = locationId === null ? null : numericId(locationId, 'Location');
    const level = locationNumber === null ? undefined : item.levels.get(locationNumber);
    return {
      id: gid('InventoryItem', item.id),
      sku: item.sku,
      tracked: true,
      variant: { id: gid('ProductVariant', item.variantId) },
      inventoryLevel: level ? levelNode(locationNumber!, level) : null,
      inventoryLevels: {
        nodes: [...item.levels].slice(0, levelsFirst).map(([location, entry]) => levelNode(location, entry)),
        pageInfo: { hasNextPage: item.levels.size > levelsFirst, endCursor: null },
      },
    };
  }

  /**
   * inventorySetQuantities(input: $input) [@idempotent(key: ...)].
   * 1. The input comes from the variables (the connector sends variables; inline objects are a
   *    simulator limit and answered with a GraphQL error).
   * 2. Variable coercion per version: unknown input fields (compareQuantity on 2026-04,
   *    changeFromQuantity on 2025-01), wrong types, Int beyond 32 bits -> GraphQL error, like
   *    graphql-ruby's "Variable $input ... was provided invalid value".
   * 3. More than 250 quantities -> MAX_INPUT_SIZE_EXCEEDED [doc: the limit; code unverified].
   * 4. The directive: the field's directive list is read by the operation splitter; `key:` is a
   *    string literal or a `$variable`. 2025-01 knows no such directive; 2026-04+ requires it.
   * 5. Execution (run): validate every quantity, collect userErrors; any -> nothing applied; else
   *    apply all and record one adjustment group.
   */
  #planSetQuantities(field: OperationField, variables: Record<string, unknown>, version: string) {
    const input = /^\s*input\s*:\s*\$([_A-Za-z]\w*)\s*$/.exec(field.args);
    if (!input) return { errors: [{ message: 'simulator: inventorySetQuantities reads its input from a variable ($input) only', extensions: { code: 'simulatorLimit' } }] };
    const variableName = input[1]!;
    const value = variables[variableName];
    const ordinal = version === 'unstable' ? 999_999 : Number(version.replace('-', ''));
    const legacyAllowed = ordinal < 202604;
    const problem = coerceSetQuantitiesInput(value, { changeFromQuantity: ordinal >= 202601, legacy: legacyAllowed });
    if (problem) {
      return { errors: [{ message: `Variable $${variableName} of type InventorySetQuantitiesInput! was provided invalid value for ${problem.path.join('.')} (${problem.explanation})`, extensions: { value, problems: [problem] } }] };
    }
    const typed = value as SetQuantitiesInput;
    if (typed.quantities.length > arrayInputMax) return { errors: [maxInputSize(typed.quantities.length)] };
    if (typed.name === 'on_hand') return { errors: [{ message: "simulator: only the 'available' quantity is modelled", extensions: { code: 'simulatorLimit' } }] };

    let key: string | null = null;
    for (const directive of field.directives) {
      if (directive.name !== 'idempotent' || ordinal < 202601) {
        return { errors: [{ message: `Directive '${directive.name}' is not defined`, extensions: { code: 'undefinedDirective', directiveName: directive.name } }] };
      }
      const keyArgument = argumentValue(directive.args, 'key', variables);
      if (!keyArgument.found || 'unsupported' in keyArgument || typeof keyArgument.value !== 'string' || keyArgument.value.length === 0 || keyArgument.value.length > 255) {
        return { errors: [{ message: "Argument 'key' on Directive 'idempotent' has an invalid value. Expected type 'String!'.", extensions: { code: 'argumentLiteralsIncompatible' } }] };
      }
      key = keyArgument.value;
    }
    if (key === null && ordinal >= 202604) {
      // "calling these mutations without an idempotency directive will result in an error at
      // runtime" [doc changelog]; the exact answer is unverified.
      return { errors: [{ message: 'The @idempotent directive is required for this mutation.', extensions: { code: 'BAD_REQUEST' } }] };
    }
    const responseKey = field.alias ?? field.name;
    return {
      requestedCost: cost.mutation,
      mutation: true,
      idempotency: key === null ? null : { key, variablesHash: createHash('sha256').update(canonicalJson(variables)).digest('hex'), responseKey },
      run: () => ({ data: { [responseKey]: this.#setQuantities(typed, ordinal, key) }, actualCost: cost.mutation }),
    };
  }

  #setQuantities(input: SetQuantitiesInput, ordinal: number, key: string | null): unknown {
    const userErrors: { code: string; field: string[] | null; message: string }[] = [];
    if (input.name !== 'available' && input.name !== 'on_hand') userErrors.push({ code: 'INVALID_NAME', field: ['input', 'name'], message: "The quantity name must be either 'available' or 'on_hand'." });
    if (!reasons.has(input.reason)) userErrors.push({ code: 'INVALID_REASON', field: ['input', 'reason'], message: 'The specified reason is invalid.' });
    const seen = new Set<string>();
    const targets: { itemId: number; locationId: number; quantity: number }[] = [];
    for (const [index, quantity] of input.quantities.entries()) {
      const path = (name: string) => ['input', 'quantities', String(index), name];
      const itemId = numericId(quantity.inventoryItemId, 'InventoryItem');
      const locationId = numericId(quantity.locationId, 'Location');
      const item = itemId === null ? undefined : this.#items.get(itemId);
      if (!item) {
        userErrors.push({ code: 'INVALID_INVENTORY_ITEM', field: path('inventoryItemId'), message: 'The specified inventory item could not be found.' });
        continue;
      }
      if (locationId === null || !this.#locations.has(locationId)) {
        userErrors.push({ code: 'INVALID_LOCATION', field: path('locationId'), message: 'The specified location could not be found.' });
        continue;
      }
      const pair = `${itemId}|${locationId}`;
      if (seen.has(pair)) {
        userErrors.push({ code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR', field: path('inventoryItemId'), message: 'The combination of inventoryItemId and locationId must be unique.' });
        continue;
      }
      seen.add(pair);
      const level = item.levels.get(locationId);
      if (!level) {
        userErrors.push({ code: 'ITEM_NOT_STOCKED_AT_LOCATION', field: path('inventoryItemId'), message: 'The specified inventory item is not stocked at the location.' });
        continue;
      }
      if (quantity.quantity < 0) {
        userErrors.push({ code: 'INVALID_QUANTITY_NEGATIVE', field: path('quantity'), message: "The quantity can't be negative." });
        continue;
      }
      if (quantity.quantity > 1_000_000_000) {
        userErrors.push({ code: 'INVALID_QUANTITY_TOO_HIGH', field: path('quantity'), message: "The total quantity can't be higher than 1,000,000,000." });
        continue;
      }
      // The compare-and-set check, per version (docs/channels/shopify.md, Push: inventorySetQuantities).
      if (ordinal >= 202601 && 'changeFromQuantity' in quantity) {
        if (quantity.changeFromQuantity !== null && quantity.changeFromQuantity !== level.available) {
          userErrors.push({ code: 'CHANGE_FROM_QUANTITY_STALE', field: path('changeFromQuantity'), message: 'The changeFromQuantity value does not match persisted value.' });
          continue;
        }
      } else if (ordinal >= 202604) {
        // "Omitting changeFromQuantity returns an error" [doc]; which code is unverified.
        userErrors.push({ code: 'CHANGE_FROM_QUANTITY_STALE', field: path('changeFromQuantity'), message: 'changeFromQuantity must be provided for each quantity; pass null to opt out of the check.' });
        continue;
      } else if (input.ignoreCompareQuantity !== true) {
        if (quantity.compareQuantity === undefined || quantity.compareQuantity === null) {
          userErrors.push({ code: 'COMPARE_QUANTITY_REQUIRED', field: path('compareQuantity'), message: 'The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.' });
          continue;
        }
        if (quantity.compareQuantity !== level.available) {
          userErrors.push({ code: 'COMPARE_QUANTITY_STALE', field: path('compareQuantity'), message: 'The compareQuantity value does not match persisted value.' });
          continue;
        }
      }
      targets.push({ itemId: item.id, locationId, quantity: quantity.quantity });
    }
    if (userErrors.length > 0) {
      this.stats.userErrorAnswers += 1;
      return { inventoryAdjustmentGroup: null, userErrors };
    }
    const changes: unknown[] = [];
    for (const target of targets) {
      const level = this.#items.get(target.itemId)!.levels.get(target.locationId)!;
      const delta = target.quantity - level.available;
      this.#setLevel(target.itemId, target.locationId, target.quantity, 'api', key);
      if (delta !== 0) {
        for (const name of ['available', 'on_hand']) {
          changes.push({ name, delta, quantityAfterChange: target.quantity, item: { id: gid('InventoryItem', target.itemId) }, location: { id: gid('Location', target.locationId) }, ledgerDocumentUri: null });
        }
      }
    }
    this.stats.mutationsApplied += 1;
    return {
      inventoryAdjustmentGroup: { id: gid('InventoryAdjustmentGroup', 90_000_000_000 + this.#nextId++), createdAt: new Date(this.#wallNow()).toISOString(), reason: input.reason, referenceDocumentUri: input.referenceDocumentUri ?? null, changes },
      userErrors: [],
    };
  }

  // --- orders (the simulator's own test API, not Shopify's) ----------------------------------

  /**
   * A customer order: `available` drops at the location (Shopify commits the units), then
   * orders/create and inventory_levels/update are sent. Refuses to oversell unless asked
   * (a storefront stops selling at 0 unless "continue selling when out of stock" is on).
   */
  createOrder(options: { lines: { inventoryItemId: string; quantity: number }[]; locationId?: string; allowOversell?: boolean }): { orderId: string; lineItemIds: string[] } {
    const locationId = numericId(options.locationId ?? this.defaultLocationId, 'Location');
    if (locationId === null || !this.#locations.has(locationId)) throw new SimulatorError('unknown location');
    if (options.lines.length === 0) throw new SimulatorError('an order needs lines');
    const lines: OrderLine[] = options.lines.map((line) => {
      const itemId = numericId(line.inventoryItemId, 'InventoryItem');
      const level = itemId === null ? undefined : this.#items.get(itemId)?.levels.get(locationId);
      if (itemId === null || !level) throw new SimulatorError(`${line.inventoryItemId} is not stocked at the order's location`);
      if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0) throw new SimulatorError('line quantity must be a positive integer');
      if (!options.allowOversell && level.available < line.quantity) throw new SimulatorError(`insufficient stock for ${line.inventoryItemId}: ${level.available} < ${line.quantity}`);
      return { id: 14_000_000_000_000 + this.#nextId++, itemId, quantity: line.quantity, refunded: 0 };
    });
    const number = 1000 + this.#orders.size + 1;
    const now = this.#wallNow();
    const order: Order = { id: 5_600_000_000_000 + this.#nextId++, number, locationId, createdAt: now, updatedAt: now, cancelledAt: null, lines, refunds: [] };
    this.#orders.set(order.id, order);
    for (const line of lines) {
      const level = this.#items.get(line.itemId)!.levels.get(locationId)!;
      this.#setLevel(line.itemId, locationId, level.available - line.quantity, 'order', null);
    }
    this.#emit('orders/create', this.#orderPayload(order));
    return { orderId: gid('Order', order.id), lineItemIds: lines.map((line) => gid('LineItem', line.id)) };
  }

  /** Cancel an order; with `restock` (default) the units not yet refunded go back to `available`. */
  cancelOrder(orderId: string, options: { restock?: boolean } = {}): void {
    const order = this.#order(orderId);
    if (order.cancelledAt !== null) throw new SimulatorError('order already cancelled');
    order.cancelledAt = order.updatedAt = this.#wallNow();
    if (options.restock ?? true) {
      for (const line of order.lines) {
        const open = line.quantity - line.refunded;
        if (open <= 0) continue;
        const level = this.#items.get(line.itemId)!.levels.get(order.locationId)!;
        this.#setLevel(line.itemId, order.locationId, level.available + open, 'cancel', null);
      }
    }
    this.#emit('orders/cancelled', this.#orderPayload(order));
  }

  /** A refund of some units; `return` and `cancel` restock them at the order's location. */
  refundOrder(orderId: string, options: { lines: { lineItemId: string; quantity: number; restockType?: RestockType }[] }): { refundId: string } {
    const order = this.#order(orderId);
    const now = this.#wallNow();
    const refund: Refund = { id: 9_200_000_000_000 + this.#nextId++, orderId: order.id, createdAt: now, lines: [] };
    for (const requested of options.lines) {
      const lineId = numericId(requested.lineItemId, 'LineItem');
      const line = order.lines.find((candidate) => candidate.id === lineId);
      if (!line) throw new SimulatorError(`unknown line item ${requested.lineItemId}`);
      if (!Number.isSafeInteger(requested.quantity) || requested.quantity <= 0 || requested.quantity > line.quantity - line.refunded) throw new SimulatorError('refund quantity exceeds what is left on the line');
      line.refunded += requested.quantity;
      refund.lines.push({ id: 10_000_000_000_000 + this.#nextId++, lineItemId: line.id, quantity: requested.quantity, restockType: requested.restockType ?? 'return', locationId: order.locationId });
    }
    order.refunds.push(refund);
    order.updatedAt = now;
    for (const line of refund.lines) {
      if (line.restockType === 'no_restock') continue;
      const itemId = order.lines.find((candidate) => candidate.id === line.lineItemId)!.itemId;
      const level = this.#items.get(itemId)!.levels.get(line.locationId)!;
      this.#setLevel(itemId, line.locationId, level.available + line.quantity, 'refund', null);
    }
    this.#emit('refunds/create', this.#refundPayload(order, refund));
    return { refundId: gid('Refund', refund.id) };
  }

  #order(orderId: string): Order {
    const id = numericId(orderId, 'Order');
    const order = id === null ? undefined : this.#orders.get(id);
    if (!order) throw new SimulatorError(`unknown order ${orderId}`);
    return order;
  }

  /** REST Order, trimmed to the fields an inventory app reads (docs/channels/shopify.md, Webhooks). */
  #orderPayload(order: Order): Record<string, unknown> {
    return {
      id: order.id,
      admin_graphql_api_id: gid('Order', order.id),
      name: `#${order.number}`,
      order_number: order.number,
      created_at: new Date(order.createdAt).toISOString(),
      updated_at: new Date(order.updatedAt).toISOString(),
      cancelled_at: order.cancelledAt === null ? null : new Date(order.cancelledAt).toISOString(),
      cancel_reason: order.cancelledAt === null ? null : 'customer',
      currency: 'EUR',
      financial_status: 'paid',
      fulfillment_status: null,
      line_items: order.lines.map((line) => this.#linePayload(line)),
      refunds: order.refunds.map((refund) => this.#refundPayload(order, refund)),
    };
  }

  #linePayload(line: OrderLine): Record<string, unknown> {
    const item = this.#items.get(line.itemId)!;
    return {
      id: line.id,
      admin_graphql_api_id: gid('LineItem', line.id),
      variant_id: item.variantId,
      product_id: item.productId,
      sku: item.sku,
      name: item.sku,
      title: item.sku,
      quantity: line.quantity,
      current_quantity: line.quantity - line.refunded,
      fulfillable_quantity: line.quantity - line.refunded,
      fulfillment_status: null,
      variant_inventory_management: 'shopify',
      requires_shipping: true,
      price: '10.00',
    };
  }

  /** REST Refund (docs/channels/shopify.md, Webhooks; the field list is [unverified]). */
  #refundPayload(order: Order, refund: Refund): Record<string, unknown> {
    return {
      id: refund.id,
      admin_graphql_api_id: gid('Refund', refund.id),
      order_id: order.id,
      created_at: new Date(refund.createdAt).toISOString(),
      processed_at: new Date(refund.createdAt).toISOString(),
      note: null,
      restock: refund.lines.some((line) => line.restockType !== 'no_restock'),
      refund_line_items: refund.lines.map((line) => ({
        id: line.id,
        line_item_id: line.lineItemId,
        location_id: line.locationId,
        quantity: line.quantity,
        restock_type: line.restockType,
        subtotal: (line.quantity * 10).toFixed(2),
        total_tax: '0.00',
        line_item: this.#linePayload(order.lines.find((candidate) => candidate.id === line.lineItemId)!),
      })),
    };
  }

  // --- webhooks -------------------------------------------------------------------------------

  subscribeWebhooks(url: string | null): void {
    this.#webhookUrl = url;
  }

  /**
   * Resolves when no delivery is running and (unless `includeScheduled` is false) no retry is
   * waiting. With a manual scheduler, advance it to let retries run.
   */
  webhooksIdle(options: { includeScheduled?: boolean } = {}): Promise<void> {
    const includeScheduled = options.includeScheduled ?? true;
    const idle = () => this.#deliveriesInFlight === 0 && (!includeScheduled || this.#deliveriesScheduled === 0);
    if (idle()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (idle()) resolve();
        else this.#idleWaiters.push(check);
      };
      this.#idleWaiters.push(check);
    });
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  #emit(topic: string, payload: Record<string, unknown>): void {
    const event: WebhookEvent = { eventId: randomUUID(), topic, body: JSON.stringify(payload), triggeredAt: new Date(this.#wallNow()).toISOString() };
    this.events.push({ eventId: event.eventId, topic, payload });
    if (this.events.length > 100_000) this.events.shift();
    if (this.#webhookUrl === null) return;
    this.#startDelivery(event);
    // A duplicate: the same event (same Event-Id, same bytes) under a second delivery id.
    if (this.#random() < this.faults.webhookDuplicateRate) this.#startDelivery(event);
  }

  #startDelivery(event: WebhookEvent): void {
    const delivery = { webhookId: randomUUID(), event, attempt: 0 };
    const delay = this.faults.webhookDelayMsMax > 0 ? Math.floor(this.#random() * this.faults.webhookDelayMsMax) : 0;
    this.#deliveriesInFlight += 1;
    const run = () => {
      this.#deliveriesInFlight -= 1;
      void this.#attempt(delivery);
    };
    if (delay > 0) setTimeout(run, delay).unref();
    else queueMicrotask(run);
  }

  async #attempt(delivery: { webhookId: string; event: WebhookEvent; attempt: number }): Promise<void> {
    const url = this.#webhookUrl;
    if (url === null || this.#deliveryAbort.signal.aborted) return this.#notifyIdle();
    delivery.attempt += 1;
    this.#deliveriesInFlight += 1;
    this.stats.webhookAttempts += 1;
    const { event } = delivery;
    let status: number | 'error' = 'error';
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Shopify-Captain-Hook',
          'X-Shopify-Topic': event.topic,
          'X-Shopify-Hmac-Sha256': createHmac('sha256', this.appSecret).update(event.body).digest('base64'),
          'X-Shopify-Shop-Domain': this.shopDomain,
          'X-Shopify-API-Version': this.webhookApiVersion,
          'X-Shopify-Webhook-Id': delivery.webhookId,
          'X-Shopify-Event-Id': event.eventId,
          'X-Shopify-Triggered-At': event.triggeredAt,
        },
        body: event.body,
        // 1 s to connect and 5 s in total [2nd]; one overall deadline here.
        signal: AbortSignal.any([AbortSignal.timeout(5_000), this.#deliveryAbort.signal]),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      status = 'error';
    }
    this.#deliveriesInFlight -= 1;
    this.deliveries.push({ webhookId: delivery.webhookId, eventId: event.eventId, topic: event.topic, attempt: delivery.attempt, status });
    if (this.deliveries.length > 100_000) this.deliveries.shift();
    if (typeof status === 'number' && status >= 200 && status < 300) {
      this.stats.webhooksDelivered += 1;
    } else if (delivery.attempt <= webhookRetryDelaysMs.length && !this.#deliveryAbort.signal.aborted) {
      // Retried with the original payload, Webhook-Id and Triggered-At [doc].
      this.#deliveriesScheduled += 1;
      const cancel = this.#scheduler.schedule(() => {
        this.#cancelTimers.delete(cancel);
        this.#deliveriesScheduled -= 1;
        void this.#attempt(delivery);
      }, webhookRetryDelaysMs[delivery.attempt - 1]!);
      this.#cancelTimers.add(cancel);
    } else {
      this.stats.webhooksAbandoned += 1;
    }
    this.#notifyIdle();
  }

  // --- the simulator's HTTP test API -----------------------------------------------------------

  /**
   * POST /_simulator/orders {lines:[{inventoryItemId, quantity}], locationId?, allowOversell?}
   * POST /_simulator/orders/cancel {orderId, restock?}
   * POST /_simulator/orders/refund {orderId, lines:[{lineItemId, quantity, restockType?}]}
   * POST /_simulator/levels {inventoryItemId, locationId, available}   (out-of-band edit)
   * Same token as the Admin API. Not Shopify's API: for demos and tests in another process.
   */
  async #testApi(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    if (request.headers['x-shopify-access-token'] !== this.accessToken) return this.#json(response, 401, { errors: 'unauthorized' });
    if (request.method !== 'POST') return this.#json(response, 404, { errors: 'Not Found' });
    const raw = await readBody(request, 256 * 1024);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw?.toString('utf8') ?? '') as Record<string, unknown>;
    } catch {
      return this.#json(response, 400, { errors: 'body must be JSON' });
    }
    try {
      switch (path) {
        case '/_simulator/orders':
          return this.#json(response, 201, this.createOrder(body as Parameters<ShopifySimulator['createOrder']>[0]));
        case '/_simulator/orders/cancel':
          this.cancelOrder(String(body.orderId), { restock: body.restock !== false });
          return this.#json(response, 200, { ok: true });
        case '/_simulator/orders/refund':
          return this.#json(response, 201, this.refundOrder(String(body.orderId), body as Parameters<ShopifySimulator['refundOrder']>[1]));
        case '/_simulator/levels':
          this.editAvailable(String(body.inventoryItemId), String(body.locationId), Number(body.available));
          return this.#json(response, 200, { ok: true });
        default:
          return this.#json(response, 404, { errors: 'Not Found' });
      }
    } catch (error) {
      if (error instanceof SimulatorError || error instanceof TypeError) return this.#json(response, 422, { errors: error.message });
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface SetQuantitiesInput {
  reason: string;
  name: string;
  referenceDocumentUri?: string | null;
  ignoreCompareQuantity?: boolean | null;
  quantities: { inventoryItemId: string; locationId: string; quantity: number; compareQuantity?: number | null; changeFromQuantity?: number | null }[];
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= graphqlIntMax;
}

/** Coerce the variable like GraphQL would; null = fine, else the first problem. */
function coerceSetQuantitiesInput(value: unknown, allowed: { changeFromQuantity: boolean; legacy: boolean }): { path: (string | number)[]; explanation: string } | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { path: [], explanation: 'Expected value to not be null' };
  const input = value as Record<string, unknown>;
  const inputFields = new Set(['reason', 'name', 'referenceDocumentUri', 'quantities', ...(allowed.legacy ? ['ignoreCompareQuantity'] : [])]);
  for (const key of Object.keys(input)) if (!inputFields.has(key)) return { path: [key], explanation: 'Field is not defined on InventorySetQuantitiesInput' };
  if (typeof input.reason !== 'string') return { path: ['reason'], explanation: 'Expected value to not be null' };
  if (typeof input.name !== 'string') return { path: ['name'], explanation: 'Expected value to not be null' };
  if (input.referenceDocumentUri !== undefined && input.referenceDocumentUri !== null && typeof input.referenceDocumentUri !== 'string') return { path: ['referenceDocumentUri'], explanation: 'Could not coerce value to String' };
  if (input.ignoreCompareQuantity !== undefined && input.ignoreCompareQuantity !== null && typeof input.ignoreCompareQuantity !== 'boolean') return { path: ['ignoreCompareQuantity'], explanation: 'Could not coerce value to Boolean' };
  if (!Array.isArray(input.quantities)) return { path: ['quantities'], explanation: 'Expected value to not be null' };
  const quantityFields = new Set(['inventoryItemId', 'locationId', 'quantity', ...(allowed.legacy ? ['compareQuantity'] : []), ...(allowed.changeFromQuantity ? ['changeFromQuantity'] : [])]);
  for (const [index, entry] of input.quantities.entries()) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return { path: ['quantities', index], explanation: 'Expected value to not be null' };
    const quantity = entry as Record<string, unknown>;
    for (const key of Object.keys(quantity)) if (!quantityFields.has(key)) return { path: ['quantities', index, key], explanation: 'Field is not defined on InventoryQuantityInput' };
    if (typeof quantity.inventoryItemId !== 'string') return { path: ['quantities', index, 'inventoryItemId'], explanation: 'Expected value to not be null' };
    if (typeof quantity.locationId !== 'string') return { path: ['quantities', index, 'locationId'], explanation: 'Expected value to not be null' };
    if (!isInt(quantity.quantity)) return { path: ['quantities', index, 'quantity'], explanation: 'Could not coerce value to Int' };
    for (const key of ['compareQuantity', 'changeFromQuantity']) {
      if (quantity[key] !== undefined && quantity[key] !== null && !isInt(quantity[key])) return { path: ['quantities', index, key], explanation: 'Could not coerce value to Int' };
    }
  }
  return null;
}

function undefinedField(name: string, typeName: string): GraphqlError {
  return { message: `Field '${name}' doesn't exist on type '${typeName}'`, extensions: { code: 'undefinedField', typeName, fieldName: name } };
}

/** [doc: the 250 limit; the error code and message are unverified]. */
function maxInputSize(size: number): GraphqlError {
  return { message: `The input array size of ${size} is greater than the maximum allowed of ${arrayInputMax}.`, extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED' } };
}

async function readBody(request: IncomingMessage, bytesMax: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > bytesMax) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
