import { HttpTransport, headerValue } from '../http-transport.js';
import { type AmazonAuth, AmazonAuthError } from './amazon-auth.js';
import { type AmazonOperation, type AmazonRateLimiter, amazonLimits } from './amazon-limits.js';
import { type PlatformCallResult, tokenFailure } from '../call-result.js';

/**
 * The HTTP layer of the Amazon connector: one method per Selling Partner API operation we call.
 *
 * The types below are the subset of the official models (amzn/selling-partner-api-models,
 * specs/amazon, commit 34dc93fe) that the connector reads or sends, with the
 * models' own names; test/conformance/connectors/amazon.test.ts checks every property named
 * here against the model files, so a rename there fails a test (docs/channels/amazon.md, Client:
 * why not the SDK or generated types).
 *
 * Every call 1. takes an LWA access token (AmazonAuth), 2. takes a token of its operation's
 * bucket (AmazonRateLimiter) or answers "wait" without sending, 3. sends with a deadline,
 * 4. feeds `x-amzn-RateLimit-Limit` and 429s back to the limiter, 5. on 403 with an expired token
 * renews ONCE and repeats, 6. classifies: `ok`, or `failed` retryable (429, 5xx, network) or not
 * (400, 403, 404...). It never throws for a platform answer.
 */

// --- listingsItems_2021-08-01.json ---------------------------------------------------------
export interface Issue {
  code: string;
  message: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  attributeNames?: string[];
}
export interface ListingsItemSubmissionResponse {
  sku: string;
  status: 'ACCEPTED' | 'INVALID' | 'VALID';
  submissionId: string;
  issues?: Issue[];
}
export interface PatchOperation {
  op: 'add' | 'replace' | 'merge' | 'delete';
  path: string;
  value?: Record<string, unknown>[];
}
export interface ListingsItemPatchRequest {
  productType: string;
  patches: PatchOperation[];
}
export interface FulfillmentAvailability {
  fulfillmentChannelCode: string;
  quantity?: number;
}
export interface Item {
  sku: string;
  fulfillmentAvailability?: FulfillmentAvailability[];
  issues?: Issue[];
}
export interface ItemSearchResults {
  numberOfResults: number;
  items: Item[];
  pagination?: { nextToken?: string; previousToken?: string };
}

// --- feeds_2021-06-30.json -----------------------------------------------------------------
export interface CreateFeedDocumentResponse {
  feedDocumentId: string;
  url: string;
}
export interface CreateFeedResponse {
  feedId: string;
}
export interface Feed {
  feedId: string;
  feedType: string;
  createdTime: string;
  processingStatus: 'CANCELLED' | 'DONE' | 'FATAL' | 'IN_PROGRESS' | 'IN_QUEUE';
  resultFeedDocumentId?: string;
}
export interface FeedDocument {
  feedDocumentId: string;
  url: string;
  compressionAlgorithm?: 'GZIP';
}

// --- ordersV0.json -------------------------------------------------------------------------
export type OrderStatus =
  | 'Pending'
  | 'Unshipped'
  | 'PartiallyShipped'
  | 'Shipped'
  | 'Canceled'
  | 'Unfulfillable'
  | 'InvoiceUnconfirmed'
  | 'PendingAvailability';
export interface Order {
  AmazonOrderId: string;
  PurchaseDate: string;
  LastUpdateDate: string;
  OrderStatus: OrderStatus;
  FulfillmentChannel?: 'MFN' | 'AFN';
}
export interface OrdersList {
  Orders: Order[];
  NextToken?: string;
  LastUpdatedBefore?: string;
}
export interface GetOrdersResponse {
  payload?: OrdersList;
  errors?: AmazonError[];
}
export interface GetOrderResponse {
  payload?: Order;
  errors?: AmazonError[];
}
export interface OrderItem {
  ASIN: string;
  SellerSKU?: string;
  OrderItemId: string;
  QuantityOrdered: number;
  QuantityShipped?: number;
}
export interface OrderItemsList {
  OrderItems: OrderItem[];
  NextToken?: string;
  AmazonOrderId: string;
}
export interface GetOrderItemsResponse {
  payload?: OrderItemsList;
  errors?: AmazonError[];
}

// --- fbaInventory.json ---------------------------------------------------------------------
export interface ReservedQuantity {
  totalReservedQuantity?: number;
  pendingCustomerOrderQuantity?: number;
}
export interface InventoryDetails {
  fulfillableQuantity?: number;
  reservedQuantity?: ReservedQuantity;
}
export interface InventorySummary {
  asin?: string;
  fnSku?: string;
  sellerSku?: string;
  inventoryDetails?: InventoryDetails;
  lastUpdatedTime?: string;
  totalQuantity?: number;
}
export interface GetInventorySummariesResult {
  granularity: { granularityType?: string; granularityId?: string };
  inventorySummaries: InventorySummary[];
}
export interface GetInventorySummariesResponse {
  payload?: GetInventorySummariesResult;
  pagination?: { nextToken?: string };
  errors?: AmazonError[];
}

/** The error body of every operation (`ErrorList`). */
export interface AmazonError {
  code: string;
  message: string;
  details?: string;
}

export type AmazonCallResult<T> = PlatformCallResult<
  T,
  {
    /** The request may have reached Amazon (a timeout or reset after sending). */
    maybeApplied?: boolean;
  }
>;

export interface AmazonClientConfig {
  /** Regional origin, e.g. https://sellingpartnerapi-eu.amazon.com. */
  baseUrl: string;
  auth: AmazonAuth;
  limiter: AmazonRateLimiter;
  requestTimeoutMs?: number;
  limiterWaitMsMax?: number;
}

interface Call {
  operation: AmazonOperation;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
}

export class AmazonClient {
  private readonly baseUrl: string;
  /**
   * The connectors' shared HTTP transport (../http-transport.ts, keep-alive sockets), not global
   * fetch: a tenth of fetch's CPU per call (`npm run bench:transport`), and a PATCH per listing
   * is the connector's default path. The default of 64 sockets per origin is above the PATCHes
   * every claim loop keeps in flight.
   */
  private readonly transport = new HttpTransport();

  constructor(private readonly config: AmazonClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
  }

  patchListingsItem(
    sellerId: string,
    sku: string,
    marketplaceIds: readonly string[],
    request: ListingsItemPatchRequest,
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<ListingsItemSubmissionResponse>> {
    return this.call<ListingsItemSubmissionResponse>(
      {
        operation: 'patchListingsItem',
        method: 'PATCH',
        path: `/listings/2021-08-01/items/${encodeURIComponent(sellerId)}/${encodeURIComponent(sku)}`,
        query: { marketplaceIds: marketplaceIds.join(','), includedData: 'issues' },
        body: request,
      },
      signal,
    );
  }

  searchListingsItems(
    sellerId: string,
    marketplaceIds: readonly string[],
    skus: readonly string[],
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<ItemSearchResults>> {
    return this.call<ItemSearchResults>(
      {
        operation: 'searchListingsItems',
        method: 'GET',
        path: `/listings/2021-08-01/items/${encodeURIComponent(sellerId)}`,
        query: {
          marketplaceIds: marketplaceIds.join(','),
          identifiers: skus.join(','),
          identifiersType: 'SKU',
          includedData: 'fulfillmentAvailability',
          pageSize: String(amazonLimits.searchIdentifiersMax),
        },
      },
      signal,
    );
  }

  createFeedDocument(contentType: string, signal?: AbortSignal): Promise<AmazonCallResult<CreateFeedDocumentResponse>> {
    return this.call(
      { operation: 'createFeedDocument', method: 'POST', path: '/feeds/2021-06-30/documents', body: { contentType } },
      signal,
    );
  }

  createFeed(
    spec: { feedType: string; marketplaceIds: readonly string[]; inputFeedDocumentId: string },
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<CreateFeedResponse>> {
    return this.call({ operation: 'createFeed', method: 'POST', path: '/feeds/2021-06-30/feeds', body: spec }, signal);
  }

  getFeed(feedId: string, signal?: AbortSignal): Promise<AmazonCallResult<Feed>> {
    return this.call(
      { operation: 'getFeed', method: 'GET', path: `/feeds/2021-06-30/feeds/${encodeURIComponent(feedId)}` },
      signal,
    );
  }

  getFeedDocument(feedDocumentId: string, signal?: AbortSignal): Promise<AmazonCallResult<FeedDocument>> {
    return this.call(
      {
        operation: 'getFeedDocument',
        method: 'GET',
        path: `/feeds/2021-06-30/documents/${encodeURIComponent(feedDocumentId)}`,
      },
      signal,
    );
  }

  getOrders(
    query: { marketplaceIds: readonly string[]; lastUpdatedAfter: string; nextToken: string | null },
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<GetOrdersResponse>> {
    // With NextToken, Amazon takes the other filters from the token (ordersV0.json, NextToken).
    return this.call(
      {
        operation: 'getOrders',
        method: 'GET',
        path: '/orders/v0/orders',
        query: {
          MarketplaceIds: query.marketplaceIds.join(','),
          ...(query.nextToken === null
            ? { LastUpdatedAfter: query.lastUpdatedAfter, MaxResultsPerPage: String(amazonLimits.ordersPageSize) }
            : { NextToken: query.nextToken }),
        },
      },
      signal,
    );
  }

  getOrder(orderId: string, signal?: AbortSignal): Promise<AmazonCallResult<GetOrderResponse>> {
    return this.call(
      { operation: 'getOrder', method: 'GET', path: `/orders/v0/orders/${encodeURIComponent(orderId)}` },
      signal,
    );
  }

  getOrderItems(
    orderId: string,
    nextToken: string | null,
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<GetOrderItemsResponse>> {
    return this.call(
      {
        operation: 'getOrderItems',
        method: 'GET',
        path: `/orders/v0/orders/${encodeURIComponent(orderId)}/orderItems`,
        query: nextToken === null ? {} : { NextToken: nextToken },
      },
      signal,
    );
  }

  /**
   * FBA inventory summaries of these seller SKUs in one marketplace (granularityType
   * Marketplace, with details). With NextToken, the same filters are sent again: the token alone
   * does not carry them (fbaInventory.json, startDateTime and nextToken).
   */
  getInventorySummaries(
    query: { marketplaceId: string; sellerSkus: readonly string[]; nextToken: string | null },
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<GetInventorySummariesResponse>> {
    return this.call(
      {
        operation: 'getInventorySummaries',
        method: 'GET',
        path: '/fba/inventory/v1/summaries',
        query: {
          details: 'true',
          granularityType: 'Marketplace',
          granularityId: query.marketplaceId,
          marketplaceIds: query.marketplaceId,
          sellerSkus: query.sellerSkus.join(','),
          ...(query.nextToken === null ? {} : { nextToken: query.nextToken }),
        },
      },
      signal,
    );
  }

  /** PUT of a feed document to the pre-signed URL createFeedDocument gave (no SP-API token, no bucket). */
  async upload(
    url: string,
    contentType: string,
    content: string,
    signal?: AbortSignal,
  ): Promise<AmazonCallResult<null>> {
    return this.plain('PUT', url, { 'content-type': contentType }, content, signal, () => null);
  }

  /** GET of a report document from its pre-signed URL. */
  download(url: string, signal?: AbortSignal): Promise<AmazonCallResult<string>> {
    return this.plain('GET', url, {}, null, signal, (text) => text);
  }

  private async plain<T>(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | null,
    signal: AbortSignal | undefined,
    map: (text: string) => T,
  ): Promise<AmazonCallResult<T>> {
    const timeoutMs = this.config.requestTimeoutMs ?? amazonLimits.requestTimeoutMs;
    const answer = await this.transport.send({ method, url, headers, body, timeoutMs, signal });
    if (answer.kind === 'network')
      return {
        kind: 'failed',
        retryable: true,
        status: null,
        reason: `document ${method} failed: ${networkReason(answer)}`,
      };
    if (answer.status >= 200 && answer.status < 300)
      return { kind: 'ok', status: answer.status, body: map(answer.text) };
    return {
      kind: 'failed',
      retryable: answer.status >= 500 || answer.status === 429,
      status: answer.status,
      reason: `document ${method} answered ${answer.status}`,
    };
  }

  private async call<T>(call: Call, signal?: AbortSignal, renewed = false): Promise<AmazonCallResult<T>> {
    let token: string;
    try {
      token = await this.config.auth.accessToken();
    } catch (error) {
      if (error instanceof AmazonAuthError) return tokenFailure(error);
      throw error;
    }
    const slot = await this.config.limiter.acquire(
      call.operation,
      this.config.limiterWaitMsMax ?? amazonLimits.limiterWaitMsMax,
      signal,
    );
    if (!slot.ok)
      return {
        kind: 'failed',
        retryable: true,
        status: null,
        reason: `${call.operation} usage plan: waiting ${slot.waitMs} ms`,
        retryAfterMs: slot.waitMs,
      };
    const url = new URL(`${this.baseUrl}${call.path}`);
    for (const [name, value] of Object.entries(call.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, value);
    const timeoutMs = this.config.requestTimeoutMs ?? amazonLimits.requestTimeoutMs;
    const answer = await this.transport.send({
      method: call.method,
      url: url.toString(),
      headers: {
        'x-amz-access-token': token,
        accept: 'application/json',
        ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: call.body === undefined ? null : JSON.stringify(call.body),
      timeoutMs,
      signal,
    });
    if (answer.kind === 'network')
      return {
        kind: 'failed',
        retryable: true,
        status: null,
        reason: `${call.operation} failed: ${networkReason(answer)}`,
        maybeApplied: call.method !== 'GET',
      };
    const { status, text } = answer;
    this.config.limiter.observe(
      call.operation,
      slot.ticket,
      status,
      headerValue(answer.headers, 'x-amzn-ratelimit-limit'),
    );
    if (status >= 200 && status < 300) {
      try {
        return { kind: 'ok', status: status, body: (text === '' ? {} : JSON.parse(text)) as T };
      } catch {
        return {
          kind: 'failed',
          retryable: true,
          status: status,
          reason: `${call.operation}: malformed JSON`,
        };
      }
    }
    const errors = errorsOf(text);
    const reason = `${call.operation} answered ${status}${errors === '' ? '' : `: ${errors}`}`;
    if (status === 403 && !renewed && /expired|Unauthorized/i.test(text)) {
      this.config.auth.invalidate(token);
      return this.call<T>(call, signal, true);
    }
    if (status === 429) {
      return {
        kind: 'failed',
        retryable: true,
        status: 429,
        reason,
        retryAfterMs: this.config.limiter.status(call.operation).waitMs,
      };
    }
    return { kind: 'failed', retryable: status >= 500, status: status, reason };
  }
}

function errorsOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: AmazonError[] };
    if (!Array.isArray(parsed.errors)) return '';
    return parsed.errors
      .map((error) => `${error.code}: ${error.message}`)
      .join('; ')
      .slice(0, 500);
  } catch {
    return '';
  }
}

/** Why an exchange got no answer, as the failure reasons have always said it. */
function networkReason(answer: { reason: string; timedOut: boolean }): string {
  return answer.timedOut ? 'no answer in time' : answer.reason;
}
