import type { EpochMs } from '../core/clock.js';
import { limits } from '../core/limits.js';
import {
  csvText,
  listingExportColumns,
  listingExportRow,
  locationExportColumns,
  locationExportRow,
  movementExportColumns,
  movementExportRow,
  stockExportColumns,
  stockExportRow,
  variantExportColumns,
  variantExportRow,
} from '../csv/csv-write.js';
import type { LedgerStore } from '../store/ledger-store.js';

/**
 * CSV exports as async generators of text chunks: the header, then one chunk per page of at
 * most `limits.csvExportPageMax` rows read from the store, so neither the route nor the CLI
 * holds a whole table (`GET /v1/exports/stock.csv`, `onhand export stock`). The columns are
 * those the import of the same kind reads (docs/csv.md).
 */

const page = limits.csvExportPageMax;

/** Every level, ordered by sku then location. */
export async function* stockCsv(store: LedgerStore): AsyncGenerator<string> {
  yield csvText([stockExportColumns]);
  let after: { sku: string; location: string } | undefined;
  for (;;) {
    const levels = await store.ledger.listLevels({ after, limit: page });
    if (levels.length === 0) return;
    yield csvText(levels.map(stockExportRow));
    const last = levels[levels.length - 1]!;
    after = { sku: last.sku, location: last.location };
    if (levels.length < page) return;
  }
}

/** Movements recorded in [since, until), oldest first. */
export async function* movementsCsv(
  store: LedgerStore,
  range: { since?: EpochMs | undefined; until?: EpochMs | undefined } = {},
): AsyncGenerator<string> {
  yield csvText([movementExportColumns]);
  let afterId: number | undefined;
  for (;;) {
    const movements = await store.ledger.listMovementsRecorded({ ...range, afterId, limit: page });
    if (movements.length === 0) return;
    yield csvText(movements.map(movementExportRow));
    afterId = movements[movements.length - 1]!.id;
    if (movements.length < page) return;
  }
}

/** Every variant, ordered by sku (bundles with their components). */
export async function* variantsCsv(store: LedgerStore): AsyncGenerator<string> {
  yield csvText([variantExportColumns]);
  let afterSku: string | undefined;
  for (;;) {
    const variants = await store.catalogue.listVariants({ afterSku, limit: page });
    if (variants.length === 0) return;
    yield csvText(variants.map(variantExportRow));
    afterSku = variants[variants.length - 1]!.sku;
    if (variants.length < page) return;
  }
}

export async function* locationsCsv(store: LedgerStore): AsyncGenerator<string> {
  yield csvText([locationExportColumns]);
  // Locations are few (a list without pages in the API too).
  const locations = await store.catalogue.listLocations();
  if (locations.length > 0) yield csvText(locations.map(locationExportRow));
}

export async function* listingsCsv(store: LedgerStore): AsyncGenerator<string> {
  yield csvText([listingExportColumns]);
  let afterId: string | undefined;
  for (;;) {
    const listings = await store.availability.listListings({ afterId, limit: page });
    if (listings.length === 0) return;
    yield csvText(listings.map(listingExportRow));
    afterId = listings[listings.length - 1]!.id;
    if (listings.length < page) return;
  }
}

export const exportKinds = ['stock', 'movements', 'variants', 'locations', 'listings'] as const;
export type ExportKind = (typeof exportKinds)[number];
