import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { retryAfterMs, type WooRateLimiter, wooLimits } from './woocommerce-limits.js';
import { signOAuthUrl } from './woocommerce-oauth.js';

/**
 * A thin typed client of WooCommerce's REST API v3 (`<store>/wp-json/wc/v3/...`) over
 * node:http(s) with a keep-alive agent. Each call
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

export type WooCallResult<T> =
  | {
      kind: 'ok';
      status: number;
      body: T;
      totalPages: number | null;
      /** The shop's clock (its Date header, to the second), or null. */
      serverTime: number | null;
    }
  | {
      kind: 'failed';
      retryable: boolean;
      /** HTTP status; null when nothing came back (network, timeout, our own limiter). */
      status: number | null;
      reason: string;
      retryAfterMs?: number;
      /** WooCommerce's error code, when it sent one. */
      code?: string;
    };

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

type Exchange =
  | { kind: 'answer'; status: number; headers: IncomingHttpHeaders; text: string }
  | { kind: 'network'; reason: string; timedOut: boolean };

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

export class WooClient {
  private readonly apiBase: URL;
  private readonly secure: boolean;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly timeoutMs: number;
  private readonly waitMsMax: number;
  private requests = 0;

  constructor(private readonly config: WooClientConfig) {
    const store = new URL(config.storeUrl);
    if (store.protocol !== 'https:' && store.protocol !== 'http:') throw new Error('store_url must be http(s)');
    this.secure = store.protocol === 'https:';
    this.apiBase = new URL(`${store.pathname.replace(/\/+$/, '')}/wp-json/wc/v3`, store.origin);
    const agentOptions = { keepAlive: true, maxSockets: config.socketsMax ?? 16, scheduling: 'lifo' as const };
    this.agent = this.secure
      ? new HttpsAgent({ ...agentOptions, ...(config.ca === undefined ? {} : { ca: config.ca }) })
      : new HttpAgent(agentOptions);
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
    let exchange: Exchange;
    try {
      const built = build();
      if (built === null) return null;
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
      const wait = retryAfterMs(header(headers, 'retry-after'), this.config.now());
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
      const pages = Number(header(headers, 'x-wp-totalpages'));
      const date = Date.parse(header(headers, 'date') ?? '');
      return {
        kind: 'ok',
        status,
        body: body as T,
        totalPages: header(headers, 'x-wp-totalpages') !== null && Number.isInteger(pages) && pages >= 0 ? pages : null,
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

  private send(request: WooRequest): Promise<Exchange> {
    this.requests++;
    const url = this.url(request);
    const body = request.body === undefined ? null : JSON.stringify(request.body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (this.secure)
      headers.authorization = `Basic ${Buffer.from(`${this.config.consumerKey}:${this.config.consumerSecret}`).toString('base64')}`;
    if (body !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve) => {
      let settled = false;
      let timedOut = false;
      const finish = (exchange: Exchange) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        resolve(exchange);
      };
      const fail = (error: unknown) =>
        finish({ kind: 'network', reason: error instanceof Error ? error.message : String(error), timedOut });
      const outgoing = (this.secure ? httpsRequest : httpRequest)(
        url,
        { method: request.method, headers, agent: this.agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            finish({
              kind: 'answer',
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', fail);
          response.on('aborted', () => fail(new Error('the connection closed before the whole answer arrived')));
        },
      );
      const timer = setTimeout(() => {
        timedOut = true;
        outgoing.destroy(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onAbort = () => outgoing.destroy(new Error('aborted by the caller'));
      if (request.signal?.aborted) onAbort();
      else request.signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.on('error', fail);
      outgoing.end(body ?? undefined);
    });
  }

  /** Close idle sockets (tests, shutdown). */
  close(): void {
    this.agent.destroy();
  }
}
