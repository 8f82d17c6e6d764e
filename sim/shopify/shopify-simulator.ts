import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulkOperations } from './bulk-operations.js';
import { CostBucket } from './cost-bucket.js';
import { FaultInjector } from './fault-injector.js';
import { GraphqlAdmission } from './graphql-admission.js';
import { readBody, sendJson } from './http-reply.js';
import { IdempotencyStore } from './idempotency-store.js';
import { OrderBook } from './order-book.js';
import {
  type InjectedFault,
  newShopStats,
  noFaults,
  type ShopifyFaults,
  type ShopifySimulatorOptions,
  shopifyPlans,
  simulatedVersions,
  type WebhookDeliveryOrder,
} from './shop-options.js';
import { gid, type LevelWrite, numericId, type RestockType, ShopState, SimulatorError } from './shop-state.js';
import { WebhookDispatcher, type WebhookDeliveryRecord } from './webhook-dispatcher.js';
import { scaledScheduler } from './webhook-scheduler.js';
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
 * - Orders through their life (order-book.ts): created online or at a point of sale, edited,
 *   fulfilled from a named location, a fulfilment cancelled, refunded with each restock type at a
 *   location, cancelled.
 * - Webhooks orders/create, orders/updated, orders/cancelled, fulfillments/create,
 *   fulfillments/update, refunds/create, inventory_levels/update (after every change, our own
 *   pushes included - the echo), REST-shaped payloads, signed
 *   X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(raw body, app secret)) [doc], with X-Shopify-Topic,
 *   -Shop-Domain, -API-Version, -Webhook-Id (one per delivery, kept across its retries), -Event-Id
 *   (shared by duplicates), -Triggered-At; 5 s timeout [2nd]; non-2xx retried 8 times over about
 *   4 hours, exponential [doc: 8 times / 4 hours; the exact steps are unverified]; unordered,
 *   duplicates on demand, or every event shuffled with duplicates by a seeded PRNG (`deliveryOrder`).
 * - Bulk operations (bulk-operations.ts): bulkOperationRunQuery over the inventory levels of a
 *   location, its status by node(id:) / currentBulkOperation, the JSONL result at a signed URL.
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

export {
  type InjectedFault,
  type ShopifyFaults,
  type ShopifySimulatorOptions,
  shopifyPlans,
  simulatedVersions,
  type WebhookDeliveryOrder,
  webhookRetryDelaysMs,
} from './shop-options.js';
export type { LevelWrite, RestockType } from './shop-state.js';
export type { WebhookDeliveryRecord } from './webhook-dispatcher.js';

export class ShopifySimulator {
  readonly shopDomain: string;
  readonly accessToken: string;
  readonly appSecret: string;
  readonly maximumAvailable: number;
  readonly #bucket: CostBucket;
  readonly restoreRate: number;
  readonly webhookApiVersion: string;
  /** Current faults; assign fields per test (`sim.faults.latencyMs = 50`). */
  faults: ShopifyFaults = { ...noFaults };

  readonly stats = newShopStats();
  /** Every level change, oldest first (bounded to the last 100,000). */
  readonly writes: LevelWrite[];
  /** Every webhook delivery attempt, oldest first (bounded to the last 100,000). */
  readonly deliveries: WebhookDeliveryRecord[];
  /** Every event emitted (bounded to the last 100,000), whether or not a URL was set. */
  readonly events: { eventId: string; topic: string; payload: unknown }[];
  /** The shop's first location, created with the shop. */
  readonly defaultLocationId: string;

  readonly #shop: ShopState;
  readonly #orders: OrderBook;
  readonly #webhooks: WebhookDispatcher;
  readonly #faultInjector: FaultInjector;
  readonly #graphql: GraphqlAdmission;
  readonly #bulk: BulkOperations;
  #server: Server | null = null;
  #url: string | null = null;

  constructor(options: ShopifySimulatorOptions = {}) {
    this.shopDomain = options.shopDomain ?? 'onhand-sim.myshopify.com';
    this.accessToken = options.accessToken ?? 'shpat_simulator';
    this.appSecret = options.appSecret ?? 'simulator-app-secret';
    const plan = options.plan ?? 'standard';
    this.restoreRate = typeof plan === 'number' ? plan : shopifyPlans[plan];
    this.maximumAvailable = options.maximumAvailable ?? 2000;
    this.webhookApiVersion = options.webhookApiVersion ?? '2026-04';
    const random = mulberry32(options.seed ?? 1);
    const now = options.now ?? (() => performance.now());
    const wallNow = options.wallNow ?? (() => Date.now());
    const faults = () => this.faults;
    this.#webhooks = new WebhookDispatcher({
      shopDomain: this.shopDomain,
      appSecret: this.appSecret,
      webhookApiVersion: this.webhookApiVersion,
      webhookUrl: options.webhookUrl ?? null,
      scheduler: options.scheduler ?? scaledScheduler(1),
      random,
      faults,
      stats: this.stats,
      wallNow,
      ...(options.deliveryOrder === undefined ? {} : { deliveryOrder: options.deliveryOrder }),
    });
    this.#shop = new ShopState(wallNow, (topic, payload) => this.#webhooks.emit(topic, payload));
    this.#orders = new OrderBook(this.#shop);
    this.#faultInjector = new FaultInjector(random, faults, this.stats);
    this.#bulk = new BulkOperations(
      this.#shop,
      {
        baseMs: options.bulkOperation?.baseMs ?? 300,
        objectsPerSecond: options.bulkOperation?.objectsPerSecond ?? 50_000,
      },
      now,
      wallNow,
      () => this.url,
    );
    this.#bucket = new CostBucket(this.maximumAvailable, this.restoreRate, now);
    this.#graphql = new GraphqlAdmission({
      bulk: this.#bulk,
      shop: this.#shop,
      bucket: this.#bucket,
      faultInjector: this.#faultInjector,
      idempotency: new IdempotencyStore(now, options.idempotencyRetentionMs ?? 24 * 3600_000),
      stats: this.stats,
      faults,
      throttleWithHttp429: options.throttleWithHttp429 ?? false,
    });
    this.writes = this.#shop.writes;
    this.deliveries = this.#webhooks.deliveries;
    this.events = this.#webhooks.events;
    this.defaultLocationId = this.#shop.defaultLocationId;
    for (const name of options.locations ?? []) this.#shop.addLocation(name);
    if (options.firstId !== undefined) this.#shop.skipIdsTo(options.firstId);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Listen on 127.0.0.1, a free port; returns the base URL (e.g. http://127.0.0.1:43121). */
  async start(): Promise<string> {
    if (this.#url) return this.#url;
    const server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          sendJson(response, 500, { errors: `simulator: ${error instanceof Error ? error.message : String(error)}` });
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
    this.#webhooks.halt();
    const server = this.#server;
    this.#server = null;
    this.#url = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#webhooks.notifyIdle();
  }

  // --- seeding and out-of-band state ---------------------------------------------------------

  addLocation(name?: string): string {
    return this.#shop.addLocation(name);
  }

  /** Every location's gid, the default one first. */
  get locationIds(): string[] {
    return [...this.#shop.locations.keys()].map((id) => gid('Location', id));
  }

  /**
   * A product variant with its inventory item, stocked at the given locations
   * (`{ [locationGid]: available }`; default: 0 at the first location). Returns the gids.
   */
  addItem(options: { sku: string; levels?: Record<string, number>; inventoryItemId?: string }): {
    inventoryItemId: string;
    variantId: string;
    sku: string;
  } {
    return this.#shop.addItem(options);
  }

  /** `available` at a location; null when the item is unknown or not stocked there. */
  available(inventoryItemId: string, locationId: string = this.defaultLocationId): number | null {
    return this.#shop.level(inventoryItemId, locationId)?.available ?? null;
  }

  /**
   * An edit made in Shopify's admin or by another app (out of band): sets `available` and emits
   * inventory_levels/update like any other change.
   */
  editAvailable(inventoryItemId: string, locationId: string, available: number): void {
    const itemId = numericId(inventoryItemId, 'InventoryItem');
    const locationNumber = numericId(locationId, 'Location');
    if (!this.#shop.level(inventoryItemId, locationId) || itemId === null || locationNumber === null)
      throw new SimulatorError(`${inventoryItemId} is not stocked at ${locationId}`);
    this.#shop.setLevel(itemId, locationNumber, available, 'edit', null);
  }

  /** Bulk operations started so far. */
  get bulkOperationsStarted(): number {
    return this.#bulk.started;
  }

  /** Make the next `count` GraphQL requests (mutations only for lost-response) fail this way. */
  /** The points the shop's cost bucket holds now (what the next answer's throttleStatus would say). */
  currentlyAvailable(): number {
    return this.#bucket.current();
  }

  injectNext(fault: InjectedFault, count = 1): void {
    this.#faultInjector.injectNext(fault, count);
  }

  // --- orders (the simulator's own test API, not Shopify's) ----------------------------------

  /**
   * A customer order: `available` drops at the location (Shopify commits the units), then
   * orders/create and inventory_levels/update are sent. Refuses to oversell unless asked
   * (a storefront stops selling at 0 unless "continue selling when out of stock" is on).
   * `pointOfSale`: sold at that location's point of sale, so the order names `location_id`.
   */
  createOrder(options: {
    lines: { inventoryItemId: string; quantity: number }[];
    locationId?: string;
    pointOfSale?: boolean;
    allowOversell?: boolean;
  }): { orderId: string; lineItemIds: string[] } {
    return this.#orders.createOrder(options);
  }

  /** An order edit to a line's current quantity; sends orders/updated. */
  editLineQuantity(
    orderId: string,
    lineItemId: string,
    quantity: number,
    options: { restock?: boolean; allowOversell?: boolean } = {},
  ): void {
    this.#orders.editLineQuantity(orderId, lineItemId, quantity, options);
  }

  /** Ship units (default: all open ones) from a location (default: the order's); sends fulfillments/create and orders/updated. */
  fulfillOrder(
    orderId: string,
    options: { locationId?: string; lines?: { lineItemId: string; quantity: number }[] } = {},
  ): { fulfillmentId: string } {
    return this.#orders.fulfillOrder(orderId, options);
  }

  /** Cancel a fulfilment; sends fulfillments/update (status cancelled) and orders/updated. */
  cancelFulfillment(fulfillmentId: string): void {
    this.#orders.cancelFulfillment(fulfillmentId);
  }

  /** Cancel an order; with `restock` (default) the units not fulfilled go back to `available`. */
  cancelOrder(orderId: string, options: { restock?: boolean } = {}): void {
    this.#orders.cancelOrder(orderId, options);
  }

  /**
   * A refund of some units; cancel, return and legacy_restock restock them at `locationId`
   * (default: the order's location), no_restock does not. Sends refunds/create and orders/updated.
   */
  refundOrder(
    orderId: string,
    options: { lines: { lineItemId: string; quantity: number; restockType?: RestockType; locationId?: string }[] },
  ): { refundId: string } {
    return this.#orders.refundOrder(orderId, options);
  }

  // --- webhooks -------------------------------------------------------------------------------

  subscribeWebhooks(url: string | null): void {
    this.#webhooks.subscribeWebhooks(url);
  }

  /** Deliver later events in order, or shuffled with duplicates by a seeded PRNG. */
  setDeliveryOrder(order: WebhookDeliveryOrder): void {
    this.#webhooks.setDeliveryOrder(order);
  }

  /**
   * Resolves when no delivery is running and (unless `includeScheduled` is false) no retry is
   * waiting. With a manual scheduler, advance it to let retries run.
   */
  webhooksIdle(options: { includeScheduled?: boolean } = {}): Promise<void> {
    return this.#webhooks.webhooksIdle(options);
  }

  // --- HTTP -------------------------------------------------------------------------------------

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://simulator').pathname;
    if (path.startsWith('/_simulator/')) return this.#testApi(request, response, path);
    if (path.startsWith('/_bulk/') && request.method === 'GET') {
      // A bulk operation's result: a signed link, no API token, outside the cost bucket.
      this.stats.bulkResultDownloads += 1;
      const body = this.#bulk.result(path, new URL(request.url ?? '/', 'http://simulator').searchParams);
      if (body === null) return sendJson(response, 403, { errors: 'AccessDenied' });
      response.writeHead(200, { 'Content-Type': 'application/jsonl', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    const route = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(path);
    if (!route || request.method !== 'POST') return sendJson(response, 404, { errors: 'Not Found' });
    const version = route[1]!;
    if (!simulatedVersions.includes(version)) return sendJson(response, 404, { errors: 'Not Found' });
    if (request.headers['x-shopify-access-token'] !== this.accessToken) {
      this.stats.unauthorized += 1;
      return sendJson(response, 401, {
        errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
      });
    }
    return this.#graphql.answer(request, response, version);
  }

  // --- the simulator's HTTP test API -----------------------------------------------------------

  /**
   * POST /_simulator/orders {lines:[{inventoryItemId, quantity}], locationId?, allowOversell?}
   * POST /_simulator/orders/cancel {orderId, restock?}
   * POST /_simulator/orders/edit {orderId, lineItemId, quantity, restock?}
   * POST /_simulator/orders/fulfill {orderId, locationId?, lines?:[{lineItemId, quantity}]}
   * POST /_simulator/fulfillments/cancel {fulfillmentId}
   * POST /_simulator/orders/refund {orderId, lines:[{lineItemId, quantity, restockType?, locationId?}]}
   * POST /_simulator/levels {inventoryItemId, locationId, available}   (out-of-band edit)
   * Same token as the Admin API. Not Shopify's API: for demos and tests in another process.
   */
  async #testApi(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    if (request.headers['x-shopify-access-token'] !== this.accessToken)
      return sendJson(response, 401, { errors: 'unauthorized' });
    if (request.method !== 'POST') return sendJson(response, 404, { errors: 'Not Found' });
    const raw = await readBody(request, 256 * 1024);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw?.toString('utf8') ?? '') as Record<string, unknown>;
    } catch {
      return sendJson(response, 400, { errors: 'body must be JSON' });
    }
    try {
      switch (path) {
        case '/_simulator/orders':
          return sendJson(response, 201, this.createOrder(body as Parameters<ShopifySimulator['createOrder']>[0]));
        case '/_simulator/orders/cancel':
          this.cancelOrder(String(body.orderId), { restock: body.restock !== false });
          return sendJson(response, 200, { ok: true });
        case '/_simulator/orders/edit':
          this.editLineQuantity(String(body.orderId), String(body.lineItemId), Number(body.quantity), {
            restock: body.restock !== false,
          });
          return sendJson(response, 200, { ok: true });
        case '/_simulator/orders/fulfill':
          return sendJson(
            response,
            201,
            this.fulfillOrder(String(body.orderId), body as Parameters<ShopifySimulator['fulfillOrder']>[1]),
          );
        case '/_simulator/fulfillments/cancel':
          this.cancelFulfillment(String(body.fulfillmentId));
          return sendJson(response, 200, { ok: true });
        case '/_simulator/orders/refund':
          return sendJson(
            response,
            201,
            this.refundOrder(String(body.orderId), body as Parameters<ShopifySimulator['refundOrder']>[1]),
          );
        case '/_simulator/levels':
          this.editAvailable(String(body.inventoryItemId), String(body.locationId), Number(body.available));
          return sendJson(response, 200, { ok: true });
        default:
          return sendJson(response, 404, { errors: 'Not Found' });
      }
    } catch (error) {
      if (error instanceof SimulatorError || error instanceof TypeError)
        return sendJson(response, 422, { errors: error.message });
      throw error;
    }
  }
}
