import type { EpochMs } from '../clock.js';
import { available } from '../ledger/level.js';
import type { LevelState } from '../ledger/level.js';
import {
  computeVariantAvailability,
  type ChannelDefinition,
  type ListingAvailability,
  type ListingRef,
  type LocationKindName,
  type LocationLevel,
} from './compute-available.js';
import type { RuleSet } from './rule-set.js';
import { decayedRate } from './velocity.js';

/**
 * From stored rows to listing quantities, for a set of variants: the one code path behind the
 * incremental recompute (inside each ledger batch), the bulk recompute after a rule change,
 * the dry run and explain. Incremental and full recompute agree because they ARE this
 * function over the same rows.
 */

export interface AvailabilityVariant {
  sku: string;
  /** Null for a plain variant. */
  components: readonly { variantId: number; sku: string; quantity: number }[] | null;
  listings: readonly ListingRef[];
}

export interface StoredListingQuantity {
  quantity: number;
  preorderQuantity: number | null;
  preorderEarliestAt: EpochMs | null;
  preorderLatestAt: EpochMs | null;
  ruleVersion: number | null;
}

export interface AvailabilityContext {
  ruleSet: RuleSet;
  ruleVersion: number | null;
  channels: ReadonlyMap<string, ChannelDefinition>;
  /** Every location: id -> code and kind. */
  locations: ReadonlyMap<number, { code: string; kind: LocationKindName }>;
  /** The variants to compute (plain or bundle) with their listings and components. */
  variants: ReadonlyMap<number, AvailabilityVariant>;
  /** Bundles containing a component: component variant id -> bundle variant ids. */
  bundlesByComponent: ReadonlyMap<number, readonly number[]>;
  /** Stored levels, all locations, of every variant read (the variants and their components). */
  levels: ReadonlyMap<number, readonly LevelState[]>;
  /** Open purchase-order lines still expected, by variant id. */
  incoming: ReadonlyMap<number, readonly { locationId: number; quantity: number; expectedAt: EpochMs | null }[]>;
  /** Stored quantities, by listing id. */
  current: ReadonlyMap<string, StoredListingQuantity>;
}

export interface ListingQuantityWrite extends StoredListingQuantity {
  listingId: string;
  variantId: number;
  channelCode: string;
  computedAt: EpochMs;
}

/** Variants whose listings a change to these variants' levels affects: themselves and bundles containing them. */
export function affectedVariants(
  changed: Iterable<number>,
  bundlesByComponent: ReadonlyMap<number, readonly number[]>,
): Set<number> {
  const out = new Set<number>();
  for (const variantId of changed) {
    out.add(variantId);
    for (const bundleId of bundlesByComponent.get(variantId) ?? []) out.add(bundleId);
  }
  return out;
}

/**
 * Compute the listings of `variantIds`. `levelsOf` gives a variant's current levels (the
 * stored ones, or the batch's newer ones). Returns every listing's result.
 */
export function computeListings(
  context: AvailabilityContext,
  variantIds: Iterable<number>,
  levelsOf: (variantId: number) => readonly LevelState[],
  now: EpochMs,
  explain = false,
): { variantId: number; sku: string; result: ListingAvailability }[] {
  const out: { variantId: number; sku: string; result: ListingAvailability }[] = [];
  const byCode = (variantId: number) => {
    const map = new Map<string, LocationLevel>();
    for (const level of levelsOf(variantId)) {
      const location = context.locations.get(level.locationId);
      if (location) map.set(location.code, { available: available(level), lastCountAt: level.lastCountAt });
    }
    return map;
  };
  for (const variantId of variantIds) {
    const variant = context.variants.get(variantId);
    if (!variant || variant.listings.length === 0) continue;
    const velocityByLocation = new Map<string, number>();
    const sources = variant.components ? variant.components.map((component) => component.variantId) : [variantId];
    for (const source of sources) {
      for (const level of levelsOf(source)) {
        const code = context.locations.get(level.locationId)?.code;
        if (code === undefined) continue;
        // A bundle sells as fast as its components do: the sum is a conservative proxy.
        velocityByLocation.set(
          code,
          (velocityByLocation.get(code) ?? 0) + decayedRate({ rate: level.velocityRate, at: level.velocityAt }, now),
        );
      }
    }
    const results = computeVariantAvailability(
      {
        sku: variant.sku,
        levels: variant.components ? new Map() : byCode(variantId),
        components: variant.components?.map((component) => ({
          sku: component.sku,
          quantity: component.quantity,
          levels: byCode(component.variantId),
        })),
        incoming: (context.incoming.get(variantId) ?? []).map((line) => ({
          locationCode: context.locations.get(line.locationId)?.code ?? '',
          quantity: line.quantity,
          expectedAt: line.expectedAt,
        })),
        velocityByLocation,
        listings: variant.listings.filter((listing) => context.channels.has(listing.channelCode)),
        channels: context.channels,
        ruleSet: context.ruleSet,
        ruleVersion: context.ruleVersion ?? 0,
        now,
      },
      explain,
    );
    for (const result of results) out.push({ variantId, sku: variant.sku, result });
  }
  return out;
}

export function toWrite(
  variantId: number,
  result: ListingAvailability,
  ruleVersion: number | null,
  now: EpochMs,
): ListingQuantityWrite {
  return {
    listingId: result.listingId,
    variantId,
    channelCode: result.channelCode,
    quantity: result.quantity,
    preorderQuantity: result.preorder?.quantity ?? null,
    preorderEarliestAt: result.preorder?.earliest_at ? Date.parse(result.preorder.earliest_at) : null,
    preorderLatestAt: result.preorder?.latest_at ? Date.parse(result.preorder.latest_at) : null,
    ruleVersion,
    computedAt: now,
  };
}

/**
 * Whether a channel would be shown something else: the quantity or the preorder offer differs
 * from what is stored (nothing stored counts as 0 and no preorder). A new rule version alone is
 * not a change here, although the row is rewritten to record it. The rule-set dry run and the
 * activation's report both count with this, so the activation changes what the dry run said.
 */
export function showsDifferently(
  stored: StoredListingQuantity | undefined,
  next: Omit<StoredListingQuantity, 'ruleVersion'>,
): boolean {
  return (
    (stored?.quantity ?? 0) !== next.quantity ||
    (stored?.preorderQuantity ?? null) !== next.preorderQuantity ||
    (stored?.preorderEarliestAt ?? null) !== next.preorderEarliestAt ||
    (stored?.preorderLatestAt ?? null) !== next.preorderLatestAt
  );
}

/** Of `writes`, those a channel would be shown differently ({@link showsDifferently}). */
export function countShownChanges(context: AvailabilityContext, writes: readonly ListingQuantityWrite[]): number {
  return writes.filter((write) => showsDifferently(context.current.get(write.listingId), write)).length;
}

/** Only what changed is written: an unchanged listing produces no row (and, later, no push). */
export function changedWrites(
  context: AvailabilityContext,
  results: readonly { variantId: number; result: ListingAvailability }[],
  now: EpochMs,
): ListingQuantityWrite[] {
  const writes: ListingQuantityWrite[] = [];
  for (const { variantId, result } of results) {
    const next = toWrite(variantId, result, context.ruleVersion, now);
    const stored = context.current.get(result.listingId);
    if (
      stored &&
      stored.quantity === next.quantity &&
      stored.preorderQuantity === next.preorderQuantity &&
      stored.preorderEarliestAt === next.preorderEarliestAt &&
      stored.preorderLatestAt === next.preorderLatestAt &&
      stored.ruleVersion === next.ruleVersion
    ) {
      continue;
    }
    writes.push(next);
  }
  return writes;
}
