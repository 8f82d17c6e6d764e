import type Database from 'better-sqlite3';
import { computedListing, computedListings } from '../sql/sql-activation.js';
import type { ListingQuantityWrite } from '../../core/availability/recompute.js';
import type { LevelState } from '../../core/ledger/level.js';
import type { ComponentRow, CurrentRow, ListingRefRow } from '../availability-rows.js';
import { limits } from '../../core/limits.js';
import { levelFromRow } from '../rows.js';

/**
 * What the incremental recompute reads per variant, kept in memory between ledger batches.
 *
 * Why: a spread batch of 5,000 commands touches ~5,000 variants; reading their listings, bundle
 * structure, levels and stored quantities back from SQLite cost more than the ledger writes
 * themselves (measured: 1.57 s of context loading per 100k commands with 4 listings a variant,
 * against 2.0 s of ledger writes; see bench/README.md).
 *
 * Validity: SQLite's `PRAGMA data_version` changes when ANOTHER connection commits, so any
 * foreign write drops the whole cache; this connection's own structural writes (listings,
 * bundles, channels, rules) drop it too (`clear`), and its ledger batches update it only AFTER
 * their transaction has committed (`applyCommitted`), so a rolled-back batch can never leave a
 * level or a quantity in the cache that the database does not hold. Bounded by
 * `variantsMax` (limits.variantCacheMax): when a batch starts (`validate`) past it, the entries
 * loaded first are dropped down to three quarters of it. Never during a batch, so an entry a
 * batch loaded stays until the batch is done; a batch may take the cache past the bound by what
 * it needs itself.
 */
export interface VariantEntry {
  sku: string;
  isBundle: boolean;
  listings: ListingRefRow[];
  /** Components of this bundle. */
  components: ComponentRow[];
  /** Rows of bundles that contain this variant. */
  bundlesContaining: ComponentRow[];
  levels: Map<number, LevelState>;
  current: Map<number, CurrentRow>;
}

const inList = 'SELECT value FROM json_each(?)';

export class SqliteVariantCache {
  private readonly entries = new Map<number, VariantEntry>();
  private dataVersion = -1;
  private configVersion = -1;

  constructor(
    private readonly db: Database.Database,
    private readonly sql: <Params extends unknown[], Row>(text: string) => Database.Statement<Params, Row>,
    private readonly variantsMax: number = limits.variantCacheMax,
  ) {}

  /**
   * At the start of a batch: drop everything if another connection committed or the
   * availability config changed, else the oldest entries past the bound.
   */
  validate(configVersion: number): void {
    const dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    if (dataVersion !== this.dataVersion || configVersion !== this.configVersion) {
      this.entries.clear();
      this.dataVersion = dataVersion;
      this.configVersion = configVersion;
    } else if (this.entries.size > this.variantsMax) {
      const keep = Math.floor((this.variantsMax * 3) / 4);
      for (const id of this.entries.keys()) {
        if (this.entries.size <= keep) break;
        this.entries.delete(id);
      }
    }
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.dataVersion = -1;
  }

  get(variantId: number): VariantEntry | undefined {
    return this.entries.get(variantId);
  }

  /** Load the variants not cached yet, with one query per table for all of them. */
  ensure(variantIds: Iterable<number>): void {
    const missing = [...new Set(variantIds)].filter((id) => !this.entries.has(id));
    if (missing.length === 0) return;
    const ids = JSON.stringify(missing);
    for (const row of this.sql<[string], { id: number; sku: string; is_bundle: number }>(
      `SELECT id, sku, is_bundle FROM variants WHERE id IN (${inList})`,
    ).all(ids)) {
      this.entries.set(row.id, {
        sku: row.sku,
        isBundle: row.is_bundle === 1,
        listings: [],
        components: [],
        bundlesContaining: [],
        levels: new Map(),
        current: new Map(),
      });
    }
    for (const row of this.sql<[string], ListingRefRow>(
      `SELECT l.id, l.variant_id, c.code AS channel_code, l.rank FROM ${computedListings}
       WHERE l.variant_id IN (${inList}) AND ${computedListing} ORDER BY l.id`,
    ).all(ids)) {
      this.entries.get(row.variant_id)?.listings.push(row);
    }
    const componentSelect = `SELECT b.bundle_id, b.component_id, v.sku AS component_sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id`;
    for (const row of this.sql<[string], ComponentRow>(`${componentSelect} WHERE b.bundle_id IN (${inList})`).all(
      ids,
    )) {
      this.entries.get(row.bundle_id)?.components.push(row);
    }
    for (const row of this.sql<[string], ComponentRow>(`${componentSelect} WHERE b.component_id IN (${inList})`).all(
      ids,
    )) {
      this.entries.get(row.component_id)?.bundlesContaining.push(row);
    }
    for (const row of this.sql<[string], Record<string, unknown>>(
      `SELECT * FROM levels WHERE variant_id IN (${inList})`,
    ).all(ids)) {
      const level = levelFromRow(row);
      this.entries.get(level.variantId)?.levels.set(level.locationId, level);
    }
    for (const row of this.sql<[string], CurrentRow & { variant_id: number }>(
      `SELECT variant_id, listing_id, quantity, preorder_quantity, preorder_earliest_at, preorder_latest_at, rule_version FROM listing_quantities WHERE variant_id IN (${inList})`,
    ).all(ids)) {
      this.entries.get(row.variant_id)?.current.set(Number(row.listing_id), row);
    }
  }

  /** After the batch's transaction committed: what it wrote is now what the database holds. */
  applyCommitted(levels: readonly LevelState[], quantities: readonly ListingQuantityWrite[]): void {
    for (const level of levels) this.entries.get(level.variantId)?.levels.set(level.locationId, level);
    for (const write of quantities) {
      this.entries.get(write.variantId)?.current.set(Number(write.listingId), {
        listing_id: Number(write.listingId),
        quantity: write.quantity,
        preorder_quantity: write.preorderQuantity,
        preorder_earliest_at: write.preorderEarliestAt,
        preorder_latest_at: write.preorderLatestAt,
        rule_version: write.ruleVersion,
      });
    }
  }
}
