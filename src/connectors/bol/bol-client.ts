import type { components as OffersV11 } from './generated/offers-v11.js';
import type { components as RetailerV10, operations as RetailerV10Operations } from './generated/retailer-v10.js';
import { type BolAuth, BolAuthError, parseRetryAfterMs } from './bol-auth.js';
import { type BolRateLimiter, type BolRateRuleName, bolLimits, findBolRateRule } from './bol-limits.js';
import { HttpTransport, headerValue, type TransportAnswer } from '../http-transport.js';
import { type PlatformCallResult, tokenFailure } from '../call-result.js';

/**
 * The HTTP layer of the Bol connector: one method per bol operation we use, typed with the types
 * generated from bol's OpenAPI documents (scripts/generate-bol-types.mjs), each call
 * 1. takes a bearer token (BolAuth),
 * 2. takes a slot of its endpoint's window (BolRateLimiter) or answers "wait" without sending,
 * 3. sends with a deadline (for sending and reading the body) and the caller's signal, over
 *    the connectors' shared HTTP transport (../http-transport.ts: a tenth of fetch's CPU per call),
 * 4. feeds bol's rate headers back to the limiter,
 * 5. on 401 renews the token ONCE and repeats (a token can expire in flight),
 * 6. classifies the answer: `ok`, or `failed` with `retryable` (429, 5xx, network, timeout) or not
 *    (400, 403, 404, 406, 415, a second 401...) - bol documents 500/503/504 as retryable
 *    and 400/404 as functional (docs/channels/bol.md, Push: one PATCH per offer, the errors).
 * It never throws for a platform answer.
 */

export type PatchOfferRequest = OffersV11['schemas']['PatchOfferRequest'];
export type OfferResponse = OffersV11['schemas']['OfferResponse'];
export type OfferListResponse = OffersV11['schemas']['OfferListResponse'];
export type BolProblem = RetailerV10['schemas']['Problem'];
export type ReducedOrders = RetailerV10['schemas']['ReducedOrders'];
export type ReducedOrder = RetailerV10['schemas']['ReducedOrder'];
export type ReducedOrderItem = RetailerV10['schemas']['ReducedOrderItem'];
export type BolOrder = RetailerV10['schemas']['Order'];
export type BolOrderItem = RetailerV10['schemas']['OrderOrderItem'];
export type GetOrdersQuery = NonNullable<RetailerV10Operations['get-orders']['parameters']['query']>;

/** Media types (docs/channels/bol.md, Media types): offers are v11, orders v10; a wrong one gets 406/415. */
export const bolMediaTypes = Object.freeze({
  offersV11: 'application/vnd.retailer.v11+json',
  retailerV10: 'application/vnd.retailer.v10+json',
});

export type BolCallResult<T> = PlatformCallResult<T, { problem?: BolProblem }>;

export interface BolClientConfig {
  /** Origin of the API, e.g. https://api.bol.com (paths start with /retailer). */
  baseUrl: string;
  auth: BolAuth;
  limiter: BolRateLimiter;
  now: () => number;
  /** @default bolLimits.requestTimeoutMs */
  requestTimeoutMs?: number;
  /** @default bolLimits.limiterWaitMsMax */
  limiterWaitMsMax?: number;
  /** @default an HttpTransport of its own */
  transport?: HttpTransport;
}

interface Operation {
  method: 'GET' | 'PATCH';
  path: string;
  media: string;
  body?: unknown;
  /** Whether a 2xx carries a JSON body to parse. */
  expectBody: boolean;
}

export class BolClient {
  private readonly baseUrl: string;
  private readonly transport: HttpTransport;

  constructor(private readonly config: BolClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.transport = config.transport ?? new HttpTransport();
  }

  /** Close idle keep-alive sockets. */
  close(): void {
    this.transport.close();
  }

  /** Offers v11 `PATCH /retailer/offers/{offer-id}` -> 204 (docs/channels/bol.md, Push: one PATCH per offer). */
  patchOffer(offerId: string, request: PatchOfferRequest, signal?: AbortSignal): Promise<BolCallResult<undefined>> {
    return this.call(
      {
        method: 'PATCH',
        path: `/retailer/offers/${encodeURIComponent(offerId)}`,
        media: bolMediaTypes.offersV11,
        body: request,
        expectBody: false,
      },
      signal,
    );
  }

  /** Offers v11 `GET /retailer/offers/{offer-id}` -> OfferResponse, 404 when unknown. */
  getOffer(offerId: string, signal?: AbortSignal): Promise<BolCallResult<OfferResponse>> {
    return this.call(
      {
        method: 'GET',
        path: `/retailer/offers/${encodeURIComponent(offerId)}`,
        media: bolMediaTypes.offersV11,
        expectBody: true,
      },
      signal,
    );
  }

  /** Offers v11 `GET /retailer/offers?page-size&cursor` -> OfferListResponse (a page of every offer). */
  listOffers(
    query: { pageSize: number; cursor: string | null },
    signal?: AbortSignal,
  ): Promise<BolCallResult<OfferListResponse>> {
    const search = new URLSearchParams({ 'page-size': String(query.pageSize) });
    if (query.cursor !== null) search.set('cursor', query.cursor);
    return this.call(
      {
        method: 'GET',
        path: `/retailer/offers?${search.toString()}`,
        media: bolMediaTypes.offersV11,
        expectBody: true,
      },
      signal,
    );
  }

  /** Retailer v10 `GET /retailer/orders` -> ReducedOrders; bol's `{}` past the last page becomes `{orders: []}`. */
  async getOrders(query: GetOrdersQuery, signal?: AbortSignal): Promise<BolCallResult<ReducedOrders>> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
    const result = await this.call<Partial<ReducedOrders>>(
      {
        method: 'GET',
        path: `/retailer/orders?${search.toString()}`,
        media: bolMediaTypes.retailerV10,
        expectBody: true,
      },
      signal,
    );
    if (result.kind === 'failed') return result;
    return {
      kind: 'ok',
      status: result.status,
      body: { orders: Array.isArray(result.body.orders) ? result.body.orders : [] },
    };
  }

  /** Retailer v10 `GET /retailer/orders/{order-id}` -> Order (offer id, reference, quantities). */
  getOrder(orderId: string, signal?: AbortSignal): Promise<BolCallResult<BolOrder>> {
    return this.call(
      {
        method: 'GET',
        path: `/retailer/orders/${encodeURIComponent(orderId)}`,
        media: bolMediaTypes.retailerV10,
        expectBody: true,
      },
      signal,
    );
  }

  private async call<T>(operation: Operation, signal: AbortSignal | undefined): Promise<BolCallResult<T>> {
    const pathname = operation.path.split('?')[0]!;
    const rule = findBolRateRule(this.config.limiter.rules, operation.method, pathname);
    for (let attempt = 1; ; attempt++) {
      // 1. token
      let token: string;
      try {
        token = await this.config.auth.accessToken();
      } catch (error) {
        return tokenFailure(error instanceof BolAuthError ? error : new BolAuthError(String(error), true));
      }
      // 2. window slot
      if (rule !== undefined) {
        let slot: Awaited<ReturnType<BolRateLimiter['acquire']>>;
        try {
          slot = await this.config.limiter.acquire(
            rule.name,
            this.config.limiterWaitMsMax ?? bolLimits.limiterWaitMsMax,
            signal,
          );
        } catch {
          return { kind: 'failed', retryable: true, status: null, reason: 'aborted while waiting for the rate window' };
        }
        if (!slot.ok) {
          return {
            kind: 'failed',
            retryable: true,
            status: null,
            reason: `bol ${rule.name} budget (${rule.capacity} per ${rule.windowMs} ms) spent: not sent`,
            retryAfterMs: slot.waitMs,
          };
        }
      }
      // 3. send
      const answer = await this.send(operation, token, signal);
      if (answer.kind === 'network') return { kind: 'failed', retryable: true, status: null, reason: answer.reason };
      const { status, headers, text } = answer;
      const ok = status >= 200 && status < 300;
      // 4. rate headers
      const now = this.config.now();
      const retryAfterMs = parseRetryAfterMs(headerValue(headers, 'retry-after'), now);
      if (rule !== undefined) {
        this.config.limiter.observe(rule.name, {
          status,
          retryAfterMs,
          remaining: headerNumber(headerValue(headers, 'x-ratelimit-remaining')),
          resetMs: secondsToMs(headerNumber(headerValue(headers, 'x-ratelimit-reset'))),
          limit: headerNumber(headerValue(headers, 'x-ratelimit-limit')),
        });
      }
      // 5. one renewal on 401
      if (status === 401 && attempt === 1) {
        this.config.auth.invalidate(token);
        continue;
      }
      // 6. classify
      if (ok) {
        if (!operation.expectBody) return { kind: 'ok', status, body: undefined as T };
        try {
          return { kind: 'ok', status, body: JSON.parse(text) as T };
        } catch {
          return {
            kind: 'failed',
            retryable: true,
            status,
            reason: `bol ${operation.method} ${pathname} answered ${status} with a malformed body`,
          };
        }
      }
      return classifyFailure(operation, pathname, status, text, retryAfterMs, rule?.name);
    }
  }

  private async send(operation: Operation, token: string, signal: AbortSignal | undefined): Promise<TransportAnswer> {
    const timeoutMs = this.config.requestTimeoutMs ?? bolLimits.requestTimeoutMs;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: operation.media };
    if (operation.body !== undefined) headers['content-type'] = operation.media;
    const answer = await this.transport.send({
      method: operation.method,
      url: `${this.baseUrl}${operation.path}`,
      headers,
      body: operation.body === undefined ? null : JSON.stringify(operation.body),
      timeoutMs,
      signal,
    });
    if (answer.kind === 'answer') return answer;
    const what = `bol ${operation.method} ${operation.path.split('?')[0]}`;
    if (answer.timedOut)
      return { ...answer, reason: `${what}: no answer within ${timeoutMs} ms (it may have been applied)` };
    if (answer.aborted) return { ...answer, reason: `${what}: aborted by the caller (it may have been applied)` };
    return { ...answer, reason: `${what}: ${answer.reason} (it may have been applied)` };
  }
}

function classifyFailure<T>(
  operation: Operation,
  pathname: string,
  status: number,
  text: string,
  retryAfterMs: number | undefined,
  ruleName: BolRateRuleName | undefined,
): BolCallResult<T> {
  let problem: BolProblem | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<BolProblem>;
    if (parsed !== null && typeof parsed === 'object' && typeof parsed.status === 'number')
      problem = parsed as BolProblem;
  } catch {
    problem = undefined;
  }
  const violations = (problem?.violations ?? [])
    .map((violation) => `${violation.name}: ${violation.reason}`)
    .join('; ');
  const detail = [problem?.detail ?? problem?.title, violations]
    .filter((part) => part !== undefined && part !== '')
    .join(' - ');
  const reason = `bol ${operation.method} ${pathname} answered ${status}${detail === '' ? '' : `: ${detail}`}`;
  const base = { kind: 'failed' as const, status, reason, ...(problem === undefined ? {} : { problem }) };
  if (status === 429) {
    // bol sends Retry-After with its 429 (docs/channels/bol.md, Rate limits); without one, wait a window.
    return { ...base, retryable: true, retryAfterMs: retryAfterMs ?? (ruleName === 'orders-list' ? 60_000 : 1_000) };
  }
  if (status >= 500 || status === 408)
    return { ...base, retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  return { ...base, retryable: false };
}

function headerNumber(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}
