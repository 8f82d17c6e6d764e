import { Type, type Static } from '@sinclair/typebox';
import { limits } from '../core/limits.js';
import { Closed, Identifier, Limit, LocationCode, Nullable, Sku, Timestamp } from './schema-primitives.js';

/**
 * The query documents of the lists (reservations, the movements feed, purchase orders) and of
 * deactivation, shared by the HTTP routes and the CLI. A parameter that fails its schema is
 * answered 400 with `errors[].path` naming it (`querystring/status`).
 */

/** Cursors are short base64url strings the server issued; the bound only stops abuse. */
const Cursor = Type.String({ minLength: 1, maxLength: limits.listCursorLengthMax, pattern: '^[A-Za-z0-9_-]+$' });

export const ActiveQuery = Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('all')], {
  default: 'true',
  description: 'Active records only (the default), deactivated ones only, or all',
});

/** The `active` filter alone, for lists that take no other parameter. */
export const ActiveOnlyQuery = Closed({ active: ActiveQuery });
export type ActiveOnlyQuery = Static<typeof ActiveOnlyQuery>;

export const ReservationListQuery = Closed({
  status: Type.Union(
    ['active', 'committed', 'released', 'expired', 'all'].map((status) => Type.Literal(status)),
    {
      default: 'active',
      description:
        '`active`: pending and not past its expiry (the default); `expired` includes pending holds past their expiry',
    },
  ),
  sku: Type.Optional(Sku),
  location: Type.Optional(LocationCode),
  channel: Type.Optional(Type.String({ minLength: 1, maxLength: limits.codeLengthMax })),
  cursor: Type.Optional(Cursor),
  limit: Limit,
});
export type ReservationListQuery = Static<typeof ReservationListQuery>;

const movementTypes = [
  'receipt',
  'adjustment',
  'count',
  'transfer_out',
  'transfer_in',
  'status',
  'order',
  'cancellation',
  'shipment',
  'sale',
  'return',
  'reserve',
  'commit',
  'release',
  'expire',
] as const;

export const MovementFeedQuery = Closed({
  since: Type.Optional(
    Type.String({
      format: 'date-time',
      maxLength: 64,
      description: 'Start at the first movement recorded at or after this time (ignored with `cursor`)',
    }),
  ),
  until: Type.Optional(
    Type.String({
      format: 'date-time',
      maxLength: 64,
      description: 'Stop before the first movement recorded at or after this time',
    }),
  ),
  type: Type.Optional(Type.Union(movementTypes.map((type) => Type.Literal(type)))),
  location: Type.Optional(LocationCode),
  cursor: Type.Optional(Cursor),
  limit: Limit,
});
export type MovementFeedQuery = Static<typeof MovementFeedQuery>;

export const PurchaseOrderListQuery = Closed({
  status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('cancelled')])),
  sku: Type.Optional(Sku),
  cursor: Type.Optional(Cursor),
  limit: Limit,
});
export type PurchaseOrderListQuery = Static<typeof PurchaseOrderListQuery>;

export const ActivationView = Type.Object({
  kind: Type.Union([
    Type.Literal('variant'),
    Type.Literal('location'),
    Type.Literal('channel'),
    Type.Literal('listing'),
  ]),
  ref: Type.String({ description: 'The sku, location code, channel code or listing id' }),
  active: Type.Boolean(),
  changed: Type.Boolean({ description: 'False when it already was so (the call is idempotent)' }),
  deactivated_at: Nullable(Timestamp),
  deactivated_by: Nullable(Type.String({ description: 'Who deactivated it: the API token, or `cli`' })),
});
export type ActivationView = Static<typeof ActivationView>;

export const CodeParams = Closed({ code: Identifier });
export type CodeParams = Static<typeof CodeParams>;
export const ListingIdParams = Closed({
  id: Type.String({ minLength: 1, maxLength: 15, pattern: '^[1-9][0-9]*$' }),
});
export type ListingIdParams = Static<typeof ListingIdParams>;
