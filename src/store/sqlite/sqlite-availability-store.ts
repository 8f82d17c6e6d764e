import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import type { RuleSet } from '../../core/availability/rule-set.js';
import {
  UnknownRuleSetError,
  type AvailabilityPort,
  type ChannelInput,
  type ChannelRecord,
  type DryRunReport,
  type ListingExplanation,
  type ListingInput,
  type ListingQuantity,
  type ListingRecord,
  type ListingUpsertReport,
  type RecomputeReport,
  type RuleSetEvent,
  type RuleSetVersion,
  type UnmappedItem,
} from '../availability-store.js';
import { recomputeChunkVariants, type SqliteAvailability } from './sqlite-availability.js';

/** The availability slice on SQLite: each write one IMMEDIATE transaction over {@link SqliteAvailability}. */
export class SqliteAvailabilityStore implements AvailabilityPort {
  constructor(
    private readonly db: Database.Database,
    private readonly availability: SqliteAvailability,
  ) {}

  async upsertChannels(channels: readonly ChannelInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    const report = this.db.transaction(() => this.availability.upsertChannels(channels, now)).immediate();
    await this.recomputeAll(now); // a channel's locations feed every one of its listings
    return report;
  }

  async listChannels(): Promise<ChannelRecord[]> {
    return this.availability.listChannels();
  }

  async getChannel(code: string): Promise<ChannelRecord | null> {
    return this.availability.listChannels().find((channel) => channel.code === code) ?? null;
  }

  async upsertListings(listings: readonly ListingInput[], now: EpochMs): Promise<ListingUpsertReport> {
    return this.db
      .transaction(() => {
        const { variantIds, ...report } = this.availability.upsertListings(listings, now);
        this.availability.recomputeNow(variantIds, now);
        return report;
      })
      .immediate();
  }

  async upsertMappings(mappings: readonly { channel: string; externalId: string; sku: string }[], now: EpochMs) {
    this.availability.dropCache();
    return this.db.transaction(() => this.availability.upsertMappings(mappings, now)).immediate();
  }

  async listListings(options: { channel?: string | undefined; sku?: string | undefined; afterId?: string | undefined; limit: number }): Promise<ListingRecord[]> {
    return this.availability.listListings(options);
  }

  async getListing(id: string): Promise<ListingRecord | null> {
    return this.availability.getListing(id);
  }

  async listUnmapped(options: { channel?: string | undefined; limit: number }): Promise<(UnmappedItem & { at: EpochMs })[]> {
    return this.availability.listUnmapped(options);
  }

  async createRuleSet(input: { rules: RuleSet; author: string; note?: string | null | undefined }, now: EpochMs): Promise<RuleSetVersion> {
    return this.db.transaction(() => this.availability.createRuleSet(input, now)).immediate();
  }

  async listRuleSets(): Promise<RuleSetVersion[]> {
    return this.availability.listRuleSets();
  }

  async getRuleSet(version: number): Promise<RuleSetVersion | null> {
    return this.availability.getRuleSet(version);
  }

  async ruleSetEvents(): Promise<RuleSetEvent[]> {
    return this.availability.ruleSetEvents();
  }

  async dryRunRuleSet(rules: RuleSet, now: EpochMs, limit: number): Promise<DryRunReport> {
    this.availability.checkRules(rules);
    const report: DryRunReport = { baseVersion: this.availability.loadConfig().ruleVersion, listings: 0, changed: 0, changes: [] };
    for (let after = 0; ; ) {
      const ids = this.availability.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      this.db.transaction(() => this.availability.dryRunChunk(ids, rules, now, report))();
      after = ids[ids.length - 1]!;
      await new Promise((resolve) => setImmediate(resolve));
    }
    report.changes.sort((a, b) => a.proposed - a.current - (b.proposed - b.current) || (a.listingId < b.listingId ? -1 : 1));
    report.changes = report.changes.slice(0, limit);
    return report;
  }

  async activateRuleSet(
    version: number,
    by: { author: string; note?: string | null | undefined },
    now: EpochMs,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RecomputeReport> {
    if (!this.db.transaction(() => this.availability.activate(version, by, now)).immediate()) throw new UnknownRuleSetError(version);
    return this.recomputeAll(now, onProgress);
  }

  async getAvailability(sku: string): Promise<ListingQuantity[] | null> {
    return this.availability.getAvailability(sku);
  }

  async explainListing(listingId: string, now: EpochMs): Promise<ListingExplanation | null> {
    return this.availability.explainListing(listingId, now);
  }

  /**
   * Every listed variant, in chunks of `recomputeChunkVariants`, each chunk its own write
   * transaction; the event loop runs between chunks so the API stays responsive.
   */
  async recomputeAll(now: EpochMs, onProgress?: (done: number, total: number) => void): Promise<RecomputeReport> {
    const total = this.availability.countListedVariants();
    const report: RecomputeReport = { variants: 0, listings: 0, changed: 0, ruleVersion: this.availability.loadConfig().ruleVersion };
    onProgress?.(0, total);
    for (let after = 0; ; ) {
      const ids = this.availability.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      const [first, last] = [ids[0]!, ids[ids.length - 1]!];
      this.availability.dropCache();
      this.db
        .transaction(() => {
          const { variants, listings, writes } = this.availability.recomputeRange(first, last, now);
          this.availability.writeQuantities(writes);
          report.variants += variants;
          report.listings += listings;
          report.changed += writes.length;
        })
        .immediate();
      after = last;
      onProgress?.(report.variants, total);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return report;
  }
}
