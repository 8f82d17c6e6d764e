import { stringify } from 'csv-stringify/sync';
import type { ListingRecord } from '../store/availability-store.js';
import type { LevelListing, LocationRecord, MovementView, VariantRecord } from '../store/ledger-store.js';

/**
 * The export side: one function per kind from a store record to a CSV row, in the columns the
 * import of the same kind reads (docs/csv.md), so an exported file imports as it is. Times are
 * RFC 3339 in UTC. Pure.
 */

export type CsvValue = string | number | null;

/** Rows as CSV text (RFC 4180 quoting, LF line ends); `null` is an empty field. */
export function csvText(rows: readonly (readonly CsvValue[])[]): string {
  return stringify(
    rows.map((row) => row.map((value) => (value === null ? '' : value))),
    { record_delimiter: '\n' },
  );
}

function isoOrEmpty(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function pairsText(pairs: Record<string, string>): string | null {
  const entries = Object.entries(pairs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? null : entries.map(([name, value]) => `${name}=${value}`).join('|');
}

export const stockExportColumns = [
  'sku',
  'location',
  'on_hand',
  'reserved',
  'available',
  'damaged',
  'quarantine',
  'in_transit',
  'last_count_at',
] as const;

export function stockExportRow(level: LevelListing): CsvValue[] {
  return [
    level.sku,
    level.location,
    level.onHand,
    level.reserved,
    level.onHand - level.reserved,
    level.damaged,
    level.quarantine,
    level.inTransit,
    isoOrEmpty(level.lastCountAt),
  ];
}

export const movementExportColumns = [
  'id',
  'key',
  'leg',
  'type',
  'sku',
  'location',
  'counterpart_location',
  'on_hand',
  'reserved',
  'damaged',
  'quarantine',
  'in_transit',
  'resulting_on_hand',
  'resulting_reserved',
  'resulting_available',
  'oversold',
  'reason',
  'source_system',
  'source_reference',
  'reservation_id',
  'purchase_order',
  'purchase_order_line',
  'occurred_at',
  'recorded_at',
] as const;

export function movementExportRow(movement: MovementView): CsvValue[] {
  return [
    movement.id,
    movement.key,
    movement.leg,
    movement.type,
    movement.sku,
    movement.location,
    movement.counterpart_location,
    movement.quantities.on_hand,
    movement.quantities.reserved,
    movement.quantities.damaged,
    movement.quantities.quarantine,
    movement.quantities.in_transit,
    movement.resulting.on_hand,
    movement.resulting.reserved,
    movement.resulting.available,
    movement.oversold,
    movement.reason,
    movement.source.system,
    movement.source.reference,
    movement.reservation_id,
    movement.purchase_order?.id ?? null,
    movement.purchase_order?.line ?? null,
    movement.occurred_at,
    movement.recorded_at,
  ];
}

export const variantExportColumns = ['sku', 'name', 'barcode', 'product_group', 'attributes', 'components'] as const;

export function variantExportRow(variant: VariantRecord): CsvValue[] {
  return [
    variant.sku,
    variant.name,
    variant.barcode,
    variant.productGroup,
    pairsText(variant.attributes),
    variant.components.length === 0
      ? null
      : variant.components.map((component) => `${component.sku}:${component.quantity}`).join('|'),
  ];
}

export const locationExportColumns = ['code', 'name', 'kind'] as const;

export function locationExportRow(location: LocationRecord): CsvValue[] {
  return [location.code, location.name, location.kind];
}

export const listingExportColumns = [
  'channel',
  'external_id',
  'sku',
  'external_location_id',
  'external_refs',
  'rank',
] as const;

export function listingExportRow(listing: ListingRecord): CsvValue[] {
  return [
    listing.channel,
    listing.externalId,
    listing.sku,
    listing.externalLocationId,
    pairsText(listing.externalRefs),
    listing.rank,
  ];
}
