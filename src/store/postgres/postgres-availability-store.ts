import type { ChannelDefinition } from '../../core/availability/compute-available.js';
import type pg from 'pg';
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
  type MappingInput,
  type RecomputeReport,
  type RuleSetVersion,
} from '../availability-store.js';
import { SqlAvailabilityViews } from '../sql/sql-availability-views.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import type { ActivationKind, ActivationRecord } from '../ledger-store.js';
import { activationChange } from '../sql/sql-activation.js';
import { recomputeChunkVariants, type PostgresAvailability } from './postgres-availability.js';
import type { PostgresPool } from './postgres-pool.js';

/** The availability slice on PostgreSQL: each write one transaction over {@link PostgresAvailability}. */
export class PostgresAvailabilityStore extends SqlAvailabilityViews implements AvailabilityPort {
  private readonly pool: pg.Pool;

  constructor(
    private readonly db: PostgresPool,
    private readonly availability: PostgresAvailability,
    views: SqlExecutor,
  ) {
    super(views);
    this.pool = db.pool;
  }

  async channelConfig(code: string): Promise<{ channel: ChannelDefinition; ruleSet: RuleSet } | null> {
    // The version check is shared by the calls made before it starts (a checkout by channel per
    // request): the cached config is kept while the version holds.
    const config = await this.availability.configAt(this.pool, await this.configVersion());
    const channel = config.channels.get(code);
    return channel ? { channel, ruleSet: config.ruleSet } : null;
  }

  async upsertChannels(channels: readonly ChannelInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    const report = await this.db.transaction((client) => this.availability.upsertChannels(client, channels, now));
    await this.recomputeAll(now); // a channel's locations feed every one of its listings
    return report;
  }

  async upsertListings(listings: readonly ListingInput[], now: EpochMs): Promise<ListingUpsertReport> {
    return this.db.transaction(async (client) => {
      const { variantIds, ...report } = await this.availability.upsertListings(client, listings, now);
      await this.availability.recomputeVariants(client, variantIds, now);
      return report;
    });
  }

  async upsertMappings(mappings: readonly MappingInput[], now: EpochMs): Promise<{ created: number; updated: number }> {
    return this.db.transaction(async (client) => {
      const { variantIds, ...report } = await this.availability.upsertMappings(client, mappings, now);
      await this.availability.recomputeVariants(client, variantIds, now);
      return report;
    });
  }

  async createRuleSet(
    input: { rules: RuleSet; author: string; note?: string | null | undefined },
    now: EpochMs,
  ): Promise<RuleSetVersion> {
    const version = await this.db.transaction((client) => this.availability.createRuleSet(client, input, now));
    return (await this.getRuleSet(version))!;
  }

  async dryRunRuleSet(rules: RuleSet, now: EpochMs, limit: number): Promise<DryRunReport> {
    await this.availability.checkRules(this.pool, rules);
    const report: DryRunReport = {
      baseVersion: (await this.availability.loadConfig(this.pool)).ruleVersion,
      listings: 0,
      changed: 0,
      changes: [],
    };
    for (let after = 0; ; ) {
      const ids = await this.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      await this.availability.dryRunChunk(this.pool, ids, rules, now, report);
      after = ids[ids.length - 1]!;
    }
    return this.biggestDropsFirst(report, limit);
  }

  async activateRuleSet(
    version: number,
    by: { author: string; note?: string | null | undefined },
    now: EpochMs,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RecomputeReport> {
    if (!(await this.db.transaction((client) => this.availability.activate(client, version, by, now))))
      throw new UnknownRuleSetError(version);
    return this.recomputeAll(now, onProgress);
  }

  async explainListing(listingId: string, now: EpochMs): Promise<ListingExplanation | null> {
    const listing = await this.getListing(listingId);
    return listing ? this.availability.explainListing(this.pool, listing, now) : null;
  }

  /** Every listed variant in chunks, each chunk one transaction holding its variants' level locks. */
  async recomputeAll(now: EpochMs, onProgress?: (done: number, total: number) => void): Promise<RecomputeReport> {
    const total = await this.countListedVariants();
    const report: RecomputeReport = {
      variants: 0,
      listings: 0,
      changed: 0,
      ruleVersion: (await this.availability.loadConfig(this.pool)).ruleVersion,
    };
    onProgress?.(0, total);
    for (let after = 0; ; ) {
      const ids = await this.listedVariants(after, recomputeChunkVariants);
      if (ids.length === 0) break;
      const { listings, changed } = await this.db.transaction((client) =>
        this.availability.recomputeVariants(client, ids, now),
      );
      report.listings += listings;
      report.changed += changed;
      report.variants += ids.length;
      after = ids[ids.length - 1]!;
      onProgress?.(report.variants, total);
    }
    return report;
  }

  /**
   * Deactivate or activate a variant, location, channel or listing: one transaction (state
   * row locked, audit event, outbox effects; sql-activation.ts), then the recompute it needs.
   */
  async setActive(
    kind: ActivationKind,
    ref: string,
    active: boolean,
    actor: string,
    now: EpochMs,
  ): Promise<ActivationRecord | null> {
    const outcome = await this.db.transaction(async (client) => {
      const steps = activationChange(' FOR UPDATE', { kind, ref, active, actor, now });
      let step = steps.next();
      while (!step.done) {
        const statement = step.value;
        const result =
          'get' in statement
            ? (await client.query(statement.get, statement.params)).rows[0]
            : ((await client.query(statement.run, statement.params)).rowCount ?? 0);
        step = steps.next(result);
      }
      if (step.value?.record.changed && (kind === 'location' || kind === 'channel'))
        await this.availability.bumpConfig(client);
      const followUp = step.value?.followUp;
      if (followUp?.recompute === 'variant')
        await this.availability.recomputeVariants(client, [followUp.variantId], now);
      return step.value;
    });
    if (outcome?.followUp.recompute === 'all') await this.recomputeAll(now);
    return outcome?.record ?? null;
  }
}
