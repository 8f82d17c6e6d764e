import { createAdminApiClient, type AdminApiClient } from '@shopify/admin-api-client';
import { headerValue, HttpTransport } from '../http-transport.js';
import { CostBucket, throttledRetryAfterMs, type ThrottleStatus } from './shopify-limits.js';
import { costExtensionSchema } from './shopify-mapping.js';

/**
 * One GraphQL call to the Admin API, with the three things the connector needs around Shopify's
 * own client (`@shopify/admin-api-client`, rather than an HTTP layer of our own):
 * admission through the cost bucket before sending, a bounded deadline, and one classified
 * answer. The library is used with `retries: 0`: retrying is the dispatcher's decision
 * (src/sync/retry-policy.ts), and the library's own retry would sleep 1 s blind to the bucket.
 */

export interface ShopifyClientOptions {
  /** `example.myshopify.com`. */
  shopDomain: string;
  /**
   * Where requests really go, e.g. `http://127.0.0.1:43121` for the simulator. The library always
   * builds `https://<shopDomain>/admin/api/<version>/graphql.json`; `customFetchApi` swaps the
   * origin and keeps the path. Unset = the real shop over HTTPS.
   */
  baseUrl?: string | undefined;
  accessToken: string;
  apiVersion: string;
  requestTimeoutMs: number;
  /**
   * Injected for tests (lost answers, faults); by default the library's calls go through
   * the connectors' HTTP transport (`transportFetch`), not the global fetch.
   */
  fetch?: typeof fetch | undefined;
  /** Monotonic milliseconds for the bucket model. */
  now: () => number;
}

export type GraphqlOutcome =
  | { kind: 'data'; data: unknown; requestedCost: number | null }
  | {
      kind: 'failure';
      /** false: will never succeed as sent (credentials, malformed request) -> dead letter. */
      retryable: boolean;
      reason: string;
      retryAfterMs?: number;
      /** True when the request may have reached Shopify and been applied (answer lost). */
      ambiguous: boolean;
    };

export interface ExecuteOptions {
  /** Longest wait for the bucket before answering `retry` (0 = never wait). */
  bucketWaitMsMax: number;
  signal?: AbortSignal | undefined;
}

export class ShopifyGraphqlClient {
  readonly bucket: CostBucket;
  readonly #client: AdminApiClient;
  readonly #requestTimeoutMs: number;
  readonly #deadlineBySignal: boolean;
  /** Library notices (unsupported version, deprecations), newest last, at most 20. */
  readonly notices: string[] = [];

  constructor(options: ShopifyClientOptions) {
    this.bucket = new CostBucket(options.now);
    this.#requestTimeoutMs = options.requestTimeoutMs;
    // The transport keeps the deadline itself; an injected fetch gets it as a signal (execute).
    this.#deadlineBySignal = options.fetch !== undefined;
    const fetchImplementation = options.fetch ?? transportFetch(new HttpTransport(), options.requestTimeoutMs);
    const baseUrl = options.baseUrl?.replace(/\/+$/, '');
    this.#client = createAdminApiClient({
      storeDomain: options.shopDomain,
      apiVersion: options.apiVersion,
      accessToken: options.accessToken,
      userAgentPrefix: 'onhand',
      retries: 0,
      customFetchApi: (url, init) => {
        const target = baseUrl ? `${baseUrl}${new URL(url).pathname}` : url;
        return fetchImplementation(target, init as RequestInit);
      },
      // Without a logger the library prints "apiVersion is likely deprecated" with console.warn.
      logger: (entry) => {
        if (entry.type === 'Unsupported_Api_Version' || entry.type === 'HTTP-Response-GraphQL-Deprecation-Notice') {
          this.notices.push(
            `${entry.type}: ${JSON.stringify('deprecationNotice' in entry.content ? entry.content.deprecationNotice : entry.content)}`,
          );
          if (this.notices.length > 20) this.notices.shift();
        }
      },
    });
  }

  async execute(
    operation: string,
    variables: Record<string, unknown>,
    estimatedCost: number,
    options: ExecuteOptions,
  ): Promise<GraphqlOutcome> {
    const admission = await this.bucket.admit(estimatedCost, options.bucketWaitMsMax, options.signal);
    if (!admission.admitted) {
      return {
        kind: 'failure',
        retryable: true,
        reason: admission.reason,
        retryAfterMs: admission.retryAfterMs,
        ambiguous: false,
      };
    }
    const timeout = this.#deadlineBySignal ? AbortSignal.timeout(this.#requestTimeoutMs) : null;
    const signal =
      timeout === null ? options.signal : options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let observed = false;
    try {
      const response = await this.#client.request(operation, {
        variables,
        ...(signal === undefined ? {} : { signal }),
      });
      const cost = costExtensionSchema.safeParse(response.extensions?.cost);
      const requestedCost = cost.success ? (cost.data.requestedQueryCost ?? null) : null;
      if (cost.success) {
        this.bucket.observe(admission.ticket, cost.data.throttleStatus);
        observed = true;
      }
      const errors = response.errors;
      if (!errors) return { kind: 'data', data: response.data, requestedCost };

      const status = errors.networkStatusCode;
      if (status !== undefined && status !== 200) {
        await errors.response?.body?.cancel().catch(() => undefined);
        return classifyHttpStatus(
          status,
          errors.response?.headers.get('retry-after') ?? null,
          cost.success ? cost.data.throttleStatus : null,
          estimatedCost,
        );
      }
      if (errors.graphQLErrors && errors.graphQLErrors.length > 0) {
        return classifyGraphqlErrors(
          errors.graphQLErrors,
          requestedCost ?? estimatedCost,
          cost.success ? cost.data.throttleStatus : null,
        );
      }
      if (status === 200) {
        // 200 without data or with a body that is not JSON (truncated): the call ran or not.
        return {
          kind: 'failure',
          retryable: true,
          reason: `unreadable answer: ${errors.message ?? 'no data'}`,
          ambiguous: true,
        };
      }
      // No HTTP status at all: the request failed in transit (reset, refused, aborted, timeout).
      if (options.signal?.aborted)
        return { kind: 'failure', retryable: true, reason: 'aborted by the caller', ambiguous: true };
      if (timeout?.aborted)
        return {
          kind: 'failure',
          retryable: true,
          reason: `timeout after ${this.#requestTimeoutMs} ms`,
          ambiguous: true,
        };
      return {
        kind: 'failure',
        retryable: true,
        reason: `network: ${errors.message ?? 'request failed'}`,
        ambiguous: true,
      };
    } catch (error) {
      return {
        kind: 'failure',
        retryable: true,
        reason: `network: ${error instanceof Error ? error.message : String(error)}`,
        ambiguous: true,
      };
    } finally {
      if (!observed) this.bucket.release(admission.ticket);
    }
  }
}

/**
 * The part of fetch the Admin API client uses, over the connectors' HttpTransport instead of the
 * global fetch: the library reads `ok`, `status`, `statusText`, `headers.get` and `json()`/`text()`, and
 * `execute` cancels `body` of an error answer. The WHATWG layer (a Request, a Headers, a body
 * stream per call) is what fetch costs beyond the exchange itself; the Amazon, Google, bol.com
 * and WooCommerce clients went the same way (figures in bench/README.md). A network fault or the
 * deadline is thrown as fetch throws (a TypeError), and the library reports it as an answer
 * without an HTTP status, which `execute` classifies as before.
 */
export function transportFetch(transport: HttpTransport, timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const answer = await transport.send({
      method: init?.method ?? 'GET',
      url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      // The library passes its headers as a plain object; the transport copies them.
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: typeof init?.body === 'string' ? init.body : null,
      timeoutMs,
      signal: init?.signal ?? undefined,
    });
    if (answer.kind === 'network')
      throw new TypeError(answer.timedOut ? `timeout after ${timeoutMs} ms` : answer.reason);
    const { status, text } = answer;
    const response = {
      ok: status >= 200 && status < 300,
      status,
      statusText: '',
      headers: { get: (name: string) => headerValue(answer.headers, name.toLowerCase()) },
      body: { cancel: async () => undefined },
      text: async () => text,
      json: async () => JSON.parse(text) as unknown,
    };
    return response as unknown as Response;
  };
}

/**
 * HTTP-level answers. 401/403: the token is wrong or lacks `write_inventory` - no retry will fix
 * it. 402 (shop frozen for payment) and 423 (shop locked) need a human too. 404: wrong shop or
 * version. 429 can come from GraphQL too: whether Shopify throttles with 200 or 429 is not
 * settled, so both are a throttle (docs/channels/shopify.md, Rate limit: the cost bucket). 408 and
 * 5xx are transient; any other 4xx means our request is malformed.
 */
export function classifyHttpStatus(
  status: number,
  retryAfterHeader: string | null,
  throttle: ThrottleStatus | null,
  estimatedCost: number,
): GraphqlOutcome {
  if (status === 429) {
    const seconds = retryAfterHeader === null ? Number.NaN : Number.parseFloat(retryAfterHeader);
    const retryAfterMs =
      Number.isFinite(seconds) && seconds >= 0 && seconds <= 3600
        ? Math.ceil(seconds * 1000)
        : throttle
          ? throttledRetryAfterMs(estimatedCost, throttle)
          : 1000;
    return { kind: 'failure', retryable: true, reason: 'HTTP 429 Too Many Requests', retryAfterMs, ambiguous: false };
  }
  if (status === 401 || status === 403)
    return {
      kind: 'failure',
      retryable: false,
      reason: `HTTP ${status}: access token rejected or missing scope`,
      ambiguous: false,
    };
  if (status === 402 || status === 423)
    return { kind: 'failure', retryable: false, reason: `HTTP ${status}: shop frozen or locked`, ambiguous: false };
  if (status === 404)
    return { kind: 'failure', retryable: false, reason: 'HTTP 404: unknown shop or API version', ambiguous: false };
  if (status === 408 || status >= 500)
    return { kind: 'failure', retryable: true, reason: `HTTP ${status}`, ambiguous: true };
  return { kind: 'failure', retryable: false, reason: `HTTP ${status}: request rejected`, ambiguous: false };
}

type GraphqlErrorLike = { message?: string; extensions?: { code?: string } };

/**
 * Top-level GraphQL errors (not userErrors). THROTTLED is the bucket speaking (HTTP 200 in
 * practice; docs/channels/shopify.md, Rate limit: the cost bucket): wait (requested - available)
 * / restoreRate. INTERNAL_SERVER_ERROR is transient. Everything else (ACCESS_DENIED,
 * MAX_COST_EXCEEDED, validation of our query or variables, a missing @idempotent on 2026-04)
 * fails the same way every time.
 */
export function classifyGraphqlErrors(
  errors: readonly GraphqlErrorLike[],
  requestedCost: number,
  throttle: ThrottleStatus | null,
): GraphqlOutcome {
  const codes = errors.map((error) => error.extensions?.code ?? '');
  const summary = errors
    .slice(0, 3)
    .map((error) => `${error.extensions?.code ?? 'GRAPHQL_ERROR'}: ${String(error.message ?? '').slice(0, 200)}`)
    .join('; ');
  if (codes.includes('THROTTLED')) {
    return {
      kind: 'failure',
      retryable: true,
      reason: 'THROTTLED',
      retryAfterMs: throttle ? throttledRetryAfterMs(requestedCost, throttle) : 1000,
      ambiguous: false,
    };
  }
  if (codes.every((code) => code === 'INTERNAL_SERVER_ERROR' || code === 'SERVICE_UNAVAILABLE')) {
    return { kind: 'failure', retryable: true, reason: summary, ambiguous: true };
  }
  return { kind: 'failure', retryable: false, reason: summary, ambiguous: false };
}
