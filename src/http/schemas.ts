import { Type, type Static, type TProperties } from '@sinclair/typebox';
import type { movementCommandTypes } from '../core/ledger/command.js';
import { limits } from '../core/limits.js';
import { locationKinds } from '../store/ledger-store.js';
import { Closed, Identifier, Limit, LocationCode, Nullable, Sku, Text, Timestamp } from '../api/schema-primitives.js';
import { errorRegistry } from './errors.js';
import { ActiveQuery } from '../api/list-schemas.js';

/**
 * Request and response schemas of the /v1 API (TypeBox -> JSON Schema -> OpenAPI 3.1).
 *
 * Request bodies are validated by an Ajv that neither coerces nor strips (see server.ts), and
 * every body object is closed (`additionalProperties: false`): a field we do not know is a
 * 400, never silently dropped (OWASP API3, mass assignment). Every string and array is bounded
 * by core/limits.ts, where every bound of the product lives (docs/ARCHITECTURE.md, The tree).
 *
 * Response schemas double as serializers (fast-json-stringify drops what they do not list),
 * so they list every field the store's views carry.
 */

// --- building blocks (the shared ones are in src/api/schema-primitives.ts) ---------------------

function KeyOf(description: string) {
  return Type.String({ minLength: 1, maxLength: limits.idempotencyKeyLengthMax, description });
}
const Key = KeyOf('Idempotency key, unique per business event (same key + same payload = the first answer)');
function QuantityOf(description?: string) {
  return Type.Integer({ minimum: 1, maximum: limits.quantityMax, ...(description ? { description } : {}) });
}
const Quantity = QuantityOf();
const SignedQuantity = Type.Integer({
  minimum: -limits.quantityMax,
  maximum: limits.quantityMax,
  not: { const: 0 },
  description: 'Signed, non-zero',
});
/** Counters stored as BIGINT: bounded so that they stay exact JavaScript numbers. */
const Counter = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const LineNumber = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
/** RFC 3339 with a time zone; the server turns it into epoch milliseconds. */
const DateTime = Type.String({ format: 'date-time', maxLength: 64 });
const Bucket = Type.Union([Type.Literal('on_hand'), Type.Literal('damaged'), Type.Literal('quarantine')]);
const Source = Closed({
  system: Type.String({ minLength: 1, maxLength: limits.codeLengthMax, description: 'The sending system' }),
  reference: Type.Optional(Text),
});

// --- catalogue ---------------------------------------------------------------------------------

const Component = Closed({ sku: Sku, quantity: Quantity });

export const VariantItem = Closed({
  sku: Sku,
  name: Text,
  barcode: Type.Optional(Identifier),
  product_group: Type.Optional(Identifier),
  attributes: Type.Optional(
    Type.Record(Type.String(), Type.String({ maxLength: limits.textLengthMax }), {
      maxProperties: limits.variantAttributesMax,
      propertyNames: { minLength: 1, maxLength: limits.codeLengthMax },
    }),
  ),
  components: Type.Optional(
    Type.Array(Component, { maxItems: limits.bundleComponentsMax, description: 'Present and non-empty: a bundle' }),
  ),
});
export type VariantItem = Static<typeof VariantItem>;

export const VariantsBody = Closed({
  variants: Type.Array(VariantItem, { minItems: 1, maxItems: limits.upsertBatchSizeMax }),
});
export type VariantsBody = Static<typeof VariantsBody>;

export const LocationItem = Closed({
  code: LocationCode,
  name: Text,
  kind: Type.Union(locationKinds.map((kind) => Type.Literal(kind))),
});
export type LocationItem = Static<typeof LocationItem>;

export const LocationsBody = Closed({
  locations: Type.Array(LocationItem, { minItems: 1, maxItems: limits.upsertBatchSizeMax }),
});
export type LocationsBody = Static<typeof LocationsBody>;

export const UpsertReport = Type.Object({ created: Type.Integer(), updated: Type.Integer() });

export const VariantView = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  barcode: Nullable(Type.String()),
  product_group: Nullable(Type.String()),
  attributes: Type.Record(Type.String(), Type.String()),
  is_bundle: Type.Boolean(),
  components: Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Integer() })),
  created_at: Timestamp,
  updated_at: Timestamp,
  active: Type.Optional(Type.Literal(false, { description: 'Present, false, once deactivated' })),
});
export type VariantView = Static<typeof VariantView>;

export const VariantPage = Type.Object({
  items: Type.Array(VariantView),
  next_after: Nullable(Type.String({ description: 'Pass as `after` for the next page; null at the end' })),
});

export const LocationView = Type.Object({
  code: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  active: Type.Optional(Type.Literal(false, { description: 'Present, false, once deactivated' })),
});
export type LocationView = Static<typeof LocationView>;

export const LocationList = Type.Object({ items: Type.Array(LocationView) });

// --- purchase orders -----------------------------------------------------------------------------

export const PurchaseOrderBody = Closed({
  supplier: Type.Optional(Text),
  status: Type.Optional(
    Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('cancelled')], { default: 'open' }),
  ),
  lines: Type.Array(
    Closed({
      line: LineNumber,
      sku: Sku,
      location: LocationCode,
      quantity: Quantity,
      expected_at: Type.Optional(DateTime),
    }),
    { minItems: 1, maxItems: limits.purchaseOrderLinesMax },
  ),
});
export type PurchaseOrderBody = Static<typeof PurchaseOrderBody>;

export const PurchaseOrderView = Type.Object({
  id: Type.String(),
  supplier: Nullable(Type.String()),
  status: Type.String(),
  lines: Type.Array(
    Type.Object({
      line: Type.Integer(),
      sku: Type.String(),
      location: Type.String(),
      quantity_ordered: Type.Integer(),
      quantity_received: Type.Integer(),
      incoming: Type.Integer({ description: 'Still expected: ordered - received while the order is open, else 0' }),
      expected_at: Nullable(Timestamp),
    }),
  ),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type PurchaseOrderView = Static<typeof PurchaseOrderView>;

// --- movements -------------------------------------------------------------------------------------

function movement<T extends (typeof movementCommandTypes)[number], P extends TProperties>(
  type: T,
  properties: P,
  description: string,
) {
  return Closed(
    {
      key: Key,
      type: Type.Literal(type),
      sku: Sku,
      location: LocationCode,
      occurred_at: Type.Optional(DateTime),
      source: Type.Optional(Source),
      note: Type.Optional(Text),
      ...properties,
    },
    { title: type, description },
  );
}

const quantityOnly = { quantity: Quantity };

const movementItems = [
  movement(
    'receipt',
    { quantity: Quantity, purchase_order: Type.Optional(Closed({ id: Identifier, line: LineNumber })) },
    'Goods received into on_hand',
  ),
  movement('adjustment', { quantity: SignedQuantity, reason: Text }, 'A correction of on_hand, with its reason'),
  movement(
    'count',
    {
      on_hand: Type.Integer({ minimum: 0, maximum: limits.countOnHandMax }),
      source_version: Type.Optional(Counter),
    },
    'An absolute on_hand counted at occurred_at',
  ),
  movement(
    'transfer_out',
    { quantity: Quantity, to_location: LocationCode },
    'Stock leaving for another location (a request)',
  ),
  movement(
    'transfer_in',
    { quantity: Quantity, from_location: Type.Optional(LocationCode) },
    'Stock arriving from a transfer',
  ),
  movement('status', { quantity: Quantity, from: Bucket, to: Bucket }, 'Units moved between buckets'),
  movement('order', quantityOnly, 'A sales order: reserves units'),
  movement('cancellation', quantityOnly, 'An order cancelled: releases reserved units'),
  movement('shipment', quantityOnly, 'An order shipped: units leave reserved and on_hand'),
  movement('sale', quantityOnly, 'A sale without an order (point of sale): units leave on_hand'),
  movement(
    'return',
    { quantity: Quantity, to: Type.Optional(Bucket) },
    'Units returned; quarantine unless `to` says otherwise',
  ),
] as const;

/**
 * One movement, discriminated by `type`. Written as `oneOf` + `discriminator` (OpenAPI's and
 * Ajv's form) rather than TypeBox's `anyOf`, so that a bad item reports the errors of its own
 * type only, not of all eleven.
 */
export const MovementItem = Type.Unsafe<Static<(typeof movementItems)[number]>>({
  type: 'object',
  discriminator: { propertyName: 'type' },
  oneOf: [...movementItems],
});
export type MovementItem = Static<(typeof movementItems)[number]>;

export const MovementsBody = Closed({
  movements: Type.Array(MovementItem, { minItems: 1, maxItems: limits.movementsPerRequestMax }),
});
export type MovementsBody = Static<typeof MovementsBody>;

const Quantities = {
  on_hand: Type.Integer(),
  reserved: Type.Integer(),
  damaged: Type.Integer(),
  quarantine: Type.Integer(),
  in_transit: Type.Integer(),
};

export const LevelView = Type.Object({
  sku: Type.String(),
  location: Type.String(),
  ...Quantities,
  available: Type.Integer(),
  version: Type.Integer(),
});

export const ReservationView = Type.Object({
  id: Type.String(),
  key: Type.String(),
  sku: Type.String(),
  location: Type.String(),
  quantity: Type.Integer(),
  committed_quantity: Type.Integer(),
  status: Type.Union(['pending', 'committed', 'released', 'expired'].map((status) => Type.Literal(status))),
  expires_at: Nullable(Timestamp),
  created_at: Timestamp,
  resolved_at: Nullable(Timestamp),
  channel: Type.Optional(
    Type.String({ description: 'The channel a reservation by channel was made for; absent for one at a location' }),
  ),
});

/** The ledger's answer to one command, exactly as stored and replayed. */
export const CommandAnswer = Type.Object({
  key: Type.String(),
  status: Type.String({
    description:
      'applied | exists (replay of an applied key) | conflict | unknown_variant | unknown_location | unknown_reservation | invalid | reservation_expired | reservation_closed | stale | insufficient',
  }),
  detail: Type.Optional(Type.String()),
  movement_ids: Type.Optional(Type.Array(Type.Integer())),
  level: Type.Optional(LevelView),
  reservation: Type.Optional(ReservationView),
  oversold: Type.Optional(Type.Integer({ description: 'Units this fact sold beyond what was available' })),
  replayed: Type.Optional(
    Type.Boolean({ description: 'This is the stored answer to an earlier command with this key' }),
  ),
});

export const MovementsResult = Type.Object({ results: Type.Array(CommandAnswer) });

export const MovementView = Type.Object({
  id: Type.Integer(),
  key: Type.String(),
  leg: Type.Integer(),
  type: Type.String(),
  sku: Type.String(),
  location: Type.String(),
  counterpart_location: Nullable(Type.String()),
  quantities: Type.Object(Quantities),
  resulting: Type.Object({ ...Quantities, available: Type.Integer() }),
  version: Type.Integer(),
  oversold: Type.Integer(),
  reason: Nullable(Type.String()),
  source: Type.Object({ system: Nullable(Type.String()), reference: Nullable(Type.String()) }),
  reservation_id: Nullable(Type.String()),
  purchase_order: Nullable(Type.Object({ id: Type.String(), line: Type.Integer() })),
  occurred_at: Timestamp,
  recorded_at: Timestamp,
});

export const MovementPage = Type.Object({
  items: Type.Array(MovementView),
  next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null at the end' })),
});

/** An oversell, with the channel order line it was booked for (GET /v1/oversells). */
export const OversellView = Type.Object({
  ...MovementView.properties,
  channel: Type.Union([Type.String(), Type.Null()], {
    description: 'The onhand channel whose order line this is; null for a fact not from a channel order line',
  }),
  order_line: Type.Union([Type.String(), Type.Null()], {
    description: "That order line's key (`<platform>:<account>:<order id>:<line id>`); null likewise",
  }),
});

export const OversellPage = Type.Object({
  items: Type.Array(OversellView),
  next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null at the end' })),
});

// --- reservations ----------------------------------------------------------------------------------

export const ReservationBody = Closed({
  key: Key,
  sku: Sku,
  location: Type.Optional({ ...LocationCode, description: 'Reserve at this location (or give `channel`)' }),
  channel: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: limits.codeLengthMax,
      description:
        "Reserve what this channel may sell (or give `location`): its pool less other channels' ring-fenced stock, placed in its locations' priority order",
    }),
  ),
  quantity: Quantity,
  expires_in_s: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: limits.reservationExpirySecondsMax,
      description: 'Absent: held until committed or released',
    }),
  ),
  source: Type.Optional(Source),
  note: Type.Optional(Text),
});
export type ReservationBody = Static<typeof ReservationBody>;

const resolutionKey = Type.Optional(
  KeyOf('Idempotency key; default `commit:<id>` / `release:<id>`, so a retried resolution is idempotent'),
);

export const CommitBody = Closed({
  key: resolutionKey,
  quantity: Type.Optional(QuantityOf('Units sold; absent = all. The rest is released.')),
  order: Type.Optional(
    Closed(
      { order_id: Identifier, line_id: Identifier },
      {
        description:
          "A reservation made by channel only: the channel order line the committed units become (the channel's own order id and line id). The line then holds them, so the channel's order event for it books nothing again.",
      },
    ),
  ),
});
export type CommitBody = Static<typeof CommitBody>;

export const ReleaseBody = Closed({ key: resolutionKey });
export type ReleaseBody = Static<typeof ReleaseBody>;

export const OrderLineTaken = Type.Object({
  channel: Type.String(),
  line_key: Type.String({ description: '`<platform>:<account>:<order id>:<line id>`' }),
  order_id: Type.String(),
  line_id: Type.String(),
  status: Type.Union(['open', 'closed', 'info', 'blocked'].map((status) => Type.Literal(status))),
  reason: Nullable(Type.String()),
});

export const ReservationResult = Type.Object({
  reservation: ReservationView,
  level: LevelView,
  order_line: Type.Optional(OrderLineTaken),
  parts: Type.Optional(
    Type.Array(Type.Object({ reservation: ReservationView, level: LevelView }), {
      description:
        'A reservation by channel: one part per location it was placed at, in priority order (the first is `reservation`); each part is committed or released by its own id',
    }),
  ),
});

// --- stock -----------------------------------------------------------------------------------------

const StockTotals = Type.Object({ ...Quantities, available: Type.Integer(), incoming: Type.Integer() });

export const StockView = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  is_bundle: Type.Boolean(),
  components: Type.Optional(Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Integer() }))),
  locations: Type.Array(
    Type.Object({
      location: Type.String(),
      ...Quantities,
      available: Type.Integer(),
      version: Type.Integer(),
      last_count_at: Nullable(Timestamp),
      incoming: Type.Integer(),
    }),
  ),
  total: StockTotals,
  incoming: Type.Array(
    Type.Object({
      purchase_order: Type.String(),
      line: Type.Integer(),
      location: Type.String(),
      quantity: Type.Integer(),
      expected_at: Nullable(Timestamp),
    }),
  ),
});

// --- parameters ---------------------------------------------------------------------------------------

export const SkuParams = Closed({ sku: Sku });
export const IdParams = Closed({ id: Identifier });
export type SkuParams = Static<typeof SkuParams>;
export type IdParams = Static<typeof IdParams>;

/** Cursors are short base64url strings we issued; the bound only stops abuse. */
const Cursor = Type.String({ minLength: 1, maxLength: 64 });

export const PageQuery = Closed({ cursor: Type.Optional(Cursor), limit: Limit });
export type PageQuery = Static<typeof PageQuery>;

export const MovementsQuery = Closed({
  location: Type.Optional(LocationCode),
  cursor: Type.Optional(Cursor),
  limit: Limit,
});
export type MovementsQuery = Static<typeof MovementsQuery>;

export const VariantListQuery = Closed({ after: Type.Optional(Sku), limit: Limit, active: ActiveQuery });
export type VariantListQuery = Static<typeof VariantListQuery>;

// --- errors and health ------------------------------------------------------------------------------

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'https://onhand.dev/errors/<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'ONH_ERR_*, see docs/errors.md' }),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);

export const HealthStatus = Type.Object({ status: Type.String() });

/**
 * OpenAPI response entries for problems with these statuses, each describing the codes the
 * registry maps to it.
 */
export function problemResponses(statuses: readonly number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = Object.entries(errorRegistry).filter(([, entry]) => entry.status === status);
      const description = codes.map(([code, entry]) => `${code}: ${entry.title}`).join('; ');
      return [status, { description, content: { 'application/problem+json': { schema: Problem } } }];
    }),
  );
}
