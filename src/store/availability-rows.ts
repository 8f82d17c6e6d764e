import type { EpochMs } from '../core/clock.js';
import type { ChannelDefinition, ListingRef, LocationKindName } from '../core/availability/compute-available.js';
import type {
  AvailabilityContext,
  AvailabilityVariant,
  StoredListingQuantity,
} from '../core/availability/recompute.js';
import type { RuleSet } from '../core/availability/rule-set.js';
import type { LevelState } from '../core/ledger/level.js';
import type {
  ChannelRecord,
  ListingInput,
  ListingRecord,
  ListingQuantity,
  Platform,
  RuleSetVersion,
  UnmappedItem,
} from './availability-store.js';

/**
 * Row <-> domain mapping for availability, shared by both adapters: they run their own SQL
 * and hand the rows here, so the two engines build the same context and answer alike.
 */

export interface ChannelRow {
  id: number;
  code: string;
  name: string;
  platform: Platform;
  settings: string | Record<string, unknown>;
  push_latency_p95_ms: number;
  created_at: number;
  updated_at: number;
  /** Migration 0014; null while active. */
  deactivated_at?: number | null;
}

export interface ChannelLocationRow {
  channel_id: number;
  code: string;
  kind: LocationKindName;
  priority: number;
}

function parsedJson<T>(value: string | T): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

export function channelRecords(channels: readonly ChannelRow[], links: readonly ChannelLocationRow[]): ChannelRecord[] {
  return channels.map((row) => ({
    code: row.code,
    name: row.name,
    platform: row.platform,
    settings: parsedJson<Record<string, unknown>>(row.settings),
    locations: links
      .filter((link) => Number(link.channel_id) === Number(row.id))
      .sort((a, b) => Number(a.priority) - Number(b.priority))
      .map((link) => link.code),
    pushLatencyP95Ms: Number(row.push_latency_p95_ms),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deactivatedAt: row.deactivated_at === null || row.deactivated_at === undefined ? null : Number(row.deactivated_at),
  }));
}

/** What the computation reads besides levels and listings; cached per `configVersion`. */
export interface AvailabilityConfig {
  configVersion: number;
  ruleSet: RuleSet;
  ruleVersion: number | null;
  channels: Map<string, ChannelDefinition>;
  channelIds: Map<string, number>;
  locations: Map<number, { code: string; kind: LocationKindName }>;
  /** Some channel's rules offer pre-order: incoming stock must be loaded. */
  needsIncoming: boolean;
}

export function availabilityConfig(input: {
  configVersion: number;
  ruleRow: { version: number; rules: string | RuleSet } | undefined;
  channels: readonly ChannelRow[];
  links: readonly ChannelLocationRow[];
  locations: readonly { id: number; code: string; kind: LocationKindName }[];
}): AvailabilityConfig {
  const ruleSet: RuleSet = input.ruleRow ? parsedJson<RuleSet>(input.ruleRow.rules) : {};
  const channels = new Map<string, ChannelDefinition>();
  for (const record of channelRecords(input.channels, input.links)) {
    channels.set(record.code, {
      code: record.code,
      pushLatencyP95Ms: record.pushLatencyP95Ms,
      locations: input.links
        .filter(
          (link) => Number(link.channel_id) === Number(input.channels.find((row) => row.code === record.code)!.id),
        )
        .sort((a, b) => Number(a.priority) - Number(b.priority))
        .map((link) => ({ code: link.code, kind: link.kind })),
    });
  }
  const needsIncoming =
    Boolean(ruleSet.defaults?.preorder) ||
    Object.values(ruleSet.channels ?? {}).some((rules) => Boolean(rules.preorder));
  return {
    configVersion: input.configVersion,
    ruleSet,
    ruleVersion: input.ruleRow ? Number(input.ruleRow.version) : null,
    channels,
    channelIds: new Map(input.channels.map((row) => [row.code, Number(row.id)])),
    locations: new Map(input.locations.map((row) => [Number(row.id), { code: row.code, kind: row.kind }])),
    needsIncoming,
  };
}

export interface ListingRefRow {
  id: number;
  variant_id: number;
  channel_code: string;
  rank: number;
}

export interface ComponentRow {
  bundle_id: number;
  component_id: number;
  component_sku: string;
  quantity: number;
}

export interface CurrentRow {
  listing_id: number;
  quantity: number;
  preorder_quantity: number | null;
  preorder_earliest_at: number | null;
  preorder_latest_at: number | null;
  rule_version: number | null;
}

/**
 * Open purchase-order lines still expected, for pre-order offers; each caller appends its own
 * variant filter (an id list, a range, an array).
 */
export const incomingLinesSelect = `SELECT pol.variant_id, pol.location_id, pol.quantity_ordered - pol.quantity_received AS quantity, pol.expected_at
  FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id
  WHERE po.status = 'open' AND pol.quantity_ordered > pol.quantity_received AND`;

export interface IncomingLineRow {
  variant_id: number;
  location_id: number;
  quantity: number;
  expected_at: number | null;
}

export function storedQuantity(row: CurrentRow): StoredListingQuantity {
  return {
    quantity: Number(row.quantity),
    preorderQuantity: row.preorder_quantity === null ? null : Number(row.preorder_quantity),
    preorderEarliestAt: row.preorder_earliest_at === null ? null : Number(row.preorder_earliest_at),
    preorderLatestAt: row.preorder_latest_at === null ? null : Number(row.preorder_latest_at),
    ruleVersion: row.rule_version === null ? null : Number(row.rule_version),
  };
}

/**
 * The context for `variants` (plain or bundle). `components` must list every component of the
 * bundles among them (a row given more than once counts once); `levels` every level of the
 * plain variants and of those components.
 */
export function buildContext(
  config: AvailabilityConfig,
  rows: {
    variants: readonly { id: number; sku: string; is_bundle: number | boolean }[];
    components: readonly ComponentRow[];
    listings: readonly ListingRefRow[];
    levels: readonly LevelState[];
    incoming: readonly IncomingLineRow[];
    current: readonly CurrentRow[];
  },
): AvailabilityContext {
  const bundlesByComponent = new Map<number, number[]>();
  const componentsByBundle = new Map<number, { variantId: number; sku: string; quantity: number }[]>();
  for (const row of rows.components) {
    const bundleId = Number(row.bundle_id);
    const componentId = Number(row.component_id);
    const bundles = bundlesByComponent.get(componentId) ?? [];
    if (!bundles.includes(bundleId)) bundles.push(bundleId);
    bundlesByComponent.set(componentId, bundles);
    const list = componentsByBundle.get(bundleId) ?? [];
    // Callers pass a bundle's rows twice when it is both touched and contains a touched variant;
    // counted twice, a component's sales velocity would double the bundle's dynamic buffer.
    if (list.some((component) => component.variantId === componentId)) continue;
    list.push({ variantId: componentId, sku: row.component_sku, quantity: Number(row.quantity) });
    componentsByBundle.set(bundleId, list);
  }
  const listingsByVariant = new Map<number, ListingRef[]>();
  for (const row of rows.listings) {
    const variantId = Number(row.variant_id);
    const list = listingsByVariant.get(variantId) ?? [];
    list.push({ listingId: String(row.id), channelCode: row.channel_code, rank: Number(row.rank) });
    listingsByVariant.set(variantId, list);
  }
  const variants = new Map<number, AvailabilityVariant>();
  for (const row of rows.variants) {
    const id = Number(row.id);
    const isBundle = row.is_bundle === true || Number(row.is_bundle) === 1;
    variants.set(id, {
      sku: row.sku,
      components: isBundle ? (componentsByBundle.get(id) ?? []) : null,
      listings: listingsByVariant.get(id) ?? [],
    });
  }
  const levels = new Map<number, LevelState[]>();
  for (const level of rows.levels) {
    const list = levels.get(level.variantId) ?? [];
    list.push(level);
    levels.set(level.variantId, list);
  }
  const incoming = new Map<number, { locationId: number; quantity: number; expectedAt: EpochMs | null }[]>();
  for (const row of rows.incoming) {
    const list = incoming.get(Number(row.variant_id)) ?? [];
    list.push({
      locationId: Number(row.location_id),
      quantity: Number(row.quantity),
      expectedAt: row.expected_at === null ? null : Number(row.expected_at),
    });
    incoming.set(Number(row.variant_id), list);
  }
  return {
    ruleSet: config.ruleSet,
    ruleVersion: config.ruleVersion,
    channels: config.channels,
    locations: config.locations,
    variants,
    bundlesByComponent,
    levels,
    incoming,
    current: new Map(rows.current.map((row) => [String(row.listing_id), storedQuantity(row)])),
  };
}

/** Variants a batch reads for availability: the affected ones and every component of affected bundles. */
export function variantsToRead(affected: Iterable<number>, components: readonly ComponentRow[]): number[] {
  const out = new Set<number>(affected);
  const bundles = new Set(affected);
  for (const row of components) if (bundles.has(Number(row.bundle_id))) out.add(Number(row.component_id));
  return [...out].sort((a, b) => a - b);
}

// --- the normalizer -------------------------------------------------------------------------

export interface MatchedListing {
  index: number;
  item: ListingInput;
  channelId: number;
  variantId: number;
  matchedBy: 'mapping' | 'sku' | 'barcode';
}

/**
 * Map channel items to variants: an explicit mapping wins, then the sku, then the barcode
 * (GTIN). An item that matches nothing, or a barcode shared by several variants, is reported
 * unmapped with its reason.
 */
export function matchListings(
  items: readonly ListingInput[],
  lookups: {
    channelIds: ReadonlyMap<string, number>;
    mappings: ReadonlyMap<string, number>;
    bySku: ReadonlyMap<string, number>;
    byBarcode: ReadonlyMap<string, number[]>;
  },
): { matched: MatchedListing[]; unmapped: UnmappedItem[] } {
  const matched: MatchedListing[] = [];
  const unmapped: UnmappedItem[] = [];
  items.forEach((item, index) => {
    const channelId = lookups.channelIds.get(item.channel)!;
    const mapped = lookups.mappings.get(`${channelId}:${item.externalId}`);
    const unmappedItem = (reason: string): UnmappedItem => ({
      index,
      channel: item.channel,
      externalId: item.externalId,
      sku: item.sku ?? null,
      barcode: item.barcode ?? null,
      reason,
    });
    if (mapped !== undefined) {
      matched.push({ index, item, channelId, variantId: mapped, matchedBy: 'mapping' });
      return;
    }
    const bySku = item.sku === undefined ? undefined : lookups.bySku.get(item.sku);
    if (bySku !== undefined) {
      matched.push({ index, item, channelId, variantId: bySku, matchedBy: 'sku' });
      return;
    }
    const byBarcode = item.barcode === undefined ? [] : (lookups.byBarcode.get(item.barcode) ?? []);
    if (byBarcode.length === 1) {
      matched.push({ index, item, channelId, variantId: byBarcode[0]!, matchedBy: 'barcode' });
      return;
    }
    if (byBarcode.length > 1)
      unmapped.push(unmappedItem(`barcode ${item.barcode} belongs to ${byBarcode.length} variants; add a mapping`));
    else if (item.sku === undefined && item.barcode === undefined)
      unmapped.push(unmappedItem('no mapping, and neither sku nor barcode given'));
    else
      unmapped.push(
        unmappedItem(
          `no variant with ${[item.sku && `sku ${item.sku}`, item.barcode && `barcode ${item.barcode}`].filter(Boolean).join(' or ')}`,
        ),
      );
  });
  return { matched, unmapped };
}

export function listingRecord(row: Record<string, unknown>): ListingRecord {
  return {
    id: String(row.id),
    channel: row.channel_code as string,
    sku: row.sku as string,
    externalId: row.external_id as string,
    externalLocationId: (row.external_location_id as string | null) ?? null,
    externalRefs: parsedJson<Record<string, string>>(row.external_refs as string),
    rank: Number(row.rank),
    matchedBy: row.matched_by as ListingRecord['matchedBy'],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deactivatedAt: row.deactivated_at === null || row.deactivated_at === undefined ? null : Number(row.deactivated_at),
  };
}

export function ruleSetVersion(row: Record<string, unknown>, activeVersion: number | null): RuleSetVersion {
  const version = Number(row.version);
  return {
    version,
    rules: parsedJson<RuleSet>(row.rules as string),
    author: row.author as string,
    note: (row.note as string | null) ?? null,
    createdAt: Number(row.created_at),
    active: version === activeVersion,
    activatedAt: row.activated_at === null || row.activated_at === undefined ? null : Number(row.activated_at),
  };
}

export function listingQuantity(row: Record<string, unknown>): ListingQuantity {
  const stored = storedQuantity(row as unknown as CurrentRow);
  return {
    listingId: String(row.listing_id),
    channel: row.channel_code as string,
    sku: row.sku as string,
    externalId: row.external_id as string,
    quantity: stored.quantity,
    preorder:
      stored.preorderQuantity === null
        ? null
        : {
            quantity: stored.preorderQuantity,
            earliest_at: stored.preorderEarliestAt === null ? null : new Date(stored.preorderEarliestAt).toISOString(),
            latest_at: stored.preorderLatestAt === null ? null : new Date(stored.preorderLatestAt).toISOString(),
          },
    ruleVersion: stored.ruleVersion ?? 0,
    computedAt: Number(row.computed_at),
  };
}

/**
 * The outbox part of a listing_quantities upsert (ON CONFLICT DO UPDATE; every right-hand side
 * reads the OLD row, `t` being the table's name or alias, `excluded` the new values):
 * a changed desired value bumps desired_version and makes the row pending (a dead letter stays
 * dead but keeps the newest value); a row backing off after failed attempts keeps its due time
 * (a throttled channel's backoff is kept: ten changes stay one push), any other change is due at
 * once (a drift grace, for one, must not delay a new value); a rewrite that only moves the rule
 * version changes nothing for dispatch.
 */
export function outboxOnConflict(t: string): string {
  const same = `(excluded.quantity IS NOT DISTINCT FROM ${t}.quantity AND excluded.preorder_quantity IS NOT DISTINCT FROM ${t}.preorder_quantity)`;
  return `desired_version = ${t}.desired_version + CASE WHEN ${same} THEN 0 ELSE 1 END,
    dispatch_state = CASE WHEN ${same} THEN ${t}.dispatch_state WHEN ${t}.dispatch_state = 'dead' THEN 'dead' ELSE 'pending' END,
    pending_since = CASE WHEN ${same} THEN ${t}.pending_since WHEN ${t}.dispatch_state = 'done' THEN excluded.computed_at
                         ELSE COALESCE(${t}.pending_since, excluded.computed_at) END,
    due_at = CASE WHEN ${same} OR (${t}.dispatch_state = 'pending' AND ${t}.attempts > 0) THEN ${t}.due_at
                  WHEN ${t}.dispatch_state = 'pending' AND ${t}.due_at < excluded.computed_at THEN ${t}.due_at
                  ELSE excluded.computed_at END,
    channel_id = excluded.channel_id`;
}
