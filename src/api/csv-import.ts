import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { checkVariantUpsert, type ExistingVariantFacts } from '../core/catalogue.js';
import type { CountCommand } from '../core/ledger/command.js';
import { limits } from '../core/limits.js';
import {
  checkCsvFile,
  type CheckedFile,
  type ImportKind,
  type ItemOf,
  type LineItem,
  type PurchaseOrderLineItem,
} from '../csv/csv-kinds.js';
import { type RowError, sortedErrors } from '../csv/csv-records.js';
import { payloadHash } from '../ingest/payload-hash.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore, PurchaseOrderInput, PurchaseOrderRecord, VariantRecord } from '../store/ledger-store.js';

/**
 * Applying a CSV import through the store's ports and the group committer, shared by
 * `POST /v1/imports/{kind}` and `onhand import`. Three steps:
 * 1. check every row's text (src/csv, pure);
 * 2. resolve every good row against the store, in bounded chunks: unknown skus, locations and
 *    channels become row errors, and each row is judged `created`, `updated` or `unchanged`
 *    against what is stored, so importing a file twice changes nothing the second time;
 * 3. unless a row is bad (mode `all`) or it is a dry run, apply the changed rows in batches of
 *    the bulk APIs' size (`limits.upsertBatchSizeMax`). Each batch is one transaction; when one
 *    fails, {@link ImportApplyError} says how many rows were applied before it.
 *
 * Stock rows are counts: a ledger `count` command per changed row, whose idempotency key is
 * `csv:stock:<hash of the file>:<line>`, so a file sent twice (or a retried request) is
 * answered from the ledger's stored answers, not applied again.
 */

export type ImportMode = 'all' | 'good';

export interface ImportReport {
  kind: ImportKind;
  /** Data rows in the file (the header excluded). */
  rows: number;
  applied: boolean;
  /** What was done, or with `applied: false` what applying would do to the good rows. */
  created: number;
  updated: number;
  unchanged: number;
  /** Bad rows, in file order. */
  errors: RowError[];
}

export interface ImportDeps {
  store: LedgerStore;
  ledger: GroupCommitter;
  clock: Clock;
}

export interface ImportOptions {
  /** Check and resolve every row, apply none. @default false */
  dryRun?: boolean | undefined;
  /** `all`: nothing is applied when a row is bad; `good`: the good rows are. @default 'all' */
  mode?: ImportMode | undefined;
  /** Told of the rows resolved and applied so far, out of twice the rows (a progress bar). */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** Applying failed part way: `report` counts what was applied before the failing batch. */
export class ImportApplyError extends Error {
  constructor(
    message: string,
    readonly report: ImportReport,
    readonly failedLines: readonly number[],
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

type Action = 'created' | 'updated' | 'unchanged';

/** A good row after resolution: what it will do. */
interface Planned<K extends ImportKind> extends LineItem<K> {
  action: Action;
}

interface Plan<K extends ImportKind> {
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

function purchaseOrderOf(lines: readonly PurchaseOrderLineItem[]): PurchaseOrderInput {
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

const planners: { [K in ImportKind]: (deps: ImportDeps, items: LineItem<K>[]) => Promise<Plan<K>> } = {
  variants: planVariants,
  locations: planLocations,
  stock: planStock,
  'purchase-orders': planPurchaseOrders,
  listings: planListings,
  mappings: planMappings,
};

// --- applying ------------------------------------------------------------------------------

interface Applied {
  /** Lines applied (or answered as already applied). */
  lines: number[];
  /** Rows the store or the ledger refused while applying (mode `good` keeps going). */
  errors: RowError[];
}

type Applier<K extends ImportKind> = (
  deps: ImportDeps,
  batch: readonly Planned<K>[],
  context: { fileHash: string },
) => Promise<Applied>;

function allApplied(batch: readonly { line: number }[]): Applied {
  return { lines: batch.map((entry) => entry.line), errors: [] };
}

const appliers: { [K in ImportKind]: Applier<K> } = {
  variants: async (deps, batch) => {
    await deps.store.catalogue.upsertVariants(
      batch.map(({ item }) => item),
      deps.clock.now(),
    );
    return allApplied(batch);
  },
  locations: async (deps, batch) => {
    await deps.store.catalogue.upsertLocations(
      batch.map(({ item }) => item),
      deps.clock.now(),
    );
    return allApplied(batch);
  },
  stock: async (deps, batch, { fileHash }) => {
    const commands: CountCommand[] = batch.map(({ item, line }) => ({
      type: 'count',
      key: `csv:stock:${fileHash}:${line}`,
      payloadHash: payloadHash({ line, ...item }),
      sku: item.sku,
      location: item.location,
      onHand: item.onHand,
      occurredAt: item.countedAt,
      sourceVersion: item.sourceVersion,
      note: item.note,
      source: { system: 'csv-import', reference: `line ${line}` },
    }));
    const answers = await deps.ledger.submit(commands);
    const applied: Applied = { lines: [], errors: [] };
    answers.forEach((answer, index) => {
      const line = batch[index]!.line;
      if (answer.status === 'applied' || answer.status === 'exists') applied.lines.push(line);
      else
        applied.errors.push({
          line,
          column: 'on_hand',
          reason: `the ledger refused the count: ${answer.detail ?? answer.status}`,
        });
    });
    return applied;
  },
  'purchase-orders': async (deps, batch) => {
    const byOrder = new Map<string, PurchaseOrderLineItem[]>();
    for (const { item } of batch) byOrder.set(item.purchaseOrder, [...(byOrder.get(item.purchaseOrder) ?? []), item]);
    for (const lines of byOrder.values())
      await deps.store.catalogue.upsertPurchaseOrder(purchaseOrderOf(lines), deps.clock.now());
    return allApplied(batch);
  },
  listings: async (deps, batch) => {
    const report = await deps.store.availability.upsertListings(
      batch.map(({ item }) => item),
      deps.clock.now(),
    );
    const unmapped = new Set(report.unmapped.map((item) => item.index));
    return {
      lines: batch.filter((_, index) => !unmapped.has(index)).map((entry) => entry.line),
      errors: report.unmapped.map((item) => ({ line: batch[item.index]!.line, column: 'sku', reason: item.reason })),
    };
  },
  mappings: async (deps, batch) => {
    await deps.store.availability.upsertMappings(
      batch.map(({ item }) => item),
      deps.clock.now(),
    );
    return allApplied(batch);
  },
};

/**
 * Batches of changed rows in the order they must be applied: plain variants before bundles (a
 * bundle's components exist first), a purchase order's lines never split across batches.
 */
function batchesOf<K extends ImportKind>(kind: K, planned: readonly Planned<K>[]): Planned<K>[][] {
  const changed = planned.filter((entry) => entry.action !== 'unchanged');
  let ordered = changed;
  if (kind === 'variants') {
    const isBundle = (entry: Planned<K>) => ((entry.item as ItemOf['variants']).components?.length ?? 0) > 0;
    ordered = [...changed.filter((entry) => !isBundle(entry)), ...changed.filter(isBundle)];
  }
  const size = kind === 'stock' ? limits.movementsPerRequestMax : limits.upsertBatchSizeMax;
  const batches: Planned<K>[][] = [];
  let current: Planned<K>[] = [];
  let currentOrder: string | undefined;
  for (const entry of ordered) {
    const order = kind === 'purchase-orders' ? (entry.item as PurchaseOrderLineItem).purchaseOrder : undefined;
    const full = current.length >= size && (order === undefined || order !== currentOrder);
    if (full) {
      batches.push(current);
      current = [];
    }
    current.push(entry);
    currentOrder = order;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * A batch the store refused by its catalogue rules (`ONH_ERR_CATALOGUE`, recognised by code) as
 * row errors: each problem's path `/<items>/<index>/<field>` names the row; null for any other error.
 */
function catalogueRefusal(error: unknown, batch: readonly { line: number }[]): RowError[] | null {
  const refusal = error as { code?: unknown; message?: string; errors?: { path: string; message: string }[] };
  if (refusal?.code !== 'ONH_ERR_CATALOGUE') return null;
  const problems = refusal.errors ?? [];
  const rows: RowError[] = problems.map((problem) => {
    const [, , index, field] = problem.path.split('/');
    const entry = batch[Number(index)];
    return { line: entry?.line ?? batch[0]!.line, column: field ?? '(row)', reason: problem.message };
  });
  return rows.length > 0 ? rows : [{ line: batch[0]!.line, column: '(row)', reason: refusal.message ?? 'refused' }];
}

function count(planned: readonly { action: Action }[], action: Action): number {
  return planned.filter((entry) => entry.action === action).length;
}

/**
 * Import a CSV file of `kind`: check every row, resolve it against the store, then (unless a
 * dry run, or a row is bad in mode `all`) apply the changed rows. Row problems are answers,
 * never exceptions; an IO fault while applying throws {@link ImportApplyError}.
 */
export async function importCsv(
  deps: ImportDeps,
  kind: ImportKind,
  text: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const mode = options.mode ?? 'all';
  const checked = checkCsvFile(kind, text) as CheckedFile<ImportKind>;
  const total = checked.rows * 2;
  options.onProgress?.(0, total);
  const plan = await (planners[kind] as (deps: ImportDeps, items: LineItem<ImportKind>[]) => Promise<Plan<ImportKind>>)(
    deps,
    checked.items,
  );
  options.onProgress?.(checked.rows, total);
  const errors = sortedErrors([...checked.errors, ...plan.errors]);
  const report: ImportReport = {
    kind,
    rows: checked.rows,
    applied: false,
    created: count(plan.planned, 'created'),
    updated: count(plan.planned, 'updated'),
    unchanged: count(plan.planned, 'unchanged'),
    errors,
  };
  if (options.dryRun || (errors.length > 0 && mode === 'all') || (plan.planned.length === 0 && errors.length > 0))
    return report;

  const fileHash = createHash('sha256').update(text).digest('base64url').slice(0, 22);
  const apply = appliers[kind] as Applier<ImportKind>;
  const done = { created: 0, updated: 0, unchanged: count(plan.planned, 'unchanged') };
  const lateErrors: RowError[] = [];
  let progressed = checked.rows + done.unchanged;
  // Stock counts go to the group committer several batches at a time, so it can fill its
  // transactions (limits.groupCommitBatchSizeMax) while the previous one commits; catalogue
  // batches are one transaction each, in order (bundles after their components).
  const wave = kind === 'stock' ? limits.groupCommitInFlightMax : 1;
  const batches = batchesOf(kind, plan.planned);
  for (let start = 0; start < batches.length; start += wave) {
    const group = batches.slice(start, start + wave);
    const settled = await Promise.allSettled(group.map((batch) => apply(deps, batch, { fileHash })));
    let failure: { error: unknown; batch: Planned<ImportKind>[] } | undefined;
    let refusedInAll = false;
    for (const [index, outcome] of settled.entries()) {
      const batch = group[index]!;
      if (outcome.status === 'rejected') {
        const refused = catalogueRefusal(outcome.reason, batch);
        // The store's own rules refused the batch (one transaction: none of it was written).
        if (refused) {
          lateErrors.push(...refused);
          refusedInAll ||= mode === 'all';
        } else failure ??= { error: outcome.reason, batch };
        continue;
      }
      const appliedLines = new Set(outcome.value.lines);
      for (const entry of batch) if (appliedLines.has(entry.line)) done[entry.action as 'created' | 'updated'] += 1;
      lateErrors.push(...outcome.value.errors);
      progressed += batch.length;
    }
    options.onProgress?.(progressed, total);
    const partial = (): ImportReport => ({
      ...report,
      applied: done.created + done.updated > 0,
      ...done,
      errors: sortedErrors([...errors, ...lateErrors]),
    });
    if (failure) {
      const first = failure.batch[0]!.line;
      throw new ImportApplyError(
        `applying failed at the batch starting on line ${first} (${(failure.error as Error).message}); ` +
          `${done.created + done.updated} changed rows were applied before it stopped`,
        partial(),
        failure.batch.map((entry) => entry.line),
        failure.error,
      );
    }
    if (refusedInAll) return partial();
  }
  options.onProgress?.(total, total);
  return {
    ...report,
    applied: true,
    ...done,
    errors: sortedErrors([...errors, ...lateErrors]),
  };
}
