import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import { pollsOrders, type ChannelConnector } from '../connectors/channel-connector.js';
import type { OrderPollIntake } from '../connectors/channel-intake.js';
import type { AvailabilityPort } from '../store/availability-store.js';
import type { OrderLinePort } from '../store/order-lines-port.js';
import type { OutboxPort } from '../store/outbox-port.js';
import { emptyReport, type OrderIngestReport } from './order-ingest-report.js';
import type { OrderLineIntake } from './order-line-intake.js';

/** A connected channel; only those whose connector polls orders (channel-intake.ts) are polled. */
export interface PolledChannel {
  channel: string;
  connector: ChannelConnector;
}

export interface OrderPollingOptions {
  store: {
    availability: Pick<AvailabilityPort, 'getChannel'>;
    outbox: Pick<OutboxPort, 'acquireLease' | 'loadCursor' | 'saveCursor'>;
    orders: Pick<OrderLinePort, 'staleOpenOrders'>;
  };
  /** Folds order-line events into the lines' state and applies the difference. */
  orders: OrderLineIntake;
  clock: Clock;
  /** This process, as the channel lease knows it (the dispatcher uses the same owner and lease). */
  owner: string;
  channels: readonly PolledChannel[];
  onError: (channel: string, error: unknown) => void;
  onOrders?: (channel: string, report: OrderIngestReport) => void;
  /** @default limits.leaseTtlMs, the dispatcher's lease TTL */
  leaseTtlMs?: number;
}

/**
 * The order loop of every channel whose platform is polled (Bol.com pushes nothing we may rely
 * on, docs/channels/bol.md). It runs only in the process holding the channel's lease, the same
 * lease as the channel's push loop, so a platform's rate budget is spent by one process at a
 * time. One channel's poll never waits for another's.
 */
export class OrderPolling {
  private readonly channels: { channel: string; connector: ChannelConnector & OrderPollIntake }[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly polling = new Map<string, Promise<void>>();
  private stopped = true;
  /** When each channel last read its stale open orders again, and which orders it read. */
  private readonly refreshed = new Map<string, { at: number; orders: Map<string, number> }>();

  constructor(private readonly options: OrderPollingOptions) {
    for (const { channel, connector } of options.channels)
      if (pollsOrders(connector)) this.channels.push({ channel, connector });
  }

  start(): void {
    this.stopped = false;
    for (const { channel } of this.channels) this.schedule(channel, 0);
  }

  private schedule(channel: string, delayMs: number): void {
    if (this.stopped) return;
    const intervalMs = this.channels.find((each) => each.channel === channel)!.connector.pollIntervalMs;
    this.timers.set(
      channel,
      setTimeout(() => {
        const run = this.pollOnce(channel)
          .then(() => undefined)
          .catch((error) => this.options.onError(channel, error))
          .finally(() => {
            this.polling.delete(channel);
            this.schedule(channel, intervalMs);
          });
        this.polling.set(channel, run);
      }, delayMs),
    );
  }

  /**
   * One poll of a channel's orders, if this process holds the channel's lease: poll from the
   * saved cursor, fold the events into their lines and apply them (durably, or keep the line in
   * the intake inbox), THEN save the cursor, so a crash in between re-reads the same orders and
   * the fold finds nothing new.
   */
  async pollOnce(channel: string): Promise<OrderIngestReport | null> {
    const polled = this.channels.find((each) => each.channel === channel);
    if (!polled) return null;
    const { store, clock, owner } = this.options;
    if (
      (await store.outbox.acquireLease(channel, owner, clock.now(), this.options.leaseTtlMs ?? limits.leaseTtlMs)) ===
      null
    )
      return null;
    const record = await store.availability.getChannel(channel);
    // A deactivated channel takes no orders: not polled, its cursor kept for when it is activated.
    if (!record || record.deactivatedAt) return null;
    const batch = await polled.connector.pollOrders(await store.outbox.loadCursor(channel));
    const report = await this.options.orders.ingest(record, batch.events);
    // Saved with when the poll that caught up began (set only when it left nothing behind): the
    // drift judge counts on every order taken before then being in the ledger now.
    await store.outbox.saveCursor(channel, batch.cursor, clock.now(), batch.caughtUpTo);
    if (batch.error) this.options.onError(channel, new Error(batch.error));
    const refresh = await this.refreshStaleOrders(channel, polled.connector, record);
    report.events += refresh.events;
    report.changed += refresh.changed;
    report.unchanged += refresh.unchanged;
    report.info += refresh.info;
    report.oversold += refresh.oversold;
    report.blocked.push(...refresh.blocked);
    report.invalid.push(...refresh.invalid);
    this.options.onOrders?.(channel, report);
    return report;
  }

  /**
   * Orders whose lines are still open and have not changed for limits.openOrderRefreshAgeMs are
   * read again in full (at most limits.openOrderRefreshBatchMax every
   * limits.openOrderRefreshIntervalMs, an order not again within the age), so a shipment or a
   * cancellation the change-based poll could not see is still applied.
   */
  private async refreshStaleOrders(
    channel: string,
    connector: ChannelConnector & OrderPollIntake,
    record: NonNullable<Awaited<ReturnType<AvailabilityPort['getChannel']>>>,
  ): Promise<OrderIngestReport> {
    const empty = emptyReport();
    if (typeof connector.refreshOrders !== 'function') return empty;
    const now = this.options.clock.now();
    const known = this.refreshed.get(channel) ?? { at: Number.NEGATIVE_INFINITY, orders: new Map<string, number>() };
    if (now - known.at < limits.openOrderRefreshIntervalMs) return empty;
    known.at = now;
    this.refreshed.set(channel, known);
    for (const [orderId, at] of known.orders)
      if (now - at >= limits.openOrderRefreshAgeMs) known.orders.delete(orderId);
    const stale = await this.options.store.orders.staleOpenOrders(channel, {
      updatedBefore: now - limits.openOrderRefreshAgeMs,
      limit: limits.openOrderRefreshBatchMax * 4,
    });
    const due = stale.filter((orderId) => !known.orders.has(orderId)).slice(0, limits.openOrderRefreshBatchMax);
    if (due.length === 0) return empty;
    const read = await connector.refreshOrders(due);
    for (const orderId of due) known.orders.set(orderId, now);
    if (read.error) this.options.onError(channel, new Error(read.error));
    return this.options.orders.ingest(record, read.events);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    await Promise.all([...this.polling.values()]);
  }
}
