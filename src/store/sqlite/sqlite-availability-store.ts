import type { ChannelDefinition } from '../../core/availability/compute-available.js';
import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import type { RuleSet } from '../../core/availability/rule-set.js';
import {
  UnknownRuleSetError,
  type AvailabilityPort,
  type ChannelInput,
  type DryRunReport,
  type ListingExplanation,
  type ListingInput,
  type ListingUpsertReport,
  type RecomputeReport,
  type RuleSetVersion,
} from '../availability-store.js';
import { SqlAvailabilityViews } from '../sql/sql-availability-views.js';
import type { ActivationKind, ActivationRecord } from '../ledger-store.js';
import { activationChange, type ActivationOutcome } from '../sql/sql-activation.js';
import type { SqliteExecutor } from './sqlite-executor.js';
import { recomputeChunkVariants, type SqliteAvailability } from './sqlite-availability.js';

/** The availability slice on SQLite: each write one IMMEDIATE transaction over {@link SqliteAvailability}. */
export class SqliteAvailabilityStore extends SqlAvailabilityViews implements AvailabilityPort {
  constructor(
    private readonly db: Database.Database,
    private readonly availability: SqliteAvailability,
    private readonly sqlite: SqliteExecutor,
  ) {
    super(sqlite);
  }

  async channelConfig(code: string): Promise<{ channel: ChannelDefinition; ruleSet: RuleSet } | null> {
    // The version check is shared by the calls made before it starts (a checkout by channel per
    // request): the cached config is kept while the version holds.
    const config = this.availability.configAt(await this.configVersion());
    const channel = config.channels.get(code);
    return channel ? { channel, ruleSet: config.ruleSet } : null;
  }

  async upsertChannels(channels: readonly ChannelInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    const report = this.db.transaction(() => this.availability.upsertChannels(channels, now)).immediate();
    await this.recomputeAll(now); // a channel's locations feed every one of its listings
    return report;
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
    return this.db
      .transaction(() => {
        const { variantIds, ...report } = this.availability.upsertMappings(mappings, now);
        this.availability.recomputeNow(variantIds, now);
        return report;
      })
      .immediate();
  }

  async createRuleSet(
    input: { rules: RuleSet; author: string; note?: string | null | undefined },
    now: EpochMs,
  ): Promise<RuleSetVersion> {
    const version = this.db.transaction(() => this.availability.createRuleSet(input, now)).immediate();
    return (await this.getRuleSet(version))!;
  }

  async dryRunRuleSet(rules: RuleSet, now: EpochMs, limit: number): Promise<DryRunReport> {
    this.availability.checkRules(rules);
    const report: DryRunReport = {
      baseVersion: this.availability.loadConfig().ruleVersion,
      listings: 0,
      changed: 0,
      changes: [],
    };
    for (let after = 0; ; ) {
      const ids = await this.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      this.db.transaction(() => this.availability.dryRunChunk(ids, rules, now, report))();
      after = ids[ids.length - 1]!;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return this.biggestDropsFirst(report, limit);
  }

  async activateRuleSet(
    version: number,
    by: { author: string; note?: string | null | undefined },
    now: EpochMs,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RecomputeReport> {
    if (!this.db.transaction(() => this.availability.activate(version, by, now)).immediate())
      throw new UnknownRuleSetError(version);
    return this.recomputeAll(now, onProgress);
  }

  async explainListing(listingId: string, now: EpochMs): Promise<ListingExplanation | null> {
    const listing = await this.getListing(listingId);
    return listing ? this.availability.explainListing(listing, now) : null;
  }

  /**
   * Every listed variant, in chunks of `recomputeChunkVariants`, each chunk its own write
   * transaction; the event loop runs between chunks so the API stays responsive.
   */
  async recomputeAll(now: EpochMs, onProgress?: (done: number, total: number) => void): Promise<RecomputeReport> {
    const total = await this.countListedVariants();
    const report: RecomputeReport = {
      variants: 0,
      listings: 0,
      changed: 0,
      ruleVersion: this.availability.loadConfig().ruleVersion,
    };
    onProgress?.(0, total);
    for (let after = 0; ; ) {
      const ids = await this.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      const [first, last] = [ids[0]!, ids[ids.length - 1]!];
      this.availability.dropCache();
      this.db
        .transaction(() => {
          const { variants, listings, writes, changed } = this.availability.recomputeRange(first, last, now);
          this.availability.writeQuantities(writes);
          report.variants += variants;
          report.listings += listings;
          report.changed += changed;
        })
        .immediate();
      after = last;
      onProgress?.(report.variants, total);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return report;
  }

  /**
   * Deactivate or activate a variant, location, channel or listing: one IMMEDIATE transaction
   * (state, audit event, outbox effects; sql-activation.ts), then the recompute it needs.
   */
  async setActive(
    kind: ActivationKind,
    ref: string,
    active: boolean,
    actor: string,
    now: EpochMs,
  ): Promise<ActivationRecord | null> {
    const outcome = this.db
      .transaction((): ActivationOutcome => {
        const steps = activationChange('', { kind, ref, active, actor, now });
        let step = steps.next();
        while (!step.done) {
          const statement = step.value;
          step = steps.next(
            'get' in statement
              ? this.sqlite.getNow(statement.get, statement.params)
              : this.sqlite.runNow(statement.run, statement.params),
          );
        }
        if (step.value?.record.changed && (kind === 'location' || kind === 'channel')) this.availability.invalidate();
        else if (step.value?.record.changed) this.availability.dropCache();
        const followUp = step.value?.followUp;
        if (followUp?.recompute === 'variant') this.availability.recomputeNow([followUp.variantId], now);
        return step.value;
      })
      .immediate();
    if (outcome?.followUp.recompute === 'all') await this.recomputeAll(now);
    return outcome?.record ?? null;
  }
}
