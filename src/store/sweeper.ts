import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { GroupCommitter } from './group-commit.js';
import type { LedgerStore } from './ledger-store.js';

/**
 * Housekeeping that never decides anything: expiry is logical (reads and requests already see
 * a due reservation as released), so the sweeper only writes down what is already true, and
 * prunes idempotency answers older than the retention and push-latency samples older than an hour.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<LedgerStore, 'ledger' | 'outbox' | 'availability'>,
    private readonly ledger: GroupCommitter,
    private readonly clock: Clock,
    private readonly options: {
      intervalMs: number;
      retentionDays: number;
      /**
       * How often every listing is recomputed although no movement touched it: rules that
       * depend on time (the velocity buffer decays, store counts age, pre-order horizons move)
       * change a listing's quantity by themselves. 0 disables it.
       */
      availabilityRefreshMs?: number;
      onError: (error: unknown) => void;
    },
  ) {}
  private lastRefreshAt: number | undefined;

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch(this.options.onError)
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass; returns what it did. */
  async sweepOnce(): Promise<{ expiredLevels: number; prunedAnswers: number; refreshedListings: number }> {
    const now = this.clock.now();
    const levels = await this.store.ledger.dueReservationLevels(now, limits.sweepBatchSizeMax);
    await this.ledger.tidy(levels);
    const prunedAnswers = await this.store.ledger.pruneAnswers(
      now - this.options.retentionDays * 86_400_000,
      limits.pruneBatchSizeMax,
    );
    // Latency percentiles read the last 15 minutes; an hour of samples is kept, no more.
    await this.store.outbox.pruneSamples(now - limits.pushSampleRetentionMs);
    let refreshedListings = 0;
    const refreshMs = this.options.availabilityRefreshMs ?? 0;
    if (refreshMs > 0 && (this.lastRefreshAt === undefined || now - this.lastRefreshAt >= refreshMs)) {
      this.lastRefreshAt = now;
      refreshedListings = (await this.store.availability.recomputeAll(now)).changed;
    }
    return { expiredLevels: levels.length, prunedAnswers, refreshedListings };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
