import { Type, type Static } from '@sinclair/typebox';
import { limits } from '../core/limits.js';
import { Closed, LocationCode, Nullable } from './schema-primitives.js';

/** Request and response schemas of `GET /v1/stock`, the dashboard's stock grid. */

export const StockListQuery = Closed({
  location: Type.Optional({
    ...LocationCode,
    description: 'Only this location: its levels, and its figures filter and sort',
  }),
  sku_prefix: Type.Optional(
    Type.String({ minLength: 1, maxLength: limits.codeLengthMax, description: 'Only skus starting with this text' }),
  ),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: limits.stockSearchLengthMax,
      description: 'Only variants whose sku or name contains this text (case-insensitive for ASCII)',
    }),
  ),
  low_stock: Type.Optional(
    Type.Boolean({ description: `Only variants with at most ${limits.stockLowAvailableMax} units available` }),
  ),
  sort: Type.Optional(
    Type.Union([Type.Literal('sku'), Type.Literal('available')], {
      description: '`sku` (default, byte order) or `available` (ascending, then sku)',
    }),
  ),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2 * limits.codeLengthMax * 4 + 64 })),
  limit: Type.Integer({ minimum: 1, maximum: limits.stockPageSizeMax, default: limits.stockPageSizeDefault }),
});
export type StockListQuery = Static<typeof StockListQuery>;

const Quantity = Type.Integer();

export const StockListItem = Closed({
  sku: Type.String(),
  name: Type.String(),
  locations: Type.Array(
    Closed({
      location: Type.String(),
      on_hand: Quantity,
      reserved: Quantity,
      available: Quantity,
      incoming: Quantity,
    }),
  ),
  total: Closed({ on_hand: Quantity, reserved: Quantity, available: Quantity, incoming: Quantity }),
  channels: Type.Array(
    Closed({
      channel: Type.String(),
      listing_id: Type.String(),
      external_id: Type.String(),
      desired: Quantity,
      shown: Nullable(Quantity),
      drift: Nullable(Quantity),
      state: Type.Union([Type.Literal('pending'), Type.Literal('done'), Type.Literal('dead')]),
    }),
  ),
});

export const StockListPage = Closed({
  items: Type.Array(StockListItem),
  next_cursor: Nullable(Type.String()),
});
