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
 *   managedByRetailer}`; `GET /retailer/offers?page-size&cursor` -> `OfferListResponse` (every
 *   offer, at most 100 a page, `page.nextCursor` until the last); unknown offer -> 404 Problem; media type `application/vnd.retailer.v11+json`
 *   only (Media types): a wrong Accept -> 406, a wrong Content-Type -> 415 (codes and wording as in
 *   retailer-api-v10.json's 406/415 answers).
 * - correctedStock (Push: one PATCH per offer; the Stock schema): managedByRetailer=false -> amount
 *   minus ALL open order units; true -> amount minus the units of orders placed AFTER the last
 *   offer update ("open and processed orders", so a shipped unit of such an order still counts).
 *   Never below 0 ("when this reaches 0, your offer will not be for sale").
 * - Orders v10 (Orders in: polling; Order lifecycle):
 *   `GET /retailer/orders?page&fulfilment-method&status&change-interval-minute` -> `ReducedOrders`,
 *   50 orders a page, `{}` past the last page, change-interval-minute <= 60 (items changed within
 *   it), fulfilment-method FBR|FBB|ALL and status OPEN|SHIPPED|ALL per item (defaults FBR, OPEN);
 *   `GET /retailer/orders/{order-id}` -> `Order` (offer id, reference, fulfilment method,
 *   quantities) or 404. Items of FBR and FBB offers, shipped and cancelled in part or in full, a
 *   customer's cancellation request, each change stamping `latestChangedDateTime`.
 * - Rate limits (Rate limits): fixed windows per (client, rule), the numbers of its table
 *   (offers writes 50/s, offer reads 25/s, order list 25/min, order detail 25/s), windows aligned
 *   to multiples of their length; `x-ratelimit-limit/-remaining/-reset` on every answer; over
 *   budget -> 429 Problem with `Retry-After` (seconds). It COUNTS violations (429s the client
 *   caused by overshooting) and requests that arrive before a Retry-After it gave has elapsed.
 * - Errors (Push: one PATCH per offer): `Problem {type: "https://api.bol.com/problems", title,
 *   status, detail, host, instance, violations}`.
 * - Faults per test: added latency, 5xx (rate or next N), 429 storms, lost responses (the write is
 *   applied, then the connection is dropped), token endpoint failures, revoked and denied clients,
 *   order-list answers replayed (the previous body served again).
 * - Test helpers (not bol's API): seed offers, create/cancel/ship orders, edit stock out of band,
 *   read state and counters.
 *
 * What it does NOT reproduce (What the simulator models): the deprecated v10 offer writes and their
 * ProcessStatus, push subscriptions, `latest-change-date` (accepted, ignored), offer
 * creation/deletion/list, prices, FBB stock in bol's warehouse, token scopes, bol's exact 401/403/429 bodies and token error
 * bodies ([unverified]: bol does not publish them; we answer Problem / OAuth2-style `{error}`
 * bodies), IP blocking on token abuse (we only count token requests).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BolSimulatorFaults,
  type BolSimulatorOfferState,
  type BolSimulatorOptions,
  type BolSimulatorRequestRecord,
  type BolSimulatorStats,
  bolSimulatorRateRules,
  emptyBolStats,
  noFaults,
} from './bol-options.js';
import { OfferCatalogue } from './offer-catalogue.js';
import { OrderBook, type SimOrder } from './order-book.js';
import { HttpAnswer, mediaV10, mediaV11, problem, sendAnswer } from './problem-answer.js';
import { RateWindows } from './rate-window.js';
import { TokenIssuer } from './token-issuer.js';
import { mulberry32 } from '../prng.js';

export {
  type BolSimulatorFaults,
  type BolSimulatorOfferState,
  type BolSimulatorOptions,
  type BolSimulatorRateRule,
  type BolSimulatorRequestRecord,
  type BolSimulatorStats,
  bolSimulatorRateRules,
} from './bol-options.js';

const requestLogLengthMax = 10_000;
const requestBodyBytesMax = 64 * 1024;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class BolSimulator {
  private readonly offers: OfferCatalogue;
  private readonly orders: OrderBook;
  private readonly auth: TokenIssuer;
  private readonly rateWindows: RateWindows;
  private readonly now: () => number;
  private readonly random: () => number;
  private faults: BolSimulatorFaults = { ...noFaults };
  private counters: BolSimulatorStats = emptyBolStats();
  private readonly log: BolSimulatorRequestRecord[] = [];
  private server: Server | null = null;
  private baseUrl: string | null = null;

  constructor(options: BolSimulatorOptions = {}) {
    this.random = mulberry32(options.seed ?? 1);
    this.now = options.now ?? Date.now;
    const faults = () => this.faults;
    const counters = () => this.counters;
    const orders = new Map<string, SimOrder>();
    this.offers = new OfferCatalogue(orders, options.propagationDelayMs ?? 0, this.now, counters);
    this.orders = new OrderBook(orders, this.offers, this.now, faults, counters, options.firstId);
    this.auth = new TokenIssuer({
      clients: options.clients ?? [{ clientId: 'onhand-sim', clientSecret: 'onhand-sim-secret' }],
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 299,
      now: this.now,
      faults,
      counters,
    });
    this.rateWindows = new RateWindows(
      options.rateRules ?? bolSimulatorRateRules,
      options.retryAfterGraceMs ?? 250,
      this.now,
      faults,
      counters,
    );
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

  seedOffer(
    offer: {
      offerId?: string;
      ean?: string;
      reference?: string | null;
      fulfilmentMethod?: 'FBR' | 'FBB';
      amount?: number;
      managedByRetailer?: boolean;
    } = {},
  ): string {
    return this.offers.seedOffer(offer);
  }

  /** A customer places an order (each item FBR or FBB as its offer is, all items OPEN). */
  createOrder(order: { items: readonly { offerId: string; quantity: number }[]; placedAt?: number }): {
    orderId: string;
    orderItemIds: string[];
  } {
    return this.orders.createOrder(order);
  }

  /** The customer asks to cancel (the item stays OPEN until the retailer cancels it). */
  requestCancellation(orderId: string, orderItemId: string): void {
    this.orders.requestCancellation(orderId, orderItemId);
  }

  /** `units` of the item are cancelled (by the retailer or bol); all open units (HANDLED) by default. */
  cancelOrderItem(orderId: string, orderItemId: string, units?: number): void {
    this.orders.cancelOrderItem(orderId, orderItemId, units);
  }

  /** `units` of the item ship (the retailer for FBR, bol for FBB); all open units (HANDLED) by default. */
  shipOrderItem(orderId: string, orderItemId: string, units?: number): void {
    this.orders.shipOrderItem(orderId, orderItemId, units);
  }

  /** Someone edits the stock in bol's seller portal, behind onhand's back. */
  editStockOutOfBand(offerId: string, amount: number): void {
    this.offers.editStockOutOfBand(offerId, amount);
  }

  offerState(offerId: string): BolSimulatorOfferState {
    return this.offers.offerState(offerId);
  }

  stats(): BolSimulatorStats {
    return { ...this.counters, requestsByRule: { ...this.counters.requestsByRule } };
  }

  requestLog(): readonly BolSimulatorRequestRecord[] {
    return [...this.log];
  }

  resetStats(): void {
    this.counters = emptyBolStats();
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
    this.auth.tokenLifetimeSeconds = seconds;
  }

  /** Credentials withdrawn: token requests get 401 and issued tokens stop working. */
  revokeClient(clientId: string): void {
    this.auth.revokeClient(clientId);
  }

  /** Every token issued so far stops working (bol may end a token before expires_in). */
  expireAllTokens(): void {
    this.auth.expireAllTokens();
  }

  /** The client's tokens are valid but it may not use the API (403 on every call). */
  denyClient(clientId: string): void {
    this.auth.denyClient(clientId);
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
      const answer = this.auth.token(method, url, request.headers.authorization);
      if (answer === 'drop') {
        this.record(method, url, 0, null);
        response.destroy();
        return;
      }
      this.record(method, url, answer.status, null);
      sendAnswer(response, answer);
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
    sendAnswer(response, answer);
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

  private api(
    method: string,
    url: URL,
    request: IncomingMessage,
    body: string,
    identify: (clientId: string) => void,
  ): HttpAnswer | 'drop' {
    const path = url.pathname;
    const media = path.startsWith('/retailer/offers') ? mediaV11 : mediaV10;
    const now = this.now();

    // 1. Authentication: bearer token, known, not expired, client not revoked.
    let clientId = '';
    const refusal = this.auth.authenticate(request, path, media, now, (id) => {
      clientId = id;
      identify(id);
    });
    if (refusal !== null) return refusal;

    // 2. Rate limits: storms first (bol's own), then the fixed window of the matching rule.
    const admitted = this.rateWindows.admit(clientId, method, path, media, now);
    if (admitted instanceof HttpAnswer) return admitted;
    const rateHeaders = admitted.headers;

    // 3. Technical failures bol documents as retryable: 500/503/504, nothing applied.
    if (
      this.faults.serverErrorsNext > 0 ||
      (this.faults.serverErrorRate > 0 && this.random() < this.faults.serverErrorRate)
    ) {
      if (this.faults.serverErrorsNext > 0) this.faults.serverErrorsNext--;
      this.counters.injectedServerErrors++;
      const status = this.faults.serverErrorStatus;
      return problem(
        status,
        status === 504 ? 'Gateway Timeout' : status === 503 ? 'Service Unavailable' : 'Internal Server Error',
        'Injected failure.',
        path,
        media,
        [],
        rateHeaders,
      );
    }

    if (this.faults.rejectNext > 0) {
      this.faults.rejectNext--;
      return problem(
        this.faults.rejectStatus,
        { 400: 'Bad Request', 409: 'Conflict', 422: 'Unprocessable Entity' }[this.faults.rejectStatus],
        'Bad request: The sent request does not meet the API specification.',
        path,
        media,
        [{ name: 'injected', reason: 'Injected refusal.' }],
        rateHeaders,
      );
    }

    // 4. Content negotiation (docs/channels/bol.md, Media types): only this API version's media type.
    const accept = request.headers.accept;
    if (
      accept !== undefined &&
      !accept.split(',').some((part) => [media, '*/*'].includes(part.split(';')[0]!.trim().toLowerCase()))
    ) {
      this.counters.notAcceptable++;
      return problem(
        406,
        'Not Acceptable',
        `Not acceptable: The sent request header does not meet the API specification. Accept ${media}.`,
        path,
        media,
        [{ name: 'Accept', reason: `Must be ${media}.` }],
        rateHeaders,
      );
    }
    if (body.length > 0 && (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== media) {
      this.counters.unsupportedMediaType++;
      return problem(
        415,
        'Unsupported Media Type',
        `Unsupported Media Type: Content-Type header contains invalid value, allowed value is ${media}.`,
        path,
        media,
        [{ name: 'Content-Type', reason: `Must be ${media}.` }],
        rateHeaders,
      );
    }

    // 5. The resource.
    const answer = this.route(method, url, body, media);
    const withHeaders = new HttpAnswer(answer.status, answer.body, answer.contentType, {
      ...answer.headers,
      ...rateHeaders,
    });
    if (this.faults.loseResponsesNext > 0 && method === this.faults.loseResponsesMethod) {
      this.faults.loseResponsesNext--;
      this.counters.lostResponses++;
      return 'drop';
    }
    return withHeaders;
  }

  private route(method: string, url: URL, body: string, media: string): HttpAnswer {
    const path = url.pathname;
    const offerMatch = /^\/retailer\/offers\/([^/]+)$/.exec(path);
    if (offerMatch !== null && (method === 'GET' || method === 'PATCH')) {
      const offerId = decodeURIComponent(offerMatch[1]!);
      if (!uuidPattern.test(offerId)) {
        return problem(
          400,
          'Bad Request',
          'Bad request: The sent request does not meet the API specification.',
          path,
          media,
          [{ name: 'offer-id', reason: 'Request contains invalid value(s): must be a UUID.' }],
        );
      }
      const offer = this.offers.get(offerId);
      if (offer === undefined)
        return problem(
          404,
          'Not Found',
          `Not found: The requested item could not be found. Offer ${offerId} does not exist.`,
          path,
          media,
        );
      return method === 'GET' ? this.offers.getOffer(offer, media) : this.offers.patchOffer(offer, body, path, media);
    }
    if (path === '/retailer/offers' && method === 'GET') return this.offers.listOffers(url, media);
    if (path === '/retailer/orders' && method === 'GET') return this.orders.listOrders(url, media);
    const orderMatch = /^\/retailer\/orders\/([^/]+)$/.exec(path);
    if (orderMatch !== null && method === 'GET') {
      const order = this.orders.get(decodeURIComponent(orderMatch[1]!));
      if (order === undefined)
        return problem(404, 'Not Found', 'Not found: The requested item could not be found.', path, media);
      return new HttpAnswer(200, this.orders.orderDetail(order), media);
    }
    return problem(404, 'Not Found', `Not simulated: ${method} ${path}.`, path, media);
  }
}
