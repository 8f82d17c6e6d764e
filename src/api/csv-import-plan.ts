import { checkVariantUpsert, type ExistingVariantFacts } from '../core/catalogue.js';
import { limits } from '../core/limits.js';
import type { ImportKind, LineItem, PurchaseOrderLineItem } from '../csv/csv-kinds.js';
import type { RowError } from '../csv/csv-records.js';
import type { LedgerStore, PurchaseOrderInput, PurchaseOrderRecord, VariantRecord } from '../store/ledger-store.js';
import type { ImportDeps } from './csv-import.js';

/**
 * Step 2 of a CSV import (csv-import.ts): every good row resolved against the store in bounded
 * rounds of reads, and judged `created`, `updated` or `unchanged` against what is stored, so a
 * file imported twice changes nothing the second time. Unknown skus, locations and channels
 * become row errors here. Nothing is written.
 */

export type Action = 'created' | 'updated' | 'unchanged';

/** A good row after resolution: what it will do. */
export interface Planned<K extends ImportKind> extends LineItem<K> {
  action: Action;
}

export interface Plan<K extends ImportKind> {
  planned: Planned<K>[];
  errors: RowError[];
}

/** Rows resolved per round of store reads; reads of one round run together. */
const resolveChunk = 200;

async function inChunks<T, R>(items: readonly T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < items.length; start += resolveChunk)
    out.push(...(await Promise.all(items.slice(start, start + resolveChunk).map(read))));
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sortedPairs(pairs: Record<string, string> | undefined): [string, string][] {
  return Object.entries(pairs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function sortedComponents(components: readonly { sku: string; quantity: number }[] | undefined) {
  return [...(components ?? [])].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

// --- resolution per kind -------------------------------------------------------------------

/** Skus per bulk read (core/limits.ts says why so many). */
const bulkReadMax = limits.csvResolveSkusMax;

async function variantsBySku(store: LedgerStore, skus: Iterable<string>): Promise<Map<string, VariantRecord>> {
  const unique = [...new Set(skus)];
  const found = new Map<string, VariantRecord>();
  for (let start = 0; start < unique.length; start += bulkReadMax)
    for (const record of await store.catalogue.getVariants(unique.slice(start, start + bulkReadMax)))
      found.set(record.sku, record);
  return found;
}

/** The stored on_hand of every level of these skus, keyed `sku NUL location`. */
async function onHandBySkuLocation(
  store: LedgerStore,
  skus: readonly string[],
  locationCount: number,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let start = 0; start < skus.length; start += bulkReadMax) {
    const chunk = skus.slice(start, start + bulkReadMax);
    let after: { sku: string; location: string } | undefined;
    // Bounded: each page moves the cursor forward over a finite set of levels.
    for (;;) {
      // One page holds every level of the chunk (a sku has at most one per location), so the
      // cursor is needed only if locations were added meanwhile.
      const limit = chunk.length * Math.max(1, locationCount) + 1;
      const levels = await store.ledger.listLevels({ after, skus: chunk, limit });
      for (const level of levels) found.set(`${level.sku}\u0000${level.location}`, level.onHand);
      if (levels.length < limit) break;
      const last = levels[levels.length - 1]!;
      after = { sku: last.sku, location: last.location };
    }
  }
  return found;
}

async function planVariants(deps: ImportDeps, items: LineItem<'variants'>[]): Promise<Plan<'variants'>> {
  const errors: RowError[] = [];
  const stored = await variantsBySku(
    deps.store,
    items.flatMap(({ item }) => [item.sku, ...(item.components ?? []).map((component) => component.sku)]),
  );
  const facts = new Map<string, ExistingVariantFacts>(
    [...stored.values()].map((record) => [
      record.sku,
      { sku: record.sku, isBundle: record.isBundle, usedAsComponent: false, hasMovements: false },
    ]),
  );
  // The catalogue's own rules (core/catalogue.ts) over the file as one request; a refused row
  // can make a bundle naming it refused in turn, so repeat until nothing more is refused.
  let remaining = items;
  for (let round = 0; round < items.length + 1; round += 1) {
    const problems = checkVariantUpsert(
      remaining.map(({ item }) => item),
      facts,
    );
    if (problems.length === 0) break;
    const refused = new Set<number>();
    for (const problem of problems) {
      const [, , index, field] = problem.path.split('/');
      const at = Number(index);
      refused.add(at);
      errors.push({ line: remaining[at]!.line, column: field ?? 'sku', reason: problem.message });
    }
    remaining = remaining.filter((_, index) => !refused.has(index));
  }
  // A plain variant with stock history cannot become a bundle: read its levels only then.
  const planned: Planned<'variants'>[] = [];
  for (const entry of remaining) {
    const { item } = entry;
    const record = stored.get(item.sku);
    if (record && !record.isBundle && (item.components?.length ?? 0) > 0) {
      const stock = await deps.store.ledger.getStock(item.sku, deps.clock.now());
      if (stock?.locations.some((level) => level.version > 0)) {
        errors.push({
          line: entry.line,
          column: 'components',
          reason: `${item.sku} has stock movements: it cannot become a bundle`,
        });
        continue;
      }
    }
    const action: Action = !record
      ? 'created'
      : record.name === item.name &&
          record.barcode === (item.barcode ?? null) &&
          record.productGroup === (item.productGroup ?? null) &&
          sameJson(sortedPairs(record.attributes), sortedPairs(item.attributes)) &&
          sameJson(sortedComponents(record.components), sortedComponents(item.components))
        ? 'unchanged'
        : 'updated';
    planned.push({ ...entry, action });
  }
  return { planned, errors };
}

async function planLocations(deps: ImportDeps, items: LineItem<'locations'>[]): Promise<Plan<'locations'>> {
  const stored = new Map((await deps.store.catalogue.listLocations()).map((location) => [location.code, location]));
  return {
    errors: [],
    planned: items.map((entry) => {
      const record = stored.get(entry.item.code);
      const action: Action = !record
        ? 'created'
        : record.name === entry.item.name && record.kind === entry.item.kind
          ? 'unchanged'
          : 'updated';
      return { ...entry, action };
    }),
  };
}

async function planStock(deps: ImportDeps, items: LineItem<'stock'>[]): Promise<Plan<'stock'>> {
  const errors: RowError[] = [];
  const locations = new Set((await deps.store.catalogue.listLocations()).map((location) => location.code));
  const skus = [...new Set(items.map(({ item }) => item.sku))];
  const variants = await variantsBySku(deps.store, skus);
  const onHand = await onHandBySkuLocation(deps.store, skus, locations.size);
  const planned: Planned<'stock'>[] = [];
  for (const entry of items) {
    const { item, line } = entry;
    const variant = variants.get(item.sku);
    if (!variant) errors.push({ line, column: 'sku', reason: `no variant with sku ${item.sku}` });
    else if (variant.isBundle)
      errors.push({ line, column: 'sku', reason: `${item.sku} is a bundle: it holds no stock of its own` });
    if (!locations.has(item.location))
      errors.push({ line, column: 'location', reason: `no location with code ${item.location}` });
    if (!variant || variant.isBundle || !locations.has(item.location)) continue;
    const stored = onHand.get(`${item.sku}\u0000${item.location}`);
    const action: Action = (stored ?? 0) === item.onHand ? 'unchanged' : stored === undefined ? 'created' : 'updated';
    planned.push({ ...entry, action });
  }
  return { planned, errors };
}

export function purchaseOrderOf(lines: readonly PurchaseOrderLineItem[]): PurchaseOrderInput {
  const first = lines[0]!;
  return {
    id: first.purchaseOrder,
    supplier: first.supplier,
    status: first.status,
    lines: lines.map((line) => ({
      line: line.line,
      sku: line.sku,
      location: line.location,
      quantity: line.quantity,
      expectedAt: line.expectedAt,
    })),
  };
}

function samePurchaseOrder(record: PurchaseOrderRecord, input: PurchaseOrderInput): boolean {
  const stored = [...record.lines]
    .sort((a, b) => a.line - b.line)
    .map((line) => [line.line, line.sku, line.location, line.quantityOrdered, line.expectedAt]);
  const wanted = [...input.lines]
    .sort((a, b) => a.line - b.line)
    .map((line) => [line.line, line.sku, line.location, line.quantity, line.expectedAt]);
  return record.supplier === (input.supplier ?? null) && record.status === input.status && sameJson(stored, wanted);
}

async function planPurchaseOrders(
  deps: ImportDeps,
  items: LineItem<'purchase-orders'>[],
): Promise<Plan<'purchase-orders'>> {
  const errors: RowError[] = [];
  const locations = new Set((await deps.store.catalogue.listLocations()).map((location) => location.code));
  const variants = await variantsBySku(
    deps.store,
    items.map(({ item }) => item.sku),
  );
  const byOrder = new Map<string, LineItem<'purchase-orders'>[]>();
  for (const entry of items) {
    const { item, line } = entry;
    const variant = variants.get(item.sku);
    if (!variant) errors.push({ line, column: 'sku', reason: `no variant with sku ${item.sku}` });
    else if (variant.isBundle)
      errors.push({ line, column: 'sku', reason: `${item.sku} is a bundle: order its components` });
    if (!locations.has(item.location))
      errors.push({ line, column: 'location', reason: `no location with code ${item.location}` });
    if (!variant || variant.isBundle || !locations.has(item.location)) continue;
    const lines = byOrder.get(item.purchaseOrder) ?? [];
    if (lines.length >= limits.purchaseOrderLinesMax) {
      errors.push({
        line,
        column: 'line',
        reason: `a purchase order has at most ${limits.purchaseOrderLinesMax} lines`,
      });
      continue;
    }
    lines.push(entry);
    byOrder.set(item.purchaseOrder, lines);
  }
  const planned: Planned<'purchase-orders'>[] = [];
  const orders = [...byOrder.values()];
  const records = await inChunks(orders, (lines) =>
    deps.store.catalogue.getPurchaseOrder(lines[0]!.item.purchaseOrder),
  );
  orders.forEach((lines, index) => {
    const record = records[index];
    const input = purchaseOrderOf(lines.map(({ item }) => item));
    const action: Action = !record ? 'created' : samePurchaseOrder(record, input) ? 'unchanged' : 'updated';
    for (const entry of lines) planned.push({ ...entry, action });
  });
  return { planned, errors };
}

async function channelCodes(deps: ImportDeps): Promise<Set<string>> {
  return new Set((await deps.store.availability.listChannels()).map((channel) => channel.code));
}

async function planListings(deps: ImportDeps, items: LineItem<'listings'>[]): Promise<Plan<'listings'>> {
  const errors: RowError[] = [];
  const channels = await channelCodes(deps);
  const variants = await variantsBySku(
    deps.store,
    items.flatMap(({ item }) => (item.sku === undefined ? [] : [item.sku])),
  );
  const good = items.filter(({ item, line }) => {
    if (!channels.has(item.channel)) {
      errors.push({ line, column: 'channel', reason: `no channel with code ${item.channel}` });
      return false;
    }
    if (item.sku !== undefined && !variants.has(item.sku)) {
      errors.push({ line, column: 'sku', reason: `no variant with sku ${item.sku}` });
      return false;
    }
    return true;
  });
  // What each item matches today: an explicit mapping, its listing, its sku or barcode.
  const matches = await inChunks(good, ({ item }) =>
    deps.store.availability.findOrderItem(item.channel, {
      externalId: item.externalId,
      sku: item.sku ?? null,
      barcode: item.barcode ?? null,
    }),
  );
  const records = await inChunks(matches, (match) =>
    match?.listingId ? deps.store.availability.getListing(match.listingId) : Promise.resolve(null),
  );
  const planned: Planned<'listings'>[] = [];
  for (const [index, entry] of good.entries()) {
    const match = matches[index];
    if (!match) {
      errors.push({
        line: entry.line,
        column: entry.item.barcode !== undefined ? 'barcode' : 'sku',
        reason: 'matches no variant (by mapping, sku or barcode)',
      });
      continue;
    }
    const record = records[index];
    const expectedSku = match.matchedBy === 'mapping' ? match.sku : (entry.item.sku ?? match.sku);
    const action: Action =
      !record || record.externalId !== entry.item.externalId
        ? 'created'
        : record.sku === expectedSku &&
            record.externalLocationId === (entry.item.externalLocationId ?? null) &&
            sameJson(sortedPairs(record.externalRefs), sortedPairs(entry.item.externalRefs)) &&
            record.rank === (entry.item.rank ?? 100)
          ? 'unchanged'
          : 'updated';
    planned.push({ ...entry, action });
  }
  return { planned, errors };
}

async function planMappings(deps: ImportDeps, items: LineItem<'mappings'>[]): Promise<Plan<'mappings'>> {
  const errors: RowError[] = [];
  const channels = await channelCodes(deps);
  const variants = await variantsBySku(
    deps.store,
    items.map(({ item }) => item.sku),
  );
  const good = items.filter(({ item, line }) => {
    if (!channels.has(item.channel))
      errors.push({ line, column: 'channel', reason: `no channel with code ${item.channel}` });
    else if (!variants.has(item.sku)) errors.push({ line, column: 'sku', reason: `no variant with sku ${item.sku}` });
    else return true;
    return false;
  });
  const matches = await inChunks(good, ({ item }) =>
    deps.store.availability.findOrderItem(item.channel, { externalId: item.externalId, sku: null, barcode: null }),
  );
  return {
    errors,
    planned: good.map((entry, index) => {
      const match = matches[index];
      const action: Action =
        match?.matchedBy !== 'mapping' ? 'created' : match.sku === entry.item.sku ? 'unchanged' : 'updated';
      return { ...entry, action };
    }),
  };
}

export const planners: { [K in ImportKind]: (deps: ImportDeps, items: LineItem<K>[]) => Promise<Plan<K>> } = {
  variants: planVariants,
  locations: planLocations,
  stock: planStock,
  'purchase-orders': planPurchaseOrders,
  listings: planListings,
  mappings: planMappings,
};
