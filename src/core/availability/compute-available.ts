import assert from 'node:assert';
import type { EpochMs } from '../clock.js';
import { channelRules, type ChannelRules, type RuleSet } from './rule-set.js';

/**
 * What each listing of ONE variant may show on its channel: a pure function of the ledger's
 * levels, incoming stock, sales velocity, the channels and the active rule set. One variant's
 * listings are computed together because allocations and low-stock ranking compare them.
 *
 * For one listing, in order (each step is recorded in the explanation):
 * 1. pool: per channel location in priority order, max(0, available) - or, for a bundle, the
 *    kits its components allow at that location, min over components of
 *    floor(available / quantity per kit); excluded locations and stores without a fresh cycle
 *    count (pickup rule) contribute nothing;
 * 2. shares: other channels' ring-fenced allocation percentages and this channel's percentage
 *    buffer are held back together as floor(pool x (100 - percent) / 100), so that more stock
 *    never shows less (two separate roundings could);
 * 3. units: other channels' ring-fenced units, this channel's fixed buffer and its velocity
 *    buffer (expected units sold during the channel's p95 push latency, rounded) are subtracted;
 * 4. zero threshold: zero while the pool is at or below `zero_at_or_below`;
 * 5. low stock: when the pool is at or below the rule set's threshold, only the best-ranked
 *    listings of the variant show stock;
 * 6. cap; then the result is clamped to [0, pool] - an integer, never negative, never above
 *    the pool.
 * Pre-order is separate: confirmed incoming stock at the channel's locations expected within
 * N days, with its date range, never mixed into the in-stock quantity.
 */

export type LocationKindName = 'warehouse' | 'store' | 'dropship' | '3pl' | 'marketplace_fulfilment';

export interface LocationLevel {
  /** on_hand - reserved, with expired holds counted as released; may be negative. */
  available: number;
  lastCountAt: EpochMs | null;
}

export interface ChannelDefinition {
  code: string;
  /** Locations that feed the channel, in priority order (first = preferred). */
  locations: readonly { code: string; kind: LocationKindName }[];
  /** Measured p95 latency from ledger commit to channel acknowledgement. */
  pushLatencyP95Ms: number;
}

export interface ListingRef {
  listingId: string;
  channelCode: string;
  /** Lower is more important (own shop 1, marketplace 5...). Ties keep listing id order. */
  rank: number;
}

export interface VariantAvailabilityInput {
  sku: string;
  /** Plain variant: levels by location code. Ignored for a bundle. */
  levels: ReadonlyMap<string, LocationLevel>;
  /** Present for a bundle: its components with their levels. */
  components?: readonly { sku: string; quantity: number; levels: ReadonlyMap<string, LocationLevel> }[] | undefined;
  /** Open purchase-order quantities still expected (plain variants only). */
  incoming: readonly { locationCode: string; quantity: number; expectedAt: EpochMs | null }[];
  /** Units sold per second, by location code (decayed rates, see velocity.ts). */
  velocityByLocation: ReadonlyMap<string, number>;
  listings: readonly ListingRef[];
  channels: ReadonlyMap<string, ChannelDefinition>;
  ruleSet: RuleSet;
  ruleVersion: number;
  now: EpochMs;
}

export type ExplainStep =
  | {
      step: 'location';
      location: string;
      available: number;
      contributes: number;
      excluded?: string;
      limited_by?: string;
    }
  | { step: 'pool'; units: number }
  | { step: 'shares'; percent: number; held_back: number; parts: { source: string; percent: number }[] }
  | { step: 'allocation'; channel: string; units: number }
  | { step: 'buffer'; kind: 'fixed' | 'dynamic'; units: number; detail?: string }
  | { step: 'zero_threshold'; at_or_below: number; applied: boolean }
  | { step: 'low_stock'; threshold: number; listings_max: number; position: number; applied: boolean }
  | { step: 'cap'; cap: number; applied: boolean }
  | { step: 'result'; quantity: number };

export interface PreorderOffer {
  quantity: number;
  earliest_at: string | null;
  latest_at: string | null;
}

export interface ListingAvailability {
  listingId: string;
  channelCode: string;
  quantity: number;
  pool: number;
  preorder: PreorderOffer | null;
  ruleVersion: number;
  explanation: ExplainStep[];
}

const dayMs = 86_400_000;
const hourMs = 3_600_000;

/** The channel's locations in priority order, each eligible or with the reason it does not count. */
function eligibleLocations(channel: ChannelDefinition, rules: ChannelRules, input: VariantAvailabilityInput) {
  const excluded = new Set(rules.exclude_locations ?? []);
  const out: { code: string; excluded?: string }[] = [];
  for (const location of channel.locations) {
    let reason: string | undefined;
    if (excluded.has(location.code)) reason = 'excluded by rule';
    else if (rules.pickup && location.kind === 'store') {
      // A store counts only with a fresh cycle count: its POS on-hand drifts between counts.
      const lastCountAt = input.components
        ? Math.min(
            ...input.components.map(
              (component) => component.levels.get(location.code)?.lastCountAt ?? Number.NEGATIVE_INFINITY,
            ),
          )
        : (input.levels.get(location.code)?.lastCountAt ?? Number.NEGATIVE_INFINITY);
      if (lastCountAt < input.now - rules.pickup.count_max_age_hours * hourMs)
        reason = 'no cycle count within the pickup age';
    }
    out.push(reason === undefined ? { code: location.code } : { code: location.code, excluded: reason });
  }
  return out;
}

/** Units one location contributes: its available stock, or for a bundle the kits it can build. */
function contribution(
  code: string,
  input: VariantAvailabilityInput,
): { available: number; units: number; limitedBy?: string } {
  if (!input.components) {
    const available = input.levels.get(code)?.available ?? 0;
    return { available, units: Math.max(0, available) };
  }
  let kits = Number.POSITIVE_INFINITY;
  let limitedBy: string | undefined;
  for (const component of input.components) {
    const allows = Math.floor(Math.max(0, component.levels.get(code)?.available ?? 0) / component.quantity);
    if (allows < kits) {
      kits = allows;
      limitedBy = component.sku;
    }
  }
  const units = Number.isFinite(kits) ? kits : 0;
  return { available: units, units, ...(limitedBy === undefined ? {} : { limitedBy }) };
}

function poolOf(
  channel: ChannelDefinition,
  rules: ChannelRules,
  input: VariantAvailabilityInput,
  steps: ExplainStep[] | null,
) {
  let pool = 0;
  const eligible: string[] = [];
  for (const location of eligibleLocations(channel, rules, input)) {
    if (location.excluded !== undefined) {
      steps?.push({
        step: 'location',
        location: location.code,
        available: 0,
        contributes: 0,
        excluded: location.excluded,
      });
      continue;
    }
    const { available, units, limitedBy } = contribution(location.code, input);
    steps?.push({
      step: 'location',
      location: location.code,
      available,
      contributes: units,
      ...(limitedBy === undefined ? {} : { limited_by: limitedBy }),
    });
    eligible.push(location.code);
    pool += units;
  }
  steps?.push({ step: 'pool', units: pool });
  return { pool, eligible };
}

function dynamicBuffer(
  rules: ChannelRules,
  channel: ChannelDefinition,
  eligible: readonly string[],
  input: VariantAvailabilityInput,
) {
  const dynamic = rules.buffer?.dynamic;
  if (!dynamic) return undefined;
  const velocity = eligible.reduce((sum, code) => sum + (input.velocityByLocation.get(code) ?? 0), 0);
  // Expected units sold while the channel still shows the old number, ROUNDED: rounding up
  // would keep a 1-unit buffer for hours after a single sale (the rate only decays towards 0).
  const raw = Math.round(velocity * (channel.pushLatencyP95Ms / 1000) * dynamic.safety_factor);
  const units = Math.min(dynamic.ceiling ?? Number.MAX_SAFE_INTEGER, Math.max(dynamic.floor ?? 0, raw));
  return {
    units,
    detail:
      `${velocity.toFixed(4)} units/s x ${(channel.pushLatencyP95Ms / 1000).toFixed(2)} s p95 x ${dynamic.safety_factor}` +
      ` = ${raw}, within [${dynamic.floor ?? 0}, ${dynamic.ceiling ?? 'no ceiling'}]`,
  };
}

function preorderOf(
  rules: ChannelRules,
  eligible: readonly string[],
  input: VariantAvailabilityInput,
): PreorderOffer | null {
  if (!rules.preorder || input.components) return null;
  const horizon = input.now + rules.preorder.within_days * dayMs;
  const places = new Set(eligible);
  const lines = input.incoming.filter(
    (line) =>
      places.has(line.locationCode) && line.expectedAt !== null && line.expectedAt <= horizon && line.quantity > 0,
  );
  const total = lines.reduce((sum, line) => sum + line.quantity, 0);
  const quantity = Math.min(total, rules.preorder.cap ?? total);
  if (quantity <= 0) return null;
  const dates = lines.map((line) => line.expectedAt!);
  // The expected dates as the purchase orders state them (a past-due line keeps its date): a
  // value that moved with `now` would rewrite every listing on every recompute.
  return {
    quantity,
    earliest_at: new Date(Math.min(...dates)).toISOString(),
    latest_at: new Date(Math.max(...dates)).toISOString(),
  };
}

/**
 * Every listing of one variant. `explain` = false skips building the explanation (the bulk
 * recompute path); the quantities are the same either way.
 */
export function computeVariantAvailability(input: VariantAvailabilityInput, explain = true): ListingAvailability[] {
  // Rank order among this variant's listings, for the low-stock rule.
  const ranked = [...input.listings].sort(
    (a, b) => a.rank - b.rank || (a.listingId < b.listingId ? -1 : a.listingId > b.listingId ? 1 : 0),
  );
  const position = new Map(ranked.map((listing, index) => [listing.listingId, index + 1]));
  // One allocation per channel that lists the variant (a channel listing it twice fences once).
  const allocations = new Map<string, { units: number; percent: number }>();
  // Channel-code order, so the explanation does not depend on the order listings were loaded.
  for (const listing of [...input.listings].sort((a, b) =>
    a.channelCode < b.channelCode ? -1 : a.channelCode > b.channelCode ? 1 : 0,
  )) {
    const allocation = channelRules(input.ruleSet, listing.channelCode).allocation;
    if (allocation && ((allocation.units ?? 0) > 0 || (allocation.percent ?? 0) > 0)) {
      allocations.set(listing.channelCode, { units: allocation.units ?? 0, percent: allocation.percent ?? 0 });
    }
  }

  return input.listings.map((listing) => {
    const steps: ExplainStep[] | null = explain ? [] : null;
    const channel = input.channels.get(listing.channelCode);
    assert(channel, `listing ${listing.listingId} names channel ${listing.channelCode}, which was not loaded`);
    const rules = channelRules(input.ruleSet, listing.channelCode);
    const { pool, eligible } = poolOf(channel, rules, input, steps);

    // 2. Shares held back together (monotone in pool).
    const parts: { source: string; percent: number }[] = [];
    for (const [channelCode, allocation] of allocations) {
      if (channelCode !== listing.channelCode && allocation.percent > 0)
        parts.push({ source: `allocation:${channelCode}`, percent: allocation.percent });
    }
    if ((rules.buffer?.percent ?? 0) > 0) parts.push({ source: 'buffer', percent: rules.buffer!.percent! });
    const percent = Math.min(
      100,
      parts.reduce((sum, part) => sum + part.percent, 0),
    );
    let quantity = Math.floor((pool * (100 - percent)) / 100 + 1e-9);
    if (parts.length > 0) steps?.push({ step: 'shares', percent, held_back: pool - quantity, parts });

    // 3. Units held back.
    for (const [channelCode, allocation] of allocations) {
      if (channelCode === listing.channelCode || allocation.units === 0) continue;
      quantity -= allocation.units;
      steps?.push({ step: 'allocation', channel: channelCode, units: allocation.units });
    }
    if ((rules.buffer?.units ?? 0) > 0) {
      quantity -= rules.buffer!.units!;
      steps?.push({ step: 'buffer', kind: 'fixed', units: rules.buffer!.units! });
    }
    const dynamic = dynamicBuffer(rules, channel, eligible, input);
    if (dynamic) {
      quantity -= dynamic.units;
      steps?.push({ step: 'buffer', kind: 'dynamic', units: dynamic.units, detail: dynamic.detail });
    }

    // 4. Zero threshold on the pool.
    const zeroAtOrBelow = rules.buffer?.zero_at_or_below;
    if (zeroAtOrBelow !== undefined && zeroAtOrBelow > 0) {
      const applied = pool <= zeroAtOrBelow;
      if (applied) quantity = 0;
      steps?.push({ step: 'zero_threshold', at_or_below: zeroAtOrBelow, applied });
    }

    // 5. Low stock: only the best-ranked listings keep showing it.
    const lowStock = input.ruleSet.low_stock;
    if (lowStock) {
      const at = position.get(listing.listingId)!;
      const applied = pool <= lowStock.threshold && at > lowStock.listings_max;
      if (applied) quantity = 0;
      steps?.push({
        step: 'low_stock',
        threshold: lowStock.threshold,
        listings_max: lowStock.listings_max,
        position: at,
        applied,
      });
    }

    // 6. Cap, then clamp.
    if (rules.cap !== undefined && rules.cap !== null) {
      const applied = quantity > rules.cap;
      if (applied) quantity = rules.cap;
      steps?.push({ step: 'cap', cap: rules.cap, applied });
    }
    quantity = Math.max(0, Math.min(pool, quantity));
    assert(
      Number.isSafeInteger(quantity) && quantity >= 0 && quantity <= pool,
      'a listing shows an integer in [0, pool]',
    );
    steps?.push({ step: 'result', quantity });
    return {
      listingId: listing.listingId,
      channelCode: listing.channelCode,
      quantity,
      pool,
      preorder: preorderOf(rules, eligible, input),
      ruleVersion: input.ruleVersion,
      explanation: steps ?? [],
    };
  });
}

/** The explanation as text, for the CLI (`onhand explain SKU --channel bol`). */
export function explainText(sku: string, result: ListingAvailability): string {
  const rules = result.ruleVersion > 0 ? `rule set v${result.ruleVersion}` : 'no rule set active';
  const lines = [`${sku} on ${result.channelCode} shows ${result.quantity} (${rules})`];
  for (const step of result.explanation) {
    switch (step.step) {
      case 'location':
        lines.push(
          step.excluded
            ? `  ${step.location}: not counted (${step.excluded})`
            : `  ${step.location}: available ${step.available}, contributes ${step.contributes}${step.limited_by ? ` (limited by component ${step.limited_by})` : ''}`,
        );
        break;
      case 'pool':
        lines.push(`  pool: ${step.units}`);
        break;
      case 'shares':
        lines.push(
          `  - ${step.held_back} held back as ${step.percent}% (${step.parts.map((part) => `${part.source} ${part.percent}%`).join(', ')})`,
        );
        break;
      case 'allocation':
        lines.push(`  - ${step.units} ring-fenced for channel ${step.channel}`);
        break;
      case 'buffer':
        lines.push(`  - ${step.units} ${step.kind} buffer${step.detail ? ` (${step.detail})` : ''}`);
        break;
      case 'zero_threshold':
        lines.push(`  zero at or below ${step.at_or_below}: ${step.applied ? 'applied, shows 0' : 'not reached'}`);
        break;
      case 'low_stock':
        lines.push(
          `  low stock (pool <= ${step.threshold}, best ${step.listings_max} listings): rank position ${step.position}, ${step.applied ? 'applied, shows 0' : 'not applied'}`,
        );
        break;
      case 'cap':
        lines.push(`  cap ${step.cap}: ${step.applied ? 'applied' : 'not reached'}`);
        break;
      case 'result':
        lines.push(`  = ${step.quantity}`);
        break;
    }
  }
  if (result.preorder) {
    lines.push(
      `  pre-order: ${result.preorder.quantity} expected ${result.preorder.earliest_at?.slice(0, 10)} to ${result.preorder.latest_at?.slice(0, 10)}`,
    );
  }
  return lines.join('\n');
}
