/**
 * A local Amazon Selling Partner API for one seller: a real HTTP server (port 0) that behaves as
 * the official models (specs/amazon, see SOURCE.txt there) and
 * docs/channels/amazon.md describe. AmazonConnector's conformance suite runs against it.
 *
 * What it reproduces:
 * - Login with Amazon: `POST /auth/o2/token` (form, grant_type=refresh_token) -> `{access_token,
 *   token_type: "bearer", expires_in, refresh_token}`; a wrong refresh token or client ->
 *   400 `invalid_grant`/`invalid_client`; API calls without a valid `x-amz-access-token` -> 403
 *   `Unauthorized` ("The access token you provided has expired" when it has).
 * - Listings Items 2021-08-01: `PATCH /listings/2021-08-01/items/{sellerId}/{sku}` (JSON Patch
 *   of `/attributes/fulfillment_availability`) -> ListingsItemSubmissionResponse `ACCEPTED`, or
 *   `INVALID` with ERROR issues for a malformed patch or an unknown SKU; a SKU a test marked
 *   rejected is `ACCEPTED` WITH an ERROR issue and is not applied. `GET .../{sellerId}/{sku}` and
 *   `GET .../{sellerId}?identifiers&identifiersType=SKU` (<= 20) with `fulfillmentAvailability`.
 * - Feeds 2021-06-30: createFeedDocument (an upload URL on this server), the upload, createFeed
 *   (JSON_LISTINGS_FEED), getFeed (IN_QUEUE -> IN_PROGRESS -> DONE after `feedProcessingMs`, the
 *   messages applied then), getFeedDocument -> the processing report (schema v2: header, issues
 *   per messageId, summary).
 * - Orders v0: `getOrders` (LastUpdatedAfter, MaxResultsPerPage, NextToken) and `getOrderItems`
 *   (QuantityOrdered, QuantityShipped; NextToken pages of `orderItemsPageSize`), orders going
 *   Pending -> Unshipped -> PartiallyShipped -> Shipped, or Canceled; MFN and AFN (FBA).
 * - Notifications: ORDER_CHANGE on every order change and LISTINGS_ITEM_MFN_QUANTITY_CHANGE on every
 *   MFN quantity change, as the schemas shape them, into an in-memory SQS-like queue
 *   (`notifications`), the connector's notification source.
 * - Usage plans: a token bucket per operation (the models' rate and burst, overridable), the
 *   rate in `x-amzn-RateLimit-Limit` on every answer, 429 `QuotaExceeded` on an empty bucket; it
 *   COUNTS those violations.
 * - Faults: latency, 5xx (next N), 429 storms (next N, not counted as violations), a write that
 *   lands but whose answer is lost (the socket is dropped), token endpoint failures, edits out of
 *   band.
 *
 * - FBA Inventory v1: `GET /fba/inventory/v1/summaries` (granularityType Marketplace, sellerSkus
 *   <= 50, details) -> inventory summaries with `fulfillableQuantity`,
 *   `reservedQuantity.pendingCustomerOrderQuantity` and `lastUpdatedTime`, in pages of
 *   `inventoryPageSize` with `pagination.nextToken`; an AFN order moves units from fulfillable
 *   to pending, a shipment takes them out, a cancellation puts them back.
 *
 * What it does NOT reproduce: GZIP documents, other feed operation types and attributes, product
 * type validation, searchOrders (2026-01-01), marketplaces beyond the seller's list, the RDT,
 * notification subscriptions and destinations, FBA inbound, unfulfillable and researching units,
 * `startDateTime` on inventory summaries.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AmazonOperation,
  type AmazonUsagePlan,
  amazonUsagePlans,
} from '../../src/connectors/amazon/amazon-limits.js';
import { InMemoryNotificationQueue } from './notification-queue.js';

export { InMemoryNotificationQueue } from './notification-queue.js';

export interface AmazonSimulatorOptions {
  sellerId?: string;
  marketplaceId?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** @default 3600 */
  tokenLifetimeSeconds?: number;
  usagePlans?: Partial<Record<AmazonOperation, AmazonUsagePlan>>;
  /** Time from createFeed to DONE. @default 50 */
  feedProcessingMs?: number;
  /** @default 100 */
  orderItemsPageSize?: number;
  /** Largest getOrders page whatever MaxResultsPerPage asks (a test forces NextToken paging). @default 100 */
  ordersPageSizeMax?: number;
  /** Inventory summaries per page before a nextToken. @default 50 */
  inventoryPageSize?: number;
  /** First order number (the demo uses its start time so runs do not reuse ids). @default 1 */
  firstId?: number;
  now?: () => number;
}

export interface AmazonSimulatorStats {
  requests: Partial<Record<AmazonOperation, number>>;
  /** 429s the client caused by calling an empty bucket. */
  rateLimitViolations: number;
  /** Every 429 (violations and storms). */
  throttled: number;
  tokenRequests: number;
  unauthorized: number;
  lostAnswers: number;
  feedsCreated: number;
  patchesApplied: number;
}

interface Listing {
  sku: string;
  asin: string;
  quantity: number;
  fulfillmentChannelCode: string;
  /** Amazon takes a submission for this SKU and then rejects it. */
  rejection: { code: string; message: string } | null;
  /** Every quantity change with its time (the last `historyMax`), for benches. */
  history: { at: number; quantity: number }[];
}

const historyMax = 10_000;

interface SimOrderItem {
  OrderItemId: string;
  SellerSKU: string;
  ASIN: string;
  QuantityOrdered: number;
  QuantityShipped: number;
}

interface SimOrder {
  AmazonOrderId: string;
  PurchaseDate: string;
  LastUpdateDate: string;
  OrderStatus: 'Pending' | 'Unshipped' | 'PartiallyShipped' | 'Shipped' | 'Canceled';
  FulfillmentChannel: 'MFN' | 'AFN';
  items: SimOrderItem[];
}

interface FbaStock {
  fnSku: string;
  fulfillable: number;
  pending: number;
  lastUpdatedTime: string;
}

interface SimFeed {
  feedId: string;
  inputDocumentId: string;
  createdAt: number;
  resultDocumentId: string | null;
}

interface Bucket {
  tokens: number;
  at: number;
}

type Answer = { status: number; body: unknown; contentType?: string } | 'drop';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const bodyBytesMax = 8 * 1024 * 1024;

export class AmazonSimulator {
  readonly sellerId: string;
  readonly marketplaceId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  /** The seller's notification queue (ORDER_CHANGE, LISTINGS_ITEM_MFN_QUANTITY_CHANGE). */
  readonly notifications: InMemoryNotificationQueue;
  tokenLifetimeSeconds: number;
  private readonly now: () => number;
  private readonly plans: Record<AmazonOperation, AmazonUsagePlan>;
  private readonly buckets = new Map<AmazonOperation, Bucket>();
  private readonly feedProcessingMs: number;
  private readonly orderItemsPageSize: number;
  private readonly ordersPageSizeMax: number;
  private readonly inventoryPageSize: number;
  private readonly fba = new Map<string, FbaStock>();
  private readonly listings = new Map<string, Listing>();
  private readonly orders = new Map<string, SimOrder>();
  private readonly feeds = new Map<string, SimFeed>();
  private readonly documents = new Map<string, { content: string | null }>();
  private readonly accessTokens = new Map<string, number>();
  private nextId: number;
  private server: Server | null = null;
  private baseUrl: string | null = null;
  private counters: AmazonSimulatorStats = emptyStats();
  private notificationsOn = true;
  readonly faults = {
    latencyMs: 0,
    serverErrorsNext: 0,
    throttleNext: 0,
    loseAnswersNext: 0,
    tokenFailuresNext: 0,
  };

  constructor(options: AmazonSimulatorOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sellerId = options.sellerId ?? 'A2SIMSELLER01';
    this.marketplaceId = options.marketplaceId ?? 'A1805IZSGTT6HS';
    this.clientId = options.clientId ?? 'amzn1.application-oa2-client.sim';
    this.clientSecret = options.clientSecret ?? 'sim-client-secret';
    this.refreshToken = options.refreshToken ?? 'Atzr|sim-refresh-token';
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    this.plans = { ...amazonUsagePlans, ...options.usagePlans };
    this.feedProcessingMs = options.feedProcessingMs ?? 50;
    this.orderItemsPageSize = options.orderItemsPageSize ?? 100;
    this.ordersPageSizeMax = options.ordersPageSizeMax ?? 100;
    this.inventoryPageSize = options.inventoryPageSize ?? 50;
    this.nextId = options.firstId ?? 1;
    this.notifications = new InMemoryNotificationQueue(this.now);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<string> {
    if (this.baseUrl !== null) return this.baseUrl;
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        } else response.destroy();
      });
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    this.baseUrl = null;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  get url(): string {
    if (this.baseUrl === null) throw new Error('AmazonSimulator not started');
    return this.baseUrl;
  }

  get tokenUrl(): string {
    return `${this.url}/auth/o2/token`;
  }

  // ---- test helpers (not Amazon's API) -----------------------------------------------------

  seedListing(sku: string, quantity: number, options: { fulfillmentChannelCode?: string } = {}): string {
    this.listings.set(sku, {
      sku,
      asin: `B0${String(this.listings.size + 1).padStart(8, '0')}`,
      quantity,
      fulfillmentChannelCode: options.fulfillmentChannelCode ?? 'DEFAULT',
      rejection: null,
      history: [{ at: this.now(), quantity }],
    });
    return sku;
  }

  listing(
    sku: string,
  ):
    | { quantity: number; fulfillmentChannelCode: string; history: readonly { at: number; quantity: number }[] }
    | undefined {
    const listing = this.listings.get(sku);
    return (
      listing && {
        quantity: listing.quantity,
        fulfillmentChannelCode: listing.fulfillmentChannelCode,
        history: listing.history,
      }
    );
  }

  /** Amazon accepts submissions for this SKU, then rejects them with this issue (not applied). */
  rejectSku(
    sku: string,
    issue = { code: '90220', message: "'[batteries_required]' is required but not supplied." },
  ): void {
    const listing = this.listings.get(sku);
    if (listing) listing.rejection = issue;
  }

  /** Someone changes the quantity in Seller Central, behind onhand's back. */
  editOutOfBand(sku: string, quantity: number): void {
    const listing = this.listings.get(sku);
    if (!listing) throw new Error(`no listing ${sku}`);
    this.setQuantity(listing, quantity);
  }

  /** Units of a seller SKU in Amazon's fulfilment network (fulfillable; seeded or restocked). */
  seedFbaInventory(sku: string, fulfillable: number): void {
    const stock = this.fba.get(sku);
    if (stock) {
      stock.fulfillable = fulfillable;
      this.fbaTouch(stock);
    } else
      this.fba.set(sku, {
        fnSku: `X00${String(this.fba.size + 1).padStart(7, '0')}`,
        fulfillable,
        pending: 0,
        lastUpdatedTime: new Date(this.now()).toISOString(),
      });
  }

  /** What the FBA summary of a SKU says now. */
  fbaInventory(sku: string): { fulfillable: number; pending: number; lastUpdatedTime: string } | undefined {
    const stock = this.fba.get(sku);
    return stock && { ...stock };
  }

  private fbaTouch(stock: FbaStock): void {
    const previous = Date.parse(stock.lastUpdatedTime);
    stock.lastUpdatedTime = new Date(Math.max(this.now(), previous + 1)).toISOString();
  }

  /** An AFN order line moves units: fulfillable -> pending (order), pending -> out (ship), back (cancel). */
  private fbaMove(sku: string, move: { fulfillable: number; pending: number }): void {
    const stock = this.fba.get(sku);
    if (!stock) return;
    stock.fulfillable = Math.max(0, stock.fulfillable + move.fulfillable);
    stock.pending = Math.max(0, stock.pending + move.pending);
    this.fbaTouch(stock);
  }

  /** Notifications on (default) or off (a seller without a subscription). */
  setNotifications(on: boolean): void {
    this.notificationsOn = on;
  }

  /** A buyer orders. Pending until paid (`pay`) unless `status: 'Unshipped'`. */
  createOrder(order: {
    items: readonly { sku: string; quantity: number }[];
    fulfillmentChannel?: 'MFN' | 'AFN';
    status?: 'Pending' | 'Unshipped';
  }): { orderId: string; orderItemIds: string[] } {
    const id = this.nextId++;
    const orderId = `${String(200 + (id % 800)).padStart(3, '0')}-${String(id).padStart(7, '0')}-${String(id * 7919)
      .slice(-7)
      .padStart(7, '0')}`;
    const at = this.stamp();
    const items = order.items.map((line, index) => {
      const listing = this.listings.get(line.sku);
      return {
        OrderItemId: `${String(id).padStart(8, '0')}${String(index + 1).padStart(6, '0')}`,
        SellerSKU: line.sku,
        ASIN: listing?.asin ?? 'B000000000',
        QuantityOrdered: line.quantity,
        QuantityShipped: 0,
      };
    });
    const simOrder: SimOrder = {
      AmazonOrderId: orderId,
      PurchaseDate: at,
      LastUpdateDate: at,
      OrderStatus: order.status ?? 'Pending',
      FulfillmentChannel: order.fulfillmentChannel ?? 'MFN',
      items,
    };
    this.orders.set(orderId, simOrder);
    if (simOrder.FulfillmentChannel === 'AFN')
      for (const item of items)
        this.fbaMove(item.SellerSKU, { fulfillable: -item.QuantityOrdered, pending: item.QuantityOrdered });
    if (simOrder.FulfillmentChannel === 'MFN')
      for (const item of items) {
        const listing = this.listings.get(item.SellerSKU);
        if (listing) this.setQuantity(listing, Math.max(0, listing.quantity - item.QuantityOrdered));
      }
    this.orderChanged(simOrder, 'OrderStatusChange');
    return { orderId, orderItemIds: items.map((item) => item.OrderItemId) };
  }

  /** Payment authorised: Pending -> Unshipped. */
  payOrder(orderId: string): void {
    const order = this.order(orderId);
    if (order.OrderStatus !== 'Pending') return;
    order.OrderStatus = 'Unshipped';
    this.touch(order);
  }

  /** `units` of an item ship (all of it by default). */
  shipItem(orderId: string, orderItemId: string, units?: number): void {
    const order = this.order(orderId);
    const item = order.items.find((each) => each.OrderItemId === orderItemId);
    if (!item) throw new Error(`no item ${orderItemId}`);
    const before = item.QuantityShipped;
    item.QuantityShipped = Math.min(item.QuantityOrdered, item.QuantityShipped + (units ?? item.QuantityOrdered));
    if (order.FulfillmentChannel === 'AFN')
      this.fbaMove(item.SellerSKU, { fulfillable: 0, pending: before - item.QuantityShipped });
    const all = order.items.every((each) => each.QuantityShipped >= each.QuantityOrdered);
    order.OrderStatus = all ? 'Shipped' : 'PartiallyShipped';
    this.touch(order);
  }

  /** The order is cancelled (buyer, seller or a failed payment); MFN units go back on sale. */
  cancelOrder(orderId: string): void {
    const order = this.order(orderId);
    if (order.OrderStatus === 'Canceled' || order.OrderStatus === 'Shipped') return;
    order.OrderStatus = 'Canceled';
    if (order.FulfillmentChannel === 'AFN')
      for (const item of order.items) {
        const open = item.QuantityOrdered - item.QuantityShipped;
        this.fbaMove(item.SellerSKU, { fulfillable: open, pending: -open });
      }
    if (order.FulfillmentChannel === 'MFN')
      for (const item of order.items) {
        const listing = this.listings.get(item.SellerSKU);
        if (listing) this.setQuantity(listing, listing.quantity + item.QuantityOrdered - item.QuantityShipped);
      }
    this.touch(order);
  }

  orderStatus(orderId: string): string {
    return this.order(orderId).OrderStatus;
  }

  stats(): AmazonSimulatorStats {
    return structuredClone(this.counters);
  }

  resetStats(): void {
    this.counters = emptyStats();
  }

  // ---- internals --------------------------------------------------------------------------

  private stamp(): string {
    return new Date(this.now()).toISOString();
  }

  private order(orderId: string): SimOrder {
    const order = this.orders.get(orderId);
    if (!order) throw new Error(`no order ${orderId}`);
    return order;
  }

  private touch(order: SimOrder): void {
    // LastUpdateDate strictly grows, even within one millisecond.
    const previous = Date.parse(order.LastUpdateDate);
    order.LastUpdateDate = new Date(Math.max(this.now(), previous + 1)).toISOString();
    this.orderChanged(order, 'OrderStatusChange');
  }

  private setQuantity(listing: Listing, quantity: number): void {
    listing.history.push({ at: this.now(), quantity });
    if (listing.history.length > historyMax) listing.history.shift();
    if (listing.quantity === quantity) return;
    listing.quantity = quantity;
    if (!this.notificationsOn || listing.fulfillmentChannelCode !== 'DEFAULT') return;
    this.notifications.publish(
      this.envelope('LISTINGS_ITEM_MFN_QUANTITY_CHANGE', {
        SellerId: this.sellerId,
        FulfillmentChannelCode: 'DEFAULT',
        Sku: listing.sku,
        Quantity: quantity,
      }),
    );
  }

  private orderChanged(order: SimOrder, changeType: string): void {
    if (!this.notificationsOn) return;
    this.notifications.publish(
      this.envelope('ORDER_CHANGE', {
        OrderChangeNotification: {
          NotificationLevel: 'OrderLevel',
          SellerId: this.sellerId,
          AmazonOrderId: order.AmazonOrderId,
          OrderChangeType: changeType,
          OrderChangeTrigger: { TimeOfOrderChange: order.LastUpdateDate, ChangeReason: 'OrderStatusChange' },
          Summary: {
            MarketplaceId: this.marketplaceId,
            OrderStatus: order.OrderStatus,
            PurchaseDate: order.PurchaseDate,
            FulfillmentType: order.FulfillmentChannel,
            OrderType: 'StandardOrder',
            NumberOfItemsShipped: order.items.reduce((sum, item) => sum + item.QuantityShipped, 0),
            NumberOfItemsUnshipped: order.items.reduce(
              (sum, item) => sum + item.QuantityOrdered - item.QuantityShipped,
              0,
            ),
            OrderItems: order.items.map((item) => ({
              OrderItemId: item.OrderItemId,
              SellerSKU: item.SellerSKU,
              OrderItemStatus: item.QuantityShipped >= item.QuantityOrdered ? 'Shipped' : 'Unshipped',
              Quantity: item.QuantityOrdered,
              QuantityShipped: item.QuantityShipped,
            })),
          },
        },
      }),
    );
  }

  private envelope(type: string, payload: unknown) {
    const at = this.stamp();
    return {
      NotificationVersion: '1.0',
      NotificationType: type,
      PayloadVersion: '1.0',
      EventTime: at,
      Payload: payload,
      NotificationMetadata: {
        ApplicationId: this.clientId,
        SubscriptionId: `sub-${type.toLowerCase()}`,
        PublishTime: at,
        NotificationId: `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(6).toString('hex')}`,
      },
    };
  }

  /** Takes a token of the operation's bucket; false when empty. */
  private take(operation: AmazonOperation): boolean {
    const plan = this.plans[operation];
    const now = this.now();
    const bucket = this.buckets.get(operation) ?? { tokens: plan.burst, at: now };
    bucket.tokens = Math.min(plan.burst, bucket.tokens + ((now - bucket.at) / 1000) * plan.rate);
    bucket.at = now;
    this.buckets.set(operation, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private route(method: string, path: string): { operation: AmazonOperation; params: string[] } | null {
    const rules: [string, RegExp, AmazonOperation][] = [
      ['PATCH', /^\/listings\/2021-08-01\/items\/([^/]+)\/([^/]+)$/, 'patchListingsItem'],
      ['GET', /^\/listings\/2021-08-01\/items\/([^/]+)\/([^/]+)$/, 'getListingsItem'],
      ['GET', /^\/listings\/2021-08-01\/items\/([^/]+)$/, 'searchListingsItems'],
      ['POST', /^\/feeds\/2021-06-30\/documents$/, 'createFeedDocument'],
      ['GET', /^\/feeds\/2021-06-30\/documents\/([^/]+)$/, 'getFeedDocument'],
      ['POST', /^\/feeds\/2021-06-30\/feeds$/, 'createFeed'],
      ['GET', /^\/feeds\/2021-06-30\/feeds\/([^/]+)$/, 'getFeed'],
      ['GET', /^\/orders\/v0\/orders$/, 'getOrders'],
      ['GET', /^\/orders\/v0\/orders\/([^/]+)$/, 'getOrder'],
      ['GET', /^\/orders\/v0\/orders\/([^/]+)\/orderItems$/, 'getOrderItems'],
      ['GET', /^\/fba\/inventory\/v1\/summaries$/, 'getInventorySummaries'],
    ];
    for (const [ruleMethod, pattern, operation] of rules) {
      if (ruleMethod !== method) continue;
      const match = pattern.exec(path);
      if (match) return { operation, params: match.slice(1).map((part) => decodeURIComponent(part)) };
    }
    return null;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sim');
    const text = await readBody(request);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    let answer: Answer;
    let rate: number | null = null;
    if (url.pathname === '/auth/o2/token') answer = this.token(request.method ?? '', text);
    else if (url.pathname.startsWith('/_documents/'))
      answer = this.document(request.method ?? '', url.pathname.slice(12), text);
    else {
      const route = this.route(request.method ?? '', url.pathname);
      if (route === null) answer = errors(404, 'NotFound', `no operation ${request.method} ${url.pathname}`);
      else {
        rate = this.plans[route.operation].rate;
        answer = this.api(route.operation, route.params, url, request, text);
      }
    }
    if (answer === 'drop') {
      this.counters.lostAnswers++;
      response.destroy();
      return;
    }
    const headers: Record<string, string> = { 'content-type': answer.contentType ?? 'application/json' };
    if (rate !== null) headers['x-amzn-ratelimit-limit'] = String(rate);
    headers['x-amzn-requestid'] = randomBytes(8).toString('hex');
    response.writeHead(answer.status, headers);
    response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  }

  private token(method: string, text: string): Answer {
    this.counters.tokenRequests++;
    if (this.faults.tokenFailuresNext > 0) {
      this.faults.tokenFailuresNext--;
      return { status: 503, body: { error: 'temporarily_unavailable' } };
    }
    if (method !== 'POST') return { status: 400, body: { error: 'invalid_request' } };
    const form = new URLSearchParams(text);
    if (form.get('grant_type') !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type' } };
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    if (form.get('refresh_token') !== this.refreshToken)
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter' },
      };
    const token = `Atza|${randomBytes(24).toString('base64url')}`;
    this.accessTokens.set(token, this.now() + this.tokenLifetimeSeconds * 1000);
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'bearer',
        expires_in: this.tokenLifetimeSeconds,
        refresh_token: this.refreshToken,
      },
    };
  }

  private document(method: string, id: string, text: string): Answer {
    const document = this.documents.get(id);
    if (!document)
      return { status: 404, body: '<Error><Code>NoSuchKey</Code></Error>', contentType: 'application/xml' };
    if (method === 'PUT') {
      document.content = text;
      return { status: 200, body: '', contentType: 'text/plain' };
    }
    if (method === 'GET' && document.content !== null) return { status: 200, body: document.content };
    return { status: 403, body: '<Error><Code>AccessDenied</Code></Error>', contentType: 'application/xml' };
  }

  private api(operation: AmazonOperation, params: string[], url: URL, request: IncomingMessage, text: string): Answer {
    this.counters.requests[operation] = (this.counters.requests[operation] ?? 0) + 1;
    const token = request.headers['x-amz-access-token'];
    const expiresAt = typeof token === 'string' ? this.accessTokens.get(token) : undefined;
    if (expiresAt === undefined || expiresAt <= this.now()) {
      this.counters.unauthorized++;
      return errors(
        403,
        'Unauthorized',
        expiresAt === undefined
          ? 'Access to requested resource is denied.'
          : 'The access token you provided has expired.',
      );
    }
    if (this.faults.throttleNext > 0) {
      this.faults.throttleNext--;
      this.counters.throttled++;
      return errors(429, 'QuotaExceeded', 'You exceeded your quota for the requested resource.');
    }
    if (!this.take(operation)) {
      this.counters.throttled++;
      this.counters.rateLimitViolations++;
      return errors(429, 'QuotaExceeded', 'You exceeded your quota for the requested resource.');
    }
    if (this.faults.serverErrorsNext > 0) {
      this.faults.serverErrorsNext--;
      return errors(503, 'ServiceUnavailable', 'Service temporarily unavailable.');
    }
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return errors(400, 'InvalidInput', 'The request body is not JSON.');
      }
    }
    const answer = this.operate(operation, params, url, body);
    if (
      answer !== 'drop' &&
      answer.status < 300 &&
      operation !== 'getOrders' &&
      this.faults.loseAnswersNext > 0 &&
      request.method !== 'GET'
    ) {
      this.faults.loseAnswersNext--;
      return 'drop';
    }
    return answer;
  }

  private operate(operation: AmazonOperation, params: string[], url: URL, body: unknown): Answer {
    const sellerOk = params[0] === undefined || params[0] === this.sellerId || !operation.includes('Listings');
    if (!sellerOk) return errors(403, 'Unauthorized', 'The seller id does not match the access token.');
    switch (operation) {
      case 'patchListingsItem':
        return this.patch(params[1]!, body);
      case 'getListingsItem': {
        const listing = this.listings.get(params[1]!);
        return listing
          ? { status: 200, body: this.itemView(listing) }
          : errors(404, 'NOT_FOUND', `SKU '${params[1]}' not found`);
      }
      case 'searchListingsItems': {
        const identifiers = (url.searchParams.get('identifiers') ?? '').split(',').filter((each) => each !== '');
        if (identifiers.length > 20) return errors(400, 'InvalidInput', 'identifiers: at most 20');
        if (url.searchParams.get('identifiersType') !== 'SKU' && identifiers.length > 0)
          return errors(400, 'InvalidInput', 'identifiersType is required with identifiers');
        const items = identifiers.flatMap((sku) => {
          const listing = this.listings.get(sku);
          return listing ? [this.itemView(listing)] : [];
        });
        return { status: 200, body: { numberOfResults: items.length, items } };
      }
      case 'createFeedDocument': {
        const id = `amzn1.tortuga.4.eu.${randomBytes(8).toString('hex')}`;
        this.documents.set(id, { content: null });
        return { status: 201, body: { feedDocumentId: id, url: `${this.url}/_documents/${id}` } };
      }
      case 'createFeed': {
        const spec = body as { feedType?: unknown; inputFeedDocumentId?: unknown; marketplaceIds?: unknown };
        if (spec?.feedType !== 'JSON_LISTINGS_FEED')
          return errors(400, 'InvalidInput', 'feedType: only JSON_LISTINGS_FEED here');
        if (
          typeof spec.inputFeedDocumentId !== 'string' ||
          this.documents.get(spec.inputFeedDocumentId)?.content == null
        )
          return errors(400, 'InvalidInput', 'inputFeedDocumentId: no uploaded document');
        const feedId = String(50_000_000_000 + this.nextId++);
        this.feeds.set(feedId, {
          feedId,
          inputDocumentId: spec.inputFeedDocumentId,
          createdAt: this.now(),
          resultDocumentId: null,
        });
        this.counters.feedsCreated++;
        return { status: 202, body: { feedId } };
      }
      case 'getFeed': {
        const feed = this.feeds.get(params[0]!);
        if (!feed) return errors(404, 'NotFound', `feed ${params[0]} not found`);
        const age = this.now() - feed.createdAt;
        const done = age >= this.feedProcessingMs;
        if (done && feed.resultDocumentId === null) this.processFeed(feed);
        return {
          status: 200,
          body: {
            feedId: feed.feedId,
            feedType: 'JSON_LISTINGS_FEED',
            marketplaceIds: [this.marketplaceId],
            createdTime: new Date(feed.createdAt).toISOString(),
            processingStatus: done ? 'DONE' : age >= this.feedProcessingMs / 2 ? 'IN_PROGRESS' : 'IN_QUEUE',
            ...(done ? { resultFeedDocumentId: feed.resultDocumentId } : {}),
          },
        };
      }
      case 'getFeedDocument': {
        const id = params[0]!;
        if (!this.documents.has(id)) return errors(404, 'NotFound', `document ${id} not found`);
        return { status: 200, body: { feedDocumentId: id, url: `${this.url}/_documents/${id}` } };
      }
      case 'getInventorySummaries':
        return this.inventorySummaries(url);
      case 'getOrders':
        return this.getOrders(url);
      case 'getOrder': {
        const order = this.orders.get(params[0]!);
        if (!order) return errors(404, 'NotFound', `order ${params[0]} not found`);
        return { status: 200, body: { payload: this.orderView(order) } };
      }
      case 'getOrderItems': {
        const order = this.orders.get(params[0]!);
        if (!order) return errors(404, 'NotFound', `order ${params[0]} not found`);
        const start = Number(url.searchParams.get('NextToken') ?? '0');
        const page = order.items.slice(start, start + this.orderItemsPageSize);
        const next =
          start + this.orderItemsPageSize < order.items.length ? String(start + this.orderItemsPageSize) : null;
        return {
          status: 200,
          body: {
            payload: {
              AmazonOrderId: order.AmazonOrderId,
              OrderItems: page.map((item) => ({ ...item })),
              ...(next === null ? {} : { NextToken: next }),
            },
          },
        };
      }
      default:
        return errors(404, 'NotFound', operation);
    }
  }

  private inventorySummaries(url: URL): Answer {
    const query = url.searchParams;
    if (query.get('granularityType') !== 'Marketplace' || query.get('granularityId') !== this.marketplaceId)
      return errors(400, 'InvalidInput', 'granularityType must be Marketplace with the marketplace id');
    if (!(query.get('marketplaceIds') ?? '').split(',').includes(this.marketplaceId))
      return errors(400, 'InvalidInput', 'marketplaceIds must name the marketplace');
    const listed = (query.get('sellerSkus') ?? '').split(',').filter((sku) => sku !== '');
    if (listed.length > 50) return errors(400, 'InvalidInput', 'sellerSkus takes up to 50 SKUs');
    const skus = (listed.length > 0 ? listed : [...this.fba.keys()]).filter((sku) => this.fba.has(sku));
    const token = query.get('nextToken');
    const start = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString());
    if (!Number.isInteger(start) || start < 0) return errors(400, 'InvalidInput', 'invalid nextToken');
    const page = skus.slice(start, start + this.inventoryPageSize);
    const details = query.get('details') === 'true';
    const next = start + page.length;
    return {
      status: 200,
      body: {
        payload: {
          granularity: { granularityType: 'Marketplace', granularityId: this.marketplaceId },
          inventorySummaries: page.map((sku) => {
            const stock = this.fba.get(sku)!;
            return {
              asin: this.listings.get(sku)?.asin ?? 'B000000000',
              fnSku: stock.fnSku,
              sellerSku: sku,
              condition: 'NewItem',
              lastUpdatedTime: stock.lastUpdatedTime,
              productName: sku,
              totalQuantity: stock.fulfillable + stock.pending,
              ...(details
                ? {
                    inventoryDetails: {
                      fulfillableQuantity: stock.fulfillable,
                      reservedQuantity: {
                        totalReservedQuantity: stock.pending,
                        pendingCustomerOrderQuantity: stock.pending,
                      },
                    },
                  }
                : {}),
            };
          }),
        },
        ...(next < skus.length ? { pagination: { nextToken: Buffer.from(String(next)).toString('base64url') } } : {}),
      },
    };
  }

  private patch(sku: string, body: unknown): Answer {
    const submissionId = randomBytes(16).toString('hex');
    const request = body as { productType?: unknown; patches?: { op?: unknown; path?: unknown; value?: unknown }[] };
    const invalid = (code: string, message: string) => ({
      status: 200,
      body: {
        sku,
        status: 'INVALID',
        submissionId,
        issues: [{ code, message, severity: 'ERROR', attributeNames: [] }],
      },
    });
    if (typeof request?.productType !== 'string' || !Array.isArray(request.patches) || request.patches.length === 0)
      return errors(400, 'InvalidInput', 'productType and patches are required');
    const listing = this.listings.get(sku);
    if (!listing) return invalid('4000001', `The SKU '${sku}' does not exist for this seller.`);
    const quantity = quantityOf(request.patches);
    if (quantity === null)
      return invalid('90244', 'fulfillment_availability: expected one DEFAULT entry with an integer quantity >= 0');
    if (listing.rejection !== null)
      return {
        status: 200,
        body: {
          sku,
          status: 'ACCEPTED',
          submissionId,
          issues: [{ ...listing.rejection, severity: 'ERROR', attributeNames: ['fulfillment_availability'] }],
        },
      };
    this.setQuantity(listing, quantity);
    this.counters.patchesApplied++;
    return { status: 200, body: { sku, status: 'ACCEPTED', submissionId, issues: [] } };
  }

  private processFeed(feed: SimFeed): void {
    const input = this.documents.get(feed.inputDocumentId)?.content ?? '';
    const issues: unknown[] = [];
    let messages: {
      messageId?: unknown;
      sku?: unknown;
      operationType?: unknown;
      productType?: unknown;
      patches?: unknown;
    }[] = [];
    try {
      const parsed = JSON.parse(input) as { messages?: typeof messages };
      messages = Array.isArray(parsed.messages) ? parsed.messages : [];
    } catch {
      issues.push({ messageId: 0, code: '100001', severity: 'ERROR', message: 'The feed document is not JSON.' });
    }
    let accepted = 0;
    for (const message of messages) {
      const sku = String(message.sku);
      const issue = (code: string, text: string) =>
        issues.push({ messageId: message.messageId, sku, code, severity: 'ERROR', message: text });
      const listing = this.listings.get(sku);
      const quantity = Array.isArray(message.patches)
        ? quantityOf(message.patches as { op?: unknown; path?: unknown; value?: unknown }[])
        : null;
      if (message.operationType !== 'PATCH' || typeof message.productType !== 'string')
        issue('4000003', 'PATCH with productType expected');
      else if (!listing) issue('4000001', `The SKU '${sku}' does not exist for this seller.`);
      else if (quantity === null) issue('90244', 'fulfillment_availability: expected a DEFAULT quantity');
      else if (listing.rejection !== null) issue(listing.rejection.code, listing.rejection.message);
      else {
        this.setQuantity(listing, quantity);
        this.counters.patchesApplied++;
        accepted++;
      }
    }
    const reportId = `amzn1.tortuga.4.eu.${randomBytes(8).toString('hex')}`;
    this.documents.set(reportId, {
      content: JSON.stringify({
        header: { sellerId: this.sellerId, version: '2.0', feedId: feed.feedId },
        issues,
        summary: {
          errors: issues.length,
          warnings: 0,
          messagesProcessed: messages.length,
          messagesAccepted: accepted,
          messagesInvalid: messages.length - accepted,
        },
      }),
    });
    feed.resultDocumentId = reportId;
  }

  private itemView(listing: Listing) {
    return {
      sku: listing.sku,
      summaries: [
        { marketplaceId: this.marketplaceId, asin: listing.asin, productType: 'PRODUCT', status: ['BUYABLE'] },
      ],
      fulfillmentAvailability: [
        listing.fulfillmentChannelCode === 'DEFAULT'
          ? { fulfillmentChannelCode: 'DEFAULT', quantity: listing.quantity }
          : { fulfillmentChannelCode: listing.fulfillmentChannelCode },
      ],
    };
  }

  private orderView(order: SimOrder) {
    return {
      AmazonOrderId: order.AmazonOrderId,
      PurchaseDate: order.PurchaseDate,
      LastUpdateDate: order.LastUpdateDate,
      OrderStatus: order.OrderStatus,
      FulfillmentChannel: order.FulfillmentChannel,
      MarketplaceId: this.marketplaceId,
      NumberOfItemsShipped: order.items.reduce((sum, item) => sum + item.QuantityShipped, 0),
      NumberOfItemsUnshipped: order.items.reduce((sum, item) => sum + item.QuantityOrdered - item.QuantityShipped, 0),
    };
  }

  private getOrders(url: URL): Answer {
    const token = url.searchParams.get('NextToken');
    let after: number;
    let offset = 0;
    let pageSize: number;
    if (token !== null) {
      try {
        const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
          after: number;
          offset: number;
          size: number;
        };
        after = parsed.after;
        offset = parsed.offset;
        pageSize = parsed.size;
      } catch {
        return errors(400, 'InvalidInput', 'Invalid NextToken');
      }
    } else {
      if (!url.searchParams.get('MarketplaceIds')) return errors(400, 'InvalidInput', 'MarketplaceIds is required');
      const raw = url.searchParams.get('LastUpdatedAfter');
      if (raw === null || Number.isNaN(Date.parse(raw)))
        return errors(400, 'InvalidInput', 'Either CreatedAfter or LastUpdatedAfter must be specified');
      after = Date.parse(raw);
      pageSize = Math.min(
        this.ordersPageSizeMax,
        Math.max(1, Number(url.searchParams.get('MaxResultsPerPage') ?? '100')),
      );
    }
    const matching = [...this.orders.values()]
      .filter((order) => Date.parse(order.LastUpdateDate) >= after)
      .sort(
        (a, b) =>
          Date.parse(a.LastUpdateDate) - Date.parse(b.LastUpdateDate) || a.AmazonOrderId.localeCompare(b.AmazonOrderId),
      );
    const page = matching.slice(offset, offset + pageSize);
    const more = offset + pageSize < matching.length;
    return {
      status: 200,
      body: {
        payload: {
          Orders: page.map((order) => this.orderView(order)),
          ...(more
            ? {
                NextToken: Buffer.from(JSON.stringify({ after, offset: offset + pageSize, size: pageSize })).toString(
                  'base64url',
                ),
              }
            : {}),
        },
      },
    };
  }
}

function quantityOf(patches: readonly { op?: unknown; path?: unknown; value?: unknown }[]): number | null {
  const patch = patches.find((each) => each.path === '/attributes/fulfillment_availability');
  if (!patch || (patch.op !== 'replace' && patch.op !== 'merge' && patch.op !== 'add') || !Array.isArray(patch.value))
    return null;
  const entry = (patch.value as { fulfillment_channel_code?: unknown; quantity?: unknown }[]).find(
    (each) => each.fulfillment_channel_code === 'DEFAULT',
  );
  return entry && Number.isInteger(entry.quantity) && (entry.quantity as number) >= 0
    ? (entry.quantity as number)
    : null;
}

function errors(status: number, code: string, message: string): Answer {
  return { status, body: { errors: [{ code, message }] } };
}

function emptyStats(): AmazonSimulatorStats {
  return {
    requests: {},
    rateLimitViolations: 0,
    throttled: 0,
    tokenRequests: 0,
    unauthorized: 0,
    lostAnswers: 0,
    feedsCreated: 0,
    patchesApplied: 0,
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > bodyBytesMax) request.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
