import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
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
import type { LedgerStore } from '../store/ledger-store.js';
import { type Action, type Plan, type Planned, planners, purchaseOrderOf } from './csv-import-plan.js';

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
