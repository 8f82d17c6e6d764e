import assert from 'node:assert';
import type { Clock } from '../../core/clock.js';
import type { BulkLevel, ChannelConnector, PushItem, PushOutcome, RateLimitStatus } from '../channel-connector.js';
import { GmcAuth } from './gmc-auth.js';
import { availabilityFor, type GmcPreorderAs, shownQuantity } from './gmc-availability.js';
import { type GmcCallResult, GmcClient, type GmcProduct, type GmcProductInput } from './gmc-client.js';
import { type GmcMethod, GmcQuota, gmcFacts, gmcLimits } from './gmc-limits.js';

/**
 * Google Merchant Center behind the connector port: a feed-only channel (no orders in) that shows
 * availability for ads and free listings (docs/channels/google-merchant-center.md).
 *
 * Push: one Merchant API `productInputs.insert` per listing into the channel's data source (meant
 * to be a supplemental API source, so onhand's input carries only availability and never replaces
 * titles or prices), each inside the client-side model of the per-minute quota; the inserts of one
 * push travel as the nested calls of one HTTP batch request (or, with `batchRequests: false`, one
 * request each, at most `pushConcurrencyMax` in flight). The input is ABSOLUTE (insert replaces
 * the input of the same offer in that data source): a push retried after a lost answer sends the same input again. The
 * quantity becomes `availability` (+ `availabilityDate` for a pre-order offer, gmc-availability.ts)
 * and travels beside it as the custom attribute `onhand_quantity`. No compare-and-set, never `stale`.
 *
 * Read-back: `products.get` (targeted) or `products.list` (the bulk path of a full pass) reads the
 * PROCESSED product and reports a quantity that agrees with what was acknowledged exactly when the
 * availability does (shownQuantity): drift on this channel is drift of availability. Google
 * processes an input within minutes, so for `processingGraceMs` after an acknowledged insert a
 * read answers what this connector sent (an out-of-band edit in that window is seen by the next pass).
 */

export interface GmcConnectorConfig {
  /** Merchant Center account id. */
  account: string;
  /** Data source id (under the account) that onhand's inputs go to. */
  dataSource: string;
  /** Service account e-mail (`client_email` of its JSON key). */
  clientEmail: string;
  /** PEM RSA private key (`private_key` of its JSON key). */
  privateKey: string;
  privateKeyId?: string | undefined;
  /** ISO 639-1 language of the products, e.g. `en`. */
  contentLanguage: string;
  /** Feed label of the products, e.g. `US`. */
  feedLabel: string;
  /** What a pre-order offer is shown as. @default 'PREORDER' */
  preorderAs?: GmcPreorderAs;
  /** @default https://merchantapi.googleapis.com */
  baseUrl?: string;
  /** @default https://oauth2.googleapis.com/token */
  tokenUrl?: string;
  /** The account's per-minute quota per method (quotas.list); defaults in gmcLimits. */
  perMinute?: Partial<Record<GmcMethod, number>>;
  clock?: Clock;
  requestTimeoutMs?: number;
  maxBatchSize?: number;
  /**
   * Send a push's inserts as the nested calls of one HTTP batch request (one connection's round
   * trip for up to `maxBatchSize` listings); false: one request per insert, `pushConcurrencyMax`
   * in flight. The quotas count each insert either way. @default true
   */
  batchRequests?: boolean;
  pushConcurrencyMax?: number;
  limiterWaitMsMax?: number;
  /** @default gmcLimits.processingGraceMs */
  processingGraceMs?: number;
}

async function mapBounded<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

const offerIdPattern = /^[^\s~/][^~/]{0,49}$/;

export class GmcConnector implements ChannelConnector {
  readonly platform = 'gmc';
  readonly maxBatchSize: number;
  private readonly pushConcurrencyMax: number;
  /** Turned off for good when Google refuses a batch request as such (see pushLevels). */
  private batchRequests: boolean;
  private readonly preorderAs: GmcPreorderAs;
  private readonly auth: GmcAuth;
  private readonly quota: GmcQuota;
  private readonly client: GmcClient;
  private readonly now: () => number;
  private readonly processingGraceMs: number;
  /** Offers this connector inserted lately: what it sent and when (the processing grace). */
  private readonly recent = new Map<string, { quantity: number; at: number }>();

  constructor(private readonly config: GmcConnectorConfig) {
    const now = config.clock === undefined ? () => Date.now() : () => config.clock!.now();
    this.now = now;
    this.maxBatchSize = config.maxBatchSize ?? gmcLimits.pushBatchSizeMax;
    this.pushConcurrencyMax = config.pushConcurrencyMax ?? gmcLimits.pushConcurrencyMax;
    this.batchRequests = config.batchRequests ?? true;
    this.preorderAs = config.preorderAs ?? 'PREORDER';
    this.processingGraceMs = config.processingGraceMs ?? gmcLimits.processingGraceMs;
    assert(this.maxBatchSize >= 1 && this.pushConcurrencyMax >= 1);
    assert(/^[a-z]{2}$/.test(config.contentLanguage), 'content language is an ISO 639-1 code');
    this.auth = new GmcAuth({
      tokenUrl: config.tokenUrl ?? gmcFacts.tokenUrl,
      clientEmail: config.clientEmail,
      privateKey: config.privateKey,
      privateKeyId: config.privateKeyId,
      now,
      requestTimeoutMs: config.requestTimeoutMs ?? gmcLimits.requestTimeoutMs,
    });
    this.quota = new GmcQuota(
      {
        insert: config.perMinute?.insert ?? gmcLimits.insertPerMinuteDefault,
        get: config.perMinute?.get ?? gmcLimits.getPerMinuteDefault,
        list: config.perMinute?.list ?? gmcLimits.listPerMinuteDefault,
      },
      now,
    );
    this.client = new GmcClient({
      baseUrl: config.baseUrl ?? gmcFacts.apiOrigin,
      account: config.account,
      dataSource: config.dataSource,
      auth: this.auth,
      quota: this.quota,
      requestTimeoutMs: config.requestTimeoutMs ?? gmcLimits.requestTimeoutMs,
      limiterWaitMsMax: config.limiterWaitMsMax ?? gmcLimits.limiterWaitMsMax,
    });
  }

  /** Token requests sent so far (tests: renewal, single flight). */
  get tokenRequestCount(): number {
    return this.auth.tokenRequestCount;
  }

  /** The processed product's id: `contentLanguage~feedLabel~offerId`. */
  productId(offerId: string): string {
    return `${this.config.contentLanguage}~${this.config.feedLabel}~${offerId}`;
  }

  async pushLevels(items: readonly PushItem[], signal?: AbortSignal): Promise<PushOutcome[]> {
    assert(items.length <= this.maxBatchSize, `at most ${this.maxBatchSize} items per pushLevels call`);
    const outcomes = new Array<PushOutcome>(items.length);
    const valid: { index: number; input: GmcProductInput }[] = [];
    items.forEach((item, index) => {
      const input = this.input(item);
      if (typeof input === 'string')
        outcomes[index] = { listingId: item.listingId, status: 'permanent', reason: input };
      else valid.push({ index, input });
    });
    const one = ({ input }: { input: GmcProductInput }) => this.client.insertProductInput(input, signal);
    const results = this.batchRequests
      ? await this.client.insertProductInputs(
          valid.map(({ input }) => input),
          signal,
        )
      : await mapBounded(valid, this.pushConcurrencyMax, one);
    // Google (or a proxy before it) refused the batch request itself: none of it ran. From now on
    // this connection sends one request per insert, starting with these.
    const refused = valid.flatMap((_, at) => {
      const result = results[at]!;
      return result.kind === 'failed' && result.batchRefused === true ? [at] : [];
    });
    if (refused.length > 0) {
      this.batchRequests = false;
      const again = await mapBounded(refused, this.pushConcurrencyMax, (at) => one(valid[at]!));
      refused.forEach((at, position) => {
        results[at] = again[position]!;
      });
    }
    valid.forEach(({ index }, at) => {
      outcomes[index] = this.outcome(items[index]!, results[at]!);
    });
    return outcomes;
  }

  /** The product input of a push, or why the item cannot be one. */
  private input(item: PushItem): GmcProductInput | string {
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 0)
      return `quantity ${item.quantity} is not a whole number >= 0`;
    if (!offerIdPattern.test(item.externalId))
      return `google offer id ${JSON.stringify(item.externalId.slice(0, 60))} is not 1-50 characters without "~" or "/"`;
    return {
      offerId: item.externalId,
      contentLanguage: this.config.contentLanguage,
      feedLabel: this.config.feedLabel,
      productAttributes: availabilityFor(item.quantity, item.preorder, this.preorderAs, this.now()),
      customAttributes: [{ name: gmcFacts.quantityAttribute, value: String(item.quantity) }],
    };
  }

  private outcome(item: PushItem, result: GmcCallResult<unknown>): PushOutcome {
    const { listingId } = item;
    if (result.kind === 'ok') {
      this.remember(item.externalId, item.quantity);
      return { listingId, status: 'ok', channelQuantity: item.quantity };
    }
    if (result.retryable)
      return {
        listingId,
        status: 'retry',
        reason: result.reason,
        ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
      };
    return { listingId, status: 'permanent', reason: result.reason };
  }

  private remember(offerId: string, quantity: number): void {
    if (this.processingGraceMs <= 0) return;
    this.recent.delete(offerId);
    this.recent.set(offerId, { quantity, at: this.now() });
    if (this.recent.size > gmcLimits.recentPushesMax) this.recent.delete(this.recent.keys().next().value!);
  }

  /** What this connector sent for the offer, while Google may still be processing it; else null. */
  private processing(offerId: string): number | null {
    const entry = this.recent.get(offerId);
    if (entry === undefined) return null;
    if (this.now() - entry.at < this.processingGraceMs) return entry.quantity;
    this.recent.delete(offerId);
    return null;
  }

  private levelOf(product: GmcProduct): number {
    return shownQuantity(product.productAttributes?.availability, product.customAttributes);
  }

  /** `products.get` per item (see the class comment); null when Google has no such product. Throws on other failures. */
  async readLevels(
    items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[],
    signal?: AbortSignal,
  ): Promise<{ listingId: string; quantity: number | null }[]> {
    return mapBounded(items, gmcLimits.readConcurrencyMax, async (item) => {
      const sent = this.processing(item.externalId);
      if (sent !== null) return { listingId: item.listingId, quantity: sent };
      if (!offerIdPattern.test(item.externalId)) return { listingId: item.listingId, quantity: null };
      for (let attempt = 1; ; attempt++) {
        const result = await this.client.getProduct(this.productId(item.externalId), signal);
        if (result.kind === 'ok') return { listingId: item.listingId, quantity: this.levelOf(result.body) };
        if (result.status === 404) return { listingId: item.listingId, quantity: null };
        if (result.retryable && result.retryAfterMs !== undefined && attempt < 3 && !signal?.aborted) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(result.retryAfterMs!, 5_000)));
          continue;
        }
        throw new Error(`google read-back of ${item.externalId} failed: ${result.reason}`);
      }
    });
  }

  /**
   * The full audit: `products.list` a page of 1,000 at a time following `nextPageToken`, inside the
   * list method's own minute budget (pushes are never delayed by it). Only the products of this
   * channel's language and feed label are yielded. Throws when a page cannot be read.
   */
  async *readAllLevels(signal?: AbortSignal): AsyncGenerator<BulkLevel[]> {
    let pageToken: string | null = null;
    for (let pages = 0; pages < gmcLimits.listPagesMax; pages++) {
      let result: Awaited<ReturnType<GmcClient['listProducts']>>;
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        result = await this.client.listProducts(gmcFacts.productsPageSizeMax, pageToken, signal);
        if (result.kind === 'ok') break;
        if (result.retryable && attempt < 5 && !signal?.aborted) {
          const waitMs = Math.max(100, Math.min(result.retryAfterMs ?? 1_000, 60_000));
          await new Promise((resolve) => setTimeout(resolve, waitMs));
          continue;
        }
        throw new Error(`google products list failed: ${result.reason}`);
      }
      const products = Array.isArray(result.body.products) ? result.body.products : [];
      yield products
        .filter(
          (product) =>
            typeof product.offerId === 'string' &&
            product.contentLanguage === this.config.contentLanguage &&
            product.feedLabel === this.config.feedLabel,
        )
        .map((product) => ({
          externalId: product.offerId!,
          externalLocationId: null,
          quantity: this.processing(product.offerId!) ?? this.levelOf(product),
        }));
      pageToken = result.body.nextPageToken ?? null;
      if (pageToken === null || pageToken === '') return;
    }
    throw new Error(`google products list longer than ${gmcLimits.listPagesMax} pages`);
  }

  /** The insert method's minute budget, as our model sees it. */
  rateLimit(): RateLimitStatus {
    return this.quota.status('insert');
  }
}
