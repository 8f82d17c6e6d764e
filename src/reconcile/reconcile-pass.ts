import type { ChannelConnector } from '../connectors/channel-connector.js';
import type { Clock, EpochMs } from '../core/clock.js';
import { needsRepair } from '../core/drift.js';
import { limits } from '../core/limits.js';
import type { AvailabilityPort } from '../store/availability-store.js';
import type { OutboxPort, RepairRecord } from '../store/outbox-port.js';
import { collectBulkLevels, readBackChunks } from './read-back.js';

export type ReconcileMode = 'targeted' | 'full';

export interface ReconcileDeps {
  store: {
    availability: Pick<AvailabilityPort, 'listListings' | 'getAvailability'>;
    outbox: Pick<
      OutboxPort,
      'recordChannelLevels' | 'listDrift' | 'listReconcileTargets' | 'requeueRepair' | 'recordReconcileRun'
    >;
  };
  connector: ChannelConnector;
  clock: Clock;
  /** Waits, for the rate budget. @default setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface ReconcileOptions {
  channel: string;
  mode: ReconcileMode;
  /** Read and judge, record what the channel shows, but queue no repair. */
  dryRun?: boolean;
  /** @default limits.driftGraceMs */
  graceMs?: number;
  /** A targeted pass reads what was pushed or changed since now minus this. @default limits.reconcileTargetedWindowMs */
  windowMs?: number;
  /** @default limits.readBackChunkMax */
  chunkSize?: number;
  signal?: AbortSignal;
  /** Told after each chunk read: listings read so far. */
  onProgress?: (read: number) => void;
}

export interface ReconcileSummary {
  channel: string;
  mode: ReconcileMode;
  dryRun: boolean;
  startedAt: EpochMs;
  finishedAt: EpochMs;
  /** Listings read back (including those whose chunk failed). */
  read: number;
  /** Listings whose chunk's read failed, and the first reason. */
  readErrors: number;
  firstReadError: string | null;
  /** Listings the channel did not know (read as null). */
  unknown: number;
  /** Drifted listings after the read: showing more, showing less (confirmed or not), dead letters. */
  driftMore: number;
  driftLess: number;
  /** Showing less, not yet confirmed by a second read a grace later (or an order poll after the read): left alone. */
  unconfirmed: number;
  dead: number;
  /** Repairs queued (or, on a dry run, that would be). */
  repairs: RepairRecord[];
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * One reconcile pass over a channel: read back what the channel shows (a targeted pass the
 * listings pushed or changed within the window and those in drift; a full pass every listing),
 * in chunks of at most `limits.readBackChunkMax`, each chunk waiting while the channel's rate
 * budget is below its reserve for pushes; record what each listing showed; then judge every
 * drifted listing (src/core/drift.ts) and re-queue those that need a repair through the outbox,
 * due now. The repair push is an ordinary push of the desired quantity carrying the value just
 * read as its compare value, so on Shopify a sale the channel takes between the read and the
 * push turns it `stale` instead of being overwritten. A channel showing less than it
 * acknowledged is raised only once two reads a grace apart agree, or, on a channel whose orders
 * are polled, once a poll that began after the read has caught up. The summary of a pass that
 * is not a dry run is kept in the store as the channel's last run (the sync status shows it).
 */
export async function reconcileChannel(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileSummary> {
  const { store, connector, clock } = deps;
  const sleep = deps.sleep ?? defaultSleep;
  const graceMs = options.graceMs ?? limits.driftGraceMs;
  const startedAt = clock.now();
  const since = startedAt - (options.windowMs ?? limits.reconcileTargetedWindowMs);
  const summary: ReconcileSummary = {
    channel: options.channel,
    mode: options.mode,
    dryRun: options.dryRun ?? false,
    startedAt,
    finishedAt: startedAt,
    read: 0,
    readErrors: 0,
    firstReadError: null,
    unknown: 0,
    driftMore: 0,
    driftLess: 0,
    unconfirmed: 0,
    dead: 0,
    repairs: [],
  };

  const waitForBudget = async () => {
    const reserve = limits.reconcileBudgetReservePercent / 100;
    const deadline = clock.now() + limits.reconcileBudgetWaitMsMax;
    for (;;) {
      const budget = connector.rateLimit();
      if (budget.available >= budget.capacity * reserve || clock.now() >= deadline) return;
      await sleep(Math.min(Math.max(budget.waitMs, 100), 1_000), options.signal);
    }
  };

  let readAt = clock.now();
  // A full pass reads the whole channel at once on its bulk path when the connector has one;
  // the read started at readAt, so a push acknowledged meanwhile is not judged by it.
  const bulk =
    options.mode === 'full' && connector.readAllLevels ? await collectBulkLevels(connector, options.signal) : undefined;
  const chunks = readBackChunks(store.availability, connector, options.channel, {
    ...(bulk === undefined ? {} : { bulk }),
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    beforeRead: async () => {
      await waitForBudget();
      readAt = clock.now();
    },
    ...(options.mode === 'targeted'
      ? {
          select: (afterId: string | undefined, limit: number) =>
            store.outbox.listReconcileTargets(options.channel, { since, afterId, limit }),
        }
      : {}),
  });
  for await (const chunk of chunks) {
    summary.read += chunk.length;
    const reads = [];
    for (const listing of chunk) {
      if (listing.readError !== null) {
        summary.readErrors += 1;
        summary.firstReadError ??= listing.readError;
      } else if (listing.shown === null) summary.unknown += 1;
      else reads.push({ listingId: listing.listingId, shown: listing.shown });
    }
    if (reads.length > 0) await store.outbox.recordChannelLevels(options.channel, reads, readAt, clock.now());
    options.onProgress?.(summary.read);
  }

  // Judge every drifted listing of the channel (a page at a time) and repair what needs it.
  let afterId: string | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const page = await store.outbox.listDrift(options.channel, {
      graceMs,
      afterId,
      limit: limits.reconcileDriftPageMax,
    });
    for (const entry of page) {
      const { verdict } = entry;
      if (verdict.dead) summary.dead += 1;
      else if (verdict.direction === 'more') summary.driftMore += 1;
      else {
        summary.driftLess += 1;
        if (!verdict.confirmed) summary.unconfirmed += 1;
      }
      if (!needsRepair(verdict)) continue;
      if (summary.dryRun) {
        summary.repairs.push({
          channel: options.channel,
          listingId: entry.listingId,
          sku: entry.sku,
          at: clock.now(),
          direction: verdict.direction,
          shown: verdict.shown,
          acknowledged: verdict.acknowledged,
          desired: entry.state.desired,
        });
        continue;
      }
      const repair = await store.outbox.requeueRepair(options.channel, entry, clock.now());
      if (repair) summary.repairs.push(repair);
    }
    if (page.length < limits.reconcileDriftPageMax) break;
    afterId = page[page.length - 1]!.listingId;
  }
  summary.finishedAt = clock.now();
  // Kept as the channel's last run (a dry run changes nothing, so it is not kept).
  if (!summary.dryRun)
    await store.outbox.recordReconcileRun(options.channel, {
      mode: summary.mode,
      startedAt: summary.startedAt,
      finishedAt: summary.finishedAt,
      read: summary.read,
      unknown: summary.unknown,
      driftMore: summary.driftMore,
      driftLess: summary.driftLess,
      unconfirmed: summary.unconfirmed,
      dead: summary.dead,
      repairs: summary.repairs.length,
      readErrors: summary.readErrors,
      firstReadError: summary.firstReadError,
    });
  return summary;
}

/** One line for a terminal or a log: what the pass read, found and repaired. */
export function summaryLine(summary: ReconcileSummary): string {
  const repaired = summary.dryRun ? 'would repair' : 'repaired';
  const parts = [
    `${summary.channel}: ${summary.mode}${summary.dryRun ? ' (dry run)' : ''}`,
    `${summary.read} read`,
    `drift ${summary.driftMore} more, ${summary.driftLess} less (${summary.unconfirmed} awaiting confirmation)`,
    `${repaired} ${summary.repairs.length}`,
  ];
  if (summary.unknown > 0) parts.push(`${summary.unknown} unknown to the channel`);
  if (summary.dead > 0) parts.push(`${summary.dead} dead letters drifted`);
  if (summary.readErrors > 0) parts.push(`${summary.readErrors} not read: ${summary.firstReadError}`);
  parts.push(`${summary.finishedAt - summary.startedAt} ms`);
  return parts.join(', ');
}
