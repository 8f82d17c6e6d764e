import { z } from 'zod';
import type { BulkLevel, ChannelConnector, PushItem, PushOutcome, RateLimitStatus } from '../channel-connector.js';
import type { IntakeEvent, WebhookCheck, WebhookDelivery, WebhookIntake } from '../channel-intake.js';
import {
  auditQuery,
  bulkFinalStatuses,
  bulkLineSchema,
  bulkRunMutation,
  bulkRunPayloadSchema,
  bulkStatusPayloadSchema,
  bulkStatusQuery,
  currentBulkPayloadSchema,
  currentBulkQuery,
  jsonlLines,
} from './shopify-bulk.js';
import { ShopifyGraphqlClient, type GraphqlOutcome } from './shopify-client.js';
import { shopifyLimits } from './shopify-limits.js';
import {
  batchIdempotencyKey,
  parseShopifyGid,
  readLevelsPayloadSchema,
  readLevelsQuery,
  setQuantitiesInput,
  setQuantitiesMutation,
  setQuantitiesPayloadSchema,
  shopifyVersionFeatures,
  toShopifyGid,
  userErrorEffect,
  userErrorQuantityIndex,
  type QuantityEntry,
  type SetQuantitiesPayload,
  type ShopifyVersionFeatures,
  type UserErrorEffect,
} from './shopify-mapping.js';
import { checkShopifyDelivery, shopifyDeliveryToEvent, type ShopifyWebhookConnection } from './shopify-webhooks.js';

/**
 * Shopify through the Admin GraphQL API (docs/channels/shopify.md: the platform facts used here).
 *
 * Push = `inventorySetQuantities` on `available`: ABSOLUTE quantities (a retried push can never
 * double-apply), at most 250 per mutation, each carrying the quantity we last saw on the channel
 * as the compare-and-set value (`changeFromQuantity` from 2026-01, `compareQuantity` before), so a
 * sale Shopify took meanwhile is never overwritten; from 2026-01 every mutation also carries an
 * `@idempotent(key:)` directive, so a write whose answer was lost is replayed, not re-applied.
 *
 * Outcomes, per item:
 * - ok: applied (or the idempotent replay of an earlier application).
 * - stale: the compare failed; the current quantity is read back in the same call when the bucket
 *   holds the points right now ("if cheap"), else null. If the channel already shows the desired
 *   quantity (e.g. our own earlier write whose answer was lost, on 2025-01 where there is no
 *   idempotency), the outcome is ok instead.
 * - retry: THROTTLED / HTTP 429 / 5xx / network / timeout / the bucket cannot afford the request
 *   within `bucketWaitMsMax`, with `retryAfterMs` from the bucket ((requested - available) /
 *   restoreRate) or Retry-After.
 * - permanent: 401/403 (every item), or a userError about one item (unknown item or location, not
 *   stocked there, quantity out of range) - for that item only.
 *
 * A userError fails the whole mutation (nothing applied; docs/channels/shopify.md, Push:
 * inventorySetQuantities), so after removing the
 * items it names the connector sends the rest again, in the same pushLevels call (at most
 * `pushRoundsMax` mutations per chunk).
 *
 * Waiting for the bucket: every request is admitted by the connector's bucket model first
 * (shopify-limits.ts). It waits at most `bucketWaitMsMax` (default 1 s; 0 = never wait); beyond
 * that the items come back `retry` with the wait as `retryAfterMs`, and the dispatcher, which
 * knows the urgency of each listing, decides what to push when (docs/RELIABILITY.md, section 10). `rateLimit()`
 * tells it the budget before it builds a batch.
 */

export const shopifyConnectorConfigSchema = z
  .object({
    /** `example.myshopify.com` (also the X-Shopify-Shop-Domain of its webhooks). */
    shopDomain: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$/i, 'a *.myshopify.com domain'),
    /** Origin to send requests to instead of https://<shopDomain> (the simulator). */
    baseUrl: z.string().url().optional(),
    accessToken: z.string().min(1).max(500),
    /** @default "2026-04" - the first version where changeFromQuantity and @idempotent are mandatory. */
    apiVersion: z
      .string()
      .refine((version) => shopifyVersionFeatures(version) !== null, 'YYYY-01|04|07|10 or unstable')
      .default('2026-04'),
    /** Location gid used when a push item has no externalLocationId. */
    locationId: z.string().nullable().default(null),
    /** @default "correction" - one of Shopify's documented reasons. */
    reason: z.string().min(1).max(100).default('correction'),
    /** @default 10000 */
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(shopifyLimits.requestTimeoutMsDefault),
    /** How often a running bulk operation (the full audit) is polled. @default 1000 */
    bulkPollIntervalMs: z.number().int().min(10).max(60_000).default(shopifyLimits.bulkPollIntervalMsDefault),
    /** @default 1000 */
    bucketWaitMsMax: z.number().int().min(0).max(60_000).default(shopifyLimits.bucketWaitMsMaxDefault),
    /** The app secrets that sign webhooks: current first, the previous one during a rotation. None = no webhook verifies. */
    webhookSecrets: z.array(z.string().min(1)).max(4).default([]),
  })
  .strict();

export type ShopifyConnectorConfig = z.input<typeof shopifyConnectorConfigSchema>;

export interface ShopifyConnectorDependencies {
  fetch?: typeof fetch;
  /** Monotonic milliseconds; default performance.now(). */
  now?: () => number;
}

/** readLevels could not read (the port has no failure shape for reads, so it throws this). */
export class ShopifyReadError extends Error {
  readonly code = 'ONH_SHOPIFY_READ_FAILED';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'ShopifyReadError';
  }
}

interface Slot {
  /** Position in the caller's items. */
  index: number;
  entry: QuantityEntry;
}

type ChunkResult = { outcomes: Map<number, PushOutcome>; stop: GraphqlOutcome | null };

export class ShopifyConnector implements ChannelConnector, WebhookIntake {
  readonly platform = 'shopify';
  readonly maxBatchSize = shopifyLimits.quantitiesPerMutationMax;
  readonly config: Readonly<z.output<typeof shopifyConnectorConfigSchema>>;
  readonly features: ShopifyVersionFeatures;
  readonly #client: ShopifyGraphqlClient;
  #mutationCost: number = shopifyLimits.mutationCostEstimate;
  #readCostPerItem: number = shopifyLimits.readCostPerItemEstimate;
  readonly #webhooks: ShopifyWebhookConnection;
  readonly #fetch: typeof fetch;

  constructor(config: ShopifyConnectorConfig, dependencies: ShopifyConnectorDependencies = {}) {
    this.config = Object.freeze(shopifyConnectorConfigSchema.parse(config));
    this.features = shopifyVersionFeatures(this.config.apiVersion)!;
    this.#client = new ShopifyGraphqlClient({
      shopDomain: this.config.shopDomain,
      baseUrl: this.config.baseUrl,
      accessToken: this.config.accessToken,
      apiVersion: this.config.apiVersion,
      requestTimeoutMs: this.config.requestTimeoutMs,
      fetch: dependencies.fetch,
      now: dependencies.now ?? (() => performance.now()),
    });
    this.#fetch = dependencies.fetch ?? fetch;
    this.#webhooks = {
      shopDomain: this.config.shopDomain,
      locationId: this.config.locationId,
      secrets: this.config.webhookSecrets,
    };
  }

  /** Orders arrive by webhook (shopify-webhooks.ts): the HMAC and the shop domain. */
  verifyWebhook(delivery: WebhookDelivery): WebhookCheck {
    return checkShopifyDelivery(delivery, this.#webhooks);
  }

  parseWebhook(delivery: WebhookDelivery): IntakeEvent {
    return shopifyDeliveryToEvent(delivery, this.#webhooks);
  }

  rateLimit(): RateLimitStatus {
    return this.#client.bucket.status();
  }

  /** Notices from Shopify's client library (unsupported API version, deprecations). */
  get notices(): readonly string[] {
    return this.#client.notices;
  }

  async pushLevels(items: readonly PushItem[], signal?: AbortSignal): Promise<PushOutcome[]> {
    const outcomes: (PushOutcome | undefined)[] = new Array(items.length);
    const checked: Slot[] = [];
    const unchecked: Slot[] = [];
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const problem = this.#validate(item);
      if (problem) {
        outcomes[index] = { listingId: item.listingId, status: 'permanent', reason: problem };
        return;
      }
      const inventoryItemId = toShopifyGid('InventoryItem', item.externalId)!;
      const locationId = toShopifyGid('Location', item.externalLocationId ?? this.config.locationId ?? '')!;
      // Shopify refuses a call that names one (item, location) twice
      // (NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR) and fails every other item with it; two
      // listings writing one level is a mapping error, so the later one is dead-lettered.
      const pair = `${inventoryItemId}|${locationId}`;
      if (seen.has(pair)) {
        outcomes[index] = {
          listingId: item.listingId,
          status: 'permanent',
          reason: `another item in this batch already sets ${inventoryItemId} at ${locationId}`,
        };
        return;
      }
      seen.add(pair);
      const slot = {
        index,
        entry: {
          inventoryItemId,
          locationId,
          quantity: item.quantity,
          compareTo: item.expectedChannelQuantity,
          itemKey: item.idempotencyKey,
        },
      };
      (this.features.compareField === 'compareQuantity' && item.expectedChannelQuantity === null
        ? unchecked
        : checked
      ).push(slot);
    });

    let stop: GraphqlOutcome | null = null;
    for (const group of [checked, unchecked]) {
      for (let start = 0; start < group.length; start += shopifyLimits.quantitiesPerMutationMax) {
        const chunk = group.slice(start, start + shopifyLimits.quantitiesPerMutationMax);
        if (stop !== null) {
          // A request-level failure (credentials, bucket, network) would hit every later chunk too.
          for (const slot of chunk) outcomes[slot.index] = failureOutcome(items[slot.index]!.listingId, stop);
          continue;
        }
        const result = await this.#pushChunk(chunk, items, signal);
        for (const [index, outcome] of result.outcomes) outcomes[index] = outcome;
        stop = result.stop;
      }
    }
    return outcomes.map(
      (outcome, index) => outcome ?? { listingId: items[index]!.listingId, status: 'retry', reason: 'not attempted' },
    );
  }

  #validate(item: PushItem): string | null {
    if (toShopifyGid('InventoryItem', item.externalId) === null)
      return `externalId ${JSON.stringify(item.externalId).slice(0, 80)} is not an InventoryItem gid`;
    const location = item.externalLocationId ?? this.config.locationId;
    if (location === null)
      return 'no location: the item has no externalLocationId and the connection no default locationId';
    if (toShopifyGid('Location', location) === null)
      return `location ${JSON.stringify(location).slice(0, 80)} is not a Location gid`;
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 0 || item.quantity > shopifyLimits.quantityMax)
      return `quantity ${item.quantity} outside 0..${shopifyLimits.quantityMax}`;
    if (item.expectedChannelQuantity !== null && !Number.isSafeInteger(item.expectedChannelQuantity))
      return `expectedChannelQuantity ${item.expectedChannelQuantity} is not an integer`;
    if (typeof item.idempotencyKey !== 'string' || item.idempotencyKey.length === 0) return 'empty idempotencyKey';
    return null;
  }

  /**
   * One chunk of <= 250 quantities, in rounds:
   * 1. send the mutation for the pending items;
   * 2. success -> every pending item ok;
   * 3. userErrors naming items (field path input.quantities.<i>) -> those items are stale or
   *    permanent, the call applied nothing, so the rest are sent again (next round);
   * 4. userErrors about the request -> every pending item permanent / retry, or a fresh key;
   * 5. any other failure -> every pending item retry or permanent, and `stop` for later chunks.
   * Then the stale items are read back once (step 6), if the bucket affords it without waiting.
   */
  async #pushChunk(
    chunk: readonly Slot[],
    items: readonly PushItem[],
    signal: AbortSignal | undefined,
  ): Promise<ChunkResult> {
    const outcomes = new Map<number, PushOutcome>();
    const stale: { slot: Slot; reason: string }[] = [];
    let pending = chunk;
    let salt = 0;
    let stop: GraphqlOutcome | null = null;
    const listingId = (slot: Slot) => items[slot.index]!.listingId;

    for (let round = 0; round < shopifyLimits.pushRoundsMax && pending.length > 0; round += 1) {
      const entries = pending.map((slot) => slot.entry);
      const input = setQuantitiesInput(this.features, entries, this.config.reason);
      const key =
        this.features.idempotentDirective === 'unsupported'
          ? null
          : batchIdempotencyKey(this.config.apiVersion, entries, input, salt);
      const result = await this.#client.execute(setQuantitiesMutation(key), { input }, this.#mutationCost, {
        bucketWaitMsMax: this.config.bucketWaitMsMax,
        signal,
      });
      if (result.kind === 'failure') {
        for (const slot of pending) outcomes.set(slot.index, failureOutcome(listingId(slot), result));
        pending = [];
        stop = result;
        break;
      }
      this.#learnMutationCost(result.requestedCost);
      const parsed = setQuantitiesPayloadSchema.safeParse(result.data);
      const payload = parsed.success ? parsed.data.inventorySetQuantities : null;
      if (payload === null) {
        const reason = parsed.success
          ? 'inventorySetQuantities answered null'
          : `unexpected answer shape: ${parsed.error.issues[0]?.message ?? ''}`;
        stop = { kind: 'failure', retryable: true, reason, ambiguous: true };
        for (const slot of pending) outcomes.set(slot.index, { listingId: listingId(slot), status: 'retry', reason });
        pending = [];
        break;
      }
      if (payload.userErrors.length === 0) {
        for (const slot of pending)
          outcomes.set(slot.index, {
            listingId: listingId(slot),
            status: 'ok',
            channelQuantity: quantityAfter(payload, slot.entry),
          });
        pending = [];
        break;
      }

      // 3./4. Sort the userErrors into per-item and per-request effects.
      const named = new Map<number, { effect: UserErrorEffect; reason: string }>();
      let requestEffect: { effect: UserErrorEffect; reason: string } | null = null;
      for (const userError of payload.userErrors) {
        const effect = userErrorEffect(userError.code);
        const reason = `${userError.code ?? 'USER_ERROR'}: ${userError.message.slice(0, 300)}`;
        const index = userErrorQuantityIndex(userError.field, pending.length);
        if ((effect === 'stale' || effect === 'item-permanent') && index !== null) {
          if (!named.has(index)) named.set(index, { effect, reason });
        } else if (requestEffect === null || severity(effect) > severity(requestEffect.effect)) {
          requestEffect = { effect, reason };
        }
      }
      if (requestEffect !== null && requestEffect.effect !== 'stale') {
        if (requestEffect.effect === 'new-key') {
          salt += 1;
          continue;
        }
        const status = requestEffect.effect === 'retry' ? 'retry' : 'permanent';
        for (const slot of pending)
          outcomes.set(slot.index, { listingId: listingId(slot), status, reason: requestEffect.reason });
        pending = [];
        break;
      }
      if (requestEffect !== null) {
        // A stale compare Shopify did not attribute to an item: treat every pending item as stale;
        // the read-back below tells the dispatcher what each one shows.
        for (const slot of pending) stale.push({ slot, reason: requestEffect.reason });
        pending = [];
        break;
      }
      for (const [index, { effect, reason }] of named) {
        const slot = pending[index]!;
        if (effect === 'stale') stale.push({ slot, reason });
        else outcomes.set(slot.index, { listingId: listingId(slot), status: 'permanent', reason });
      }
      pending = pending.filter((_, index) => !named.has(index));
    }
    for (const slot of pending) {
      outcomes.set(slot.index, {
        listingId: listingId(slot),
        status: 'retry',
        reason: `still failing after ${shopifyLimits.pushRoundsMax} mutations`,
      });
    }

    // 6. Read back what the stale items show, only if the bucket has the points right now.
    if (stale.length > 0) {
      const current = await this.#readAvailable(
        stale.map(({ slot }) => slot.entry),
        0,
        signal,
      ).catch(() => null);
      stale.forEach(({ slot, reason }, position) => {
        const channelQuantity = current?.[position] ?? null;
        if (channelQuantity !== null && channelQuantity === slot.entry.quantity) {
          outcomes.set(slot.index, { listingId: listingId(slot), status: 'ok', channelQuantity });
        } else {
          const shows = channelQuantity === null ? 'not read back' : `channel shows ${channelQuantity}`;
          outcomes.set(slot.index, {
            listingId: listingId(slot),
            status: 'stale',
            channelQuantity,
            reason: `${reason} (expected ${slot.entry.compareTo}, ${shows})`,
          });
        }
      });
    }
    return { outcomes, stop };
  }

  #learnMutationCost(requestedCost: number | null): void {
    if (requestedCost !== null && requestedCost > this.#mutationCost)
      this.#mutationCost = Math.min(shopifyLimits.queryCostMax, Math.ceil(requestedCost));
  }

  async readLevels(
    items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[],
    signal?: AbortSignal,
  ): Promise<{ listingId: string; quantity: number | null }[]> {
    const results = items.map((item) => ({ listingId: item.listingId, quantity: null as number | null }));
    const entries: { index: number; inventoryItemId: string; locationId: string }[] = [];
    items.forEach((item, index) => {
      const inventoryItemId = toShopifyGid('InventoryItem', item.externalId);
      const locationId = toShopifyGid('Location', item.externalLocationId ?? this.config.locationId ?? '');
      if (inventoryItemId !== null && locationId !== null) entries.push({ index, inventoryItemId, locationId });
    });
    const quantities = await this.#readAvailable(entries, this.config.bucketWaitMsMax, signal);
    entries.forEach((entry, position) => {
      results[entry.index]!.quantity = quantities[position] ?? null;
    });
    return results;
  }

  /** The same inventory item whatever the form of its id (numeric or gid). */
  itemKey(externalId: string): string {
    return parseShopifyGid(externalId)?.id ?? externalId;
  }

  /**
   * The full audit (shopify-bulk.ts): one bulk operation over the inventory levels of the
   * connection's location, polled every `bulkPollIntervalMs` until it finishes, then its JSONL
   * result streamed a page of `bulkPageSize` levels at a time. Each GraphQL call waits for the
   * bucket like any read; the audit's cost is one mutation plus one point per poll, so pushes
   * keep nearly the whole bucket. Throws when the operation cannot start or does not complete.
   */
  async *readAllLevels(signal?: AbortSignal): AsyncGenerator<BulkLevel[]> {
    const locationId = toShopifyGid('Location', this.config.locationId ?? '');
    if (locationId === null)
      throw new ShopifyReadError('a full audit needs the connection locationId', false, undefined);
    const waitMsMax = Math.max(this.config.bucketWaitMsMax, shopifyLimits.bulkBucketWaitMsMax);
    const call = async (query: string, variables: Record<string, unknown>, estimate: number) => {
      const result = await this.#client.execute(query, variables, estimate, { bucketWaitMsMax: waitMsMax, signal });
      if (result.kind === 'failure')
        throw new ShopifyReadError(`bulk audit failed: ${result.reason}`, result.retryable, result.retryAfterMs);
      return result.data;
    };
    const started = bulkRunPayloadSchema.safeParse(
      await call(bulkRunMutation, { query: auditQuery(locationId) }, this.#mutationCost),
    );
    if (!started.success) throw new ShopifyReadError('bulk run answer has an unexpected shape', true, undefined);
    const { bulkOperation, userErrors } = started.data.bulkOperationRunQuery;
    let operationId = bulkOperation?.id ?? null;
    if (operationId === null || userErrors.length > 0) {
      // One bulk query per shop and app at a time: if the one running is this same audit (an
      // earlier pass that stopped before its end), follow it instead of failing.
      const current = currentBulkPayloadSchema.safeParse(await call(currentBulkQuery, {}, shopifyLimits.readCostBase));
      const running = current.success ? current.data.currentBulkOperation : null;
      if (
        running !== null &&
        running.query === auditQuery(locationId) &&
        (running.status === 'CREATED' || running.status === 'RUNNING')
      )
        operationId = running.id;
      else
        throw new ShopifyReadError(
          `bulk audit refused: ${userErrors.map((error) => error.message).join('; ')}`,
          true,
          undefined,
        );
    }

    const deadline = performance.now() + shopifyLimits.bulkWaitMsMax;
    let url: string | null = null;
    for (;;) {
      signal?.throwIfAborted();
      const status = bulkStatusPayloadSchema.safeParse(
        await call(bulkStatusQuery, { id: operationId }, shopifyLimits.readCostBase),
      );
      if (!status.success || status.data.node === null)
        throw new ShopifyReadError('bulk status answer has an unexpected shape', true, undefined);
      const node = status.data.node;
      if (bulkFinalStatuses.has(node.status)) {
        if (node.status !== 'COMPLETED')
          throw new ShopifyReadError(
            `bulk audit ${node.status.toLowerCase()}${node.errorCode ? `: ${node.errorCode}` : ''}`,
            true,
            undefined,
          );
        url = node.url ?? null;
        break;
      }
      if (performance.now() >= deadline)
        throw new ShopifyReadError('bulk audit did not finish in time', true, undefined);
      await new Promise<void>((resolve) => setTimeout(resolve, this.config.bulkPollIntervalMs));
    }
    if (url === null) return; // no items at all

    const response = await this.#fetch(url, {
      ...(signal === undefined ? {} : { signal }),
    });
    if (!response.ok || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      throw new ShopifyReadError(`bulk result download answered ${response.status}`, true, undefined);
    }
    let page: BulkLevel[] = [];
    for await (const line of jsonlLines(response.body, shopifyLimits.bulkLineLengthMax)) {
      let parsed: ReturnType<typeof bulkLineSchema.safeParse>;
      try {
        parsed = bulkLineSchema.safeParse(JSON.parse(line));
      } catch {
        throw new ShopifyReadError('bulk result line is not JSON', true, undefined);
      }
      if (!parsed.success) continue; // a line of another shape (a nested object): not a level
      const available = parsed.data.inventoryLevel?.quantities.find((quantity) => quantity.name === 'available');
      if (available === undefined) continue; // not stocked at the location
      page.push({ externalId: parsed.data.id, externalLocationId: locationId, quantity: available.quantity });
      if (page.length >= shopifyLimits.bulkPageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  /**
   * `available` for each (item, location), in order; null = unknown item or not stocked there.
   * Grouped by location (one `nodes` query takes one locationId), chunked so a query stays under
   * 250 ids, the 1000-point query maximum and the bucket's size.
   */
  async #readAvailable(
    entries: readonly { inventoryItemId: string; locationId: string }[],
    bucketWaitMsMax: number,
    signal: AbortSignal | undefined,
  ): Promise<(number | null)[]> {
    const quantities: (number | null)[] = entries.map(() => null);
    const byLocation = new Map<string, number[]>();
    entries.forEach((entry, position) => {
      const positions = byLocation.get(entry.locationId) ?? [];
      positions.push(position);
      byLocation.set(entry.locationId, positions);
    });
    for (const [locationId, positions] of byLocation) {
      const affordable =
        Math.min(shopifyLimits.queryCostMax, this.#client.bucket.maximumAvailable) -
        shopifyLimits.readCostBase -
        shopifyLimits.bucketSafetyMarginPoints;
      const chunkSize = Math.max(
        1,
        Math.min(shopifyLimits.idsPerReadMax, Math.floor(affordable / this.#readCostPerItem)),
      );
      for (let start = 0; start < positions.length; start += chunkSize) {
        const chunk = positions.slice(start, start + chunkSize);
        const ids = chunk.map((position) => entries[position]!.inventoryItemId);
        const estimate = shopifyLimits.readCostBase + this.#readCostPerItem * ids.length;
        const result = await this.#client.execute(readLevelsQuery, { ids, locationId }, estimate, {
          bucketWaitMsMax,
          signal,
        });
        if (result.kind === 'failure')
          throw new ShopifyReadError(
            `read of ${ids.length} levels failed: ${result.reason}`,
            result.retryable,
            result.retryAfterMs,
          );
        if (result.requestedCost !== null && ids.length > 0) {
          const perItem = Math.ceil((result.requestedCost - shopifyLimits.readCostBase) / ids.length);
          if (perItem > this.#readCostPerItem) this.#readCostPerItem = Math.min(shopifyLimits.queryCostMax, perItem);
        }
        const parsed = readLevelsPayloadSchema.safeParse(result.data);
        if (!parsed.success || parsed.data.nodes.length !== ids.length)
          throw new ShopifyReadError('read answer has an unexpected shape', true, undefined);
        parsed.data.nodes.forEach((node, offset) => {
          if (node === null) return;
          if (node.id !== undefined && parseShopifyGid(node.id)?.id !== parseShopifyGid(ids[offset]!)?.id) {
            throw new ShopifyReadError(`read answer out of order: ${node.id} for ${ids[offset]}`, true, undefined);
          }
          const available = node.inventoryLevel?.quantities.find((quantity) => quantity.name === 'available');
          quantities[chunk[offset]!] = available ? available.quantity : null;
        });
      }
    }
    return quantities;
  }
}

function severity(effect: UserErrorEffect): number {
  return { 'new-key': 1, retry: 2, stale: 3, 'item-permanent': 4, 'request-permanent': 5 }[effect];
}

function failureOutcome(listingId: string, failure: GraphqlOutcome): PushOutcome {
  if (failure.kind !== 'failure') return { listingId, status: 'retry', reason: 'not attempted' };
  if (!failure.retryable) return { listingId, status: 'permanent', reason: failure.reason };
  return failure.retryAfterMs === undefined
    ? { listingId, status: 'retry', reason: failure.reason }
    : { listingId, status: 'retry', reason: failure.reason, retryAfterMs: failure.retryAfterMs };
}

/** The quantity after the change as Shopify reports it; a set to the same value reports no change. */
function quantityAfter(payload: SetQuantitiesPayload, entry: QuantityEntry): number {
  const change = payload.inventoryAdjustmentGroup?.changes?.find(
    (candidate) =>
      candidate.name === 'available' &&
      candidate.item?.id === entry.inventoryItemId &&
      candidate.location?.id === entry.locationId,
  );
  return typeof change?.quantityAfterChange === 'number' ? change.quantityAfterChange : entry.quantity;
}
