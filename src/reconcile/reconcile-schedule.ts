import type { ChannelConnector } from '../connectors/channel-connector.js';
import type { Clock, EpochMs } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { OutboxPort } from '../store/outbox-port.js';
import { type ReconcileDeps, type ReconcileMode, type ReconcileSummary, reconcileChannel } from './reconcile-pass.js';

export interface ReconcileScheduleOptions {
  store: ReconcileDeps['store'];
  clock: Clock;
  /** Each channel may bring its own intervals (its `settings.reconcile`, src/reconcile/reconcile-settings.ts). */
  channels: readonly {
    channel: string;
    connector: ChannelConnector;
    targetedIntervalMs?: number | undefined;
    fullIntervalMs?: number | undefined;
  }[];
  /** For a channel without its own. @default limits.reconcileTargetedIntervalMs */
  targetedIntervalMs?: number;
  /** For a channel without its own. @default limits.reconcileFullIntervalMs */
  fullIntervalMs?: number;
  /** How often `start`'s timer looks for due passes. @default limits.reconcileScheduleTickMs */
  tickMs?: number;
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
  targetedIntervalMs: number;
  fullIntervalMs: number;
  /** When the next scheduled pass is due; null: at the next tick. */
  dueAt: EpochMs | null;
  /** The pass running now; a second request for the channel waits for it instead of overlapping. */
  running: Promise<ReconcileSummary> | undefined;
  lastFullAt: EpochMs | null;
  last: ReconcileSummary | undefined;
}

/**
 * Reconcile passes in the background, per connected channel and on the channel's own
 * intervals: a targeted pass every `targetedIntervalMs`, and a full pass instead when the last
 * full one is older than `fullIntervalMs` (the first pass, one targeted interval after the
 * start, is a full one). A timer looks every `tickMs` for the channels whose pass is due; with
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
    for (const { channel, connector, targetedIntervalMs, fullIntervalMs } of options.channels)
      this.channels.set(channel, {
        channel,
        connector,
        targetedIntervalMs: targetedIntervalMs ?? options.targetedIntervalMs ?? limits.reconcileTargetedIntervalMs,
        fullIntervalMs: fullIntervalMs ?? options.fullIntervalMs ?? limits.reconcileFullIntervalMs,
        dueAt: null,
        running: undefined,
        lastFullAt: null,
        last: undefined,
      });
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

  /** Each channel's intervals, as the schedule keeps them. */
  intervals(): { channel: string; targetedIntervalMs: number; fullIntervalMs: number }[] {
    return [...this.channels.values()].map(({ channel, targetedIntervalMs, fullIntervalMs }) => ({
      channel,
      targetedIntervalMs,
      fullIntervalMs,
    }));
  }

  /**
   * One scheduled round: each channel whose pass is due (every channel before its first) runs
   * one, full when its full interval has passed, else targeted; the next is due one targeted
   * interval after this one started.
   */
  async tick(): Promise<void> {
    await Promise.all(
      [...this.channels.values()].map(async (state) => {
        try {
          const lease = this.options.lease;
          const now = this.options.clock.now();
          if (state.dueAt !== null && now < state.dueAt) return;
          if (
            lease &&
            (await lease.outbox.acquireLease(state.channel, lease.owner, now, lease.ttlMs ?? limits.leaseTtlMs)) ===
              null
          )
            return; // another process pushes this channel: it reads it back too
          state.dueAt = now + state.targetedIntervalMs;
          const mode: ReconcileMode =
            state.lastFullAt === null || now - state.lastFullAt >= state.fullIntervalMs ? 'full' : 'targeted';
          this.options.onSummary?.(await this.runNow(state.channel, mode));
        } catch (error) {
          if (!this.abort.signal.aborted) this.options.onError?.(state.channel, error);
        }
      }),
    );
  }

  start(): void {
    if (this.timer || this.channels.size === 0) return;
    const now = this.options.clock.now();
    for (const state of this.channels.values()) state.dueAt ??= now + state.targetedIntervalMs;
    const every = this.options.tickMs ?? limits.reconcileScheduleTickMs;
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
