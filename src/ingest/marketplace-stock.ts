import type { Clock } from '../core/clock.js';
import type { LedgerCommand } from '../core/ledger/command.js';
import type { CommandAnswer } from '../core/ledger/command-answer.js';
import { limits } from '../core/limits.js';
import { type ChannelConnector, readsMarketplaceStock } from '../connectors/channel-connector.js';
import type { MarketplaceStockIntake } from '../connectors/channel-intake.js';
import type { AvailabilityPort } from '../store/availability-store.js';
import type { CataloguePort } from '../store/ledger-store.js';
import type { OutboxPort } from '../store/outbox-port.js';

/**
 * The marketplace's own warehouse, read back (docs/channels/amazon.md, FBA inventory): every
 * `marketplaceStockIntervalMs`, for each channel whose connector reads it AND that has a
 * `marketplace_fulfilment` location, the levels of its listings mapped to a variant become
 * ledger `count` commands at that location. The merchant's own locations are never touched; a
 * channel without a marketplace location is not read at all.
 *
 * The key is `mkt:<channel>:<external id>:<the marketplace's update time>:<units>`: a re-read of
 * an unchanged level replays the same command and changes nothing; a level the marketplace changed
 * is a new count, as of the end of the read that saw it (the movements after it land on top,
 * count-judge.ts).
 * Like the order poll it runs only in the process holding the channel's lease, so the read
 * budget is spent by one process.
 */

export interface MarketplaceStockChannel {
  channel: string;
  connector: ChannelConnector;
}

export interface MarketplaceStockReport {
  /** The marketplace location counted; null when the channel has none (nothing read). */
  location: string | null;
  read: number;
  applied: number;
  unchanged: number;
  refused: { key: string; status: string; detail?: string | undefined }[];
  calls: number;
  error?: string;
}

export interface MarketplaceStockOptions {
  store: {
    availability: Pick<AvailabilityPort, 'getChannel' | 'listListings'>;
    catalogue: Pick<CataloguePort, 'listLocations'>;
    outbox: Pick<OutboxPort, 'acquireLease'>;
  };
  ledger: { submit(commands: readonly LedgerCommand[]): Promise<CommandAnswer[]> };
  clock: Clock;
  owner: string;
  channels: readonly MarketplaceStockChannel[];
  onError: (channel: string, error: unknown) => void;
  onReport?: (channel: string, report: MarketplaceStockReport) => void;
  /** @default limits.leaseTtlMs */
  leaseTtlMs?: number;
}

export class MarketplaceStockPolling {
  private readonly channels: { channel: string; connector: ChannelConnector & MarketplaceStockIntake }[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = true;

  constructor(private readonly options: MarketplaceStockOptions) {
    for (const { channel, connector } of options.channels)
      if (readsMarketplaceStock(connector)) this.channels.push({ channel, connector });
  }

  start(): void {
    this.stopped = false;
    for (const { channel } of this.channels) this.schedule(channel, 0);
  }

  private schedule(channel: string, delayMs: number): void {
    if (this.stopped) return;
    const intervalMs = this.channels.find((each) => each.channel === channel)!.connector.marketplaceStockIntervalMs;
    const timer = setTimeout(() => {
      const run = this.readOnce(channel)
        .then((report) => {
          if (report === null) return;
          if (report.error) this.options.onError(channel, new Error(report.error));
          this.options.onReport?.(channel, report);
        })
        .catch((error) => this.options.onError(channel, error))
        .finally(() => {
          this.running.delete(channel);
          this.schedule(channel, intervalMs);
        });
      this.running.set(channel, run);
    }, delayMs);
    timer.unref();
    this.timers.set(channel, timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    await Promise.all([...this.running.values()]);
  }

  /** One read of a channel, if this process holds its lease; null when not read at all. */
  async readOnce(channel: string): Promise<MarketplaceStockReport | null> {
    const polled = this.channels.find((each) => each.channel === channel);
    if (!polled) return null;
    const { store, clock, owner } = this.options;
    const record = await store.availability.getChannel(channel);
    if (!record || record.deactivatedAt) return null;
    const kinds = new Map((await store.catalogue.listLocations()).map((location) => [location.code, location.kind]));
    const location = record.locations.find((code) => kinds.get(code) === 'marketplace_fulfilment') ?? null;
    const report: MarketplaceStockReport = { location, read: 0, applied: 0, unchanged: 0, refused: [], calls: 0 };
    if (location === null) return report;
    if (
      (await store.outbox.acquireLease(channel, owner, clock.now(), this.options.leaseTtlMs ?? limits.leaseTtlMs)) ===
      null
    )
      return null;
    const variantOf = await this.mappedListings(channel);
    if (variantOf.size === 0) return report;
    const read = await polled.connector.readMarketplaceStock([...variantOf.keys()]);
    // A summary holds every marketplace event up to when it was served, so the count is as of the
    // end of the read: an order event recorded from the order poll with an earlier time is
    // already in it (the count supersedes it), a later one comes on top. As of the summary's own
    // update time instead, a shipment polled a moment later counted twice.
    const readAt = clock.now();
    report.calls = read.calls;
    if (read.error !== undefined) report.error = read.error;
    const commands: LedgerCommand[] = [];
    for (const level of read.levels) {
      const sku = variantOf.get(level.externalId);
      if (sku === undefined) continue;
      report.read++;
      commands.push({
        type: 'count',
        key: `mkt:${channel}:${level.externalId}:${new Date(level.updatedAt).toISOString()}:${level.onHand}`,
        payloadHash: `mkt-count:${sku}:${location}:${level.onHand}`,
        sku,
        location,
        onHand: level.onHand,
        occurredAt: Math.max(readAt, level.updatedAt),
        source: { system: record.platform, reference: level.externalId },
      });
    }
    if (commands.length === 0) return report;
    for (const answer of await this.options.ledger.submit(commands)) {
      if (answer.status === 'applied') report.applied++;
      else if (answer.status === 'exists' || answer.status === 'stale') report.unchanged++;
      else report.refused.push({ key: answer.key, status: answer.status, detail: answer.detail });
    }
    return report;
  }

  /** Active listings of the channel mapped to a variant: external id -> sku (bounded). */
  private async mappedListings(channel: string): Promise<Map<string, string>> {
    const variantOf = new Map<string, string>();
    let afterId: string | undefined;
    while (variantOf.size < limits.marketplaceStockListingsMax) {
      const page = await this.options.store.availability.listListings({
        channel,
        afterId,
        limit: Math.min(500, limits.marketplaceStockListingsMax - variantOf.size),
        active: 'true',
      });
      for (const listing of page) if (listing.sku !== '') variantOf.set(listing.externalId, listing.sku);
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;
    }
    return variantOf;
  }
}
