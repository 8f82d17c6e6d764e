import type Database from 'better-sqlite3';
import { computedListing, computedListings } from '../sql/sql-activation.js';
import type { EpochMs } from '../../core/clock.js';
import { checkRuleSet, type RuleSet } from '../../core/availability/rule-set.js';
import {
  affectedVariants,
  changedWrites,
  computeListings,
  countShownChanges,
  showsDifferently,
  toWrite,
  type AvailabilityContext,
  type ListingQuantityWrite,
} from '../../core/availability/recompute.js';
import {
  outboxOnConflict,
  availabilityConfig,
  buildContext,
  matchListings,
  variantsToRead,
  type AvailabilityConfig,
  type ChannelLocationRow,
  type ChannelRow,
  type ComponentRow,
  type CurrentRow,
  type IncomingLineRow,
  incomingLinesSelect,
  type ListingRefRow,
} from '../availability-rows.js';
import type {
  ChannelInput,
  DryRunReport,
  ListingExplanation,
  ListingInput,
  ListingRecord,
  ListingUpsertReport,
} from '../availability-store.js';
import { CatalogueError } from '../ledger-store.js';
import { levelFromRow } from '../rows.js';
import { SqliteVariantCache } from './sqlite-variant-cache.js';
import type { SqliteExecutor } from './sqlite-executor.js';
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
import type { LevelState } from '../../core/ledger/level.js';

/** SQLite takes id lists as one JSON array parameter: `IN (SELECT value FROM json_each(?))`. */
const inList = 'SELECT value FROM json_each(?)';

/** The level columns the availability computation reads (the rest read as zero). */
const availabilityLevelColumns = 'variant_id, location_id, on_hand, reserved, last_count_at, velocity, velocity_at';

/** Rows per multi-row upsert (11 columns x 100 = 1,100 parameters). */
const upsertChunkRows = 100;

/** Variants per bulk-recompute transaction: large enough to amortise, small enough not to stall writers. */
export const recomputeChunkVariants = 5_000;

/**
 * Availability on SQLite. Every method runs synchronously inside the caller's transaction or
 * opens its own `BEGIN IMMEDIATE` one, like the ledger, so it sees and writes one consistent
 * state.
 */
export class SqliteAvailability {
  private config: AvailabilityConfig | undefined;
  private readonly upserts = new Map<number, Database.Statement>();
  private readonly cache: SqliteVariantCache;

  constructor(
    db: Database.Database,
    private readonly shared: SqliteExecutor,
  ) {
    this.cache = new SqliteVariantCache(db, (text) => this.sql(text));
  }

  /** Drop cached structure and quantities (after a write other than a ledger batch, or a failed batch). */
  dropCache(): void {
    this.cache.clear();
  }

  /** A ledger batch committed: keep the cache in step with what it wrote. */
  batchCommitted(levels: readonly LevelState[], quantities: readonly ListingQuantityWrite[]): void {
    this.cache.applyCommitted(levels, quantities);
  }

  /** Prepared once per connection (lazily: the tables exist only after migration), in the store's one cache. */
  private sql<Params extends unknown[] = unknown[], Row = unknown>(text: string): Database.Statement<Params, Row> {
    return this.shared.prepare(text) as Database.Statement<Params, Row>;
  }

  private bumpConfig(): void {
    this.cache.clear();
    this.sql('UPDATE availability_state SET config_version = config_version + 1 WHERE id = 1').run();
  }

  /** The cached config, reloaded when another writer (or process) changed it. */
  loadConfig(): AvailabilityConfig {
    const state = this.sql<[], { config_version: number; active_rule_version: number | null }>(
      'SELECT config_version, active_rule_version FROM availability_state WHERE id = 1',
    ).get()!;
    if (this.config && this.config.configVersion === state.config_version) return this.config;
    const ruleRow =
      state.active_rule_version === null
        ? undefined
        : this.sql<[number], { version: number; rules: string }>(
            'SELECT version, rules FROM rule_sets WHERE version = ?',
          ).get(state.active_rule_version);
    this.config = availabilityConfig({
      configVersion: state.config_version,
      ruleRow,
      channels: this.sql<[], ChannelRow>('SELECT * FROM channels ORDER BY code').all(),
      links: this.sql<[], ChannelLocationRow>(
        'SELECT cl.channel_id, l.code, l.kind, cl.priority FROM channel_locations cl JOIN locations l ON l.id = cl.location_id WHERE l.deactivated_at IS NULL',
      ).all(),
      locations: this.sql<[], { id: number; code: string; kind: ChannelLocationRow['kind'] }>(
        'SELECT id, code, kind FROM locations',
      ).all(),
    });
    return this.config;
  }

  /** The cached config when it is the one of `configVersion` (a version just read), else read afresh. */
  configAt(configVersion: number): AvailabilityConfig {
    return this.config?.configVersion === configVersion ? this.config : this.loadConfig();
  }

  /** Locations changed: the cached codes and kinds must be re-read. */
  invalidate(): void {
    this.bumpConfig();
  }

  /**
   * The context for a ledger batch that touches `touched` variants, or undefined when none of
   * them (nor a bundle containing them) is listed anywhere.
   */
  contextForBatch(touched: readonly number[], config = this.loadConfig()): AvailabilityContext | undefined {
    if (touched.length === 0) return undefined;
    this.cache.validate(config.configVersion);
    this.cache.ensure(touched);
    const containing = touched.flatMap((id) => this.cache.get(id)?.bundlesContaining ?? []);
    const affected = [...affectedVariants(touched, bundleMap(containing))];
    this.cache.ensure(affected);
    if (!affected.some((id) => (this.cache.get(id)?.listings.length ?? 0) > 0)) return undefined;
    const components = affected.flatMap((id) => this.cache.get(id)?.components ?? []);
    const read = variantsToRead(affected, components);
    this.cache.ensure(read);
    const entries = affected.map((id) => [id, this.cache.get(id)] as const).filter((entry) => entry[1] !== undefined);
    const incoming = config.needsIncoming
      ? this.sql<[string], IncomingLineRow>(`${incomingLinesSelect} pol.variant_id IN (${inList})`).all(
          JSON.stringify(affected),
        )
      : [];
    return buildContext(config, {
      variants: entries.map(([id, entry]) => ({ id, sku: entry!.sku, is_bundle: entry!.isBundle ? 1 : 0 })),
      components: [...components, ...containing],
      listings: entries.flatMap(([, entry]) => entry!.listings),
      levels: read.flatMap((id) => [...(this.cache.get(id)?.levels.values() ?? [])]),
      incoming,
      current: entries.flatMap(([, entry]) => [...entry!.current.values()]),
    });
  }

  /** Context for computing `variantIds` (all must be given; bundles' components are read too). */
  contextFor(
    variantIds: readonly number[],
    config: AvailabilityConfig,
    knownComponents?: readonly ComponentRow[],
  ): AvailabilityContext | undefined {
    const ids = JSON.stringify(variantIds);
    const listings = this.sql<[string], ListingRefRow>(
      `SELECT l.id, l.variant_id, c.code AS channel_code, l.rank FROM ${computedListings}
         WHERE l.variant_id IN (${inList}) AND ${computedListing} ORDER BY l.id`,
    ).all(ids);
    if (listings.length === 0) return undefined;
    const variants = this.sql<[string], { id: number; sku: string; is_bundle: number }>(
      `SELECT id, sku, is_bundle FROM variants WHERE id IN (${inList})`,
    ).all(ids);
    const components =
      knownComponents ??
      this.sql<[string], ComponentRow>(
        `SELECT b.bundle_id, b.component_id, v.sku AS component_sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
           WHERE b.bundle_id IN (${inList})`,
      ).all(ids);
    const readIds = JSON.stringify(variantsToRead(variantIds, components));
    const levels = this.sql<[string], Record<string, unknown>>(`SELECT * FROM levels WHERE variant_id IN (${inList})`)
      .all(readIds)
      .map(levelFromRow);
    const incoming = config.needsIncoming
      ? this.sql<[string], IncomingLineRow>(`${incomingLinesSelect} pol.variant_id IN (${inList})`).all(ids)
      : [];
    const current = this.sql<[string], CurrentRow>(
      `SELECT variant_id, listing_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at, rule_version FROM listing_quantities WHERE variant_id IN (${inList})`,
    ).all(ids);
    return buildContext(config, { variants, components, listings, levels, incoming, current });
  }

  /** Recompute these variants' listings inside the current transaction; returns how many listings. */
  recomputeNow(variantIds: readonly number[], now: EpochMs): number {
    this.dropCache();
    const { listings, writes } = this.recomputeVariants(variantIds, now);
    this.writeQuantities(writes);
    return listings;
  }

  writeQuantities(writes: readonly ListingQuantityWrite[]): void {
    if (writes.length === 0) return;
    const channelIds = this.loadConfig().channelIds;
    // One flat parameter list per statement, passed as arguments (better-sqlite3 binds those
    // faster than an array's elements; see the ledger's multi-row INSERTs).
    const params: unknown[] = [];
    const add = (write: ListingQuantityWrite) => {
      params.push(
        write.variantId,
        Number(write.listingId),
        channelIds.get(write.channelCode) ?? null,
        write.quantity,
        write.preorderQuantity,
        write.preorderEarliestAt,
        write.preorderLatestAt,
        write.ruleVersion,
        write.computedAt,
        write.computedAt,
        write.computedAt,
      );
    };
    let index = 0;
    if (writes.length >= upsertChunkRows) {
      const statement = this.upsertStatement(upsertChunkRows);
      for (; index + upsertChunkRows <= writes.length; index += upsertChunkRows) {
        params.length = 0;
        for (let row = index; row < index + upsertChunkRows; row += 1) add(writes[row]!);
        statement.run(...params);
      }
    }
    if (index === writes.length) return;
    const single = this.upsertStatement(1);
    for (; index < writes.length; index += 1) {
      params.length = 0;
      add(writes[index]!);
      single.run(...params);
    }
  }

  /** The multi-row upsert of `rows` rows, its text built once per size (the cache is keyed by text). */
  private upsertStatement(rows: number): Database.Statement {
    let statement = this.upserts.get(rows);
    if (statement === undefined) {
      statement = this.sql(
        `INSERT INTO listing_quantities AS t (variant_id, listing_id, channel_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at,
           rule_version, computed_at, due_at, pending_since)
         VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (variant_id, listing_id) DO UPDATE SET ${outboxOnConflict('t')},
           quantity = excluded.quantity, preorder_quantity = excluded.preorder_quantity,
           preorder_earliest_at = excluded.preorder_earliest_at, preorder_latest_at = excluded.preorder_latest_at,
           rule_version = excluded.rule_version, computed_at = excluded.computed_at`,
      );
      this.upserts.set(rows, statement);
    }
    return statement;
  }

  /**
   * One chunk of the bulk recompute: every listed variant with id in [first, last], read with
   * range scans in index order instead of thousands of point lookups.
   */
  recomputeRange(
    first: number,
    last: number,
    now: EpochMs,
  ): { variants: number; listings: number; writes: ListingQuantityWrite[]; changed: number } {
    const config = this.loadConfig();
    const listings = this.sql<[number, number], ListingRefRow>(
      `SELECT l.id, l.variant_id, c.code AS channel_code, l.rank FROM ${computedListings}
       WHERE l.variant_id BETWEEN ? AND ? AND ${computedListing} ORDER BY l.id`,
    ).all(first, last);
    if (listings.length === 0) return { variants: 0, listings: 0, writes: [], changed: 0 };
    const variantIds = [...new Set(listings.map((row) => row.variant_id))].sort((a, b) => a - b);
    const components = this.sql<[number, number], ComponentRow>(
      `SELECT b.bundle_id, b.component_id, v.sku AS component_sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
       WHERE b.bundle_id BETWEEN ? AND ?`,
    ).all(first, last);
    // Only what availability reads (available, count age, velocity): a third of the columns.
    const levels = this.sql<[number, number], Record<string, unknown>>(
      `SELECT ${availabilityLevelColumns} FROM levels WHERE variant_id BETWEEN ? AND ?`,
    )
      .all(first, last)
      .map(levelFromRow);
    const outside = [...new Set(components.map((row) => row.component_id))].filter((id) => id < first || id > last);
    if (outside.length > 0) {
      for (const row of this.sql<[string], Record<string, unknown>>(
        `SELECT * FROM levels WHERE variant_id IN (${inList})`,
      ).all(JSON.stringify(outside))) {
        levels.push(levelFromRow(row));
      }
    }
    const variants = this.sql<[number, number], { id: number; sku: string; is_bundle: number }>(
      'SELECT id, sku, is_bundle FROM variants WHERE id BETWEEN ? AND ?',
    ).all(first, last);
    const incoming = config.needsIncoming
      ? this.sql<[number, number], IncomingLineRow>(`${incomingLinesSelect} pol.variant_id BETWEEN ? AND ?`).all(
          first,
          last,
        )
      : [];
    const current = this.sql<[number, number], CurrentRow>(
      'SELECT variant_id, listing_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at, rule_version FROM listing_quantities WHERE variant_id BETWEEN ? AND ?',
    ).all(first, last);
    const context = buildContext(config, { variants, components, listings, levels, incoming, current });
    const results = computeListings(context, variantIds, (id) => context.levels.get(id) ?? [], now);
    const writes = changedWrites(context, results, now);
    return {
      variants: variantIds.length,
      listings: results.length,
      writes,
      changed: countShownChanges(context, writes),
    };
  }

  /** Recompute the listings of these variants now (inside the caller's transaction). */
  recomputeVariants(variantIds: readonly number[], now: EpochMs): { listings: number; writes: ListingQuantityWrite[] } {
    const context = this.contextFor(variantIds, this.loadConfig());
    if (!context) return { listings: 0, writes: [] };
    const results = computeListings(context, variantIds, (id) => context.levels.get(id) ?? [], now);
    return { listings: results.length, writes: changedWrites(context, results, now) };
  }

  // --- channels ------------------------------------------------------------------------------

  upsertChannels(channels: readonly ChannelInput[], now: EpochMs): { created: number; updated: number } {
    const sql = this.shared;
    const problems: { path: string; message: string }[] = [];
    const locationIds = new Map(
      sql.allNow<{ id: number; code: string }>(locationIdsByCode).map((row) => [row.code, row.id]),
    );
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
      const row = sql.getNow<{ id: number; created: number }>(upsertChannel(sql.dialect), channelParams(channel, now))!;
      if (flag(row.created)) created += 1;
      sql.runNow(deleteChannelLocations, [row.id]);
      // One prepared statement per location, in-process (PostgreSQL sends one unnest).
      channel.locations.forEach((code, index) => {
        this.sql('INSERT INTO channel_locations (channel_id, location_id, priority) VALUES (?, ?, ?)').run(
          row.id,
          locationIds.get(code),
          index + 1,
        );
      });
    }
    this.bumpConfig();
    return { created, updated: channels.length - created };
  }

  // --- listings ------------------------------------------------------------------------------

  upsertListings(listings: readonly ListingInput[], now: EpochMs): ListingUpsertReport & { variantIds: number[] } {
    const sql = this.shared;
    const channelIds = new Map(
      sql.allNow<{ id: number; code: string }>(channelIdsByCode).map((row) => [row.code, row.id]),
    );
    const problems: { path: string; message: string }[] = [];
    listings.forEach((listing, index) => {
      if (!channelIds.has(listing.channel))
        problems.push({ path: `/listings/${index}/channel`, message: `unknown channel ${listing.channel}` });
    });
    if (problems.length > 0) throw new CatalogueError('listings rejected; nothing was changed', problems);
    const mappings = new Map<string, number>();
    // One indexed lookup per (channel, external id) pair, in-process (PostgreSQL joins an unnest of the pairs).
    const mappingStatement = this.sql<[number, string], { variant_id: number }>(
      'SELECT variant_id FROM listing_mappings WHERE channel_id = ? AND external_id = ?',
    );
    for (const listing of listings) {
      const channelId = channelIds.get(listing.channel)!;
      const mapped = mappingStatement.get(channelId, listing.externalId);
      if (mapped) mappings.set(`${channelId}:${listing.externalId}`, mapped.variant_id);
    }
    const skus = listings.map((listing) => listing.sku).filter((sku): sku is string => sku !== undefined);
    const bySku = new Map(
      sql.allNow<{ id: number; sku: string }>(variantIdsBySku(sql.dialect), [skus]).map((row) => [row.sku, row.id]),
    );
    const barcodes = listings
      .map((listing) => listing.barcode)
      .filter((barcode): barcode is string => barcode !== undefined);
    const byBarcode = new Map<string, number[]>();
    for (const row of sql.allNow<{ id: number; barcode: string }>(variantIdsByBarcode(sql.dialect), [barcodes])) {
      byBarcode.set(row.barcode, [...(byBarcode.get(row.barcode) ?? []), row.id]);
    }
    const { matched, unmapped } = matchListings(listings, { channelIds, mappings, bySku, byBarcode });
    let created = 0;
    const listingIds: number[] = [];
    for (const entry of matched) {
      const row = sql.getNow<{ id: number; created: number }>(upsertListing(sql.dialect), listingParams(entry, now))!;
      if (flag(row.created)) created += 1;
      listingIds.push(row.id);
      sql.runNow(deleteUnmappedItem, [entry.channelId, entry.item.externalId]);
    }
    if (listingIds.length > 0) {
      sql.runNow(deleteListingRefs(sql.dialect), [listingIds]);
      sql.runNow(insertListingRefs(sql.dialect), [listingIds]);
    }
    const left = this.followRepointed(listingIds);
    for (const item of unmapped)
      sql.runNow(rememberUnmappedItem, unmappedItemParams(channelIds.get(item.channel), item, now));
    return {
      created,
      updated: matched.length - created,
      unmapped,
      variantIds: [...new Set([...matched.map((entry) => entry.variantId), ...left])],
    };
  }

  /**
   * Move the stored desired quantity of each re-pointed listing among `listingIds` to the
   * variant it now names; returns the variants they left, whose other listings may show more
   * now (a low-stock rule shares a variant's last units among its listings by rank).
   */
  private followRepointed(listingIds: readonly number[]): number[] {
    if (listingIds.length === 0) return [];
    const sql = this.shared;
    const moved = sql.allNow<RepointedListingRow>(repointedListings(sql.dialect), [listingIds]);
    for (const row of moved) sql.runNow(moveListingQuantity, [row.listing_id, row.to_variant]);
    return moved.map((row) => row.from_variant);
  }

  /** Upsert the mappings and point the listings they name at their variants; returns the variants to recompute. */
  upsertMappings(
    mappings: readonly { channel: string; externalId: string; sku: string }[],
    now: EpochMs,
  ): { created: number; updated: number; variantIds: number[] } {
    const sql = this.shared;
    const channelIds = new Map(
      sql.allNow<{ id: number; code: string }>(channelIdsByCode).map((row) => [row.code, row.id]),
    );
    const variantIds = new Map(
      sql
        .allNow<{ id: number; sku: string }>(variantIdsBySku(sql.dialect), [mappings.map((mapping) => mapping.sku)])
        .map((row) => [row.sku, row.id]),
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
      if (flag(sql.getNow<{ created: number }>(upsertMapping(sql.dialect), params)!.created)) created += 1;
      for (const row of sql.allNow<{ id: number }>(pointListingAtMapping, params)) {
        listingIds.push(row.id);
        touched.add(variantIds.get(mapping.sku)!);
      }
    }
    for (const left of this.followRepointed(listingIds)) touched.add(left);
    return { created, updated: mappings.length - created, variantIds: [...touched] };
  }

  // --- rule sets -----------------------------------------------------------------------------

  checkRules(rules: RuleSet): void {
    const sql = this.shared;
    const channels = new Set(sql.allNow<{ code: string }>(channelCodes).map((row) => row.code));
    const locations = new Set(sql.allNow<{ code: string }>(locationCodes).map((row) => row.code));
    const problems = checkRuleSet(rules, channels, locations);
    if (problems.length > 0) throw new CatalogueError('rule set rejected; nothing was changed', problems);
  }

  createRuleSet(input: { rules: RuleSet; author: string; note?: string | null | undefined }, now: EpochMs): number {
    const sql = this.shared;
    this.checkRules(input.rules);
    const version = (sql.getNow<{ v: number | null }>(lastRuleSetVersion)!.v ?? 0) + 1;
    sql.runNow(insertRuleSet, ruleSetParams(version, input, now));
    sql.runNow(insertRuleSetEvent, ruleSetEventParams(version, 'created', input, now));
    return version;
  }

  /** Switch the active version; returns false for an unknown version. */
  activate(version: number, by: { author: string; note?: string | null | undefined }, now: EpochMs): boolean {
    const sql = this.shared;
    if (!sql.getNow(ruleSetExists, [version])) return false;
    sql.runNow(activateRuleSet, [version]);
    sql.runNow(insertRuleSetEvent, ruleSetEventParams(version, 'activated', by, now));
    return true;
  }

  dryRunChunk(variantIds: readonly number[], rules: RuleSet, now: EpochMs, report: DryRunReport): void {
    const config = { ...this.loadConfig(), ruleSet: rules, ruleVersion: null };
    const context = this.contextFor(variantIds, config);
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

  explainListing(listing: ListingRecord, now: EpochMs): ListingExplanation | null {
    const id = listing.id;
    const variantId = this.sql<[number], { variant_id: number }>('SELECT variant_id FROM listings WHERE id = ?').get(
      Number(id),
    )!.variant_id;
    const context = this.contextFor([variantId], this.loadConfig())!;
    const found = computeListings(context, [variantId], (variant) => context.levels.get(variant) ?? [], now, true).find(
      (entry) => entry.result.listingId === id,
    );
    if (!found) return null; // the listing's channel vanished from the config
    const { result } = found;
    const stored = context.current.get(id);
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
      storedQuantity: stored?.quantity ?? null,
    };
  }
}

function bundleMap(rows: readonly ComponentRow[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const row of rows) {
    const list = map.get(row.component_id) ?? [];
    list.push(row.bundle_id);
    map.set(row.component_id, list);
  }
  return map;
}
