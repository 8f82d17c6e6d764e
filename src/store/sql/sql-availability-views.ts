import type { ActiveFilter } from '../ledger-store.js';
import { activeCondition } from './sql-lists.js';
import type { EpochMs } from '../../core/clock.js';
import type {
  ChannelRecord,
  DryRunReport,
  ListingQuantity,
  ListingRecord,
  OrderItemMatch,
  OrderItemRef,
  RuleSetEvent,
  RuleSetVersion,
  UnmappedItem,
} from '../availability-store.js';
import {
  channelRecords,
  listingQuantity,
  listingRecord,
  ruleSetVersion,
  type ChannelLocationRow,
  type ChannelRow,
} from '../availability-rows.js';
import type { SqlDialect, SqlExecutor } from './sql-executor.js';
import { textFault } from '../../core/json-bounds.js';

const listingSelect = `SELECT l.*, c.code AS channel_code, v.sku FROM listings l JOIN channels c ON c.id = l.channel_id JOIN variants v ON v.id = l.variant_id`;

const ruleSelect = `SELECT r.version, r.rules, r.author, r.note, r.created_at,
  (SELECT max(e.at) FROM rule_set_events e WHERE e.version = r.version AND e.action = 'activated') AS activated_at FROM rule_sets r`;

/** Listing ids are integers the store issued; anything else names no listing. */
const listingId = /^\d{1,15}$/;

interface MatchRow {
  sku: string;
  listing_id: number | string | null;
}

function matchOf(row: MatchRow | undefined, matchedBy: OrderItemMatch['matchedBy']): OrderItemMatch | null {
  if (row === undefined) return null;
  return {
    sku: row.sku,
    listingId: row.listing_id === null || row.listing_id === undefined ? null : String(row.listing_id),
    matchedBy,
  };
}

/** The statement of findOrderItems, per dialect: $1 the channel's code, $2 the items as JSON records. */
const findOrderItemsTexts = new Map<string, string>();
function findOrderItemsSql(dialect: SqlDialect): string {
  const known = findOrderItemsTexts.get(dialect.name);
  if (known !== undefined) return known;
  const items = dialect.jsonRecords(2, 'items', [
    ['i', 'bigint'],
    ['external_id', 'text'],
    ['sku', 'text'],
    ['barcode', 'text'],
  ]);
  // `items CROSS JOIN t ... WHERE`: SQLite keeps the items as the outer loop (its planner
  // otherwise walks every listing of the channel and scans the items for each); PostgreSQL
  // plans it as any inner join.
  const text = `WITH items AS (SELECT * FROM ${items}), ch AS (SELECT id FROM channels WHERE code = $1)
    SELECT items.i AS item, 1 AS step, v.sku, l.id AS listing_id
      FROM items CROSS JOIN listing_mappings m
      JOIN variants v ON v.id = m.variant_id
      LEFT JOIN listings l ON l.channel_id = m.channel_id AND l.external_id = m.external_id
      WHERE m.channel_id = (SELECT id FROM ch) AND m.external_id = items.external_id
    UNION ALL
    SELECT items.i, 2, v.sku, l.id
      FROM items CROSS JOIN listings l JOIN variants v ON v.id = l.variant_id
      WHERE l.channel_id = (SELECT id FROM ch) AND l.external_id = items.external_id
    UNION ALL
    SELECT item, 3, sku, listing_id FROM (
      SELECT items.i AS item, v.sku, min(l.id) AS listing_id,
        row_number() OVER (PARTITION BY items.i ORDER BY v.sku) AS n
      FROM items CROSS JOIN listing_refs r
        JOIN listings l ON l.id = r.listing_id JOIN variants v ON v.id = l.variant_id
      WHERE r.channel_id = (SELECT id FROM ch) AND r.ref = items.external_id
      GROUP BY items.i, v.sku) refs WHERE n <= 2
    UNION ALL
    SELECT items.i, 4, v.sku, CAST(NULL AS bigint) FROM items CROSS JOIN variants v WHERE v.sku = items.sku
    UNION ALL
    SELECT item, 5, sku, CAST(NULL AS bigint) FROM (
      SELECT items.i AS item, v.sku, row_number() OVER (PARTITION BY items.i ORDER BY v.id) AS n
      FROM items CROSS JOIN variants v WHERE v.barcode = items.barcode) codes WHERE n <= 2`;
  findOrderItemsTexts.set(dialect.name, text);
  return text;
}

/**
 * The availability slice's reads, one SQL text for both engines: channels, listings, unmapped
 * items, rule sets and the stored desired quantities. Each engine's availability extends it
 * with its writes and recomputes, which run on the engine's availability context loading (the
 * hot path shared with applyBatch).
 */
export abstract class SqlAvailabilityViews {
  constructor(protected readonly views: SqlExecutor) {}

  async listChannels(options: { active?: ActiveFilter | undefined } = {}): Promise<ChannelRecord[]> {
    return channelRecords(
      await this.views.all<ChannelRow>(
        `SELECT * FROM channels c WHERE ${activeCondition('c', options.active ?? 'all')} ORDER BY code${this.views.dialect.byteOrder}`,
      ),
      await this.views.all<ChannelLocationRow>(
        'SELECT cl.channel_id, l.code, l.kind, cl.priority FROM channel_locations cl JOIN locations l ON l.id = cl.location_id',
      ),
    );
  }

  /** The version read that the calls made since the last one started will share. */
  private nextVersionRead: Promise<number> | undefined;

  /**
   * `availability_state.config_version`, read once for every call made before the read starts:
   * the read waits for the event loop's check phase, so the deliveries whose bytes arrived
   * together share one (on PostgreSQL one round trip instead of one per webhook). A call never
   * joins a read that started before it, so a write committed before the call is always seen.
   * NaN without the state row (NaN equals nothing: every call then reads afresh).
   */
  protected configVersion(): Promise<number> {
    if (this.nextVersionRead !== undefined) return this.nextVersionRead;
    const read = new Promise<number>((resolve, reject) => {
      setImmediate(() => {
        this.nextVersionRead = undefined;
        this.views
          .get<{ config_version: number | string }>('SELECT config_version FROM availability_state WHERE id = 1')
          .then((state) => resolve(state === undefined ? Number.NaN : Number(state.config_version)), reject);
      });
    });
    this.nextVersionRead = read;
    return read;
  }

  /** The channels and their locations as last read, under the config_version read before them. */
  private channelCache:
    | { version: number; rows: ReadonlyMap<string, ChannelRow>; links: readonly ChannelLocationRow[] }
    | undefined;

  /**
   * One channel, from a cache that one small read validates: every write of a channel (its
   * settings, name, locations, activation) or of a location commits a bumped
   * `availability_state.config_version` with it, on both engines - the availability
   * computation's cached config relies on the same. The version is read BEFORE the rows, so
   * rows kept under a version are never older than it; a write by another process is seen on
   * the next call. Each call builds its own record (settings parsed anew), so no caller can
   * change another's. A webhook delivery reads its channel first: one row instead of every
   * channel and every channel location.
   */
  async getChannel(code: string): Promise<ChannelRecord | null> {
    const version = await this.configVersion();
    let cache = this.channelCache;
    if (cache === undefined || cache.version !== version) {
      const rows = await this.views.all<ChannelRow>('SELECT * FROM channels');
      const links = await this.views.all<ChannelLocationRow>(
        'SELECT cl.channel_id, l.code, l.kind, cl.priority FROM channel_locations cl JOIN locations l ON l.id = cl.location_id',
      );
      cache = {
        version,
        rows: new Map(
          rows.map((row) => [
            row.code,
            { ...row, settings: typeof row.settings === 'string' ? row.settings : JSON.stringify(row.settings) },
          ]),
        ),
        links,
      };
      // NaN equals nothing: without the state row every call reads afresh.
      this.channelCache = cache;
    }
    const row = cache.rows.get(code);
    return row === undefined ? null : channelRecords([row], cache.links)[0]!;
  }

  async listListings(options: {
    channel?: string | undefined;
    sku?: string | undefined;
    afterId?: string | undefined;
    limit: number;
    active?: ActiveFilter | undefined;
  }): Promise<ListingRecord[]> {
    if (options.afterId !== undefined && !listingId.test(options.afterId)) return []; // not an id this store issued
    const params: unknown[] = [Number(options.afterId ?? 0), options.limit];
    const where = [
      options.channel === undefined ? '' : `AND c.code = $${params.push(options.channel)}`,
      options.sku === undefined ? '' : `AND v.sku = $${params.push(options.sku)}`,
      `AND ${activeCondition('l', options.active ?? 'all')}`,
    ].join(' ');
    return (await this.views.all(`${listingSelect} WHERE l.id > $1 ${where} ORDER BY l.id LIMIT $2`, params)).map(
      listingRecord,
    );
  }

  async getListing(id: string): Promise<ListingRecord | null> {
    if (!listingId.test(id)) return null;
    const row = await this.views.get(`${listingSelect} WHERE l.id = $1`, [Number(id)]);
    return row ? listingRecord(row) : null;
  }

  /** One item's match: {@link findOrderItems} with one item. */
  async findOrderItem(channel: string, item: OrderItemRef): Promise<OrderItemMatch | null> {
    return (await this.findOrderItems(channel, [item]))[0]!;
  }

  /**
   * Every item's steps in one statement (one round trip, one SQL text whatever the number of
   * items), each row tagged with its item and step number and taken in order as the steps used
   * to run one by one: a mapping, the channel's listing with that external id, the one variant
   * among the listings carrying the id as a reference, the sku, the one variant with the
   * barcode. Every branch joins the items to a primary-key or unique-index lookup; an item
   * without a sku or barcode joins no variant on it. The reference and barcode steps keep two
   * rows per item at most: a second one is all it takes to make the step ambiguous.
   */
  async findOrderItems(channel: string, items: readonly OrderItemRef[]): Promise<(OrderItemMatch | null)[]> {
    // An id with a NUL or a lone surrogate matches nothing (every write refuses such text), and
    // PostgreSQL's jsonb cannot even hold it: such an item is left out of the statement.
    const asked = items.flatMap((item, index) =>
      [item.externalId, item.sku, item.barcode].some((text) => text !== null && textFault(text) !== undefined)
        ? []
        : [{ i: index, external_id: item.externalId, sku: item.sku, barcode: item.barcode }],
    );
    const rows =
      asked.length === 0
        ? []
        : await this.views.all<MatchRow & { item: number | string; step: number | string }>(
            findOrderItemsSql(this.views.dialect),
            [channel, JSON.stringify(asked)],
          );
    const steps = items.map(() => new Map<number, MatchRow[]>());
    for (const row of rows) {
      const byStep = steps[Number(row.item)]!;
      const list = byStep.get(Number(row.step)) ?? [];
      list.push(row);
      byStep.set(Number(row.step), list);
    }
    return steps.map((byStep) => {
      const first = (step: number) => byStep.get(step)?.[0];
      const only = (step: number) => {
        const list = byStep.get(step) ?? [];
        return list.length === 1 ? list[0] : undefined;
      };
      return (
        matchOf(first(1), 'mapping') ??
        matchOf(first(2), 'listing') ??
        matchOf(only(3), 'listing_ref') ??
        matchOf(first(4), 'sku') ??
        matchOf(only(5), 'barcode')
      );
    });
  }

  async listUnmapped(options: {
    channel?: string | undefined;
    limit: number;
  }): Promise<(UnmappedItem & { at: EpochMs })[]> {
    const rows = await this.views.all<{
      code: string;
      external_id: string;
      sku: string | null;
      barcode: string | null;
      reason: string;
      at: number;
    }>(
      `SELECT c.code, u.external_id, u.sku, u.barcode, u.reason, u.at FROM unmapped_items u JOIN channels c ON c.id = u.channel_id
       ${options.channel === undefined ? '' : 'WHERE c.code = $2'} ORDER BY u.at DESC, u.external_id${this.views.dialect.byteOrder} LIMIT $1`,
      [options.limit, ...(options.channel === undefined ? [] : [options.channel])],
    );
    return rows.map((row, index) => ({
      index,
      channel: row.code,
      externalId: row.external_id,
      sku: row.sku,
      barcode: row.barcode,
      reason: row.reason,
      at: row.at,
    }));
  }

  private async activeVersion(): Promise<number | null> {
    return (await this.views.get<{ v: number | null }>(
      'SELECT active_rule_version AS v FROM availability_state WHERE id = 1',
    ))!.v;
  }

  async listRuleSets(): Promise<RuleSetVersion[]> {
    const active = await this.activeVersion();
    return (await this.views.all(`${ruleSelect} ORDER BY r.version DESC`)).map((row) => ruleSetVersion(row, active));
  }

  async getRuleSet(version: number): Promise<RuleSetVersion | null> {
    const row = await this.views.get(`${ruleSelect} WHERE r.version = $1`, [version]);
    return row ? ruleSetVersion(row, await this.activeVersion()) : null;
  }

  async ruleSetEvents(): Promise<RuleSetEvent[]> {
    const rows = await this.views.all<{
      version: number;
      action: RuleSetEvent['action'];
      author: string;
      note: string | null;
      at: number;
    }>('SELECT * FROM rule_set_events ORDER BY id DESC');
    return rows.map((row) => ({
      version: row.version,
      action: row.action,
      author: row.author,
      note: row.note,
      at: row.at,
    }));
  }

  async getAvailability(sku: string): Promise<ListingQuantity[] | null> {
    const variant = await this.views.get<{ id: number }>('SELECT id FROM variants WHERE sku = $1', [sku]);
    if (!variant) return null;
    const rows = await this.views.all(
      `SELECT q.*, l.external_id, c.code AS channel_code, v.sku FROM listings l JOIN channels c ON c.id = l.channel_id JOIN variants v ON v.id = l.variant_id
       JOIN listing_quantities q ON q.listing_id = l.id WHERE l.variant_id = $1 ORDER BY c.code${this.views.dialect.byteOrder}, l.id`,
      [variant.id],
    );
    return rows.map(listingQuantity);
  }

  /** Variant ids that have listings, after `afterId`, in id order: the chunks of a bulk recompute. */
  protected async listedVariants(afterId: number, limit: number): Promise<number[]> {
    const rows = await this.views.all<{ variant_id: number }>(
      'SELECT DISTINCT variant_id FROM listings WHERE variant_id > $1 ORDER BY variant_id LIMIT $2',
      [afterId, limit],
    );
    return rows.map((row) => Number(row.variant_id));
  }

  protected async countListedVariants(): Promise<number> {
    return Number((await this.views.get<{ n: number }>('SELECT count(DISTINCT variant_id) AS n FROM listings'))!.n);
  }

  /** A dry run's changes, biggest drop first (ties by listing id), at most `limit` of them. */
  protected biggestDropsFirst(report: DryRunReport, limit: number): DryRunReport {
    report.changes.sort(
      (a, b) => a.proposed - a.current - (b.proposed - b.current) || (a.listingId < b.listingId ? -1 : 1),
    );
    report.changes = report.changes.slice(0, limit);
    return report;
  }
}
