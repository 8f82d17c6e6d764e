import { HttpTransport, headerValue, type TransportAnswer } from '../http-transport.js';
import { retryAfterMs, type WooRateLimiter, wooLimits } from './woocommerce-limits.js';
import { signOAuthUrl } from './woocommerce-oauth.js';
import type { PlatformCallResult } from '../call-result.js';

/**
 * A thin typed client of WooCommerce's REST API v3 (`<store>/wp-json/wc/v3/...`) over
 * the connectors' shared HTTP transport (../http-transport.ts, keep-alive sockets). Each call
 * 1. takes a slot of the shop's budget (WooRateLimiter): `write` calls wait at most
 *    `limiterWaitMsMax` and otherwise answer `failed`/retryable without sending;
 * 2. authenticates: HTTP Basic with the consumer key and secret over HTTPS; OAuth 1.0a
 *    HMAC-SHA256 query signatures over plain HTTP, where Basic would send the secret in clear
 *    (docs/channels/woocommerce.md, Authentication);
 * 3. sends with one deadline for the request and the whole answer, and the caller's signal;
 * 4. on 429 or 503 holds the whole shop off for Retry-After (or a default) before anything else
 *    is sent, and answers `failed` with that delay;
 * 5. classifies: `ok` (2xx, JSON), `failed` retryable (429, 5xx, network, timeout, our limiter)
 *    or not (400, 401, 403, 404, 413...: a repeat of the same request earns the same answer).
 * It never throws for a platform answer.
 */

/** WooCommerce's error body: `{code, message, data: {status}}`. */
export interface WooError {
  code?: string;
  message?: string;
  data?: { status?: number } | null;
}

/** The product and variation fields the connector reads (the REST resource has many more). */
export interface WooStockResource {
  id: number;
  parent_id?: number;
  type?: string;
  sku?: string;
  manage_stock?: boolean | 'parent';
  stock_quantity?: number | null;
  stock_status?: string;
  variations?: number[];
  date_modified_gmt?: string | null;
}

/** One entry of a batch answer: the resource, or `{id, error}` when that item failed. */
export type WooBatchEntry = WooStockResource | { id: number; error: WooError };

export interface WooBatchAnswer {
  create?: WooBatchEntry[];
  update?: WooBatchEntry[];
  delete?: WooBatchEntry[];
}

export type WooCallResult<T> = PlatformCallResult<
  T,
  {
    /** WooCommerce's error code, when it sent one. */
    code?: string;
  },
  {
    totalPages: number | null;
    /** The shop's clock (its Date header, to the second), or null. */
    serverTime: number | null;
  }
>;

export interface WooClientConfig {
  /** The shop's address, e.g. https://shop.example (WordPress's home; the API is under /wp-json/wc/v3). */
  storeUrl: string;
  consumerKey: string;
  consumerSecret: string;
  limiter: WooRateLimiter;
  now: () => number;
  /** @default wooLimits.requestTimeoutMs */
  requestTimeoutMs?: number;
  /** @default wooLimits.limiterWaitMsMax */
  limiterWaitMsMax?: number;
  /** Sockets per origin. @default 16 */
  socketsMax?: number;
  /** Certificate authority (PEM) to trust for this shop besides the system's: a private CA, a test server. */
  ca?: string;
}

export interface WooRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Under /wp-json/wc/v3, e.g. `/products/batch`. */
  path: string;
  query?: Record<string, string | number>;
  body?: unknown;
  /** `write` waits for the budget only briefly and keeps the read share free; `read` waits as long as needed. */
  kind: 'write' | 'read';
  signal?: AbortSignal | undefined;
}

export class WooClient {
  private readonly apiBase: URL;
  private readonly secure: boolean;
  private readonly transport: HttpTransport;
  private readonly timeoutMs: number;
  private readonly waitMsMax: number;
  private requests = 0;

  constructor(private readonly config: WooClientConfig) {
    const store = new URL(config.storeUrl);
    if (store.protocol !== 'https:' && store.protocol !== 'http:') throw new Error('store_url must be http(s)');
    this.secure = store.protocol === 'https:';
    this.apiBase = new URL(`${store.pathname.replace(/\/+$/, '')}/wp-json/wc/v3`, store.origin);
    this.transport = new HttpTransport({ socketsMax: config.socketsMax ?? 16, ca: config.ca });
    this.timeoutMs = config.requestTimeoutMs ?? wooLimits.requestTimeoutMs;
    this.waitMsMax = config.limiterWaitMsMax ?? wooLimits.limiterWaitMsMax;
  }

  /** Requests sent so far (API calls per movement in the bench). */
  get requestCount(): number {
    return this.requests;
  }

  /** How this client authenticates: Basic over HTTPS, OAuth 1.0a signatures over HTTP. */
  get authScheme(): 'basic' | 'oauth1' {
    return this.secure ? 'basic' : 'oauth1';
  }

  call<T>(request: WooRequest): Promise<WooCallResult<T>> {
    return this.callLazy<T>(request, () => request.body) as Promise<WooCallResult<T>>;
  }

  /**
   * As `call`, with the body built only once the shop's budget let the request go: a batch then
   * takes everything queued for its endpoint by that moment (the connector's coalescing). null,
   * and nothing sent, when `body` returns null (another request took the work meanwhile).
   */
  async callLazy<T>(request: Omit<WooRequest, 'body'>, build: () => unknown | null): Promise<WooCallResult<T> | null> {
    const slot = await this.config.limiter
      .acquire(request.kind, request.kind === 'write' ? this.waitMsMax : Number.POSITIVE_INFINITY, request.signal)
      .catch((error: unknown) => ({ ok: false as const, waitMs: 0, aborted: error }));
    if (!slot.ok)
      return {
        kind: 'failed',
        retryable: true,
        status: null,
        reason:
          'aborted' in slot ? 'aborted by the caller' : `the shop's request budget is spent for ${slot.waitMs} ms`,
        ...('aborted' in slot ? {} : { retryAfterMs: slot.waitMs }),
      };
    let exchange: TransportAnswer;
    let built: unknown;
    try {
      built = build();
    } catch (error) {
      slot.unused();
      throw error;
    }
    if (built === null) {
      slot.unused(); // nothing to send: the slot goes back to the shop's budget
      return null;
    }
    try {
      exchange = await this.send({ ...request, body: built });
    } finally {
      slot.release();
    }
    if (exchange.kind === 'network')
      return {
        kind: 'failed',
        retryable: true,
        status: null,
        reason: exchange.timedOut ? `no answer within ${this.timeoutMs} ms` : exchange.reason,
      };
    const { status, headers, text } = exchange;
    if (status === 429 || status === 503) {
      const wait = retryAfterMs(headerValue(headers, 'retry-after'), this.config.now());
      this.config.limiter.holdOff(wait ?? wooLimits.defaultBackoffMs);
      return {
        kind: 'failed',
        retryable: true,
        status,
        reason: `the shop's host answered ${status}${wait === undefined ? '' : ` (Retry-After ${wait} ms)`}`,
        retryAfterMs: wait ?? wooLimits.defaultBackoffMs,
      };
    }
    let body: unknown;
    try {
      body = text.length === 0 ? null : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300) {
      if (body === undefined)
        return { kind: 'failed', retryable: true, status, reason: `answer ${status} is not JSON (a proxy page?)` };
      const pages = Number(headerValue(headers, 'x-wp-totalpages'));
      const date = Date.parse(headerValue(headers, 'date') ?? '');
      return {
        kind: 'ok',
        status,
        body: body as T,
        totalPages:
          headerValue(headers, 'x-wp-totalpages') !== null && Number.isInteger(pages) && pages >= 0 ? pages : null,
        serverTime: Number.isFinite(date) ? date : null,
      };
    }
    const error = (body ?? {}) as WooError;
    const code = typeof error.code === 'string' ? error.code.slice(0, 100) : undefined;
    const message = typeof error.message === 'string' ? error.message.slice(0, 300) : text.slice(0, 200);
    return {
      kind: 'failed',
      retryable: status >= 500 || status === 408,
      status,
      reason: `WooCommerce answered ${status}${code ? ` ${code}` : ''}: ${message}`,
      ...(code ? { code } : {}),
    };
  }

  private url(request: WooRequest): URL {
    const url = new URL(`${this.apiBase.pathname}${request.path}`, this.apiBase.origin);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, String(value));
    return this.secure
      ? url
      : signOAuthUrl(
          request.method,
          url,
          { consumerKey: this.config.consumerKey, consumerSecret: this.config.consumerSecret },
          this.config.now(),
        );
  }

  private send(request: WooRequest): Promise<TransportAnswer> {
    this.requests++;
    const body = request.body === undefined ? null : JSON.stringify(request.body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.secure)
      headers.authorization = `Basic ${Buffer.from(`${this.config.consumerKey}:${this.config.consumerSecret}`).toString('base64')}`;
    if (body !== null) headers['content-type'] = 'application/json';
    return this.transport.send({
      method: request.method,
      url: this.url(request).toString(),
      headers,
      body,
      timeoutMs: this.timeoutMs,
      signal: request.signal,
    });
  }

  /** Close idle sockets (tests, shutdown). */
  close(): void {
    this.transport.close();
  }
}
