import type { Clock } from '../core/clock.js';
import type { ChannelConnector, ChannelOrderLine } from '../connectors/channel-connector.js';
import { ingestOrderLines, type OrderIngestReport } from '../ingest/order-lines.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';
import { ChannelDispatcher } from './dispatcher.js';
import type { RetryPolicy } from './retry-policy.js';

/** A channel's order source when the platform has no (reliable) webhooks: polling with a cursor. */
export interface OrderPoller {
  /** Poll from `cursor` (null = from the start); return the lines and the next cursor. */
  poll(cursor: string | null): Promise<{ lines: ChannelOrderLine[]; cursor: string; error?: string }>;
  /** @default 5000 */
  intervalMs?: number;
}

export interface ChannelRuntime {
  channel: string;
  connector: ChannelConnector;
  poller?: OrderPoller | undefined;
}

export interface PropagationOptions {
  store: LedgerStore;
  ledger: GroupCommitter;
  clock: Clock;
  owner: string;
  policy: RetryPolicy;
  channels: readonly ChannelRuntime[];
  onError: (channel: string, error: unknown) => void;
  onOrders?: (channel: string, report: OrderIngestReport) => void;
  /** See ChannelDispatcherOptions.busyMs. @default 0 */
  busyMs?: number;
  /** See ChannelDispatcherOptions.claimsInFlightMax. @default 4 */
  claimsInFlightMax?: number;
}

/**
 * Everything that moves stock between onhand and the channels, per channel connection: the
 * push loop (a ChannelDispatcher) and, where the platform is polled, the order loop. Both run
 * only in the process holding the channel's lease, so a platform's rate budget is spent by one
 * process at a time. Channels are independent: one slow or failing channel never slows another.
 */
export class Propagation {
  readonly dispatchers = new Map<string, ChannelDispatcher>();
  private readonly pollTimers = new Map<string, NodeJS.Timeout>();
  private readonly polling = new Map<string, Promise<void>>();
  private stopped = true;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: PropagationOptions) {
    for (const runtime of options.channels) {
      this.dispatchers.set(
        runtime.channel,
        new ChannelDispatcher({
          channel: runtime.channel,
          connector: runtime.connector,
          store: options.store,
          clock: options.clock,
          owner: options.owner,
          policy: options.policy,
          ...(options.busyMs === undefined ? {} : { busyMs: options.busyMs }),
          ...(options.claimsInFlightMax === undefined ? {} : { claimsInFlightMax: options.claimsInFlightMax }),
          onError: (error) => options.onError(runtime.channel, error),
        }),
      );
    }
  }

  start(): void {
    this.stopped = false;
    for (const dispatcher of this.dispatchers.values()) dispatcher.start();
    // A commit may have made outbox rows due: claim now rather than at the next idle poll
    // (25 ms). Measured: bench/README.md, Propagation.
    this.unsubscribe = this.options.ledger.onCommit(() => {
      for (const dispatcher of this.dispatchers.values()) dispatcher.wake();
    });
    for (const runtime of this.options.channels) if (runtime.poller) this.schedulePoll(runtime, 0);
  }

  private schedulePoll(runtime: ChannelRuntime, delayMs: number): void {
    if (this.stopped) return;
    this.pollTimers.set(
      runtime.channel,
      setTimeout(() => {
        const run = this.pollOnce(runtime.channel)
          .then(() => undefined)
          .catch((error) => this.options.onError(runtime.channel, error))
          .finally(() => {
            this.polling.delete(runtime.channel);
            this.schedulePoll(runtime, runtime.poller?.intervalMs ?? 5000);
          });
        this.polling.set(runtime.channel, run);
      }, delayMs),
    );
  }

  /**
   * One poll of a channel's orders, if this process holds the channel's lease: poll from the
   * saved cursor, apply the lines to the ledger (durably), THEN save the cursor.
   */
  async pollOnce(channel: string): Promise<OrderIngestReport | null> {
    const runtime = this.options.channels.find((each) => each.channel === channel);
    if (!runtime?.poller) return null;
    const { store, clock, owner } = this.options;
    if ((await store.acquireLease(channel, owner, clock.now(), 15_000)) === null) return null;
    const record = await store.getChannel(channel);
    if (!record) return null;
    const result = await runtime.poller.poll(await store.loadCursor(channel));
    const report = await ingestOrderLines(result.lines, record, store, this.options.ledger);
    await store.saveCursor(channel, result.cursor, clock.now());
    if (result.error) this.options.onError(channel, new Error(result.error));
    this.options.onOrders?.(channel, report);
    return report;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.pollTimers.values()) clearTimeout(timer);
    await Promise.all([...this.polling.values()]);
    await Promise.all([...this.dispatchers.values()].map((dispatcher) => dispatcher.stop()));
  }
}
