import type { EpochMs } from '../../core/clock.js';
import type { RuleSet } from '../../core/availability/rule-set.js';
import type { MatchedListing } from '../availability-rows.js';
import type { ChannelInput, UnmappedItem } from '../availability-store.js';
import type { SqlDialect } from './sql-executor.js';

/**
 * The availability slice's cold writes (channels, listings, mappings, rule sets), one SQL text
 * for both engines with their parameter builders. Each engine runs them inside its own
 * transaction, next to its recompute: SQLite synchronously inside `db.transaction`, PostgreSQL
 * on the transaction's client. Upserts report `created` with {@link SqlDialect.inserted}; read
 * it with `flag()`.
 */

export const channelIdsByCode = 'SELECT id, code FROM channels';
export const locationIdsByCode = 'SELECT id, code FROM locations';
export const channelCodes = 'SELECT code FROM channels';
export const locationCodes = 'SELECT code FROM locations';

export const upsertChannel = (d: SqlDialect): string =>
  `INSERT INTO channels (code, name, platform, settings, push_latency_p95_ms, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
   ON CONFLICT (code) DO UPDATE SET name = excluded.name, platform = excluded.platform, settings = excluded.settings,
     push_latency_p95_ms = excluded.push_latency_p95_ms, updated_at = excluded.updated_at
   RETURNING id, ${d.inserted} AS created`;

export function channelParams(channel: ChannelInput, now: EpochMs): unknown[] {
  return [
    channel.code,
    channel.name,
    channel.platform,
    JSON.stringify(channel.settings ?? {}),
    channel.pushLatencyP95Ms ?? 2000,
    now,
  ];
}

/** Parameter 1: the channel's id; its locations are written again after it. */
export const deleteChannelLocations = 'DELETE FROM channel_locations WHERE channel_id = $1';

/** Parameter 1: skus. */
export const variantIdsBySku = (d: SqlDialect): string =>
  `SELECT id, sku FROM variants WHERE sku ${d.anyOf(1, 'text')}`;

/** Parameter 1: barcodes (a barcode may belong to more than one variant). */
export const variantIdsByBarcode = (d: SqlDialect): string =>
  `SELECT id, barcode FROM variants WHERE barcode ${d.anyOf(1, 'text')}`;

export const upsertListing = (d: SqlDialect): string =>
  `INSERT INTO listings (channel_id, variant_id, external_id, external_location_id, external_refs, rank, matched_by, created_at, updated_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
   ON CONFLICT (channel_id, external_id) DO UPDATE SET variant_id = excluded.variant_id, external_location_id = excluded.external_location_id,
     external_refs = excluded.external_refs, rank = excluded.rank, matched_by = excluded.matched_by, updated_at = excluded.updated_at
   RETURNING id, ${d.inserted} AS created`;

export function listingParams(entry: MatchedListing, now: EpochMs): unknown[] {
  const { item } = entry;
  return [
    entry.channelId,
    entry.variantId,
    item.externalId,
    item.externalLocationId ?? null,
    JSON.stringify(item.externalRefs ?? {}),
    item.rank ?? 100,
    entry.matchedBy,
    now,
  ];
}

/** Parameter 1: listing ids. Their refs are written again from their external_refs next. */
export const deleteListingRefs = (d: SqlDialect): string =>
  `DELETE FROM listing_refs WHERE listing_id ${d.anyOf(1, 'bigint')}`;

/** Parameter 1: listing ids. Every value of their external_refs, findable by channel and value. */
export const insertListingRefs = (d: SqlDialect): string =>
  `INSERT INTO listing_refs (channel_id, ref, listing_id)
   SELECT DISTINCT l.channel_id, j.value, l.id FROM listings l, ${d.jsonMembers('l.external_refs')} AS j
   WHERE l.id ${d.anyOf(1, 'bigint')} AND j.value <> ''`;

/**
 * Parameter 1: listing ids. The listings among them whose stored desired quantity still sits
 * under another variant than the one the listing now names: they were re-pointed, and the row
 * (keyed by variant and listing) must follow before the new variant's recompute writes it.
 */
export const repointedListings = (d: SqlDialect): string =>
  `SELECT q.listing_id, q.variant_id AS from_variant, l.variant_id AS to_variant
   FROM listing_quantities q JOIN listings l ON l.id = q.listing_id
   WHERE q.listing_id ${d.anyOf(1, 'bigint')} AND q.variant_id <> l.variant_id ORDER BY q.listing_id`;

export interface RepointedListingRow {
  listing_id: number;
  from_variant: number;
  to_variant: number;
}

/**
 * Parameters: listing id, the variant it now names. The row moves with its outbox state (what
 * was pushed and acknowledged, what the channel showed), so the listing keeps its history and
 * the recompute that follows turns a different quantity into one pending push.
 */
export const moveListingQuantity = 'UPDATE listing_quantities SET variant_id = $2 WHERE listing_id = $1';

/**
 * Parameters: channel id, external id, variant id, now. An explicit mapping points the listing
 * it names at its variant at once; returns the listing's id (no row: no such listing, or it
 * already follows the mapping).
 */
export const pointListingAtMapping = `UPDATE listings SET variant_id = $3, matched_by = 'mapping', updated_at = $4
  WHERE channel_id = $1 AND external_id = $2 AND (variant_id <> $3 OR matched_by <> 'mapping')
  RETURNING id`;

/** Parameters: channel id, external id. A matched listing is no longer unmapped. */
export const deleteUnmappedItem = 'DELETE FROM unmapped_items WHERE channel_id = $1 AND external_id = $2';

export const rememberUnmappedItem = `INSERT INTO unmapped_items (channel_id, external_id, sku, barcode, reason, at) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (channel_id, external_id) DO UPDATE SET sku = excluded.sku, barcode = excluded.barcode, reason = excluded.reason, at = excluded.at`;

export function unmappedItemParams(channelId: number | undefined, item: UnmappedItem, now: EpochMs): unknown[] {
  return [channelId, item.externalId, item.sku, item.barcode, item.reason, now];
}

export const upsertMapping = (d: SqlDialect): string =>
  `INSERT INTO listing_mappings (channel_id, external_id, variant_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
   ON CONFLICT (channel_id, external_id) DO UPDATE SET variant_id = excluded.variant_id, updated_at = excluded.updated_at
   RETURNING ${d.inserted} AS created`;

export const lastRuleSetVersion = 'SELECT max(version) AS v FROM rule_sets';

export const insertRuleSet =
  'INSERT INTO rule_sets (version, rules, author, note, created_at) VALUES ($1, $2, $3, $4, $5)';

export function ruleSetParams(
  version: number,
  input: { rules: RuleSet; author: string; note?: string | null | undefined },
  now: EpochMs,
): unknown[] {
  return [version, JSON.stringify(input.rules), input.author, input.note ?? null, now];
}

export const insertRuleSetEvent =
  'INSERT INTO rule_set_events (version, action, author, note, at) VALUES ($1, $2, $3, $4, $5)';

export function ruleSetEventParams(
  version: number,
  action: 'created' | 'activated',
  by: { author: string; note?: string | null | undefined },
  now: EpochMs,
): unknown[] {
  return [version, action, by.author, by.note ?? null, now];
}

export const ruleSetExists = 'SELECT 1 AS found FROM rule_sets WHERE version = $1';

/** Parameter 1: the version to make active; cached configs reload on the bumped config_version. */
export const activateRuleSet =
  'UPDATE availability_state SET active_rule_version = $1, config_version = config_version + 1 WHERE id = 1';
