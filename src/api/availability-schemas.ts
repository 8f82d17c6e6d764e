import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ExplainStep } from '../core/availability/compute-available.js';
import type { RuleSet } from '../core/availability/rule-set.js';
import { limits } from '../core/limits.js';
import { platforms } from '../store/availability-store.js';
import { ActiveQuery } from './list-schemas.js';
import { Closed, Identifier, Limit, LocationCode, Nullable, Sku, Text, Timestamp } from './schema-primitives.js';

/**
 * Request and response schemas of the availability routes (channels, listings, rule sets,
 * availability, explain), in the style of src/http/schemas.ts: every request object is
 * closed, every string and array bounded, numbers typed.
 *
 * Rule sets are checked here for SHAPE only (closed objects, integers where the core wants
 * whole numbers). Their MEANING (a negative percentage, a cap below zero, an unknown channel
 * or location) is the core's `checkRuleSet`, run by the store, so that one function says what
 * a valid rule set is and every refusal of meaning is one 422 listing every problem with its
 * JSON pointer. A schema `minimum: 0` would split the same mistake between a 400 and a 422.
 */

// Bounds not yet in core/limits.ts (candidates for it; core/ is not this layer's to edit).
/** Locations feeding one channel, and locations one channel rule may exclude. */
const channelLocationsMax = 200;
/** Entries in a channel's settings. */
const channelSettingsMax = 50;
/** Entries in a listing's external_refs (Woo product id, variation id...). */
const externalRefsMax = 20;
/** Channels one rule set may name. */
const ruleSetChannelsMax = 1_000;
/** Longest measured push latency a channel may declare: one hour. */
const pushLatencyP95MsMax = 3_600_000;
/** Largest listing rank. */
const rankMax = 1_000_000;

/** Compile-time check that a schema's static type and a core type are the same, both ways. */
type Mirrors<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * A core type as its JSON reply carries it: an optional member the core sets to `undefined` is
 * absent on the wire (JSON.stringify drops it), which is how TypeBox types an optional member.
 */
type Serialized<T> = T extends readonly (infer E)[]
  ? Serialized<E>[]
  : T extends object
    ? { [K in keyof T]: Serialized<Partial<Pick<T, K>> extends Pick<T, K> ? Exclude<T[K], undefined> : T[K]> }
    : T;

const ChannelCode = Type.String({
  minLength: 1,
  maxLength: limits.codeLengthMax,
  description: 'Channel code, e.g. `bol`, `shop-nl`',
});
const ExternalId = Type.String({ minLength: 1, maxLength: limits.codeLengthMax });
const Count = Type.Integer({ description: 'Whole units; the rule-set check wants >= 0' });
const Percent = Type.Number({ description: 'Percentage; the rule-set check wants 0 to 100' });
const Integer = Type.Integer();
const Version = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

function Items<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item) });
}

// --- channels --------------------------------------------------------------------------------

const Platform = Type.Union(platforms.map((platform) => Type.Literal(platform)));

export const ChannelItem = Closed({
  code: ChannelCode,
  name: Text,
  platform: Platform,
  settings: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      maxProperties: channelSettingsMax,
      propertyNames: { minLength: 1, maxLength: limits.codeLengthMax },
      description:
        `Platform settings; \`connector\` holds the connector's fields, checked when stored. At most ` +
        `${limits.channelSettingsDepthMax} levels and ${limits.channelSettingsBytesMax} bytes as JSON. Shown by what ` +
        'each field is: secrets as `***` (an `env:NAME` reference as it is), URLs without userinfo, unknown keys as `***`',
    }),
  ),
  locations: Type.Array(LocationCode, {
    maxItems: channelLocationsMax,
    uniqueItems: true,
    description: 'Location codes that feed the channel, in priority order (first = preferred)',
  }),
  push_latency_p95_ms: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: pushLatencyP95MsMax,
      description: 'Measured p95 push latency, for the velocity buffer; default 2000',
    }),
  ),
});
export type ChannelItem = Static<typeof ChannelItem>;

export const ChannelsBody = Closed({
  channels: Type.Array(ChannelItem, { minItems: 1, maxItems: limits.upsertBatchSizeMax }),
});
export type ChannelsBody = Static<typeof ChannelsBody>;

export const ChannelView = Type.Object({
  code: Type.String(),
  name: Type.String(),
  platform: Type.String(),
  settings: Type.Record(Type.String(), Type.Unknown()),
  locations: Type.Array(Type.String()),
  push_latency_p95_ms: Integer,
  created_at: Timestamp,
  updated_at: Timestamp,
  active: Type.Optional(
    Type.Literal(false, { description: 'Present, false, once deactivated (no pushes, no intake)' }),
  ),
});
export type ChannelView = Static<typeof ChannelView>;

export const ChannelList = Items(ChannelView);

export const ChannelParams = Closed({ code: ChannelCode });
export type ChannelParams = Static<typeof ChannelParams>;

// --- listings --------------------------------------------------------------------------------

export const ListingItem = Closed({
  channel: ChannelCode,
  external_id: Type.String({
    minLength: 1,
    maxLength: limits.codeLengthMax,
    description:
      "The channel's id for the item: Bol offer id, Amazon seller SKU, Shopify inventory item id, Woo product/variation id",
  }),
  sku: Type.Optional(Sku),
  barcode: Type.Optional(Identifier),
  external_location_id: Type.Optional(Nullable(ExternalId)),
  external_refs: Type.Optional(
    Type.Record(Type.String(), Type.String({ maxLength: limits.codeLengthMax }), {
      maxProperties: externalRefsMax,
      propertyNames: { minLength: 1, maxLength: limits.codeLengthMax },
    }),
  ),
  rank: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: rankMax,
      description: 'Lower is more important when stock runs low; default 100',
    }),
  ),
});
export type ListingItem = Static<typeof ListingItem>;

export const ListingsBody = Closed({
  listings: Type.Array(ListingItem, { minItems: 1, maxItems: limits.upsertBatchSizeMax }),
});
export type ListingsBody = Static<typeof ListingsBody>;

export const UnmappedView = Type.Object({
  index: Type.Integer({ description: 'Index of the item in the request that reported it' }),
  channel: Type.String(),
  external_id: Type.String(),
  sku: Nullable(Type.String()),
  barcode: Nullable(Type.String()),
  reason: Type.String(),
});
export type UnmappedView = Static<typeof UnmappedView>;

export const ListingUpsertResult = Type.Object({
  created: Integer,
  updated: Integer,
  unmapped: Type.Array(UnmappedView, {
    description: 'Items that matched no variant: kept and listed by GET /v1/unmapped, never dropped',
  }),
});

export const UnmappedList = Items(Type.Object({ ...UnmappedView.properties, at: Timestamp }));

export const UnmappedQuery = Closed({ channel: Type.Optional(ChannelCode), limit: Limit });
export type UnmappedQuery = Static<typeof UnmappedQuery>;

export const MappingItem = Closed({ channel: ChannelCode, external_id: ExternalId, sku: Sku });
export type MappingItem = Static<typeof MappingItem>;

export const MappingsBody = Closed({
  mappings: Type.Array(MappingItem, { minItems: 1, maxItems: limits.upsertBatchSizeMax }),
});
export type MappingsBody = Static<typeof MappingsBody>;

export const ListingView = Type.Object({
  id: Type.String(),
  channel: Type.String(),
  sku: Type.String(),
  external_id: Type.String(),
  external_location_id: Nullable(Type.String()),
  external_refs: Type.Record(Type.String(), Type.String()),
  rank: Integer,
  matched_by: Type.Union([Type.Literal('mapping'), Type.Literal('sku'), Type.Literal('barcode')]),
  created_at: Timestamp,
  updated_at: Timestamp,
  active: Type.Optional(
    Type.Literal(false, { description: 'Present, false, once deactivated (not pushed, not counted in drift)' }),
  ),
});
export type ListingView = Static<typeof ListingView>;

export const ListingPage = Type.Object({
  items: Type.Array(ListingView),
  next_after: Nullable(Type.String({ description: 'Pass as `after` for the next page; null at the end' })),
});

export const ListingListQuery = Closed({
  channel: Type.Optional(ChannelCode),
  sku: Type.Optional(Sku),
  after: Type.Optional(Identifier),
  limit: Limit,
  active: ActiveQuery,
});
export type ListingListQuery = Static<typeof ListingListQuery>;

// --- rule sets (mirror core/availability/rule-set.ts) -----------------------------------------

const BufferRules = Closed({
  units: Type.Optional(Count),
  percent: Type.Optional(Percent),
  zero_at_or_below: Type.Optional(Count),
  dynamic: Type.Optional(
    Closed(
      { safety_factor: Type.Number(), floor: Type.Optional(Count), ceiling: Type.Optional(Count) },
      {
        description:
          "Units sold per second x the channel's p95 push latency x safety_factor, clamped to [floor, ceiling]",
      },
    ),
  ),
});

const ChannelRules = Closed({
  buffer: Type.Optional(BufferRules),
  cap: Type.Optional(Nullable(Count)),
  allocation: Type.Optional(Closed({ units: Type.Optional(Count), percent: Type.Optional(Percent) })),
  exclude_locations: Type.Optional(Type.Array(LocationCode, { maxItems: channelLocationsMax })),
  pickup: Type.Optional(Closed({ count_max_age_hours: Type.Number() })),
  preorder: Type.Optional(Closed({ within_days: Count, cap: Type.Optional(Count) })),
});

export const RuleSetDocument = Closed(
  {
    defaults: Type.Optional(ChannelRules),
    channels: Type.Optional(
      Type.Record(Type.String(), ChannelRules, {
        maxProperties: ruleSetChannelsMax,
        propertyNames: { minLength: 1, maxLength: limits.codeLengthMax },
        description: 'By channel code; merged over `defaults` (buffer field by field)',
      }),
    ),
    low_stock: Type.Optional(Closed({ threshold: Count, listings_max: Count })),
  },
  { description: 'A whole rule set (see core/availability/rule-set.ts)' },
);
const ruleSetMirrorsCore: Mirrors<Static<typeof RuleSetDocument>, Serialized<RuleSet>> = true;
void ruleSetMirrorsCore;

export const RuleSetCreateBody = Closed({ rules: RuleSetDocument, note: Type.Optional(Text) });
export type RuleSetCreateBody = Static<typeof RuleSetCreateBody>;

export const DryRunBody = Closed({
  rules: RuleSetDocument,
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: limits.pageSizeMax,
      description: `Most changes listed; default ${limits.pageSizeDefault}`,
    }),
  ),
});
export type DryRunBody = Static<typeof DryRunBody>;

export const ActivateBody = Closed({ note: Type.Optional(Text) });
export type ActivateBody = Static<typeof ActivateBody>;

export const VersionParams = Closed({ version: Version });
export type VersionParams = Static<typeof VersionParams>;

const ruleSetSummary = {
  version: Integer,
  author: Type.String({ description: 'The name of the token that created it' }),
  note: Nullable(Type.String()),
  created_at: Timestamp,
  active: Type.Boolean(),
  activated_at: Nullable(Timestamp),
};

export const RuleSetSummary = Type.Object(ruleSetSummary);
export type RuleSetSummary = Static<typeof RuleSetSummary>;
export const RuleSetView = Type.Object({ ...ruleSetSummary, rules: RuleSetDocument });
export type RuleSetView = Static<typeof RuleSetView>;
export const RuleSetList = Items(RuleSetSummary);

export const RuleSetEventView = Type.Object({
  version: Integer,
  action: Type.Union([Type.Literal('created'), Type.Literal('activated')]),
  author: Type.String(),
  note: Nullable(Type.String()),
  at: Timestamp,
});
export type RuleSetEventView = Static<typeof RuleSetEventView>;
export const RuleSetEventList = Items(RuleSetEventView);

export const DryRunReportView = Type.Object({
  base_version: Nullable(
    Type.Integer({ description: 'The active version compared against; null when none is active' }),
  ),
  listings: Integer,
  changed: Integer,
  changes: Type.Array(
    Type.Object({
      listing_id: Type.String(),
      channel: Type.String(),
      sku: Type.String(),
      current: Integer,
      proposed: Integer,
    }),
    { description: 'The first changes, biggest drops first' },
  ),
});
export type DryRunReportView = Static<typeof DryRunReportView>;

export const RecomputeReportView = Type.Object({
  variants: Integer,
  listings: Integer,
  changed: Integer,
  rule_version: Nullable(Integer),
});
export type RecomputeReportView = Static<typeof RecomputeReportView>;

// --- availability and explain ----------------------------------------------------------------

const PreorderView = Type.Object(
  { quantity: Integer, earliest_at: Nullable(Timestamp), latest_at: Nullable(Timestamp) },
  { description: 'Confirmed incoming stock offered as pre-order, never counted in quantity' },
);

export const ListingQuantityView = Type.Object({
  listing_id: Type.String(),
  channel: Type.String(),
  external_id: Type.String(),
  quantity: Integer,
  preorder: Nullable(PreorderView),
  rule_version: Integer,
  computed_at: Timestamp,
});
export type ListingQuantityView = Static<typeof ListingQuantityView>;

export const AvailabilityView = Type.Object({ sku: Type.String(), listings: Type.Array(ListingQuantityView) });

function Step<S extends string, P extends Parameters<typeof Type.Object>[0]>(step: S, properties: P) {
  return Type.Object({ step: Type.Literal(step), ...properties }, { additionalProperties: false, title: step });
}

const explainSteps = [
  Step('location', {
    location: Type.String(),
    available: Integer,
    contributes: Integer,
    excluded: Type.Optional(Type.String({ description: 'Why the location does not count' })),
    limited_by: Type.Optional(Type.String({ description: 'Bundle: the component that limits the kits here' })),
  }),
  Step('pool', { units: Integer }),
  Step('shares', {
    percent: Type.Number(),
    held_back: Integer,
    parts: Type.Array(Type.Object({ source: Type.String(), percent: Type.Number() }, { additionalProperties: false })),
  }),
  Step('allocation', { channel: Type.String(), units: Integer }),
  Step('buffer', {
    kind: Type.Union([Type.Literal('fixed'), Type.Literal('dynamic')]),
    units: Integer,
    detail: Type.Optional(Type.String()),
  }),
  Step('zero_threshold', { at_or_below: Integer, applied: Type.Boolean() }),
  Step('low_stock', { threshold: Integer, listings_max: Integer, position: Integer, applied: Type.Boolean() }),
  Step('cap', { cap: Integer, applied: Type.Boolean() }),
  Step('result', { quantity: Integer }),
] as const;

/** One step of an explanation, as the core records it (snake_case already). */
export const ExplainStepView = Type.Union([...explainSteps]);
const explainStepMirrorsCore: Mirrors<Static<typeof ExplainStepView>, ExplainStep> = true;
void explainStepMirrorsCore;

export const ExplanationView = Type.Object({
  listing_id: Type.String(),
  channel: Type.String(),
  sku: Type.String(),
  quantity: Type.Integer({ description: 'What the listing shows now, recomputed for this answer' }),
  stored_quantity: Nullable(
    Type.Integer({ description: 'What propagation pushes; equals quantity unless a recompute is pending' }),
  ),
  pool: Integer,
  preorder: Nullable(PreorderView),
  rule_version: Integer,
  explanation: Type.Array(ExplainStepView),
  text: Type.String({ description: 'The explanation as readable text (as `onhand explain` prints it)' }),
});
export type ExplanationView = Static<typeof ExplanationView>;
