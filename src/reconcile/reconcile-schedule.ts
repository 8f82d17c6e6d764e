import type { ChannelConnector } from '../connectors/channel-connector.js';
import type { Clock, EpochMs } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { OutboxPort } from '../store/outbox-port.js';
import { type ReconcileDeps, type ReconcileMode, type ReconcileSummary, reconcileChannel } from './reconcile-pass.js';

export interface ReconcileScheduleOptions {
  store: ReconcileDeps['store'];
  clock: Clock;
  channels: readonly { channel: string; connector: ChannelConnector }[];
  /** @default limits.reconcileTargetedIntervalMs */
  targetedIntervalMs?: number;
  /** @default limits.reconcileFullIntervalMs */
  fullIntervalMs?: number;
  /** Told after each scheduled pass. */
  onSummary?: (summary: ReconcileSummary) => void;
  /** Told after every pass, scheduled or run now, dry runs included. */
  onRun?: (summary: ReconcileSummary) => void;
  /** Told when a pass, scheduled or run now, throws. */
  onRunFailed?: (channel: string, mode: ReconcileMode, error: unknown) => void;
  onError?: (channel: string, error: unknown) => void;
  /**
   * Run the scheduled passes of a channel only while this owner holds (or can take) the
   * channel's lease, the one its push loop runs under: among several processes, the one
   * pushing a channel also reads it back, so one process spends its rate budget. Absent: every
   * scheduled pass runs. `runNow` never asks.
   */
  lease?: { outbox: Pick<OutboxPort, 'acquireLease'>; owner: string; ttlMs?: number };
}

interface ChannelState {
  channel: string;
  connector: ChannelConnector;
  /** The pass running now; a second request for the channel waits for it instead of overlapping. */
  running: Promise<ReconcileSummary> | undefined;
  lastFullAt: EpochMs | null;
  last: ReconcileSummary | undefined;
}

/**
 * Reconcile passes in the background, per connected channel: a targeted pass every
 * `targetedIntervalMs`, and a full pass instead when the last full one is older than
 * `fullIntervalMs` (the first tick, one interval after the start, runs a full pass); with
`lease`, only for the channels whose lease this process holds. One pass per channel at a
 * time; `runNow` (the API's POST /v1/reconcile) shares the same connectors, so its reads are
 * counted in the same rate budget as the pushes. The last summary per channel is kept.
 */
export class ReconcileSchedule {
  private readonly channels = new Map<string, ChannelState>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: ReconcileScheduleOptions) {
    for (const { channel, connector } of options.channels)
      this.channels.set(channel, { channel, connector, running: undefined, lastFullAt: null, last: undefined });
  }

  /** The channels this schedule reconciles. */
  get channelCodes(): string[] {
    return [...this.channels.keys()];
  }

  /** The last pass's summary per channel (undefined before the first). */
  lastSummaries(): ReconcileSummary[] {
    return [...this.channels.values()].flatMap((state) => (state.last ? [state.last] : []));
  }

  /** Run a pass on one channel now (after the one running, if any). Throws for a channel not connected. */
  async runNow(channel: string, mode: ReconcileMode, dryRun = false): Promise<ReconcileSummary> {
    const state = this.channels.get(channel);
    if (!state) throw new Error(`channel ${channel} is not connected`);
    while (state.running) await state.running.catch(() => undefined);
    const pass = reconcileChannel(
      { store: this.options.store, connector: state.connector, clock: this.options.clock },
      { channel, mode, dryRun, signal: this.abort.signal },
    );
    state.running = pass;
    try {
      const summary = await pass.catch((error: unknown) => {
        if (!this.abort.signal.aborted) this.options.onRunFailed?.(channel, mode, error);
        throw error;
      });
      this.options.onRun?.(summary);
      if (!dryRun) {
        state.last = summary;
        if (mode === 'full') state.lastFullAt = summary.startedAt;
      }
      return summary;
    } finally {
      state.running = undefined;
    }
  }

  /** One scheduled round over every channel: full when due, else targeted. */
  async tick(): Promise<void> {
    const fullEvery = this.options.fullIntervalMs ?? limits.reconcileFullIntervalMs;
    await Promise.all(
      [...this.channels.values()].map(async (state) => {
        try {
          const lease = this.options.lease;
          const now = this.options.clock.now();
          if (
            lease &&
            (await lease.outbox.acquireLease(state.channel, lease.owner, now, lease.ttlMs ?? limits.leaseTtlMs)) ===
              null
          )
            return; // another process pushes this channel: it reads it back too
          const mode: ReconcileMode =
            state.lastFullAt === null || now - state.lastFullAt >= fullEvery ? 'full' : 'targeted';
          this.options.onSummary?.(await this.runNow(state.channel, mode));
        } catch (error) {
          if (!this.abort.signal.aborted) this.options.onError?.(state.channel, error);
        }
      }),
    );
  }

  start(): void {
    if (this.timer || this.channels.size === 0) return;
    const every = this.options.targetedIntervalMs ?? limits.reconcileTargetedIntervalMs;
    const round = () => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    };
    this.timer = setInterval(round, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort(new Error('reconcile stopped'));
    await this.ticking;
  }
}
