import type { Clock } from '../core/clock.js';
import type { ChannelConnector } from '../connectors/channel-connector.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';
import type { DispatchResult } from '../store/outbox-port.js';
import { ChannelDispatcher } from './dispatcher.js';
import type { RetryPolicy } from './retry-policy.js';

export interface ChannelRuntime {
  channel: string;
  connector: ChannelConnector;
}

export interface PropagationOptions {
  store: Pick<LedgerStore, 'outbox'>;
  ledger: GroupCommitter;
  clock: Clock;
  owner: string;
  policy: RetryPolicy;
  channels: readonly ChannelRuntime[];
  onError: (channel: string, error: unknown) => void;
  /** See ChannelDispatcherOptions.busyMs. @default 0 */
  busyMs?: number;
  /** See ChannelDispatcherOptions.claimsInFlightMax. @default 4 */
  claimsInFlightMax?: number;
  /** See ChannelDispatcherOptions.onResult, with the channel. */
  onResult?: (channel: string, status: DispatchResult['status'], latencyMs: number | null) => void;
  /** See ChannelDispatcherOptions.onBatch, with the channel. */
  onBatch?: (channel: string, results: readonly DispatchResult[]) => void;
  /** See ChannelDispatcherOptions.onRateLimited, with the channel. */
  onRateLimited?: (channel: string, waitMs: number) => void;
}

/**
 * The push side of every channel connection: one ChannelDispatcher per channel, each running
 * only in the process holding the channel's lease, so a platform's rate budget is spent by one
 * process at a time (the order loop of polled platforms, src/ingest/order-polling.ts, holds
 * the same lease). Channels are independent: one slow or failing channel never slows another.
 */
export class Propagation {
  readonly dispatchers = new Map<string, ChannelDispatcher>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: PropagationOptions) {
    for (const runtime of options.channels) {
      this.dispatchers.set(
        runtime.channel,
        new ChannelDispatcher({
          channel: runtime.channel,
          connector: runtime.connector,
          outbox: options.store.outbox,
          clock: options.clock,
          owner: options.owner,
          policy: options.policy,
          ...(options.busyMs === undefined ? {} : { busyMs: options.busyMs }),
          ...(options.claimsInFlightMax === undefined ? {} : { claimsInFlightMax: options.claimsInFlightMax }),
          onError: (error) => options.onError(runtime.channel, error),
          ...(options.onResult === undefined
            ? {}
            : {
                onResult: (status: DispatchResult['status'], latencyMs: number | null) =>
                  options.onResult!(runtime.channel, status, latencyMs),
              }),
          ...(options.onBatch === undefined
            ? {}
            : { onBatch: (results: readonly DispatchResult[]) => options.onBatch!(runtime.channel, results) }),
          ...(options.onRateLimited === undefined
            ? {}
            : { onRateLimited: (waitMs: number) => options.onRateLimited!(runtime.channel, waitMs) }),
        }),
      );
    }
  }

  start(): void {
    for (const dispatcher of this.dispatchers.values()) dispatcher.start();
    // A commit may have made outbox rows due: claim now rather than at the next idle poll
    // (25 ms). Measured: bench/README.md, Propagation.
    this.unsubscribe = this.options.ledger.onCommit(() => {
      for (const dispatcher of this.dispatchers.values()) dispatcher.wake();
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([...this.dispatchers.values()].map((dispatcher) => dispatcher.stop()));
  }
}
