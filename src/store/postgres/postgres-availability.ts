import type pg from 'pg';
import { computedListing, computedListings } from '../sql/sql-activation.js';
import type { EpochMs } from '../../core/clock.js';
import { checkRuleSet, type RuleSet } from '../../core/availability/rule-set.js';
import {
  affectedVariants,
  changedWrites,
  countShownChanges,
  showsDifferently,
  toWrite,
  computeListings,
  type AvailabilityContext,
  type ListingQuantityWrite,
} from '../../core/availability/recompute.js';
import {
  availabilityConfig,
  matchListings,
  variantsToRead,
  type AvailabilityConfig,
  type ChannelLocationRow,
  type ChannelRow,
  type ComponentRow,
  type ListingRefRow,
} from '../availability-rows.js';
import type {
  ChannelInput,
  DryRunReport,
  ListingExplanation,
  ListingInput,
  ListingRecord,
  ListingUpsertReport,
  MappingInput,
} from '../availability-store.js';
import { CatalogueError } from '../ledger-store.js';
import { levelFromRow } from '../rows.js';

import { flag } from '../sql/sql-executor.js';
import {
  activateRuleSet,
  channelCodes,
  channelIdsByCode,
  channelParams,
  deleteChannelLocations,
  deleteListingRefs,
  deleteUnmappedItem,
  insertListingRefs,
  insertRuleSet,
  insertRuleSetEvent,
  lastRuleSetVersion,
  listingParams,
  locationCodes,
  locationIdsByCode,
  moveListingQuantity,
  pointListingAtMapping,
  rememberUnmappedItem,
  repointedListings,
  type RepointedListingRow,
  ruleSetEventParams,
  ruleSetExists,
  ruleSetParams,
  unmappedItemParams,
  upsertChannel,
  upsertListing,
  upsertMapping,
  variantIdsByBarcode,
  variantIdsBySku,
} from '../sql/sql-availability-writes.js';
import {
  contextFromPlanRead,
  lockVariantsText,
  planReadColumns,
  quantitiesUpsert,
  type BatchAvailabilityPlan,
} from './postgres-batch-sql.js';
import { PostgresExecutor } from './postgres-executor.js';

type Db = pg.Pool | pg.PoolClient;

/** Variants per bulk-recompute transaction. */
export const recomputeChunkVariants = 5_000;

/**
 * Availability on PostgreSQL. A ledger batch that changes a listed variant locks ALL that
 * variant's levels (and its bundles' components' levels), not only the ones it moves: two
 * batches moving the same variant at two locations would otherwise each compute the listing
 * from the other's stale level, and the later commit would store a wrong quantity.
 */
export class PostgresAvailability {
  private config: AvailabilityConfig | undefined;

  /** The cached config when it is the one of `configVersion` (a version just read), else read afresh. */
  async configAt(db: Db, configVersion: number): Promise<AvailabilityConfig> {
    // BIGINT arrives as text: compare as numbers.
    return this.config !== undefined && Number(this.config.configVersion) === configVersion
      ? this.config
      : this.loadConfig(db);
  }

  async loadConfig(db: Db): Promise<AvailabilityConfig> {
    const { rows } = await db.query<{ config_version: number; active_rule_version: number | null }>(
      'SELECT config_version, active_rule_version FROM availability_state WHERE id = 1',
    );
    const state = rows[0]!;
    if (this.config && this.config.configVersion === state.config_version) return this.config;
    const ruleRow =
      state.active_rule_version === null
        ? undefined
        : (
            await db.query<{ version: number; rules: RuleSet }>(
              'SELECT version, rules FROM rule_sets WHERE version = $1',
              [state.active_rule_version],
            )
          ).rows[0];
    this.config = availabilityConfig({
      configVersion: state.config_version,
      ruleRow,
      channels: (await db.query<ChannelRow>('SELECT * FROM channels ORDER BY code COLLATE "C"')).rows,
      links: (
        await db.query<ChannelLocationRow>(
          'SELECT cl.channel_id, l.code, l.kind, cl.priority FROM channel_locations cl JOIN locations l ON l.id = cl.location_id WHERE l.deactivated_at IS NULL',
        )
      ).rows,
      locations: (
        await db.query<{ id: number; code: string; kind: ChannelLocationRow['kind'] }>(
          'SELECT id, code, kind FROM locations',
        )
      ).rows,
    });
    return this.config;
  }

  async bumpConfig(db: Db): Promise<void> {
    await db.query('UPDATE availability_state SET config_version = config_version + 1 WHERE id = 1');
  }

  private async componentsOf(db: Db, bundleIds: readonly number[]): Promise<ComponentRow[]> {
    return (
      await db.query<ComponentRow>(
        `SELECT b.bundle_id, b.component_id, v.sku AS component_sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
         WHERE b.bundle_id = ANY($1::bigint[])`,
        [bundleIds],
      )
    ).rows;
  }

  private async listingsOf(db: Db, variantIds: readonly number[]): Promise<ListingRefRow[]> {
    return (
      await db.query<ListingRefRow>(
        `SELECT l.id, l.variant_id, c.code AS channel_code, l.rank FROM ${computedListings}
         WHERE l.variant_id = ANY($1::bigint[]) AND ${computedListing} ORDER BY l.id`,
        [variantIds],
      )
    ).rows;
  }

  /**
   * Before the batch locks: undefined when no touched variant (nor a bundle of it) is listed.
   * One statement reads the components of every bundle containing a touched variant, the
   * listings of the touched variants and of those bundles, and the config version (three round
   * trips before, on every batch).
   */
  async planForBatch(db: Db, touched: readonly number[]): Promise<BatchAvailabilityPlan | undefined> {
    if (touched.length === 0) return undefined;
    const { rows } = await db.query<{
      components: ComponentRow[] | null;
      listings: ListingRefRow[] | null;
      config_version: number;
    }>(
      `WITH comps AS MATERIALIZED (
         SELECT b.bundle_id, b.component_id, v.sku AS component_sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
         WHERE b.bundle_id IN (SELECT bundle_id FROM bundle_components WHERE component_id = ANY($1::bigint[])))
       SELECT (SELECT json_agg(comps) FROM comps) AS components,
         (SELECT json_agg(x ORDER BY x.id) FROM (SELECT l.id, l.variant_id, c.code AS channel_code, l.rank FROM ${computedListings}
            WHERE (l.variant_id = ANY($1::bigint[]) OR l.variant_id IN (SELECT bundle_id FROM comps)) AND ${computedListing}) x) AS listings,
         (SELECT config_version FROM availability_state WHERE id = 1) AS config_version`,
      [touched],
    );
    const row = rows[0]!;
    const components = row.components ?? [];
    const listings = row.listings ?? [];
    if (listings.length === 0) return undefined;
    const affected = [...affectedVariants(touched, bundleMap(components))].sort((a, b) => a - b);
    return {
      config: await this.configAt(db, Number(row.config_version)),
      affected,
      components,
      listings,
      lockVariants: variantsToRead(affected, components),
    };
  }

  /**
   * Lock the rows of the variants whose levels a recompute reads (`FOR NO KEY UPDATE`, in id
   * order), BEFORE their levels are locked and read. Level row locks alone leave a gap: a
   * batch that creates a new level (a first receipt or transfer at a location) inserts a row
   * the other batch's `SELECT ... FOR UPDATE` cannot lock, and in READ COMMITTED a statement
   * that waited on a lock still reads from its own snapshot, so it would compute a kit or a
   * listing without that new level and store a stale quantity. The variant row always exists,
   * every writer that recomputes a variant's listings holds it until commit, and the level
   * statement that follows takes a fresh snapshot after the lock is granted. `NO KEY UPDATE`
   * does not conflict with the `KEY SHARE` locks foreign-key checks take, so batches that only
   * insert movements or levels referencing these variants are never blocked by it. Deadlock
   * free: every transaction that takes these locks takes them first, in id order.
   */
  async lockVariants(db: Db, variantIds: readonly number[]): Promise<void> {
    if (variantIds.length === 0) return;
    await db.query(lockVariantsText(variantIds));
  }

  /** Context for computing `variantIds`, locking their levels when `lock` (a write transaction). */
  async contextFor(
    db: Db,
    variantIds: readonly number[],
    config: AvailabilityConfig,
    lock: boolean,
  ): Promise<AvailabilityContext | undefined> {
    const listings = await this.listingsOf(db, variantIds);
    if (listings.length === 0) return undefined;
    const components = await this.componentsOf(db, variantIds);
    const read = variantsToRead(variantIds, components);
    if (lock) await this.lockVariants(db, read);
    const levels = (
      await db.query<Record<string, unknown>>(
        `SELECT * FROM levels WHERE variant_id = ANY($1::bigint[]) ORDER BY variant_id, location_id ${lock ? 'FOR UPDATE' : ''}`,
        [read],
      )
    ).rows.map(levelFromRow);
    const plan: BatchAvailabilityPlan = { config, affected: [...variantIds], components, listings, lockVariants: read };
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT ${planReadColumns(plan, '$1::bigint[]').join(', ')}`,
      [plan.affected],
    );
    return contextFromPlanRead(plan, levels, rows[0]!);
  }

  /**
   * Rows are written in listing id order (the SELECT's ORDER BY), the order the dispatcher's
   * results lock them in too: two transactions that lock some of the same listings in opposite
   * orders deadlock, and PostgreSQL breaks the tie only after `deadlock_timeout` (1 s), failing
   * one of them. Measured: 51 deadlocks in one 5-second run of bench:order-latency before.
   */
  async writeQuantities(db: Db, writes: readonly ListingQuantityWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const { sql, params } = quantitiesUpsert(writes, (await this.loadConfig(db)).channelIds);
    await db.query(sql, params);
  }

  /** Recompute and store these variants' listings (inside the caller's transaction, levels locked). */
  async recomputeVariants(
    db: Db,
    variantIds: readonly number[],
    now: EpochMs,
  ): Promise<{ listings: number; changed: number }> {
    const context = await this.contextFor(db, variantIds, await this.loadConfig(db), true);
    if (!context) return { listings: 0, changed: 0 };
    const results = computeListings(context, variantIds, (id) => context.levels.get(id) ?? [], now);
    const writes = changedWrites(context, results, now);
    await this.writeQuantities(db, writes);
    return { listings: results.length, changed: countShownChanges(context, writes) };
  }

  // --- channels ------------------------------------------------------------------------------

  async upsertChannels(
    db: Db,
    channels: readonly ChannelInput[],
    now: EpochMs,
  ): Promise<{ created: number; updated: number }> {
    const sql = new PostgresExecutor(db);
    const locationIds = new Map(
      (await sql.all<{ id: number; code: string }>(locationIdsByCode)).map((row) => [row.code, row.id]),
    );
    const problems: { path: string; message: string }[] = [];
    const seen = new Set<string>();
    channels.forEach((channel, index) => {
      if (seen.has(channel.code))
        problems.push({ path: `/channels/${index}/code`, message: `code ${channel.code} appears twice` });
      seen.add(channel.code);
      const codes = new Set<string>();
      channel.locations.forEach((code, position) => {
        if (!locationIds.has(code))
          problems.push({ path: `/channels/${index}/locations/${position}`, message: `unknown location ${code}` });
        if (codes.has(code))
          problems.push({
            path: `/channels/${index}/locations/${position}`,
            message: `location ${code} appears twice`,
          });
        codes.add(code);
      });
    });
    if (problems.length > 0) throw new CatalogueError('channels rejected; nothing was changed', problems);
    let created = 0;
    for (const channel of channels) {
      const row = (await sql.get<{ id: number; created: boolean }>(
        upsertChannel(sql.dialect),
        channelParams(channel, now),
      ))!;
      if (flag(row.created)) created += 1;
      await sql.run(deleteChannelLocations, [row.id]);
      // One unnest statement per channel: one round trip (SQLite runs one prepared statement per location).
      await db.query(
        `INSERT INTO channel_locations (channel_id, location_id, priority)
         SELECT $1, location_id, priority FROM unnest($2::bigint[], $3::bigint[]) AS u(location_id, priority)`,
        [
          row.id,
          channel.locations.map((code) => locationIds.get(code)),
          channel.locations.map((_, index) => index + 1),
        ],
      );
    }
    await this.bumpConfig(db);
    return { created, updated: channels.length - created };
  }

  // --- listings ------------------------------------------------------------------------------

  async upsertListings(
    db: Db,
    listings: readonly ListingInput[],
    now: EpochMs,
  ): Promise<ListingUpsertReport & { variantIds: number[] }> {
    const sql = new PostgresExecutor(db);
    const channelIds = new Map(
      (await sql.all<{ id: number; code: string }>(channelIdsByCode)).map((row) => [row.code, row.id]),
    );
    const problems: { path: string; message: string }[] = [];
    listings.forEach((listing, index) => {
      if (!channelIds.has(listing.channel))
        problems.push({ path: `/listings/${index}/channel`, message: `unknown channel ${listing.channel}` });
    });
    if (problems.length > 0) throw new CatalogueError('listings rejected; nothing was changed', problems);
    // One statement for all (channel, external id) pairs: one round trip (SQLite looks each pair up in-process).
    const mappings = new Map(
      (
        await db.query<{ channel_id: number; external_id: string; variant_id: number }>(
          `SELECT m.channel_id, m.external_id, m.variant_id FROM listing_mappings m
           JOIN unnest($1::bigint[], $2::text[]) AS u(channel_id, external_id) ON u.channel_id = m.channel_id AND u.external_id = m.external_id`,
          [listings.map((listing) => channelIds.get(listing.channel)), listings.map((listing) => listing.externalId)],
        )
      ).rows.map((row) => [`${row.channel_id}:${row.external_id}`, row.variant_id]),
    );
    const skus = listings.map((listing) => listing.sku).filter((sku): sku is string => sku !== undefined);
    const bySku = new Map(
      (await sql.all<{ id: number; sku: string }>(variantIdsBySku(sql.dialect), [skus])).map((row) => [
        row.sku,
        row.id,
      ]),
    );
    const barcodes = listings
      .map((listing) => listing.barcode)
      .filter((barcode): barcode is string => barcode !== undefined);
    const byBarcode = new Map<string, number[]>();
    for (const row of await sql.all<{ id: number; barcode: string }>(variantIdsByBarcode(sql.dialect), [barcodes])) {
      byBarcode.set(row.barcode, [...(byBarcode.get(row.barcode) ?? []), row.id]);
    }
    const { matched, unmapped } = matchListings(listings, { channelIds, mappings, bySku, byBarcode });
    let created = 0;
    const listingIds: number[] = [];
    for (const entry of matched) {
      const row = (await sql.get<{ id: number; created: boolean }>(
        upsertListing(sql.dialect),
        listingParams(entry, now),
      ))!;
      if (flag(row.created)) created += 1;
      listingIds.push(Number(row.id));
      await sql.run(deleteUnmappedItem, [entry.channelId, entry.item.externalId]);
    }
    if (listingIds.length > 0) {
      await sql.run(deleteListingRefs(sql.dialect), [listingIds]);
      await sql.run(insertListingRefs(sql.dialect), [listingIds]);
    }
    const left = await this.followRepointed(sql, listingIds);
    for (const item of unmapped)
      await sql.run(rememberUnmappedItem, unmappedItemParams(channelIds.get(item.channel), item, now));
    return {
      created,
      updated: matched.length - created,
      unmapped,
      variantIds: [...new Set([...matched.map((entry) => Number(entry.variantId)), ...left])].sort((a, b) => a - b),
    };
  }

  /**
   * Move the stored desired quantity of each re-pointed listing among `listingIds` to the
   * variant it now names; returns the variants they left, whose other listings may show more
   * now (a low-stock rule shares a variant's last units among its listings by rank).
   */
  private async followRepointed(sql: PostgresExecutor, listingIds: readonly number[]): Promise<number[]> {
    if (listingIds.length === 0) return [];
    const moved = await sql.all<RepointedListingRow>(repointedListings(sql.dialect), [listingIds]);
    for (const row of moved) await sql.run(moveListingQuantity, [row.listing_id, row.to_variant]);
    return moved.map((row) => Number(row.from_variant));
  }

  async upsertMappings(
    db: Db,
    mappings: readonly MappingInput[],
    now: EpochMs,
  ): Promise<{ created: number; updated: number; variantIds: number[] }> {
    const sql = new PostgresExecutor(db);
    const channelIds = new Map(
      (await sql.all<{ id: number; code: string }>(channelIdsByCode)).map((row) => [row.code, row.id]),
    );
    const variantIds = new Map(
      (
        await sql.all<{ id: number; sku: string }>(variantIdsBySku(sql.dialect), [
          mappings.map((mapping) => mapping.sku),
        ])
      ).map((row) => [row.sku, row.id]),
    );
    const problems: { path: string; message: string }[] = [];
    mappings.forEach((mapping, index) => {
      if (!channelIds.has(mapping.channel))
        problems.push({ path: `/mappings/${index}/channel`, message: `unknown channel ${mapping.channel}` });
      if (!variantIds.has(mapping.sku))
        problems.push({ path: `/mappings/${index}/sku`, message: `unknown sku ${mapping.sku}` });
    });
    if (problems.length > 0) throw new CatalogueError('mappings rejected; nothing was changed', problems);
    let created = 0;
    const listingIds: number[] = [];
    const touched = new Set<number>();
    for (const mapping of mappings) {
      const params = [channelIds.get(mapping.channel), mapping.externalId, variantIds.get(mapping.sku), now];
      if (flag((await sql.get<{ created: boolean }>(upsertMapping(sql.dialect), params))!.created)) created += 1;
      for (const row of await sql.all<{ id: number }>(pointListingAtMapping, params)) {
        listingIds.push(Number(row.id));
        touched.add(Number(variantIds.get(mapping.sku)));
      }
    }
    for (const left of await this.followRepointed(sql, listingIds)) touched.add(left);
    return { created, updated: mappings.length - created, variantIds: [...touched].sort((a, b) => a - b) };
  }

  // --- rule sets -----------------------------------------------------------------------------

  async checkRules(db: Db, rules: RuleSet): Promise<void> {
    const sql = new PostgresExecutor(db);
    const channels = new Set((await sql.all<{ code: string }>(channelCodes)).map((row) => row.code));
    const locations = new Set((await sql.all<{ code: string }>(locationCodes)).map((row) => row.code));
    const problems = checkRuleSet(rules, channels, locations);
    if (problems.length > 0) throw new CatalogueError('rule set rejected; nothing was changed', problems);
  }

  async createRuleSet(
    db: Db,
    input: { rules: RuleSet; author: string; note?: string | null | undefined },
    now: EpochMs,
  ): Promise<number> {
    const sql = new PostgresExecutor(db);
    await this.checkRules(db, input.rules);
    // Serialise rule set writers: the next version is max + 1 (SQLite's IMMEDIATE transaction already does).
    await db.query("SELECT pg_advisory_xact_lock(hashtext('onhand_rule_sets'))");
    const version = ((await sql.get<{ v: number | null }>(lastRuleSetVersion))!.v ?? 0) + 1;
    await sql.run(insertRuleSet, ruleSetParams(version, input, now));
    await sql.run(insertRuleSetEvent, ruleSetEventParams(version, 'created', input, now));
    return version;
  }

  async activate(
    db: Db,
    version: number,
    by: { author: string; note?: string | null | undefined },
    now: EpochMs,
  ): Promise<boolean> {
    const sql = new PostgresExecutor(db);
    if (!(await sql.get(ruleSetExists, [version]))) return false;
    await sql.run(activateRuleSet, [version]);
    await sql.run(insertRuleSetEvent, ruleSetEventParams(version, 'activated', by, now));
    return true;
  }

  async dryRunChunk(
    db: Db,
    variantIds: readonly number[],
    rules: RuleSet,
    now: EpochMs,
    report: DryRunReport,
  ): Promise<void> {
    const config = { ...(await this.loadConfig(db)), ruleSet: rules, ruleVersion: null };
    const context = await this.contextFor(db, variantIds, config, false);
    if (!context) return;
    for (const { variantId, sku, result } of computeListings(
      context,
      variantIds,
      (id) => context.levels.get(id) ?? [],
      now,
    )) {
      report.listings += 1;
      const stored = context.current.get(result.listingId);
      if (!showsDifferently(stored, toWrite(variantId, result, null, now))) continue;
      const current = stored?.quantity ?? 0;
      report.changed += 1;
      report.changes.push({
        listingId: result.listingId,
        channel: result.channelCode,
        sku,
        current,
        proposed: result.quantity,
      });
    }
  }

  async explainListing(db: Db, listing: ListingRecord, now: EpochMs): Promise<ListingExplanation | null> {
    const id = listing.id;
    const variantId = (
      await db.query<{ variant_id: number }>('SELECT variant_id FROM listings WHERE id = $1', [Number(id)])
    ).rows[0]!.variant_id;
    const context = (await this.contextFor(db, [variantId], await this.loadConfig(db), false))!;
    const found = computeListings(context, [variantId], (variant) => context.levels.get(variant) ?? [], now, true).find(
      (entry) => entry.result.listingId === id,
    );
    if (!found) return null;
    const { result } = found;
    return {
      listingId: id,
      channel: listing.channel,
      sku: listing.sku,
      externalId: listing.externalId,
      quantity: result.quantity,
      preorder: result.preorder,
      ruleVersion: result.ruleVersion,
      computedAt: now,
      pool: result.pool,
      explanation: result.explanation,
      storedQuantity: context.current.get(id)?.quantity ?? null,
    };
  }
}

function bundleMap(rows: readonly ComponentRow[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const row of rows)
    map.set(Number(row.component_id), [...(map.get(Number(row.component_id)) ?? []), Number(row.bundle_id)]);
  return map;
}
