/**
 * A local Google Merchant Center, Merchant API Products v1 and the OAuth 2.0 token endpoint: a real
 * HTTP server (port 0) that behaves as Google's reference pages describe it
 * (docs/channels/google-merchant-center.md), small enough to read in one sitting. The connector
 * conformance suite runs GmcConnector against it.
 *
 * What it reproduces:
 * - Service-account OAuth (Authentication): `POST /token` with a jwt-bearer assertion, verified
 *   against the registered public key (google-token-endpoint.ts); bearer tokens that expire
 *   (3599 s by default, shorter for a renewal test); an unknown or expired token gets 401.
 * - `POST /products/v1/accounts/{account}/productInputs:insert?dataSource=accounts/{account}/dataSources/{id}`
 *   (Calls): the input replaces the one of the same offer in that data source; `availability`
 *   must be one of the enum's values and PREORDER/BACKORDER need an `availabilityDate`
 *   (400 INVALID_ARGUMENT otherwise); an unknown data source is 404, another account 403.
 * - The processed product (Calls): a product exists when the primary catalogue has the offer (a
 *   test seeds it); its availability is the latest supplemental input's, applied after
 *   `processingDelayMs` (0 by default: Google's "several minutes" when a test wants them).
 *   `GET .../products/{contentLanguage~feedLabel~offerId}` and `GET .../products?pageSize&pageToken`
 *   (at most 1,000 a page).
 * - `POST /batch/products/v1` (Calls): an HTTP batch of nested Products calls, each run and counted
 *   as if sent alone, answered as one multipart/mixed body labelled by Content-ID, out of order.
 * - Per-minute quotas per method with 429 RESOURCE_EXHAUSTED in Google's error shape (Quotas),
 *   counted as violations (minute-quota.ts).
 * - Faults: latency, 5xx for the next N calls, 429 storms (Google's own, not counted as
 *   violations), a write that lands but whose answer is lost (the socket is destroyed), per-offer
 *   refusals (400/403/404), and edits out of band (availability changed in Merchant Center).
 *
 * What it does not: daily quotas, product data checks beyond availability, the Content API,
 * multiple feed labels' rules, local inventory, data source management, exact error messages.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleAnswer, googleError, sendGoogle } from './google-answers.js';
import { type ServiceAccountKey, TokenEndpoint } from './google-token-endpoint.js';
import { MinuteQuota } from './minute-quota.js';

export type { ServiceAccountKey } from './google-token-endpoint.js';

const availabilities = new Set(['IN_STOCK', 'OUT_OF_STOCK', 'PREORDER', 'BACKORDER', 'LIMITED_AVAILABILITY']);
const bodyBytesMax = 64 * 1024;
/** The batch endpoint of the Products sub-API, and the simulator's own bounds on a batch. */
const batchPath = '/batch/products/v1';
const batchBytesMax = 4 * 1024 * 1024;
const batchCallsMax = 1_000;
const pageSizeMax = 1_000;

export interface GoogleSimulatorOptions {
  account?: string;
  dataSources?: readonly string[];
  serviceAccounts: readonly ServiceAccountKey[];
  /** @default 3599 */
  tokenLifetimeSeconds?: number;
  /** Calls per minute per method (insert, get, list). @default 60 each */
  perMinute?: Partial<Record<'insert' | 'get' | 'list', number>>;
  /** How long an input takes to show in the processed product. @default 0 */
  processingDelayMs?: number;
  now?: () => number;
}

export interface GoogleSimulatorFaults {
  latencyMs: number;
  /** The next N API calls answer `failStatus`. */
  failNext: number;
  failStatus: number;
  /** The next N API calls answer 429 (Google's own storm: not a violation). */
  stormNext: number;
  /** The next N inserts are applied, then their connection is dropped without an answer. */
  loseAnswersNext: number;
  /** The batch endpoint answers 404 (a proxy or an API version that does not take batch requests). */
  refuseBatches: boolean;
}

export interface SimProductState {
  offerId: string;
  availability: string;
  availabilityDate: string | null;
  customAttributes: { name: string; value: string }[];
}

interface SimProduct {
  offerId: string;
  contentLanguage: string;
  feedLabel: string;
  /** The primary source's availability (before any supplemental input). */
  primaryAvailability: string;
  /** Inputs in arrival order, each visible from `visibleAt`. */
  inputs: {
    availability: string;
    availabilityDate: string | null;
    customAttributes: { name: string; value: string }[];
    visibleAt: number;
  }[];
  /** An edit in Merchant Center (out of band): wins over older inputs. */
  override: { availability: string; at: number } | null;
}

export class GoogleSimulator {
  readonly account: string;
  readonly dataSources: Set<string>;
  private readonly now: () => number;
  private readonly tokens: TokenEndpoint;
  readonly quota: MinuteQuota;
  private readonly products = new Map<string, SimProduct>();
  /** Inputs for offers the primary catalogue does not have: kept, never processed into a product. */
  orphanInputs = 0;
  private readonly refusals = new Map<string, number>();
  processingDelayMs: number;
  faults: GoogleSimulatorFaults = {
    latencyMs: 0,
    failNext: 0,
    failStatus: 503,
    stormNext: 0,
    loseAnswersNext: 0,
    refuseBatches: false,
  };
  /** Calls per method (a batch's nested calls each count as their own), batch requests, tokens, lost answers. */
  readonly calls = { insert: 0, get: 0, list: 0, batch: 0, token: 0, lostAnswers: 0 };
  private server: Server | null = null;
  private origin: string | null = null;

  constructor(options: GoogleSimulatorOptions) {
    this.account = options.account ?? '1234567';
    this.dataSources = new Set(options.dataSources ?? ['7000001']);
    this.now = options.now ?? Date.now;
    this.processingDelayMs = options.processingDelayMs ?? 0;
    this.tokens = new TokenEndpoint(
      options.serviceAccounts,
      () => this.tokenUrl,
      'https://www.googleapis.com/auth/content',
      options.tokenLifetimeSeconds ?? 3599,
      this.now,
    );
    this.quota = new MinuteQuota({ insert: 60, get: 60, list: 60, ...options.perMinute }, this.now);
  }

  async start(): Promise<string> {
    if (this.origin !== null) return this.origin;
    this.server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) sendGoogle(response, googleError(500, 'Internal error encountered.'));
        else response.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.origin = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    if (this.origin === null) throw new Error('simulator not started');
    return this.origin;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  // ---- test helpers (not Google's API) -----------------------------------------------------

  /** Products of the primary catalogue (what the merchant's own feed created). */
  seedProducts(
    products: readonly { offerId: string; availability?: string }[],
    where: { contentLanguage: string; feedLabel: string } = { contentLanguage: 'en', feedLabel: 'US' },
  ): void {
    for (const product of products) {
      const key = `${where.contentLanguage}~${where.feedLabel}~${product.offerId}`;
      this.products.set(key, {
        offerId: product.offerId,
        contentLanguage: where.contentLanguage,
        feedLabel: where.feedLabel,
        primaryAvailability: product.availability ?? 'IN_STOCK',
        inputs: [],
        override: null,
      });
    }
  }

  /** Someone changed the product's availability in Merchant Center (out of band). */
  editAvailability(productId: string, availability: string): void {
    const product = this.products.get(productId);
    if (product === undefined) throw new Error(`no product ${productId}`);
    product.override = { availability, at: this.now() };
  }

  /** Inserts for this offer answer `status` (400 invalid product, 403, 404...). */
  refuseOffer(offerId: string, status: number): void {
    this.refusals.set(offerId, status);
  }

  expireAllTokens(): void {
    this.tokens.expireAll();
  }

  /** The processed product as Google shows it now. */
  product(productId: string): SimProductState | undefined {
    const product = this.products.get(productId);
    return product === undefined ? undefined : this.processed(product);
  }

  /** Every input received for the product, oldest first, with when it shows (benches: what was shown when). */
  inputHistory(productId: string): readonly {
    visibleAt: number;
    availability: string;
    customAttributes: readonly { name: string; value: string }[];
  }[] {
    return this.products.get(productId)?.inputs ?? [];
  }

  /** Inserts received for the product (every one, visible or not). */
  inputCount(productId: string): number {
    return this.products.get(productId)?.inputs.length ?? 0;
  }

  get stats() {
    return {
      ...this.calls,
      tokensIssued: this.tokens.issued,
      tokenRejections: this.tokens.rejected,
      lastTokenRejection: this.tokens.lastRejection,
      quotaViolations: this.quota.violations,
    };
  }

  // ---- the API ---------------------------------------------------------------------------

  private processed(product: SimProduct): SimProductState {
    const now = this.now();
    let visible: SimProduct['inputs'][number] | undefined;
    for (const input of product.inputs) if (input.visibleAt <= now) visible = input;
    const state: SimProductState = {
      offerId: product.offerId,
      availability: visible?.availability ?? product.primaryAvailability,
      availabilityDate: visible?.availabilityDate ?? null,
      customAttributes: visible?.customAttributes ?? [],
    };
    if (product.override !== null && (visible === undefined || visible.visibleAt <= product.override.at))
      state.availability = product.override.availability;
    return state;
  }

  private view(key: string, product: SimProduct) {
    const state = this.processed(product);
    return {
      name: `accounts/${this.account}/products/${key}`,
      offerId: product.offerId,
      contentLanguage: product.contentLanguage,
      feedLabel: product.feedLabel,
      productAttributes: {
        availability: state.availability,
        ...(state.availabilityDate === null ? {} : { availabilityDate: state.availabilityDate }),
      },
      customAttributes: state.customAttributes,
    };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sim');
    const isBatch = url.pathname === batchPath && request.method === 'POST';
    const body = await readBody(request, isBatch ? batchBytesMax : bodyBytesMax);
    if (body === null) return sendGoogle(response, googleError(400, 'Request payload too large.'));
    if (this.faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.faults.latencyMs));
    if (url.pathname === '/token' && request.method === 'POST') {
      this.calls.token++;
      return sendGoogle(response, this.tokens.exchange(new URLSearchParams(body)));
    }
    if (isBatch) return this.batch(request, response, body);
    const { answer, lose } = this.apiCall(request.method ?? 'GET', url, body, request.headers.authorization);
    if (lose) response.destroy();
    else sendGoogle(response, answer);
  }

  /**
   * One call of the API, alone or nested in a batch: routed, authenticated, counted against its
   * method's minute quota and subject to the fault switches. `lose`: the write is applied and its
   * answer must never reach the client.
   */
  private apiCall(
    verb: string,
    url: URL,
    body: string,
    authorization: string | undefined,
  ): { answer: GoogleAnswer; lose: boolean } {
    const route = this.route(verb, url.pathname);
    if (route === null) return { answer: googleError(404, 'Method not found.'), lose: false };
    this.calls[route.method]++;
    const holder = this.tokens.holder(authorization);
    if (holder === null)
      return {
        answer: googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token.'),
        lose: false,
      };
    if (route.account !== this.account)
      return {
        answer: googleError(403, `The caller does not have access to the accounts: ${route.account}`),
        lose: false,
      };
    if (this.faults.stormNext > 0) {
      this.faults.stormNext--;
      return { answer: googleError(429, 'Quota exceeded (storm).'), lose: false };
    }
    const over = this.quota.admit(route.method);
    if (over !== null) return { answer: over, lose: false };
    if (this.faults.failNext > 0) {
      this.faults.failNext--;
      return { answer: googleError(this.faults.failStatus, 'The service is currently unavailable.'), lose: false };
    }
    if (route.method === 'insert') {
      const answer = this.insert(url, body);
      if (answer.status === 200 && this.faults.loseAnswersNext > 0) {
        this.faults.loseAnswersNext--;
        this.calls.lostAnswers++;
        return { answer, lose: true };
      }
      return { answer, lose: false };
    }
    return { answer: route.method === 'get' ? this.get(route.product!) : this.list(url), lose: false };
  }

  /**
   * `POST /batch/products/v1` (Calls): a multipart/mixed body whose parts are each one HTTP request
   * of the Products sub-API, without the origin (`POST /products/v1/...`), credentials taken from
   * the batch unless the part has its own. Each nested call runs as if sent alone (counted, quota,
   * faults); the answer is one multipart/mixed body with a part per request, labelled
   * `response-<Content-ID>`, in reverse order (Google does not promise the order). The batch's
   * own credentials are checked first: without them nothing runs (401). A malformed batch is 400.
   */
  private batch(request: IncomingMessage, response: ServerResponse, body: string): void {
    this.calls.batch++;
    const requests = this.readBatch(request, body);
    if (requests instanceof GoogleAnswer) {
      sendGoogle(response, requests);
      return;
    }
    let lose = false;
    const answers = requests.map((nested, index) => {
      const id = nested.id ?? String(index + 1);
      if (nested.path === null || !nested.path.startsWith('/products/v1/'))
        return { id, answer: googleError(400, 'Nested requests of this batch belong to the Products sub-API.') };
      const call = this.apiCall(
        nested.method,
        new URL(nested.path, 'http://sim'),
        nested.body,
        nested.authorization ?? request.headers.authorization,
      );
      lose ||= call.lose;
      return { id, answer: call.answer };
    });
    if (lose) {
      response.destroy();
      return;
    }
    const out = `batch_${randomBytes(9).toString('base64url')}`;
    let text = '';
    for (const { id, answer } of answers.reverse()) {
      const json = JSON.stringify(answer.body);
      text += `--${out}\r\nContent-Type: application/http\r\nContent-ID: <response-${id}>\r\n\r\n`;
      text += `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n`;
      text += `Content-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}\r\n`;
    }
    text += `--${out}--\r\n`;
    response.writeHead(200, {
      'content-type': `multipart/mixed; boundary=${out}`,
      'content-length': String(Buffer.byteLength(text)),
    });
    response.end(text);
  }

  /** The nested requests of a batch, or the answer that refuses the batch whole. */
  private readBatch(request: IncomingMessage, body: string): NestedRequest[] | GoogleAnswer {
    if (this.faults.refuseBatches) return googleError(404, 'Method not found.');
    if (this.tokens.holder(request.headers.authorization) === null)
      return googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    const boundary = /^multipart\/mixed\s*;\s*boundary="?([^";]{1,200})"?/i.exec(
      request.headers['content-type'] ?? '',
    )?.[1];
    if (boundary === undefined) return googleError(400, 'Batch requests are multipart/mixed.');
    const requests = parseBatchRequest(boundary, body);
    if (requests === null || requests.length === 0) return googleError(400, 'Failed to parse batch request.');
    if (requests.length > batchCallsMax) return googleError(400, `A batch takes at most ${batchCallsMax} calls.`);
    return requests;
  }

  private route(
    verb: string,
    path: string,
  ): { method: 'insert' | 'get' | 'list'; account: string; product?: string } | null {
    let match = /^\/products\/v1\/accounts\/([^/]+)\/productInputs:insert$/.exec(path);
    if (match && verb === 'POST') return { method: 'insert', account: decodeURIComponent(match[1]!) };
    match = /^\/products\/v1\/accounts\/([^/]+)\/products\/([^/]+)$/.exec(path);
    if (match && verb === 'GET')
      return { method: 'get', account: decodeURIComponent(match[1]!), product: decodeURIComponent(match[2]!) };
    match = /^\/products\/v1\/accounts\/([^/]+)\/products$/.exec(path);
    if (match && verb === 'GET') return { method: 'list', account: decodeURIComponent(match[1]!) };
    return null;
  }

  private insert(url: URL, text: string): GoogleAnswer {
    const dataSource = url.searchParams.get('dataSource') ?? '';
    const match = /^accounts\/([^/]+)\/dataSources\/([^/]+)$/.exec(dataSource);
    if (match === null) return googleError(400, 'Invalid dataSource name.');
    if (match[1] !== this.account || !this.dataSources.has(match[2]!))
      return googleError(404, `Data source ${dataSource} not found.`);
    let input: {
      offerId?: unknown;
      contentLanguage?: unknown;
      feedLabel?: unknown;
      productAttributes?: { availability?: unknown; availabilityDate?: unknown };
      customAttributes?: unknown;
    };
    try {
      input = JSON.parse(text) as typeof input;
    } catch {
      return googleError(400, 'Invalid JSON payload received.');
    }
    const { offerId, contentLanguage, feedLabel } = input;
    if (typeof offerId !== 'string' || offerId === '' || offerId.length > 50)
      return googleError(400, '[offerId] is required and at most 50 characters.');
    if (typeof contentLanguage !== 'string' || !/^[a-z]{2}$/.test(contentLanguage))
      return googleError(400, '[contentLanguage] must be an ISO 639-1 code.');
    if (typeof feedLabel !== 'string' || feedLabel === '') return googleError(400, '[feedLabel] is required.');
    const refused = this.refusals.get(offerId);
    if (refused !== undefined) return googleError(refused, `Refused product ${offerId}.`);
    const availability = input.productAttributes?.availability;
    if (typeof availability !== 'string' || !availabilities.has(availability))
      return googleError(400, `Invalid value at 'product_input.product_attributes.availability'.`);
    const date = input.productAttributes?.availabilityDate;
    if (
      (availability === 'PREORDER' || availability === 'BACKORDER') &&
      (typeof date !== 'string' || Number.isNaN(Date.parse(date)))
    )
      return googleError(400, '[availabilityDate] is required for preorder and backorder.');
    const customAttributes = Array.isArray(input.customAttributes)
      ? (input.customAttributes as { name?: unknown; value?: unknown }[])
          .filter((attribute) => typeof attribute.name === 'string' && typeof attribute.value === 'string')
          .map((attribute) => ({ name: attribute.name as string, value: attribute.value as string }))
      : [];
    const key = `${contentLanguage}~${feedLabel}~${offerId}`;
    const product = this.products.get(key);
    if (product === undefined) this.orphanInputs++;
    else
      product.inputs.push({
        availability,
        availabilityDate: typeof date === 'string' ? date : null,
        customAttributes,
        visibleAt: this.now() + this.processingDelayMs,
      });
    return new GoogleAnswer(200, {
      name: `accounts/${this.account}/productInputs/${key}`,
      product: `accounts/${this.account}/products/${key}`,
      offerId,
      contentLanguage,
      feedLabel,
      productAttributes: input.productAttributes,
      customAttributes,
    });
  }

  private get(productId: string): GoogleAnswer {
    const product = this.products.get(productId);
    if (product === undefined)
      return googleError(404, `Product accounts/${this.account}/products/${productId} not found.`);
    return new GoogleAnswer(200, this.view(productId, product));
  }

  private list(url: URL): GoogleAnswer {
    const requested = Number(url.searchParams.get('pageSize') ?? pageSizeMax);
    const pageSize = Number.isInteger(requested) && requested > 0 ? Math.min(requested, pageSizeMax) : pageSizeMax;
    const offset = Number(url.searchParams.get('pageToken') ?? '0');
    const keys = [...this.products.keys()].sort();
    const page = keys.slice(offset, offset + pageSize);
    const next = offset + pageSize < keys.length ? String(offset + pageSize) : undefined;
    return new GoogleAnswer(200, {
      products: page.map((key) => this.view(key, this.products.get(key)!)),
      ...(next === undefined ? {} : { nextPageToken: next }),
    });
  }
}

function readBody(request: IncomingMessage, bytesMax: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= bytesMax) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > bytesMax ? null : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

interface NestedRequest {
  id: string | null;
  method: string;
  /** Path and query; null when the request line is not `METHOD /path [HTTP/1.1]`. */
  path: string | null;
  authorization: string | undefined;
  body: string;
}

/** The nested requests of a multipart/mixed batch body; null when it has no part at all. */
function parseBatchRequest(boundary: string, text: string): NestedRequest[] | null {
  const segments = text.split(`--${boundary}`);
  if (segments.length < 2) return null;
  const requests: NestedRequest[] = [];
  for (const segment of segments.slice(1)) {
    if (segment.startsWith('--')) break;
    const [outerHead, nested] = splitAtBlankLine(segment.replace(/^[ \t]*\r?\n/, ''));
    const idLine = outerHead.find((line) => /^content-id\s*:/i.test(line));
    const id =
      idLine === undefined
        ? null
        : idLine
            .slice(idLine.indexOf(':') + 1)
            .trim()
            .replace(/^<(.*)>$/, '$1');
    const [head, body] = splitAtBlankLine(nested);
    const requestLine = /^(GET|POST|PUT|PATCH|DELETE)\s+(\/\S*)(?:\s+HTTP\/1\.[01])?$/.exec((head[0] ?? '').trim());
    const authorization = head
      .slice(1)
      .find((line) => /^authorization\s*:/i.test(line))
      ?.replace(/^authorization\s*:\s*/i, '');
    requests.push({
      id,
      method: requestLine?.[1] ?? 'GET',
      path: requestLine?.[2] ?? null,
      authorization,
      body: body.replace(/\r?\n$/, ''),
    });
  }
  return requests;
}

function splitAtBlankLine(text: string): [string[], string] {
  const match = /\r?\n\r?\n/.exec(text);
  if (match === null) return [text.split(/\r?\n/).filter((line) => line !== ''), ''];
  return [text.slice(0, match.index).split(/\r?\n/), text.slice(match.index + match[0].length)];
}
