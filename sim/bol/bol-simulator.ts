/**
 * A local Bol.com Retailer API: a real HTTP server (port 0) that behaves like bol as the official
 * specs (specs/bol/*.json) and docs/channels/bol.md describe it, small enough to read in one
 * sitting. The connector conformance suite runs BolConnector against it.
 *
 * What it reproduces (in brackets, the heading of docs/channels/bol.md that states the fact; [2nd]
 * marks a figure from a secondary source, [unverified] a shape bol does not document):
 * - OAuth2 client credentials (Authentication): `POST /token?grant_type=client_credentials` with
 *   Basic auth -> `{access_token, token_type: "Bearer", expires_in, scope}`; tokens expire (299 s
 *   by default, configurable so a test sees renewal) and an expired or unknown token gets 401.
 * - Offers API v11 (Push: one PATCH per offer): `PATCH /retailer/offers/{offer-id}`
 *   `{stock: {amount, managedByRetailer}}` -> 204 (optionally visible only after a propagation
 *   delay); `GET` the offer -> `OfferResponse` with `stock {amount, correctedStock,
 *   managedByRetailer}`; unknown offer -> 404 Problem; media type `application/vnd.retailer.v11+json`
 *   only (Media types): a wrong Accept -> 406, a wrong Content-Type -> 415 (codes and wording as in
 *   retailer-api-v10.json's 406/415 answers).
 * - correctedStock (Push: one PATCH per offer; the Stock schema): managedByRetailer=false -> amount
 *   minus ALL open order units; true -> amount minus the units of orders placed AFTER the last
 *   offer update ("open and processed orders", so a shipped unit of such an order still counts).
 *   Never below 0 ("when this reaches 0, your offer will not be for sale").
 * - Orders v10 (Orders in: polling):
 *   `GET /retailer/orders?page&fulfilment-method&status&change-interval-minute` -> `ReducedOrders`,
 *   50 orders a page, `{}` past the last page, change-interval-minute <= 60;
 *   `GET /retailer/orders/{order-id}` -> `Order` (offer id, reference, quantities) or 404.
 * - Rate limits (Rate limits): fixed windows per (client, rule), the numbers of its table
 *   (offers writes 50/s, offer reads 25/s, order list 25/min, order detail 25/s), windows aligned
 *   to multiples of their length; `x-ratelimit-limit/-remaining/-reset` on every answer; over
 *   budget -> 429 Problem with `Retry-After` (seconds). It COUNTS violations (429s the client
 *   caused by overshooting) and requests that arrive before a Retry-After it gave has elapsed.
 * - Errors (Push: one PATCH per offer): `Problem {type: "https://api.bol.com/problems", title,
 *   status, detail, host, instance, violations}`.
 * - Faults per test: added latency, 5xx (rate or next N), 429 storms, lost responses (the write is
 *   applied, then the connection is dropped), token endpoint failures, revoked and denied clients.
 * - Test helpers (not bol's API): seed offers, create/cancel/ship orders, edit stock out of band,
 *   read state and counters.
 *
 * What it does NOT reproduce (What the simulator models): the deprecated v10 offer writes and their
 * ProcessStatus, push subscriptions, `latest-change-date` (accepted, ignored), offer
 * creation/deletion/list, prices, FBB, token scopes, bol's exact 401/403/429 bodies and token error
 * bodies ([unverified]: bol does not publish them; we answer Problem / OAuth2-style `{error}`
 * bodies), IP blocking on token abuse (we only count token requests).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { components as OffersV11 } from '../../src/connectors/bol/generated/offers-v11.js';
import type { components as RetailerV10 } from '../../src/connectors/bol/generated/retailer-v10.js';
import { mulberry32 } from '../prng.js';

type OfferResponse = OffersV11['schemas']['OfferResponse'];
type Problem = RetailerV10['schemas']['Problem'];
type ReducedOrders = RetailerV10['schemas']['ReducedOrders'];
type ReducedOrder = RetailerV10['schemas']['ReducedOrder'];
type Order = RetailerV10['schemas']['Order'];

const mediaV11 = 'application/vnd.retailer.v11+json';
const mediaV10 = 'application/vnd.retailer.v10+json';
const problemType = 'https://api.bol.com/problems';
/** Orders per page of `GET /retailer/orders` (docs/channels/bol.md, Orders in: polling). */
const ordersPageSize = 50;
const requestBodyBytesMax = 64 * 1024;
const requestLogLengthMax = 10_000;
const int32Max = 2_147_483_647;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  { name: 'offers-write', methods: ['PUT', 'PATCH', 'DELETE'], path: /^\/retailer\/offers\/.+$/, capacity: 50, windowMs: 1_000 },
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
}

const noFaults: BolSimulatorFaults = Object.freeze({
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
  /** Admitted requests per rate rule name. */
  requestsByRule: Record<string, number>;
}

export interface BolSimulatorOfferState {
  offerId: string;
  ean: string;
  reference: string | null;
  amount: number;
  correctedStock: number;
  managedByRetailer: boolean;
  /** Stock writes applied to this offer, in order (API and out of band). */
  stockHistory: readonly { at: number; amount: number; source: 'api' | 'out-of-band' }[];
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

interface SimOffer {
  offerId: string;
  ean: string;
  reference: string | null;
  amount: number;
  managedByRetailer: boolean;
  onHoldByRetailer: boolean;
  /** "The last offer update" of the managedByRetailer=true rule. */
  lastUpdateAt: number;
  pending: { applyAt: number; amount: number | undefined; managedByRetailer: boolean | undefined; onHoldByRetailer: boolean | undefined; reference: string | undefined }[];
  stockHistory: { at: number; amount: number; source: 'api' | 'out-of-band' }[];
}

interface SimOrderItem {
  orderItemId: string;
  offerId: string;
  ean: string;
  quantity: number;
  quantityShipped: number;
  quantityCancelled: number;
  cancellationRequest: boolean;
  latestChangedAt: number;
}

interface SimOrder {
  orderId: string;
  placedAt: number;
  items: SimOrderItem[];
}

interface Window {
  start: number;
  count: number;
}

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly contentType: string,
    readonly headers: Record<string, string> = {},
  ) {}
}


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const iso = (ms: number) => new Date(ms).toISOString();

export class BolSimulator {
  private readonly clients = new Map<string, string>();
  private readonly revokedClients = new Set<string>();
  private readonly deniedClients = new Set<string>();
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();
  private readonly offers = new Map<string, SimOffer>();
  private readonly orders = new Map<string, SimOrder>();
  private readonly windows = new Map<string, Window>();
  private readonly retryAfterUntil = new Map<string, { from: number; until: number }>();
  private readonly rules: readonly BolSimulatorRateRule[];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly propagationDelayMs: number;
  private readonly retryAfterGraceMs: number;
  private tokenLifetimeSeconds: number;
  private faults: BolSimulatorFaults = { ...noFaults };
  private counters: BolSimulatorStats = BolSimulator.emptyStats();
  private readonly log: BolSimulatorRequestRecord[] = [];
  private server: Server | null = null;
  private baseUrl: string | null = null;
  private orderSequence = 0;
  private orderItemSequence = 0;

  constructor(options: BolSimulatorOptions = {}) {
    for (const client of options.clients ?? [{ clientId: 'onhand-sim', clientSecret: 'onhand-sim-secret' }]) {
      this.clients.set(client.clientId, client.clientSecret);
    }
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 299;
    this.rules = options.rateRules ?? bolSimulatorRateRules;
    this.propagationDelayMs = options.propagationDelayMs ?? 0;
    this.retryAfterGraceMs = options.retryAfterGraceMs ?? 250;
    this.random = mulberry32(options.seed ?? 1);
    this.now = options.now ?? Date.now;
  }

  private static emptyStats(): BolSimulatorStats {
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
      requestsByRule: {},
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** Starts on 127.0.0.1, port 0; returns the base URL (API paths and `/token` hang off it). */
  async start(): Promise<string> {
    if (this.baseUrl !== null) return this.baseUrl;
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        } else {
          response.destroy();
        }
      });
    });
    // Bol keeps connections alive; so do we, and stop() closes them.
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
    if (this.baseUrl === null) throw new Error('BolSimulator not started');
    return this.baseUrl;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  // ---- test helpers (not bol's API) -----------------------------------------------------

  /** Creates an FBR offer; returns its id (a UUID, as v11 requires). */
  seedOffer(offer: { offerId?: string; ean?: string; reference?: string | null; amount?: number; managedByRetailer?: boolean } = {}): string {
    const offerId = offer.offerId ?? randomUUID();
    const now = this.now();
    this.offers.set(offerId, {
      offerId,
      ean: offer.ean ?? String(8_700_000_000_000 + this.offers.size).padStart(13, '0'),
      reference: offer.reference ?? null,
      amount: offer.amount ?? 0,
      managedByRetailer: offer.managedByRetailer ?? true,
      onHoldByRetailer: false,
      lastUpdateAt: now,
      pending: [],
      stockHistory: [],
    });
    return offerId;
  }

  /** A customer places an order (FBR, all items OPEN). */
  createOrder(order: { items: readonly { offerId: string; quantity: number }[]; placedAt?: number }): { orderId: string; orderItemIds: string[] } {
    const placedAt = order.placedAt ?? this.now();
    const orderId = `A2K${(++this.orderSequence).toString(36).toUpperCase().padStart(7, '0')}`;
    const items = order.items.map((item) => {
      const offer = this.requireOffer(item.offerId);
      if (!Number.isInteger(item.quantity) || item.quantity < 1) throw new Error(`bad quantity ${item.quantity}`);
      return {
        orderItemId: String(2_012_345_678 + ++this.orderItemSequence),
        offerId: offer.offerId,
        ean: offer.ean,
        quantity: item.quantity,
        quantityShipped: 0,
        quantityCancelled: 0,
        cancellationRequest: false,
        latestChangedAt: placedAt,
      } satisfies SimOrderItem;
    });
    this.orders.set(orderId, { orderId, placedAt, items });
    return { orderId, orderItemIds: items.map((item) => item.orderItemId) };
  }

  /** The customer asks to cancel (the item stays OPEN until the retailer cancels it). */
  requestCancellation(orderId: string, orderItemId: string): void {
    const item = this.requireOrderItem(orderId, orderItemId);
    item.cancellationRequest = true;
    item.latestChangedAt = this.now();
  }

  /** The item is cancelled (by the retailer or bol): its open units become cancelled, HANDLED. */
  cancelOrderItem(orderId: string, orderItemId: string): void {
    const item = this.requireOrderItem(orderId, orderItemId);
    item.quantityCancelled = item.quantity - item.quantityShipped;
    item.latestChangedAt = this.now();
  }

  /** The retailer ships the item's open units: HANDLED. */
  shipOrderItem(orderId: string, orderItemId: string): void {
    const item = this.requireOrderItem(orderId, orderItemId);
    item.quantityShipped = item.quantity - item.quantityCancelled;
    item.latestChangedAt = this.now();
  }

  /** Someone edits the stock in bol's seller portal, behind onhand's back. */
  editStockOutOfBand(offerId: string, amount: number): void {
    const offer = this.requireOffer(offerId);
    this.settle(offer);
    offer.amount = amount;
    offer.lastUpdateAt = this.now();
    offer.stockHistory.push({ at: offer.lastUpdateAt, amount, source: 'out-of-band' });
  }

  offerState(offerId: string): BolSimulatorOfferState {
    const offer = this.requireOffer(offerId);
    this.settle(offer);
    return {
      offerId,
      ean: offer.ean,
      reference: offer.reference,
      amount: offer.amount,
      correctedStock: this.correctedStock(offer),
      managedByRetailer: offer.managedByRetailer,
      stockHistory: offer.stockHistory.map((entry) => ({ ...entry })),
    };
  }

  stats(): BolSimulatorStats {
    return { ...this.counters, requestsByRule: { ...this.counters.requestsByRule } };
  }

  requestLog(): readonly BolSimulatorRequestRecord[] {
    return [...this.log];
  }

  resetStats(): void {
    this.counters = BolSimulator.emptyStats();
    this.log.length = 0;
  }

  /** Sets faults for the following requests (unnamed ones keep their values). */
  injectFaults(faults: Partial<BolSimulatorFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  clearFaults(): void {
    this.faults = { ...noFaults };
  }

  /** Changes `expires_in` of tokens issued from now on. */
  setTokenLifetimeSeconds(seconds: number): void {
    this.tokenLifetimeSeconds = seconds;
  }

  /** Credentials withdrawn: token requests get 401 and issued tokens stop working. */
  revokeClient(clientId: string): void {
    this.revokedClients.add(clientId);
  }

  /** Every token issued so far stops working (bol may end a token before expires_in). */
  expireAllTokens(): void {
    for (const entry of this.tokens.values()) entry.expiresAt = Math.min(entry.expiresAt, this.now());
  }

  /** The client's tokens are valid but it may not use the API (403 on every call). */
  denyClient(clientId: string): void {
    this.deniedClients.add(clientId);
  }

  // ---- the model ------------------------------------------------------------------------

  private requireOffer(offerId: string): SimOffer {
    const offer = this.offers.get(offerId);
    if (offer === undefined) throw new Error(`unknown offer ${offerId}`);
    return offer;
  }

  private requireOrderItem(orderId: string, orderItemId: string): SimOrderItem {
    const item = this.orders.get(orderId)?.items.find((candidate) => candidate.orderItemId === orderItemId);
    if (item === undefined) throw new Error(`unknown order item ${orderId}/${orderItemId}`);
    return item;
  }

  /** Applies the PATCHes whose propagation delay has passed (v11 writes may show later). */
  private settle(offer: SimOffer): void {
    const now = this.now();
    while (offer.pending.length > 0 && offer.pending[0]!.applyAt <= now) {
      const write = offer.pending.shift()!;
      if (write.amount !== undefined) {
        offer.amount = write.amount;
        offer.stockHistory.push({ at: write.applyAt, amount: write.amount, source: 'api' });
      }
      if (write.managedByRetailer !== undefined) offer.managedByRetailer = write.managedByRetailer;
      if (write.onHoldByRetailer !== undefined) offer.onHoldByRetailer = write.onHoldByRetailer;
      if (write.reference !== undefined) offer.reference = write.reference;
      offer.lastUpdateAt = write.applyAt;
    }
  }

  /**
   * Stock schema: "The available stock after accounting for open and processed orders". UpdateStock:
   * managedByRetailer=false -> "all open orders are used"; true -> "only orders that are placed
   * after the last offer update are taken into account" (docs/channels/bol.md, Push: one PATCH per offer).
   */
  private correctedStock(offer: SimOffer): number {
    let reserved = 0;
    for (const order of this.orders.values()) {
      for (const item of order.items) {
        if (item.offerId !== offer.offerId) continue;
        if (offer.managedByRetailer) {
          if (order.placedAt > offer.lastUpdateAt) reserved += item.quantity - item.quantityCancelled;
        } else {
          reserved += item.quantity - item.quantityShipped - item.quantityCancelled;
        }
      }
    }
    return Math.max(0, offer.amount - reserved);
  }

  private static itemStatus(item: SimOrderItem): 'OPEN' | 'HANDLED' {
    return item.quantityShipped + item.quantityCancelled >= item.quantity ? 'HANDLED' : 'OPEN';
  }

  // ---- HTTP -----------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://simulator');
    const method = request.method ?? 'GET';
    const body = await this.readBody(request);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    this.counters.requests++;
    if (url.pathname === '/token') {
      this.counters.tokenRequests++;
      const answer = this.token(method, url, request.headers.authorization);
      if (answer === 'drop') {
        this.record(method, url, 0, null);
        response.destroy();
        return;
      }
      this.record(method, url, answer.status, null);
      this.send(response, answer);
      return;
    }
    let clientId: string | null = null;
    const answer = this.api(method, url, request, body, (id) => (clientId = id));
    if (answer === 'drop') {
      this.record(method, url, 0, clientId);
      response.destroy();
      return;
    }
    this.record(method, url, answer.status, clientId);
    this.send(response, answer);
  }

  private async readBody(request: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > requestBodyBytesMax) throw new Error('request body too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private record(method: string, url: URL, status: number, clientId: string | null): void {
    if (this.log.length >= requestLogLengthMax) this.log.shift();
    this.log.push({ at: this.now(), method, path: url.pathname, query: url.search.slice(1), status, clientId });
  }

  private send(response: ServerResponse, answer: HttpAnswer): void {
    const headers: Record<string, string> = { ...answer.headers };
    if (answer.body === undefined) {
      response.writeHead(answer.status, headers);
      response.end();
      return;
    }
    const text = JSON.stringify(answer.body);
    headers['content-type'] = answer.contentType;
    headers['content-length'] = String(Buffer.byteLength(text));
    response.writeHead(answer.status, headers);
    response.end(text);
  }

  private problem(status: number, title: string, detail: string, instance: string, media: string, violations: Problem['violations'] = [], headers: Record<string, string> = {}): HttpAnswer {
    const body: Problem = { type: problemType, title, status, detail, host: 'Instance-sim', instance: `https://api.bol.com${instance}`, violations };
    return new HttpAnswer(status, body, media, headers);
  }

  /** The OAuth2 token endpoint (docs/channels/bol.md). Error bodies follow RFC 6749 5.2 [unverified for bol]. */
  private token(method: string, url: URL, authorization: string | undefined): HttpAnswer | 'drop' {
    if (this.faults.tokenFailuresNext > 0) {
      this.faults.tokenFailuresNext--;
      if (this.faults.tokenFailureStatus === 0) return 'drop';
      return new HttpAnswer(this.faults.tokenFailureStatus, { error: 'temporarily_unavailable' }, 'application/json');
    }
    if (method !== 'POST') return new HttpAnswer(405, { error: 'invalid_request' }, 'application/json');
    if (url.searchParams.get('grant_type') !== 'client_credentials') {
      return new HttpAnswer(400, { error: 'unsupported_grant_type' }, 'application/json');
    }
    const match = /^Basic\s+(.+)$/i.exec(authorization ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const clientId = separator < 0 ? '' : decoded.slice(0, separator);
    const secret = separator < 0 ? '' : decoded.slice(separator + 1);
    if (this.clients.get(clientId) !== secret || this.revokedClients.has(clientId) || clientId === '') {
      return new HttpAnswer(401, { error: 'invalid_client', error_description: 'Bad client credentials' }, 'application/json');
    }
    const now = this.now();
    const lifetime = this.tokenLifetimeSeconds;
    // JWT-shaped like bol's but opaque to the client; the simulator keeps the truth.
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const accessToken = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: clientId, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + lifetime })}.${randomBytes(16).toString('base64url')}`;
    for (const [token, entry] of this.tokens) if (entry.expiresAt < now) this.tokens.delete(token);
    this.tokens.set(accessToken, { clientId, expiresAt: now + lifetime * 1000 });
    this.counters.tokensIssued++;
    return new HttpAnswer(200, { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: 'RETAILER' }, 'application/json');
  }

  private api(method: string, url: URL, request: IncomingMessage, body: string, identify: (clientId: string) => void): HttpAnswer | 'drop' {
    const path = url.pathname;
    const media = path.startsWith('/retailer/offers') ? mediaV11 : mediaV10;
    const now = this.now();

    // 1. Authentication: bearer token, known, not expired, client not revoked.
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer === undefined ? undefined : this.tokens.get(bearer);
    if (token === undefined || token.expiresAt <= now || this.revokedClients.has(token.clientId)) {
      this.counters.unauthorized++;
      return this.problem(401, 'Unauthorized', token === undefined ? 'Missing or unknown access token.' : 'Access token expired.', path, media, [], { 'www-authenticate': 'Bearer' });
    }
    identify(token.clientId);
    if (this.deniedClients.has(token.clientId)) {
      this.counters.forbidden++;
      return this.problem(403, 'Forbidden', 'The client is not allowed to use this resource.', path, media);
    }

    // 2. Rate limits: storms first (bol's own), then the fixed window of the matching rule.
    const rule = this.rules.find((candidate) => candidate.methods.includes(method) && candidate.path.test(path));
    let rateHeaders: Record<string, string> = {};
    if (rule !== undefined) {
      const key = `${token.clientId}\u0000${rule.name}`;
      const previous = this.retryAfterUntil.get(key);
      if (previous !== undefined && now >= previous.from + this.retryAfterGraceMs && now < previous.until) {
        this.counters.retryAfterViolations++;
      }
      const windowStart = Math.floor(now / rule.windowMs) * rule.windowMs;
      let window = this.windows.get(key);
      if (window === undefined || window.start !== windowStart) {
        window = { start: windowStart, count: 0 };
        this.windows.set(key, window);
      }
      const resetSeconds = Math.max(1, Math.ceil((windowStart + rule.windowMs - now) / 1000));
      if (this.faults.throttleStormNext > 0) {
        this.faults.throttleStormNext--;
        this.counters.injectedThrottles++;
        return this.throttle(key, rule, this.faults.throttleStormRetryAfterSeconds, path, media);
      }
      if (window.count >= rule.capacity) {
        this.counters.rateLimitViolations++;
        return this.throttle(key, rule, resetSeconds, path, media);
      }
      window.count++;
      this.counters.requestsByRule[rule.name] = (this.counters.requestsByRule[rule.name] ?? 0) + 1;
      rateHeaders = {
        'x-ratelimit-limit': String(rule.capacity),
        'x-ratelimit-remaining': String(rule.capacity - window.count),
        'x-ratelimit-reset': String(resetSeconds),
      };
    }

    // 3. Technical failures bol documents as retryable: 500/503/504, nothing applied.
    if (this.faults.serverErrorsNext > 0 || (this.faults.serverErrorRate > 0 && this.random() < this.faults.serverErrorRate)) {
      if (this.faults.serverErrorsNext > 0) this.faults.serverErrorsNext--;
      this.counters.injectedServerErrors++;
      const status = this.faults.serverErrorStatus;
      return this.problem(status, status === 504 ? 'Gateway Timeout' : status === 503 ? 'Service Unavailable' : 'Internal Server Error', 'Injected failure.', path, media, [], rateHeaders);
    }

    if (this.faults.rejectNext > 0) {
      this.faults.rejectNext--;
      return this.problem(this.faults.rejectStatus, { 400: 'Bad Request', 409: 'Conflict', 422: 'Unprocessable Entity' }[this.faults.rejectStatus], 'Bad request: The sent request does not meet the API specification.', path, media, [{ name: 'injected', reason: 'Injected refusal.' }], rateHeaders);
    }

    // 4. Content negotiation (docs/channels/bol.md, Media types): only this API version's media type.
    const accept = request.headers.accept;
    if (accept !== undefined && !accept.split(',').some((part) => [media, '*/*'].includes(part.split(';')[0]!.trim().toLowerCase()))) {
      this.counters.notAcceptable++;
      return this.problem(406, 'Not Acceptable', `Not acceptable: The sent request header does not meet the API specification. Accept ${media}.`, path, media, [{ name: 'Accept', reason: `Must be ${media}.` }], rateHeaders);
    }
    if (body.length > 0 && (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== media) {
      this.counters.unsupportedMediaType++;
      return this.problem(415, 'Unsupported Media Type', `Unsupported Media Type: Content-Type header contains invalid value, allowed value is ${media}.`, path, media, [{ name: 'Content-Type', reason: `Must be ${media}.` }], rateHeaders);
    }

    // 5. The resource.
    const answer = this.route(method, url, body, media);
    const withHeaders = new HttpAnswer(answer.status, answer.body, answer.contentType, { ...answer.headers, ...rateHeaders });
    if (this.faults.loseResponsesNext > 0 && method === this.faults.loseResponsesMethod) {
      this.faults.loseResponsesNext--;
      this.counters.lostResponses++;
      return 'drop';
    }
    return withHeaders;
  }

  private throttle(key: string, rule: BolSimulatorRateRule, retryAfterSeconds: number, path: string, media: string): HttpAnswer {
    const now = this.now();
    this.retryAfterUntil.set(key, { from: now, until: now + retryAfterSeconds * 1000 });
    return this.problem(429, 'Too Many Requests', `Rate limit of ${rule.capacity} requests per ${rule.windowMs / 1000} s exceeded.`, path, media, [], {
      'retry-after': String(retryAfterSeconds),
      'x-ratelimit-limit': String(rule.capacity),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(retryAfterSeconds),
    });
  }

  private route(method: string, url: URL, body: string, media: string): HttpAnswer {
    const path = url.pathname;
    const offerMatch = /^\/retailer\/offers\/([^/]+)$/.exec(path);
    if (offerMatch !== null && (method === 'GET' || method === 'PATCH')) {
      const offerId = decodeURIComponent(offerMatch[1]!);
      if (!uuidPattern.test(offerId)) {
        return this.problem(400, 'Bad Request', 'Bad request: The sent request does not meet the API specification.', path, media, [{ name: 'offer-id', reason: 'Request contains invalid value(s): must be a UUID.' }]);
      }
      const offer = this.offers.get(offerId);
      if (offer === undefined) return this.problem(404, 'Not Found', `Not found: The requested item could not be found. Offer ${offerId} does not exist.`, path, media);
      return method === 'GET' ? this.getOffer(offer, media) : this.patchOffer(offer, body, path, media);
    }
    if (path === '/retailer/orders' && method === 'GET') return this.listOrders(url, media);
    const orderMatch = /^\/retailer\/orders\/([^/]+)$/.exec(path);
    if (orderMatch !== null && method === 'GET') {
      const order = this.orders.get(decodeURIComponent(orderMatch[1]!));
      if (order === undefined) return this.problem(404, 'Not Found', 'Not found: The requested item could not be found.', path, media);
      return new HttpAnswer(200, this.orderDetail(order), media);
    }
    return this.problem(404, 'Not Found', `Not simulated: ${method} ${path}.`, path, media);
  }

  private getOffer(offer: SimOffer, media: string): HttpAnswer {
    this.settle(offer);
    const body: OfferResponse = {
      offerId: offer.offerId,
      ean: offer.ean,
      lastModifiedDateTime: iso(offer.lastUpdateAt),
      onHoldByRetailer: offer.onHoldByRetailer,
      stock: { amount: offer.amount, correctedStock: this.correctedStock(offer), managedByRetailer: offer.managedByRetailer },
      countryAvailabilities: [{ countryCode: 'NL', forSale: !offer.onHoldByRetailer && this.correctedStock(offer) > 0 }],
      condition: { category: 'NEW' },
      pricing: { bundlePrices: [{ quantity: 1, unitPrice: 9.99 }] },
      fulfilment: { method: 'FBR' },
    };
    if (offer.reference !== null) body.reference = offer.reference;
    return new HttpAnswer(200, body, media);
  }

  /** PatchOfferRequest (offers v11): stock, onHoldByRetailer and reference applied; the rest ignored. */
  private patchOffer(offer: SimOffer, body: string, path: string, media: string): HttpAnswer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return this.problem(400, 'Bad Request', 'Bad request: The request body is not valid JSON.', path, media, [{ name: 'body', reason: 'Malformed JSON.' }]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return this.problem(400, 'Bad Request', 'Bad request: The request body must be an object.', path, media, [{ name: 'body', reason: 'Must be an object.' }]);
    }
    const request = parsed as OffersV11['schemas']['PatchOfferRequest'];
    const violations: Problem['violations'] = [];
    const stock = request.stock as unknown;
    let amount: number | undefined;
    let managedByRetailer: boolean | undefined;
    if (stock !== undefined) {
      if (stock === null || typeof stock !== 'object') {
        violations.push({ name: 'stock', reason: 'Must be an object.' });
      } else {
        const candidate = stock as Record<string, unknown>;
        if (candidate.amount !== undefined) {
          // The v11 schema has no maximum; int32 and, like v10's 0..999, never negative.
          if (typeof candidate.amount !== 'number' || !Number.isInteger(candidate.amount) || candidate.amount < 0 || candidate.amount > int32Max) {
            violations.push({ name: 'stock.amount', reason: 'Must be an integer between 0 and 2147483647.' });
          } else {
            amount = candidate.amount;
          }
        }
        if (candidate.managedByRetailer !== undefined) {
          if (typeof candidate.managedByRetailer !== 'boolean') violations.push({ name: 'stock.managedByRetailer', reason: 'Must be a boolean.' });
          else managedByRetailer = candidate.managedByRetailer;
        }
      }
    }
    if (request.onHoldByRetailer !== undefined && typeof request.onHoldByRetailer !== 'boolean') {
      violations.push({ name: 'onHoldByRetailer', reason: 'Must be a boolean.' });
    }
    if (request.reference !== undefined && (typeof request.reference !== 'string' || request.reference.length > 100)) {
      violations.push({ name: 'reference', reason: 'Must be a string of at most 100 characters.' });
    }
    if (violations.length > 0) {
      return this.problem(400, 'Bad Request', 'Bad request: The sent request does not meet the API specification.', path, media, violations);
    }
    this.settle(offer);
    offer.pending.push({ applyAt: this.now() + this.propagationDelayMs, amount, managedByRetailer, onHoldByRetailer: request.onHoldByRetailer, reference: request.reference });
    this.settle(offer);
    if (amount !== undefined) this.counters.stockWritesAccepted++;
    return new HttpAnswer(204, undefined, media);
  }

  private listOrders(url: URL, media: string): HttpAnswer {
    const query = url.searchParams;
    const violations: Problem['violations'] = [];
    const page = Number(query.get('page') ?? '1');
    if (!Number.isInteger(page) || page < 1) violations.push({ name: 'page', reason: 'Must be an integer of at least 1.' });
    const method = query.get('fulfilment-method') ?? 'FBR';
    if (!['FBR', 'FBB', 'ALL'].includes(method)) violations.push({ name: 'fulfilment-method', reason: `Request contains invalid value(s): '${method}', allowed values: FBR, FBB, ALL.` });
    const status = query.get('status') ?? 'OPEN';
    if (!['OPEN', 'SHIPPED', 'ALL'].includes(status)) violations.push({ name: 'status', reason: `Request contains invalid value(s): '${status}', allowed values: OPEN, SHIPPED, ALL.` });
    const intervalText = query.get('change-interval-minute');
    const interval = intervalText === null ? null : Number(intervalText);
    if (interval !== null && (!Number.isInteger(interval) || interval < 1 || interval > 60)) {
      violations.push({ name: 'change-interval-minute', reason: 'Must be an integer between 1 and 60.' });
    }
    if (violations.length > 0) return this.problem(400, 'Bad Request', 'Bad request: The sent request does not meet the API specification.', url.pathname, media, violations);
    const changedSince = interval === null ? null : this.now() - interval * 60_000;
    const matching: ReducedOrder[] = [];
    const sorted = [...this.orders.values()].sort((a, b) => a.placedAt - b.placedAt || a.orderId.localeCompare(b.orderId));
    for (const order of sorted) {
      if (method === 'FBB') continue; // every simulated offer is FBR
      const items = order.items.filter((item) => {
        const itemStatus = BolSimulator.itemStatus(item);
        if (status === 'OPEN' && itemStatus !== 'OPEN') return false;
        if (status === 'SHIPPED' && item.quantityShipped === 0) return false;
        return changedSince === null || item.latestChangedAt >= changedSince;
      });
      if (items.length === 0) continue;
      matching.push({
        orderId: order.orderId,
        orderPlacedDateTime: iso(order.placedAt),
        orderItems: items.map((item) => ({
          orderItemId: item.orderItemId,
          ean: item.ean,
          fulfilmentMethod: 'FBR',
          fulfilmentStatus: BolSimulator.itemStatus(item),
          quantity: item.quantity,
          quantityShipped: item.quantityShipped,
          quantityCancelled: item.quantityCancelled,
          cancellationRequest: item.cancellationRequest,
          latestChangedDateTime: iso(item.latestChangedAt),
        })),
      });
    }
    const slice = matching.slice((page - 1) * ordersPageSize, page * ordersPageSize);
    // Past the last page bol answers an empty object, not `{orders: []}` ([unverified]; docs/channels/bol.md).
    const body: ReducedOrders | Record<string, never> = slice.length === 0 ? {} : { orders: slice };
    return new HttpAnswer(200, body, media);
  }

  private orderDetail(order: SimOrder): Order {
    return {
      orderId: order.orderId,
      pickupPoint: false,
      orderPlacedDateTime: iso(order.placedAt),
      shipmentDetails: { salutation: 'UNKNOWN', firstName: 'Sim', surname: 'Customer', streetName: 'Simstraat', houseNumber: '1', zipCode: '1000 AA', city: 'Amsterdam', countryCode: 'NL' },
      orderItems: order.items.map((item) => {
        const offer = this.offers.get(item.offerId);
        return {
          orderItemId: item.orderItemId,
          cancellationRequest: item.cancellationRequest,
          fulfilment: { method: 'FBR', timeFrameType: 'REGULAR' },
          offer: { offerId: item.offerId, reference: offer?.reference ?? null },
          product: { ean: item.ean, title: `Simulated product ${item.ean}` },
          quantity: item.quantity,
          quantityShipped: item.quantityShipped,
          quantityCancelled: item.quantityCancelled,
          unitPrice: 9.99,
          totalPrice: 9.99 * item.quantity,
          discounts: [],
          commission: 1.0,
          latestChangedDateTime: iso(item.latestChangedAt),
        };
      }),
    };
  }
}
