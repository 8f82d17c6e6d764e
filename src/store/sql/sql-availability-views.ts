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
import type { SqlExecutor } from './sql-executor.js';

const listingSelect = `SELECT l.*, c.code AS channel_code, v.sku FROM listings l JOIN channels c ON c.id = l.channel_id JOIN variants v ON v.id = l.variant_id`;

const ruleSelect = `SELECT r.version, r.rules, r.author, r.note, r.created_at,
  (SELECT max(e.at) FROM rule_set_events e WHERE e.version = r.version AND e.action = 'activated') AS activated_at FROM rule_sets r`;

/** Listing ids are integers the store issued; anything else names no listing. */
const listingId = /^\d{1,15}$/;

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

  async getChannel(code: string): Promise<ChannelRecord | null> {
    return (await this.listChannels()).find((channel) => channel.code === code) ?? null;
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

  async findOrderItem(channel: string, item: OrderItemRef): Promise<OrderItemMatch | null> {
    const found = await this.views.get<{ id: number }>('SELECT id FROM channels WHERE code = $1', [channel]);
    const channelId = found === undefined ? undefined : Number(found.id);
    const match = (row: { sku: string; listing_id?: number | null }, matchedBy: OrderItemMatch['matchedBy']) => ({
      sku: row.sku,
      listingId: row.listing_id === null || row.listing_id === undefined ? null : String(row.listing_id),
      matchedBy,
    });
    if (channelId !== undefined) {
      // Each step is one primary-key or unique-index lookup; most lines stop at the second or third.
      const mapped = await this.views.get<{ sku: string; listing_id: number | null }>(
        `SELECT v.sku, l.id AS listing_id FROM listing_mappings m JOIN variants v ON v.id = m.variant_id
         LEFT JOIN listings l ON l.channel_id = m.channel_id AND l.external_id = m.external_id
         WHERE m.channel_id = $1 AND m.external_id = $2`,
        [channelId, item.externalId],
      );
      if (mapped) return match(mapped, 'mapping');
      const listed = await this.views.get<{ sku: string; listing_id: number }>(
        `SELECT v.sku, l.id AS listing_id FROM listings l JOIN variants v ON v.id = l.variant_id
         WHERE l.channel_id = $1 AND l.external_id = $2`,
        [channelId, item.externalId],
      );
      if (listed) return match(listed, 'listing');
      // One row per variant among the listings carrying the ref: a second one makes it ambiguous.
      const referenced = await this.views.all<{ sku: string; listing_id: number }>(
        `SELECT v.sku, min(l.id) AS listing_id FROM listing_refs r JOIN listings l ON l.id = r.listing_id
         JOIN variants v ON v.id = l.variant_id WHERE r.channel_id = $1 AND r.ref = $2 GROUP BY v.sku LIMIT 2`,
        [channelId, item.externalId],
      );
      if (referenced.length === 1) return match(referenced[0]!, 'listing_ref');
    }
    if (item.sku !== null) {
      const bySku = await this.views.get<{ sku: string }>('SELECT sku FROM variants WHERE sku = $1', [item.sku]);
      if (bySku) return match(bySku, 'sku');
    }
    if (item.barcode !== null) {
      const byBarcode = await this.views.all<{ sku: string }>(
        'SELECT sku FROM variants WHERE barcode = $1 ORDER BY id LIMIT 2',
        [item.barcode],
      );
      if (byBarcode.length === 1) return match(byBarcode[0]!, 'barcode');
    }
    return null;
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
