/**
 * Rule sets: what each channel may show, as data. A rule set is versioned as a whole (every
 * change makes a new version; activation and rollback pick a version). The JSON shape is the
 * API's (snake_case), validated for shape at the edge and for meaning here (pure).
 *
 * ```json
 * {
 *   "defaults": { "buffer": { "units": 1, "dynamic": { "safety_factor": 1.5, "ceiling": 10 } } },
 *   "channels": {
 *     "bol":  { "cap": 5, "exclude_locations": ["STORE-UTR"] },
 *     "b2b":  { "allocation": { "units": 10 } },
 *     "shop": { "pickup": { "count_max_age_hours": 24 }, "preorder": { "within_days": 7 } }
 *   },
 *   "low_stock": { "threshold": 3, "listings_max": 1 }
 * }
 * ```
 */

export interface BufferRules {
  /** Fixed units held back. */
  units?: number | undefined;
  /** Percentage of the pool held back (0-100). */
  percent?: number | undefined;
  /** Show zero while the pool is at or below this many units. */
  zero_at_or_below?: number | undefined;
  /**
   * Velocity buffer: units sold per second x the channel's p95 push latency (seconds) x
   * safety_factor, rounded, clamped to [floor, ceiling]. A slow channel keeps a larger
   * margin, a fast one a smaller one.
   */
  dynamic?: { safety_factor: number; floor?: number | undefined; ceiling?: number | undefined } | undefined;
}

export interface ChannelRules {
  buffer?: BufferRules | undefined;
  /** Never show more than this. */
  cap?: number | null | undefined;
  /** Stock ring-fenced for THIS channel: other channels' listings of the variant cannot show it. */
  allocation?: { units?: number | undefined; percent?: number | undefined } | undefined;
  /** Location codes that do not feed this channel (besides those not linked to it at all). */
  exclude_locations?: string[] | undefined;
  /** Store locations feed this channel only with a cycle count younger than this. */
  pickup?: { count_max_age_hours: number } | undefined;
  /** Offer confirmed incoming stock expected within this many days as pre-order (never as stock). */
  preorder?: { within_days: number; cap?: number | undefined } | undefined;
}

export interface RuleSet {
  defaults?: ChannelRules | undefined;
  /** By channel code. */
  channels?: Record<string, ChannelRules> | undefined;
  /** When a variant's pool is at or below `threshold`, only its `listings_max` best-ranked listings show stock. */
  low_stock?: { threshold: number; listings_max: number } | undefined;
}

export interface RuleProblem {
  path: string;
  message: string;
}

const merged = new WeakMap<RuleSet, Map<string, ChannelRules>>();

/**
 * The rules of one channel: its override merged over the defaults (buffer merged field by
 * field). Memoised per rule set object (rule sets are immutable once created): the bulk
 * recompute asks for it a million times.
 */
export function channelRules(ruleSet: RuleSet, channelCode: string): ChannelRules {
  let byChannel = merged.get(ruleSet);
  if (!byChannel) {
    byChannel = new Map();
    merged.set(ruleSet, byChannel);
  }
  let rules = byChannel.get(channelCode);
  if (!rules) {
    rules = mergeChannelRules(ruleSet, channelCode);
    byChannel.set(channelCode, rules);
  }
  return rules;
}

function mergeChannelRules(ruleSet: RuleSet, channelCode: string): ChannelRules {
  const defaults = ruleSet.defaults ?? {};
  const own = ruleSet.channels?.[channelCode] ?? {};
  return {
    ...defaults,
    ...own,
    buffer: defaults.buffer || own.buffer ? { ...defaults.buffer, ...own.buffer } : undefined,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPercent(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100;
}

function checkChannelRules(
  rules: ChannelRules,
  path: string,
  locationCodes: ReadonlySet<string>,
  problems: RuleProblem[],
): void {
  const buffer = rules.buffer;
  if (buffer) {
    if (buffer.units !== undefined && !isCount(buffer.units))
      problems.push({ path: `${path}/buffer/units`, message: 'must be a whole number >= 0' });
    if (buffer.percent !== undefined && !isPercent(buffer.percent))
      problems.push({ path: `${path}/buffer/percent`, message: 'must be between 0 and 100' });
    if (buffer.zero_at_or_below !== undefined && !isCount(buffer.zero_at_or_below)) {
      problems.push({ path: `${path}/buffer/zero_at_or_below`, message: 'must be a whole number >= 0' });
    }
    const dynamic = buffer.dynamic;
    if (dynamic) {
      if (
        !(
          typeof dynamic.safety_factor === 'number' &&
          Number.isFinite(dynamic.safety_factor) &&
          dynamic.safety_factor >= 0 &&
          dynamic.safety_factor <= 100
        )
      ) {
        problems.push({ path: `${path}/buffer/dynamic/safety_factor`, message: 'must be between 0 and 100' });
      }
      if (dynamic.floor !== undefined && !isCount(dynamic.floor))
        problems.push({ path: `${path}/buffer/dynamic/floor`, message: 'must be a whole number >= 0' });
      if (dynamic.ceiling !== undefined && !isCount(dynamic.ceiling))
        problems.push({ path: `${path}/buffer/dynamic/ceiling`, message: 'must be a whole number >= 0' });
      if (isCount(dynamic.floor) && isCount(dynamic.ceiling) && dynamic.floor > dynamic.ceiling) {
        problems.push({ path: `${path}/buffer/dynamic`, message: 'floor must not exceed ceiling' });
      }
    }
  }
  if (rules.cap !== undefined && rules.cap !== null && !isCount(rules.cap))
    problems.push({ path: `${path}/cap`, message: 'must be a whole number >= 0' });
  if (rules.allocation) {
    const { units, percent } = rules.allocation;
    if (units !== undefined && !isCount(units))
      problems.push({ path: `${path}/allocation/units`, message: 'must be a whole number >= 0' });
    if (percent !== undefined && !isPercent(percent))
      problems.push({ path: `${path}/allocation/percent`, message: 'must be between 0 and 100' });
  }
  (rules.exclude_locations ?? []).forEach((code, index) => {
    if (!locationCodes.has(code))
      problems.push({ path: `${path}/exclude_locations/${index}`, message: `unknown location ${code}` });
  });
  const age = rules.pickup?.count_max_age_hours;
  if (rules.pickup && !(typeof age === 'number' && Number.isFinite(age) && age > 0 && age <= 24 * 365)) {
    problems.push({
      path: `${path}/pickup/count_max_age_hours`,
      message: 'must be a number of hours between 0 and 8760',
    });
  }
  if (rules.preorder) {
    if (!isCount(rules.preorder.within_days) || rules.preorder.within_days > 365) {
      problems.push({ path: `${path}/preorder/within_days`, message: 'must be a whole number of days, 0 to 365' });
    }
    if (rules.preorder.cap !== undefined && !isCount(rules.preorder.cap))
      problems.push({ path: `${path}/preorder/cap`, message: 'must be a whole number >= 0' });
  }
}

/**
 * Meaning checks a schema cannot make: numbers in range, known channels and locations, and
 * ring-fenced percentages that leave something for the others. Returns every problem.
 */
export function checkRuleSet(
  ruleSet: RuleSet,
  channelCodes: ReadonlySet<string>,
  locationCodes: ReadonlySet<string>,
): RuleProblem[] {
  const problems: RuleProblem[] = [];
  if (ruleSet.defaults) {
    checkChannelRules(ruleSet.defaults, '/defaults', locationCodes, problems);
    // Inherited by every channel, an allocation would have each channel fence stock off from all the others.
    if (ruleSet.defaults.allocation)
      problems.push({
        path: '/defaults/allocation',
        message: 'an allocation ring-fences stock for one channel: set it under channels/<code>',
      });
  }
  let allocatedPercent = 0;
  for (const [code, rules] of Object.entries(ruleSet.channels ?? {})) {
    if (!channelCodes.has(code)) problems.push({ path: `/channels/${code}`, message: `unknown channel ${code}` });
    checkChannelRules(rules, `/channels/${code}`, locationCodes, problems);
    allocatedPercent += rules.allocation?.percent ?? 0;
  }
  if (allocatedPercent > 100)
    problems.push({
      path: '/channels',
      message: `allocations ring-fence ${allocatedPercent}% of the stock, more than 100%`,
    });
  if (ruleSet.low_stock) {
    if (!isCount(ruleSet.low_stock.threshold))
      problems.push({ path: '/low_stock/threshold', message: 'must be a whole number >= 0' });
    if (!isCount(ruleSet.low_stock.listings_max) || ruleSet.low_stock.listings_max < 1) {
      problems.push({ path: '/low_stock/listings_max', message: 'must be a whole number >= 1' });
    }
  }
  return problems;
}
