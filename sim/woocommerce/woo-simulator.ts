/**
 * A local WooCommerce shop (REST API v3 under /wp-json/wc/v3), a real HTTP(S) server on
 * loopback, built from WooCommerce's REST docs and class-wc-webhook.php as
 * docs/channels/woocommerce.md lists them. The connector conformance suite runs
 * WooCommerceConnector against it.
 *
 * What it reproduces:
 * - Authentication: over HTTPS (option `tls`), HTTP Basic with the consumer key and secret; over
 *   plain HTTP only OAuth 1.0a one-legged query signatures (HMAC-SHA1 or -SHA256, key
 *   `secret&`), timestamps within 15 minutes, a nonce used once. Basic over plain HTTP is ignored
 *   as WooCommerce ignores it: 401 `woocommerce_rest_cannot_view`.
 * - Products and variations: list (per_page <= 100, page, include, orderby=id, X-WP-Total and
 *   X-WP-TotalPages), read, and the batch endpoints `POST /products/batch` and
 *   `POST /products/<id>/variations/batch` (`update` only): more than 100 items -> 413
 *   `woocommerce_rest_request_entity_too_large`; an unknown id -> that entry is
 *   `{id, error: {code: woocommerce_rest_product_invalid_id, message, data: {status: 400}}}`
 *   inside a 200 answer; an unknown parent -> 404.
 * - Orders: list (`modified_after` with `dates_are_gmt`, `orderby=modified|id|date`, order,
 *   paging; trash only with `status=trash`), read (trash too), refunds of an order; WooCommerce's
 *   stock rules on status changes and refunds (woo-shop.ts).
 * - Every body is PHP JSON (`\/`, `\uXXXX`); order bodies send some numbers as strings.
 * - The HOST's limits, which WooCommerce itself has not: at most `requestsPerSecond` requests in
 *   any sliding second and `concurrency` in flight; beyond them 429 (rate) or 503 (workers) with
 *   `Retry-After: 1`. It COUNTS these violations, and requests that arrive before a Retry-After
 *   it gave has elapsed, so a test can require zero.
 * - Webhooks: subscriptions per topic (order.created, order.updated, order.deleted,
 *   order.restored), delivered in the background as WooCommerce does: signed body, the X-WC-*
 *   headers, NO retry, the webhook disabled after more than 5 failures in a row; the ping
 *   (`webhook_id=<id>`, unsigned, form-encoded) when a webhook is added.
 * - Faults: added latency, the next N answers 5xx, 429 storms (next N answers 429 with a
 *   Retry-After), a write that lands but whose answer is lost (the socket is destroyed), item
 *   errors inside a batch (5xx per id), webhook deliveries lost, and edits made in the shop's
 *   admin behind onhand's back (`editStock`, orders).
 *
 * Not reproduced: creating or deleting products, prices, the rest of the order fields, the
 * Store API, Action Scheduler's delays (deliveries start at once), WordPress's own cookie auth.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { orderStatuses, phpJson, type SimOrder, type SimProduct, type SimVariation, WooShop } from './woo-shop.js';

export { phpJson } from './woo-shop.js';

export interface WooSimulatorOptions {
  consumerKey?: string;
  consumerSecret?: string;
  /** Serve HTTPS with this key and certificate (Basic auth); plain HTTP (OAuth 1.0a) without. */
  tls?: { key: string; cert: string };
  /** The host's limits. @default 10 per second, 4 in flight */
  hostLimits?: { requestsPerSecond: number; concurrency: number };
  /** Clock of the shop (order dates). @default Date.now */
  now?: () => number;
  /** First post id handed out. @default 100 */
  firstId?: number;
  /** Send webhooks in PHP's mixed encoding (some numbers as strings). @default true */
  mixedNumbers?: boolean;
  /** Items a batch takes (the woocommerce_rest_batch_items_limit filter a host may lower). @default 100 */
  batchItemsMax?: number;
  /** A proxy in front that drops X-WP-Total and X-WP-TotalPages. @default false */
  dropPagingHeaders?: boolean;
}

export interface WooSimulatorFaults {
  latencyMs: number;
  /** The next N API answers are 5xx (500, 502 alternating). */
  next5xx: number;
  /** The next N API answers are 429 with Retry-After `storm429RetryAfterS` (not counted as violations). */
  storm429: number;
  storm429RetryAfterS: number;
  /** The next N writes are applied, then their answer is lost (socket destroyed). */
  loseNextAnswers: number;
  /** Product or variation ids whose batch entries fail with a 500 item error. */
  failItems: Set<number>;
  /** The next N webhook deliveries are lost on the way (counted as failures by the shop). */
  dropWebhooks: number;
}

export interface WooSimulatorStats {
  requests: number;
  unauthorized: number;
  /** 429/503 the client caused by exceeding the host's limits, plus requests sent during a Retry-After. */
  rateLimitViolations: number;
  /** The violations by kind: over the rate, over the workers, during a Retry-After. */
  violations: { rate: number; workers: number; retryAfter: number };
  batchCalls: number;
  batchItems: number;
  largestBatch: number;
  oversizedBatches: number;
  webhooksDelivered: number;
  webhooksFailed: number;
  webhooksDropped: number;
  pings: number;
}

export interface WooWebhook {
  id: number;
  topic: string;
  deliveryUrl: string;
  secret: string;
  status: 'active' | 'disabled';
  failureCount: number;
}

const noFaults = (): WooSimulatorFaults => ({
  latencyMs: 0,
  next5xx: 0,
  storm429: 0,
  storm429RetryAfterS: 1,
  loseNextAnswers: 0,
  failItems: new Set(),
  dropWebhooks: 0,
});

const emptyStats = (): WooSimulatorStats => ({
  requests: 0,
  unauthorized: 0,
  rateLimitViolations: 0,
  violations: { rate: 0, workers: 0, retryAfter: 0 },
  batchCalls: 0,
  batchItems: 0,
  largestBatch: 0,
  oversizedBatches: 0,
  webhooksDelivered: 0,
  webhooksFailed: 0,
  webhooksDropped: 0,
  pings: 0,
});

const apiPrefix = '/wp-json/wc/v3';
const bodyBytesMax = 4 * 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class Answer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const wcError = (status: number, code: string, message: string) =>
  new Answer(status, { code, message, data: { status } });

/** RFC 3986 percent-encoding, written out (not shared with the connector, so a bug is not mirrored). */
function percent(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export class WooSimulator {
  readonly shop: WooShop;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  private readonly options: WooSimulatorOptions;
  private readonly now: () => number;
  private faults: WooSimulatorFaults = noFaults();
  private counters: WooSimulatorStats = emptyStats();
  private readonly sent: number[] = [];
  private inFlight = 0;
  private retryAfterUntil = 0;
  private readonly nonces = new Map<string, number>();
  private readonly webhooks: WooWebhook[] = [];
  /** Every stock write through the API, per external id, with its time (the bench reads it). */
  private readonly writes = new Map<string, { at: number; amount: number }[]>();
  private nextWebhookId = 1;
  private deliveries: Promise<void> = Promise.resolve();
  private server: Server | null = null;
  private baseUrl: string | null = null;

  constructor(options: WooSimulatorOptions = {}) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.consumerKey = options.consumerKey ?? 'ck_onhand_sim';
    this.consumerSecret = options.consumerSecret ?? 'cs_onhand_sim';
    this.shop = new WooShop(this.now, options.firstId ?? 100);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  async start(): Promise<string> {
    if (this.baseUrl !== null) return this.baseUrl;
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        } else response.destroy();
      });
    };
    const server = this.options.tls ? createHttpsServer(this.options.tls, handler) : createHttpServer(handler);
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    await this.deliveries;
    const server = this.server;
    if (server === null) return;
    this.server = null;
    this.baseUrl = null;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  get url(): string {
    if (this.baseUrl === null) throw new Error('WooSimulator not started');
    return this.baseUrl;
  }

  // ---- test helpers (not WooCommerce's API) -------------------------------------------------

  setFaults(faults: Partial<WooSimulatorFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  stats(): WooSimulatorStats {
    return { ...this.counters, violations: { ...this.counters.violations } };
  }

  /** A simple product with managed stock; returns its external id (`<product id>`). */
  seedProduct(input: { sku: string; quantity?: number | null; id?: number }): string {
    return String(this.shop.addProduct({ quantity: 0, ...input }).id);
  }

  /** A variable product; returns the external ids of its variations (`<product id>/<variation id>`). */
  seedVariableProduct(input: {
    sku: string;
    variations: readonly { sku: string; quantity?: number | null; id?: number }[];
    id?: number;
  }): string[] {
    const { product, variations } = this.shop.addVariableProduct(input);
    return variations.map((variation) => `${product.id}/${variation.id}`);
  }

  private holderOf(externalId: string): SimProduct | SimVariation {
    const [productId, variationId] = externalId.split('/').map(Number);
    const holder = this.shop.holder(productId!, variationId ?? 0);
    if (holder === undefined) throw new Error(`no item ${externalId}`);
    return holder;
  }

  /** What the shop shows for an item: stock_quantity (null when not managed). */
  stockOf(externalId: string): number | null {
    const holder = this.holderOf(externalId);
    return holder.manageStock ? holder.stockQuantity : null;
  }

  /** The stock writes the API took for an item, oldest first. */
  stockHistory(externalId: string): readonly { at: number; amount: number }[] {
    return this.writes.get(externalId) ?? [];
  }

  /** Someone edits the stock in wp-admin. */
  editStock(externalId: string, quantity: number): void {
    this.shop.setStock(this.holderOf(externalId), quantity);
  }

  /** A customer checks out: the order is created with `status` (processing by default) and the webhooks fire. */
  createOrder(input: { lines: readonly { externalId: string; quantity: number }[]; status?: string }): SimOrder {
    const order = this.shop.createOrder({
      lines: input.lines.map((line) => {
        const [productId, variationId] = line.externalId.split('/').map(Number);
        return { productId: productId!, variationId: variationId ?? 0, quantity: line.quantity };
      }),
      ...(input.status ? { status: input.status } : {}),
    });
    this.fire('order.created', order);
    return order;
  }

  setOrderStatus(orderId: number, status: string): SimOrder {
    if (!orderStatuses.includes(status)) throw new Error(`status ${status}`);
    const order = this.shop.setStatus(orderId, status);
    this.fire('order.updated', order);
    return order;
  }

  refundOrder(orderId: number, lines: readonly { lineId: number; quantity: number }[], restock = true): void {
    this.shop.refund(orderId, lines, restock);
    this.fire('order.updated', this.shop.order(orderId));
  }

  trashOrder(orderId: number): void {
    const order = this.shop.trash(orderId);
    this.fire('order.deleted', order);
  }

  restoreOrder(orderId: number, status = 'processing'): void {
    const order = this.shop.restore(orderId, status);
    this.fire('order.restored', order);
  }

  /** A webhook as wp-admin creates one: it is pinged at once (unsigned `webhook_id=<id>`). */
  async addWebhook(input: { topic: string; deliveryUrl: string; secret: string }): Promise<WooWebhook> {
    const webhook: WooWebhook = { id: this.nextWebhookId++, ...input, status: 'active', failureCount: 0 };
    this.webhooks.push(webhook);
    this.counters.pings++;
    await fetch(webhook.deliveryUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'WooCommerce/9.4.0 Hookshot' },
      body: `webhook_id=${webhook.id}`,
      signal: AbortSignal.timeout(60_000),
    })
      .then((response) => response.arrayBuffer())
      .catch(() => undefined);
    return webhook;
  }

  webhookState(id: number): WooWebhook {
    const webhook = this.webhooks.find((each) => each.id === id);
    if (!webhook) throw new Error(`no webhook ${id}`);
    return { ...webhook };
  }

  /** Resolves once every delivery started so far has ended. */
  async settled(): Promise<void> {
    for (let before = this.deliveries; ; before = this.deliveries) {
      await before;
      if (before === this.deliveries) return;
    }
  }

  private fire(topic: string, order: SimOrder): void {
    for (const webhook of this.webhooks) {
      if (webhook.topic !== topic || webhook.status !== 'active') continue;
      const payload =
        topic === 'order.deleted' ? { id: order.id } : this.shop.orderJson(order, this.options.mixedNumbers ?? true);
      const body = phpJson(payload).trim();
      this.deliveries = this.deliveries.then(() => this.deliver(webhook, topic, body));
    }
  }

  private async deliver(webhook: WooWebhook, topic: string, body: string): Promise<void> {
    // Deliveries queued before the webhook was disabled are dropped with it.
    if (webhook.status !== 'active') return;
    let ok = false;
    if (this.faults.dropWebhooks > 0) {
      this.faults.dropWebhooks--;
      this.counters.webhooksDropped++;
    } else {
      const [resource, event] = topic.split('.') as [string, string];
      // WC_Webhook::generate_signature: the secret after wp_specialchars_decode(..., ENT_QUOTES).
      const key = webhook.secret
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#0*39;/g, "'")
        .replace(/&amp;/g, '&');
      const signature = createHmac('sha256', key).update(body).digest('base64');
      try {
        const response = await fetch(webhook.deliveryUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7)',
            'x-wc-webhook-source': `${this.baseUrl ?? 'http://127.0.0.1'}/`,
            'x-wc-webhook-topic': topic,
            'x-wc-webhook-resource': resource,
            'x-wc-webhook-event': event,
            'x-wc-webhook-signature': signature,
            'x-wc-webhook-id': String(webhook.id),
            'x-wc-webhook-delivery-id': createHmac('md5', 'wp')
              .update(`${webhook.id}${Math.floor(this.now() / 1000)}`)
              .digest('hex'),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(60_000),
        });
        await response.arrayBuffer();
        ok = response.status >= 200 && response.status <= 302;
      } catch {
        ok = false;
      }
    }
    if (ok) {
      this.counters.webhooksDelivered++;
      webhook.failureCount = 0;
      return;
    }
    // WC_Webhook::failed_delivery: no retry; disabled once failures exceed the maximum (5).
    this.counters.webhooksFailed++;
    webhook.failureCount++;
    if (webhook.failureCount > 5) webhook.status = 'disabled';
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // The host admits (or refuses) a request when it arrives, before its body is read.
    const now = this.now();
    const url = new URL(request.url ?? '/', 'http://sim');
    const method = request.method ?? 'GET';
    this.counters.requests++;
    const limits = this.options.hostLimits ?? { requestsPerSecond: 10, concurrency: 4 };
    while (this.sent.length > 0 && this.sent[0]! <= now - 1000) this.sent.shift();
    const refuse = (answer: Answer) => {
      request.resume();
      request.on('end', () => this.send(response, answer));
    };
    if (now < this.retryAfterUntil) {
      this.counters.rateLimitViolations++;
      this.counters.violations.retryAfter++;
      return refuse(new Answer(429, { message: 'Too Many Requests' }, { 'retry-after': '1' }));
    }
    if (this.faults.storm429 > 0) {
      this.faults.storm429--;
      this.retryAfterUntil = now + this.faults.storm429RetryAfterS * 1000 - 100;
      return refuse(
        new Answer(429, { message: 'Too Many Requests' }, { 'retry-after': String(this.faults.storm429RetryAfterS) }),
      );
    }
    if (this.sent.length >= limits.requestsPerSecond) {
      this.counters.rateLimitViolations++;
      this.counters.violations.rate++;
      this.retryAfterUntil = now + 900;
      return refuse(new Answer(429, { message: 'Too Many Requests' }, { 'retry-after': '1' }));
    }
    if (this.inFlight >= limits.concurrency) {
      this.counters.rateLimitViolations++;
      this.counters.violations.workers++;
      this.retryAfterUntil = now + 900;
      return refuse(new Answer(503, { message: 'Service Unavailable' }, { 'retry-after': '1' }));
    }
    this.sent.push(now);
    this.inFlight++;
    let raw: string;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > bodyBytesMax) {
          this.inFlight--;
          response.writeHead(413).end();
          return;
        }
        chunks.push(chunk);
      }
      raw = Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      this.inFlight--;
      throw error;
    }
    try {
      if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
      if (this.faults.next5xx > 0) {
        this.faults.next5xx--;
        const status = this.faults.next5xx % 2 === 0 ? 500 : 502;
        return this.send(response, wcError(status, 'internal_server_error', 'There has been a critical error.'));
      }
      const auth = this.authenticate(request, url, method);
      if (auth !== null) {
        this.counters.unauthorized++;
        return this.send(response, auth);
      }
      if (!url.pathname.startsWith(apiPrefix)) return this.send(response, wcError(404, 'rest_no_route', 'No route.'));
      let body: unknown = null;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          return this.send(response, wcError(400, 'rest_invalid_json', 'Invalid JSON body passed.'));
        }
      }
      const answer = this.route(method, url.pathname.slice(apiPrefix.length), url.searchParams, body);
      if (method !== 'GET' && answer.status < 300 && this.faults.loseNextAnswers > 0) {
        this.faults.loseNextAnswers--;
        response.destroy();
        return;
      }
      return this.send(response, answer);
    } finally {
      this.inFlight--;
    }
  }

  private send(response: ServerResponse, answer: Answer): void {
    const text = phpJson(answer.body);
    response.writeHead(answer.status, {
      date: new Date(this.now()).toUTCString(),
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
      ...answer.headers,
    });
    response.end(text);
  }

  /** null when authentic; else the 401 WooCommerce answers. */
  private authenticate(request: IncomingMessage, url: URL, method: string): Answer | null {
    const refused = (message: string) => wcError(401, 'woocommerce_rest_cannot_view', message);
    if (this.options.tls) {
      const header = request.headers.authorization ?? '';
      const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
      if (!match) return refused('Sorry, you cannot list resources.');
      const [key, secret] = Buffer.from(match[1]!, 'base64').toString('utf8').split(':');
      if (key !== this.consumerKey)
        return wcError(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
      if (secret !== this.consumerSecret)
        return wcError(401, 'woocommerce_rest_authentication_error', 'Consumer secret is invalid.');
      return null;
    }
    // Plain HTTP: WooCommerce reads only OAuth 1.0a (a Basic header is not looked at).
    const params = [...url.searchParams.entries()];
    const get = (name: string) => url.searchParams.get(name);
    const method2 = get('oauth_signature_method');
    if (get('oauth_consumer_key') === null || get('oauth_signature') === null)
      return refused('Sorry, you cannot list resources.');
    if (get('oauth_consumer_key') !== this.consumerKey)
      return wcError(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
    if (method2 !== 'HMAC-SHA1' && method2 !== 'HMAC-SHA256')
      return wcError(401, 'woocommerce_rest_authentication_error', 'Invalid signature method.');
    const timestamp = Number(get('oauth_timestamp'));
    const nowS = Math.floor(this.now() / 1000);
    if (!Number.isInteger(timestamp) || Math.abs(nowS - timestamp) > 15 * 60)
      return wcError(401, 'woocommerce_rest_authentication_error', 'Invalid timestamp.');
    const nonce = get('oauth_nonce') ?? '';
    for (const [seen, at] of this.nonces) if (at < nowS - 15 * 60) this.nonces.delete(seen);
    if (nonce === '' || this.nonces.has(nonce))
      return wcError(401, 'woocommerce_rest_authentication_error', 'Invalid nonce - nonce has already been used.');
    const pairs = params
      .filter(([key]) => key !== 'oauth_signature')
      .map(([key, value]) => `${percent(key)}=${percent(value)}`)
      .sort();
    const host = request.headers.host ?? '127.0.0.1';
    const base = [method.toUpperCase(), percent(`http://${host}${url.pathname}`), percent(pairs.join('&'))].join('&');
    const expected = createHmac(method2 === 'HMAC-SHA1' ? 'sha1' : 'sha256', `${this.consumerSecret}&`)
      .update(base)
      .digest();
    const given = Buffer.from(get('oauth_signature') ?? '', 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return wcError(
        401,
        'woocommerce_rest_authentication_error',
        'Invalid signature - provided signature does not match.',
      );
    this.nonces.set(nonce, timestamp);
    return null;
  }

  // ---- routes ---------------------------------------------------------------------------------

  private route(method: string, path: string, query: URLSearchParams, body: unknown): Answer {
    const id = (pattern: RegExp, verb: string): number | null => {
      const match = method === verb ? pattern.exec(path) : null;
      return match ? Number(match[1]) : null;
    };
    if (method === 'GET' && path === '/products') return this.listProducts(query);
    if (method === 'POST' && path === '/products/batch') return this.batch(null, body);
    const productId = id(/^\/products\/(\d+)$/, 'GET');
    if (productId !== null) {
      const product = this.shop.products.get(productId);
      return product
        ? new Answer(200, this.shop.productJson(product))
        : wcError(404, 'woocommerce_rest_product_invalid_id', 'Invalid ID.');
    }
    const listParent = id(/^\/products\/(\d+)\/variations$/, 'GET');
    if (listParent !== null) return this.listVariations(listParent, query);
    const batchParent = id(/^\/products\/(\d+)\/variations\/batch$/, 'POST');
    if (batchParent !== null) return this.batch(batchParent, body);
    if (method === 'GET' && path === '/orders') return this.listOrders(query);
    const orderId = id(/^\/orders\/(\d+)$/, 'GET') ?? id(/^\/orders\/(\d+)\/refunds$/, 'GET');
    if (orderId !== null) {
      const order = this.shop.orders.get(orderId);
      if (!order || order.deleted) return wcError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
      if (!path.endsWith('/refunds')) return new Answer(200, this.shop.orderJson(order, false));
      return new Answer(
        200,
        [...order.refunds].reverse().map((refund) => this.shop.refundJson(refund)),
      );
    }
    return wcError(404, 'rest_no_route', 'No route was found matching the URL and request method.');
  }

  private page<T>(
    items: readonly T[],
    query: URLSearchParams,
  ): Answer | { items: T[]; headers: Record<string, string> } {
    const perPage = Number(query.get('per_page') ?? '10');
    const page = Number(query.get('page') ?? '1');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
      return wcError(400, 'rest_invalid_param', 'Invalid parameter(s): per_page');
    if (!Number.isInteger(page) || page < 1) return wcError(400, 'rest_invalid_param', 'Invalid parameter(s): page');
    const totalPages = Math.ceil(items.length / perPage);
    return {
      items: items.slice((page - 1) * perPage, page * perPage),
      headers: this.options.dropPagingHeaders
        ? {}
        : { 'x-wp-total': String(items.length), 'x-wp-totalpages': String(totalPages) },
    };
  }

  private includeFilter(query: URLSearchParams): Set<number> | null {
    const include = query.get('include');
    return include === null || include === '' ? null : new Set(include.split(',').map(Number));
  }

  private sorted<T extends { id: number }>(items: T[], query: URLSearchParams): T[] {
    const order = query.get('order') ?? 'desc';
    return items.sort((a, b) => (order === 'asc' ? a.id - b.id : b.id - a.id));
  }

  private listProducts(query: URLSearchParams): Answer {
    const include = this.includeFilter(query);
    const products = this.sorted(
      [...this.shop.products.values()].filter((product) => include === null || include.has(product.id)),
      query,
    );
    const paged = this.page(products, query);
    if (paged instanceof Answer) return paged;
    return new Answer(
      200,
      paged.items.map((product) => this.shop.productJson(product)),
      paged.headers,
    );
  }

  private listVariations(productId: number, query: URLSearchParams): Answer {
    const product = this.shop.products.get(productId);
    if (!product) return wcError(404, 'woocommerce_rest_product_invalid_id', 'Invalid ID.');
    const include = this.includeFilter(query);
    const variations = this.sorted(
      product.variations
        .map((id) => this.shop.variations.get(id)!)
        .filter((variation) => include === null || include.has(variation.id)),
      query,
    );
    const paged = this.page(variations, query);
    if (paged instanceof Answer) return paged;
    return new Answer(
      200,
      paged.items.map((variation) => this.shop.variationJson(variation)),
      paged.headers,
    );
  }

  private batch(parentId: number | null, body: unknown): Answer {
    const request = (body ?? {}) as { create?: unknown[]; update?: unknown[]; delete?: unknown[] };
    const count = (request.create?.length ?? 0) + (request.update?.length ?? 0) + (request.delete?.length ?? 0);
    this.counters.batchCalls++;
    const batchItemsMax = this.options.batchItemsMax ?? 100;
    if (count > batchItemsMax) {
      this.counters.oversizedBatches++;
      return wcError(
        413,
        'woocommerce_rest_request_entity_too_large',
        `Unable to accept more than ${batchItemsMax} items for this request.`,
      );
    }
    this.counters.batchItems += count;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, count);
    if (parentId !== null && this.shop.products.get(parentId)?.type !== 'variable')
      return wcError(404, 'woocommerce_rest_product_invalid_id', 'Invalid ID.');
    const update = (request.update ?? []).map((raw) => {
      const entry = (raw ?? {}) as { id?: unknown; manage_stock?: unknown; stock_quantity?: unknown };
      const id = Number(entry.id);
      const itemError = (status: number, code: string, message: string) => ({
        id: Number.isFinite(id) ? id : 0,
        error: { code, message, data: { status } },
      });
      const holder =
        parentId === null
          ? this.shop.products.get(id)
          : this.shop.variations.get(id)?.parentId === parentId
            ? this.shop.variations.get(id)
            : undefined;
      if (holder === undefined)
        return itemError(
          400,
          parentId === null ? 'woocommerce_rest_product_invalid_id' : 'woocommerce_rest_product_variation_invalid_id',
          'Invalid ID.',
        );
      if (this.faults.failItems.has(id)) return itemError(500, 'woocommerce_rest_cannot_update', 'Could not save.');
      if (entry.stock_quantity !== undefined) {
        const quantity = Number(entry.stock_quantity);
        if (!Number.isFinite(quantity))
          return itemError(400, 'rest_invalid_param', 'Invalid parameter(s): stock_quantity');
        // WooCommerce keeps stock_quantity only while it manages the item's stock.
        const manage = entry.manage_stock === undefined ? holder.manageStock : entry.manage_stock === true;
        if (manage) {
          this.shop.setStock(holder, Math.trunc(quantity), true);
          const externalId = parentId === null ? String(id) : `${parentId}/${id}`;
          const list = this.writes.get(externalId) ?? [];
          list.push({ at: this.now(), amount: Math.trunc(quantity) });
          this.writes.set(externalId, list);
        } else holder.manageStock = false;
      }
      return 'parentId' in holder ? this.shop.variationJson(holder) : this.shop.productJson(holder);
    });
    return new Answer(200, { update });
  }

  private listOrders(query: URLSearchParams): Answer {
    const status = query.get('status') ?? 'any';
    const gmtDates = query.get('dates_are_gmt') === 'true';
    const afterText = query.get('modified_after');
    // Without dates_are_gmt WooCommerce reads the date in the site's zone: the sim's site is UTC.
    const after =
      afterText === null ? null : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(afterText) ? afterText : `${afterText}Z`);
    void gmtDates;
    if (after !== null && !Number.isFinite(after))
      return wcError(400, 'rest_invalid_param', 'Invalid parameter(s): modified_after');
    const orderby = query.get('orderby') ?? 'date';
    if (!['date', 'id', 'modified', 'include', 'title', 'slug'].includes(orderby))
      return wcError(400, 'rest_invalid_param', 'Invalid parameter(s): orderby');
    const asc = (query.get('order') ?? 'desc') === 'asc';
    const orders = [...this.shop.orders.values()]
      .filter((order) => !order.deleted)
      .filter((order) => (status === 'any' ? order.status !== 'trash' : status.split(',').includes(order.status)))
      .filter((order) => after === null || order.modifiedAt > after)
      .sort((a, b) => {
        const key = (order: SimOrder) =>
          orderby === 'modified' ? order.modifiedAt : orderby === 'id' ? order.id : order.createdAt;
        const difference = key(a) - key(b) || a.id - b.id;
        return asc ? difference : -difference;
      });
    const paged = this.page(orders, query);
    if (paged instanceof Answer) return paged;
    return new Answer(
      200,
      paged.items.map((order) => this.shop.orderJson(order, false)),
      paged.headers,
    );
  }
}
