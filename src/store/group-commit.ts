import assert from 'node:assert';
import type { Clock, IdSource } from '../core/clock.js';
import type { BatchItem, CommandAnswer } from '../core/ledger/apply-commands.js';
import type { LedgerCommand } from '../core/ledger/command.js';
import { limits } from '../core/limits.js';
import {
  BatchChecksFailed,
  type BatchCheckFailures,
  type BatchChecks,
  type LedgerStore,
  type SideWrite,
} from './ledger-store.js';

/**
 * Group commit (docs/RELIABILITY.md, section 4): commands that arrive while a transaction is running are
 * queued and applied together in the next one, each still judged on its own. A submission is
 * answered only after the transaction holding it is committed (durable).
 *
 * Why no fixed wait window: the batch forms on its own while the previous transaction is in
 * flight (PostgreSQL: the commit round trip), so an idle ledger answers a lone command at once
 * and a busy one amortises the commit over up to `groupCommitBatchSizeMax` commands. The flush
 * is scheduled with setImmediate so that every request whose bytes are already read joins the
 * same batch. A single-writer store (SQLite) commits synchronously: its fsync blocks the event
 * loop, so nothing is read meanwhile, and the requests that were waiting reach the queue over
 * the next few turns of the loop (each takes a few awaits before it submits). There the flush
 * waits up to `gatherTurnsMax` more turns while the queue keeps growing: a turn costs
 * microseconds when idle, and the first turn that adds nothing ends the wait.
 *
 * Failure isolation: a batch that throws (an IO fault or a bug, never a refusal - refusals are
 * verdicts) is retried one submission at a time, so one poisoned request cannot fail the
 * requests that happened to share its transaction.
 */

export class QueueFullError extends Error {
  readonly code = 'ONH_ERR_BUSY';
  constructor(readonly depth: number) {
    super(`the ledger queue holds ${depth} commands; try again shortly`);
  }
}

export class LedgerClosedError extends Error {
  readonly code = 'ONH_ERR_UNAVAILABLE';
  constructor() {
    super('the ledger is shutting down');
  }
}

/**
 * A submission's precondition failed in its batch's transaction (a revoked token, a deactivated
 * variant or location): nothing of it was written. `failures` lists only its own.
 */
export class PreconditionFailed extends Error {
  constructor(readonly failures: BatchCheckFailures) {
    super('a precondition of the submission failed; nothing of it was written');
  }
}

/**
 * What must still hold when a submission's batch commits, checked inside that transaction
 * (store.ledger.applyBatch's `checks`): the request's token is live, the variants and
 * locations it names are active. Checked once per batch for all its submissions, so a request
 * pays no round trip of its own for them.
 */
export interface Preconditions {
  tokenId?: string | undefined;
  skus?: readonly string[] | undefined;
  locations?: readonly string[] | undefined;
  /** The channel a reservation by channel is judged for. */
  channels?: readonly string[] | undefined;
}

type SideWrites = (answers: readonly CommandAnswer[]) => readonly SideWrite[];

interface Submission {
  items: readonly BatchItem[];
  commandCount: number;
  sideWrites?: SideWrites | undefined;
  preconditions?: Preconditions | undefined;
  resolve: (answers: CommandAnswer[]) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** @default limits.groupCommitBatchSizeMax */
  batchSizeMax?: number;
  /**
   * Transactions in flight at once. A single-writer store gains nothing from more than one;
   * PostgreSQL overlaps one batch's round trips and commit with the next batch's work.
   * Measured (bench:ledger, PostgreSQL on 2 cores): 1, 2 and 4 give the same throughput when
   * node and PostgreSQL share the cores; 2 overlaps round trips for lower latency at light load.
   * @default 1 for a single-writer store, else 2
   */
  inFlightMax?: number;
  /** @default limits.groupCommitQueueDepthMax */
  queueDepthMax?: number;
  /** Told of every batch transaction (metrics); see {@link LedgerObserver}. */
  observer?: LedgerObserver;
  /**
   * Turns of the event loop a flush waits while the queue keeps growing (see above).
   * @default limits.groupCommitGatherTurnsMax for a single-writer store, else 0
   */
  gatherTurnsMax?: number;
}

/**
 * Watches the batch transactions: `batchStarted` is called as a batch goes to the store, and the
 * function it returns when the batch is done, with its items and their answers (one per item
 * that is not a tidy), or with null when the transaction failed (its submissions are then
 * retried alone, each reported again).
 */
export interface LedgerObserver {
  batchStarted(): (done: { items: readonly BatchItem[]; answers: readonly CommandAnswer[] } | null) => void;
}

export interface GroupCommitStats {
  batches: number;
  commands: number;
  largestBatch: number;
  isolatedRetries: number;
}

export class GroupCommitter {
  private readonly queue: Submission[] = [];
  private queuedItems = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly batchSizeMax: number;
  private readonly queueDepthMax: number;
  private readonly inFlightMax: number;
  private readonly observer: LedgerObserver | undefined;
  private readonly gatherTurnsMax: number;
  readonly stats: GroupCommitStats = { batches: 0, commands: 0, largestBatch: 0, isolatedRetries: 0 };

  constructor(
    private readonly store: Pick<LedgerStore, 'ledger' | 'capabilities'>,
    private readonly clock: Clock,
    private readonly ids: IdSource,
    options: GroupCommitOptions = {},
  ) {
    this.batchSizeMax = options.batchSizeMax ?? limits.groupCommitBatchSizeMax;
    this.queueDepthMax = options.queueDepthMax ?? limits.groupCommitQueueDepthMax;
    this.inFlightMax = options.inFlightMax ?? (store.capabilities.singleWriter ? 1 : 2);
    this.observer = options.observer;
    this.gatherTurnsMax =
      options.gatherTurnsMax ?? (store.capabilities.singleWriter ? limits.groupCommitGatherTurnsMax : 0);
    assert(this.gatherTurnsMax >= 0 && this.gatherTurnsMax <= limits.groupCommitGatherTurnsMax);
    assert(this.batchSizeMax >= 1 && this.batchSizeMax <= this.queueDepthMax);
    assert(this.inFlightMax >= 1 && this.inFlightMax <= limits.groupCommitInFlightMax);
  }

  private readonly commitListeners = new Set<(committed: { answers: readonly CommandAnswer[] }) => void>();

  /**
   * Call `listener` after every committed batch (after its submissions are answered), e.g. to
   * wake the dispatchers: a commit may have made outbox rows due. Returns the unsubscribe.
   * Commits made by other processes are not seen (their dispatchers poll). The listener is given
   * the batch's answers (the live events of the dashboard show the levels they left).
   */
  onCommit(listener: (committed: { answers: readonly CommandAnswer[] }) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** Commands waiting for a transaction. */
  get depth(): number {
    return this.queuedItems;
  }

  /**
   * Apply commands; resolves with one answer per command once they are durable. `sideWrites`
   * (given these commands' answers) returns statements written in the same transaction; when
   * one of them finds its row changed by another writer, this submission fails with
   * SideWriteConflict and nothing of it is written (the others of its batch are re-run alone).
   */
  submit(
    commands: readonly LedgerCommand[],
    options: { sideWrites?: SideWrites; preconditions?: Preconditions } = {},
  ): Promise<CommandAnswer[]> {
    return this.enqueue(commands, commands.length, options.sideWrites, options.preconditions);
  }

  /** Touch levels so that their due reservations expire (the sweeper's tidy-up). */
  async tidy(levels: readonly { variantId: number; locationId: number }[]): Promise<void> {
    if (levels.length === 0) return;
    await this.enqueue(
      levels.map((level) => ({ type: 'tidy' as const, ...level })),
      0,
    );
  }

  private enqueue(
    items: readonly BatchItem[],
    commandCount: number,
    sideWrites?: SideWrites,
    preconditions?: Preconditions,
  ): Promise<CommandAnswer[]> {
    if (this.closed) return Promise.reject(new LedgerClosedError());
    if (items.length === 0) return Promise.resolve([]);
    if (this.queuedItems + items.length > this.queueDepthMax)
      return Promise.reject(new QueueFullError(this.queuedItems));
    return new Promise<CommandAnswer[]>((resolve, reject) => {
      this.queue.push({ items, commandCount, sideWrites, preconditions, resolve, reject });
      this.queuedItems += items.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.inFlightMax) return;
    this.scheduled = true;
    let turns = 0;
    let seen = this.queuedItems;
    const flush = () => {
      // Wait another turn while the last one added to the queue and a batch has room.
      if (
        turns < this.gatherTurnsMax &&
        (turns === 0 || this.queuedItems > seen) &&
        this.queuedItems < this.batchSizeMax
      ) {
        turns += 1;
        seen = this.queuedItems;
        setImmediate(flush);
        return;
      }
      this.scheduled = false;
      this.pump();
    };
    setImmediate(flush);
  }

  /** Start batches while there is room in flight; each, when done, schedules the next. */
  private pump(): void {
    while (this.inFlight < this.inFlightMax && this.queue.length > 0) {
      const batch = this.takeBatch();
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) this.schedule();
        else if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  private takeBatch(): Submission[] {
    let count = 0;
    let size = 0;
    for (const next of this.queue) {
      if (count > 0 && size + next.items.length > this.batchSizeMax) break;
      count += 1;
      size += next.items.length;
    }
    this.queuedItems -= size;
    return this.queue.splice(0, count); // one splice, not a shift per submission (O(n^2) at 5k deep)
  }

  private async run(batch: Submission[]): Promise<void> {
    const items = batch.flatMap((submission) => submission.items);
    const sideWrites = batch.some((submission) => submission.sideWrites !== undefined)
      ? (answers: readonly CommandAnswer[]) => {
          const writes: SideWrite[] = [];
          let offset = 0;
          for (const submission of batch) {
            const own = answers.slice(offset, offset + submission.commandCount);
            offset += submission.commandCount;
            if (submission.sideWrites) writes.push(...submission.sideWrites(own));
          }
          return writes;
        }
      : undefined;
    const checks = batchChecks(batch);
    const observed = this.observer?.batchStarted();
    try {
      const answers = await this.store.ledger.applyBatch(
        items,
        this.clock.now(),
        () => this.ids.next('res'),
        sideWrites,
        checks,
      );
      observed?.({ items, answers });
      this.stats.batches += 1;
      this.stats.commands += answers.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, items.length);
      let offset = 0;
      for (const submission of batch) {
        submission.resolve(answers.slice(offset, offset + submission.commandCount));
        offset += submission.commandCount;
      }
      assert.equal(offset, answers.length, 'every answer reaches its submission');
      for (const listener of this.commitListeners) listener({ answers });
    } catch (error) {
      observed?.(null);
      if (error instanceof BatchChecksFailed) {
        // Refuse the submissions whose preconditions failed; the others go again together.
        const rest: Submission[] = [];
        for (const submission of batch) {
          const own = ownFailures(submission.preconditions, error.failures);
          if (own === null) rest.push(submission);
          else submission.reject(new PreconditionFailed(own));
        }
        if (rest.length > 0) await this.run(rest);
        return;
      }
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // Isolate: retry each submission in its own transaction.
      this.stats.isolatedRetries += 1;
      for (const submission of batch) await this.run([submission]);
    }
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuse new commands and wait for the queued ones to be applied. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }
}

/** The union of a batch's preconditions, or undefined when none of its submissions has any. */
function batchChecks(batch: readonly Submission[]): BatchChecks | undefined {
  if (batch.every((submission) => submission.preconditions === undefined)) return undefined;
  const tokenIds = new Set<string>();
  const skus = new Set<string>();
  const locations = new Set<string>();
  const channels = new Set<string>();
  for (const { preconditions } of batch) {
    if (preconditions === undefined) continue;
    if (preconditions.tokenId !== undefined) tokenIds.add(preconditions.tokenId);
    for (const sku of preconditions.skus ?? []) skus.add(sku);
    for (const code of preconditions.locations ?? []) locations.add(code);
    for (const code of preconditions.channels ?? []) channels.add(code);
  }
  return { tokenIds: [...tokenIds], skus: [...skus], locations: [...locations], channels: [...channels] };
}

/** The failures that concern one submission, or null when none does. */
function ownFailures(
  preconditions: Preconditions | undefined,
  failures: BatchCheckFailures,
): BatchCheckFailures | null {
  if (preconditions === undefined) return null;
  const revokedTokens = failures.revokedTokens.filter((id) => id === preconditions.tokenId);
  const inactiveSkus = failures.inactiveSkus.filter((sku) => preconditions.skus?.includes(sku));
  const inactiveLocations = failures.inactiveLocations.filter((code) => preconditions.locations?.includes(code));
  const inactiveChannels = failures.inactiveChannels.filter((code) => preconditions.channels?.includes(code));
  const failed = revokedTokens.length + inactiveSkus.length + inactiveLocations.length + inactiveChannels.length;
  return failed === 0 ? null : { revokedTokens, inactiveSkus, inactiveLocations, inactiveChannels };
}
