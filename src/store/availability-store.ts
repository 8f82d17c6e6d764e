import type { EpochMs } from '../core/clock.js';
import type { ChannelDefinition, ExplainStep, PreorderOffer } from '../core/availability/compute-available.js';
import type { RuleSet } from '../core/availability/rule-set.js';
import type { ActivationKind, ActivationRecord, ActiveFilter } from './ledger-store.js';

/**
 * The availability slice of the storage port (`store.availability`): channels, listings, the normalizer's mapping
 * table, versioned rule sets and the stored desired quantity of every listing. Both adapters
 * implement it (SQLite and PostgreSQL); the conformance suite runs on both.
 *
 * The desired quantity of a listing is recomputed INSIDE the ledger transaction that changes
 * its variant's stock (incrementally: the variant's listings and those of the bundles that
 * contain it), so it is never older than the ledger; the propagation outbox takes it from
 * there. A rule change recomputes every affected listing in bulk (`recomputeAll`).
 */

export type Platform = 'shopify' | 'woocommerce' | 'bol' | 'amazon' | 'gmc' | 'custom';
export const platforms: readonly Platform[] = ['shopify', 'woocommerce', 'bol', 'amazon', 'gmc', 'custom'];

export interface ChannelInput {
  /** Short unique code, e.g. `bol`, `shop-nl`. */
  code: string;
  name: string;
  platform: Platform;
  /** Platform settings (shop domain, API version...); never secrets in this first version. */
  settings?: Record<string, unknown> | undefined;
  /** Locations that feed the channel, in priority order (first = preferred). */
  locations: string[];
  /** Measured p95 push latency (ms) used by the velocity buffer. @default 2000 */
  pushLatencyP95Ms?: number | undefined;
}

export interface ChannelRecord {
  code: string;
  name: string;
  platform: Platform;
  settings: Record<string, unknown>;
  locations: string[];
  pushLatencyP95Ms: number;
  createdAt: EpochMs;
  updatedAt: EpochMs;
  /** Null while active (no pushes, no intake while deactivated). */
  deactivatedAt?: EpochMs | null;
}

/** A channel item to list: found by explicit mapping, else by sku, else by barcode. */
export interface ListingInput {
  channel: string;
  /** The channel's own id for the item: Bol offer id, Amazon seller SKU, Shopify inventory item id, Woo product/variation id. */
  externalId: string;
  sku?: string | undefined;
  barcode?: string | undefined;
  /** E.g. the Shopify location id the listing's stock is set at. */
  externalLocationId?: string | null | undefined;
  /** Other identifiers of the item on the channel (Woo product id and variation id...). */
  externalRefs?: Record<string, string> | undefined;
  /** Lower is more important when stock runs low. @default 100 */
  rank?: number | undefined;
}

/** An explicit mapping: this channel item is this sku (wins over sku and barcode matching). */
export interface MappingInput {
  channel: string;
  externalId: string;
  sku: string;
}

/** How an order line names the item it sold: the channel's id for it, and its sku and barcode when the line has them. */
export interface OrderItemRef {
  externalId: string;
  sku: string | null;
  barcode: string | null;
}

/** The variant an order line sold, and the listing it came through when the line named one. */
export interface OrderItemMatch {
  sku: string;
  /** The channel's listing the line named (null when it was matched by sku or barcode alone). */
  listingId: string | null;
  /**
   * Which step matched: an explicit mapping of the external id; the listing keyed by it; the
   * listing that carries it among its external refs; the line's sku; its barcode.
   */
  matchedBy: 'mapping' | 'listing' | 'listing_ref' | 'sku' | 'barcode';
}

export interface ListingRecord {
  id: string;
  channel: string;
  sku: string;
  externalId: string;
  externalLocationId: string | null;
  externalRefs: Record<string, string>;
  rank: number;
  /** How the item was matched to its variant. */
  matchedBy: 'mapping' | 'sku' | 'barcode';
  createdAt: EpochMs;
  updatedAt: EpochMs;
  /** Null while active (not pushed, not counted in drift while deactivated). */
  deactivatedAt?: EpochMs | null;
}

export interface UnmappedItem {
  /** Index in the request. */
  index: number;
  channel: string;
  externalId: string;
  sku: string | null;
  barcode: string | null;
  reason: string;
}

export interface ListingUpsertReport {
  created: number;
  updated: number;
  /** Items that matched no variant: reported (and kept, see listUnmapped), never silently dropped. */
  unmapped: UnmappedItem[];
}

export interface RuleSetVersion {
  version: number;
  rules: RuleSet;
  author: string;
  note: string | null;
  createdAt: EpochMs;
  active: boolean;
  activatedAt: EpochMs | null;
}

export interface RuleSetEvent {
  version: number;
  action: 'created' | 'activated';
  author: string;
  note: string | null;
  at: EpochMs;
}

export interface ListingQuantity {
  listingId: string;
  channel: string;
  sku: string;
  externalId: string;
  quantity: number;
  preorder: PreorderOffer | null;
  ruleVersion: number;
  computedAt: EpochMs;
}

export interface ListingExplanation extends ListingQuantity {
  pool: number;
  explanation: ExplainStep[];
  /** The stored quantity (what propagation pushes); equal to `quantity` unless a recompute is pending. */
  storedQuantity: number | null;
}

export interface DryRunReport {
  /** Version the dry run compares against (the active one), or null. */
  baseVersion: number | null;
  listings: number;
  changed: number;
  /** The first changes (at most `limit`), biggest drops first: what would shrink matters most. */
  changes: { listingId: string; channel: string; sku: string; current: number; proposed: number }[];
}

export interface RecomputeReport {
  variants: number;
  listings: number;
  changed: number;
  ruleVersion: number | null;
}

/** An activation or rollback named a version that does not exist. */
export class UnknownRuleSetError extends Error {
  readonly code = 'ONH_ERR_RULE_SET_NOT_FOUND';
  constructor(readonly version: number) {
    super(`no rule set version ${version}`);
  }
}

export interface AvailabilityPort {
  /**
   * Deactivate (`active` false) or activate a variant (by sku), location or channel (by code)
   * or listing (by id), recorded with `actor` and `now` on the row and in activation_events;
   * idempotent (`changed` false when it already was so). Nothing is deleted. Null when there is
   * no such record. The effects are listed in docs/LISTS.md.
   * @example setActive('channel', 'shop-eu', false, 'token:ops', now)
   */
  setActive(
    kind: ActivationKind,
    ref: string,
    active: boolean,
    actor: string,
    now: EpochMs,
  ): Promise<ActivationRecord | null>;
  upsertChannels(channels: readonly ChannelInput[], now: EpochMs): Promise<{ created: number; updated: number }>;
  /** `active` @default 'all' here (the HTTP list defaults to 'true'). */
  listChannels(options?: { active?: ActiveFilter | undefined }): Promise<ChannelRecord[]>;
  getChannel(code: string): Promise<ChannelRecord | null>;

  /**
   * Upsert the mapped items, report the unmapped ones. A listing is unique per (channel,
   * externalId); sent again with another variant it is re-pointed: same listing and history,
   * its stored desired quantity moved to the new variant and recomputed, in one transaction.
   */
  upsertListings(listings: readonly ListingInput[], now: EpochMs): Promise<ListingUpsertReport>;
  /**
   * Explicit mappings: this channel item is this sku (wins over sku and barcode matching). An
   * existing listing with that external id is re-pointed at once, as by upsertListings.
   */
  upsertMappings(mappings: readonly MappingInput[], now: EpochMs): Promise<{ created: number; updated: number }>;
  /**
   * The variant an order line of `channel` sold, first match wins: an explicit mapping of
   * `item.externalId`; the channel's listing keyed by it; the channel's listing carrying it
   * among its externalRefs (one variant among them, else this step passes); the variant with
   * `item.sku`; the one variant with `item.barcode`. Null when nothing matches, or the barcode
   * belongs to several variants.
   */
  findOrderItem(channel: string, item: OrderItemRef): Promise<OrderItemMatch | null>;
  /** {@link findOrderItem} for many items of one channel in one statement, answers in the items' order. */
  findOrderItems(channel: string, items: readonly OrderItemRef[]): Promise<(OrderItemMatch | null)[]>;
  listListings(options: {
    channel?: string | undefined;
    sku?: string | undefined;
    afterId?: string | undefined;
    limit: number;
    /** @default 'all' here (the HTTP list defaults to 'true'). */
    active?: ActiveFilter | undefined;
  }): Promise<ListingRecord[]>;
  getListing(id: string): Promise<ListingRecord | null>;
  /** Items reported unmapped and not mapped since, newest first. */
  listUnmapped(options: { channel?: string | undefined; limit: number }): Promise<(UnmappedItem & { at: EpochMs })[]>;

  /** A new version (never activated by creating it). Meaning is checked: bad rules throw CatalogueError. */
  createRuleSet(
    input: { rules: RuleSet; author: string; note?: string | null | undefined },
    now: EpochMs,
  ): Promise<RuleSetVersion>;
  listRuleSets(): Promise<RuleSetVersion[]>;
  /**
   * A channel as the availability computation sees it (its active locations in priority order,
   * with their kinds) and the active rule set, from the configuration the store keeps cached by
   * its version (one read of the version when nothing changed); null for an unknown channel.
   * What a reservation by channel is judged with.
   */
  channelConfig(code: string): Promise<{ channel: ChannelDefinition; ruleSet: RuleSet } | null>;
  getRuleSet(version: number): Promise<RuleSetVersion | null>;
  ruleSetEvents(): Promise<RuleSetEvent[]>;
  /** What every listing would show under `rules` (not stored), against what it shows now. */
  dryRunRuleSet(rules: RuleSet, now: EpochMs, limit: number): Promise<DryRunReport>;
  /**
   * Make `version` the active rule set (rollback = activating an earlier one), recorded in the
   * audit, then recompute every listing in bulk. Returns the recompute report.
   */
  activateRuleSet(
    version: number,
    by: { author: string; note?: string | null | undefined },
    now: EpochMs,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RecomputeReport>;

  /** Stored desired quantities of every listing of a sku (null: unknown sku). */
  getAvailability(sku: string): Promise<ListingQuantity[] | null>;
  /** Recompute one listing now, with its explanation (null: unknown listing). */
  explainListing(listingId: string, now: EpochMs): Promise<ListingExplanation | null>;
  /** Recompute every listing in chunks of variants, each chunk in its own transaction. */
  recomputeAll(now: EpochMs, onProgress?: (done: number, total: number) => void): Promise<RecomputeReport>;
}
