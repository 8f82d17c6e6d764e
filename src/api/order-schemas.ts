import { Type, type Static } from '@sinclair/typebox';
import { limits } from '../core/limits.js';
import { Closed, Limit, Nullable, Sku, Timestamp } from './schema-primitives.js';

/**
 * Schemas of the order-line routes: the intake inbox, its retry, a channel order's lines, and
 * shipments reported by an outside system (a WMS) for a channel's order line.
 */
const ChannelCode = Type.String({ minLength: 1, maxLength: limits.codeLengthMax, description: 'Channel code' });
const Id = Type.String({ minLength: 1, maxLength: limits.codeLengthMax, pattern: '^[^:]+$' });

export const InboxQuery = Closed({
  channel: Type.Optional(ChannelCode),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: 'The `next` of the previous page' })),
});
export type InboxQuery = Static<typeof InboxQuery>;

const LocationEffectView = Type.Object({
  reserved: Type.Integer(),
  shipped: Type.Integer(),
  written_off: Type.Integer(),
  returned: Type.Integer(),
});

export const OrderLineView = Type.Object({
  channel: Type.String(),
  line_key: Type.String({ description: '`<platform>:<account>:<order id>:<line id>`' }),
  order_id: Type.String(),
  line_id: Type.String(),
  item: Type.Object({ external_id: Type.String(), sku: Nullable(Type.String()), barcode: Nullable(Type.String()) }),
  sku: Type.Union([Type.String(), Type.Null()], { description: 'The onhand variant the line was matched to' }),
  status: Type.Union(
    ['open', 'closed', 'info', 'blocked'].map((value) => Type.Literal(value)),
    {
      description:
        'open: units held or moving; closed: settled; info: marketplace-fulfilled, not against your stock; blocked: in the intake inbox',
    },
  ),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the line is blocked or information only' }),
  applied: Type.Record(Type.String(), LocationEffectView, {
    description: 'What the line does at each location: units reserved, shipped, written off, returned',
  }),
  steps: Type.Integer({ minimum: 0, description: 'Changes of the line applied to the ledger so far' }),
  updated_at: Timestamp,
});

export const InboxPage = Type.Object({ lines: Type.Array(OrderLineView), next: Nullable(Type.String()) });
export const OrderLinesList = Type.Object({ lines: Type.Array(OrderLineView) });

export const OrderLineListQuery = Closed({
  sku: Type.Optional(Sku),
  channel: Type.Optional(ChannelCode),
  status: Type.Union(
    ['open', 'closed', 'info', 'blocked', 'all'].map((value) => Type.Literal(value)),
    { default: 'open', description: 'Lines of one status (`open`, the default), or `all`' },
  ),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: limits.listCursorLengthMax,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'The `next_cursor` of the previous page',
    }),
  ),
  limit: Type.Integer({
    minimum: 1,
    maximum: limits.orderLinePageSizeMax,
    default: limits.orderLinePageSizeDefault,
  }),
});
export type OrderLineListQuery = Static<typeof OrderLineListQuery>;

export const OrderLinePage = Type.Object({
  items: Type.Array(OrderLineView),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Cursor of the next page; null at the end' }),
});

export const InboxRetryBody = Closed({
  channel: Type.Optional(ChannelCode),
  line_key: Type.Optional(Type.String({ minLength: 1, maxLength: limits.idempotencyKeyLengthMax })),
  dismiss: Type.Optional(
    Type.Boolean({
      description:
        'With line_key: set aside for good the events of the line onhand did not understand (they hold it in the inbox until then), then apply the line from what was understood',
    }),
  ),
});
export type InboxRetryBody = Static<typeof InboxRetryBody>;

export const InboxRetryResult = Type.Object({
  retried: Type.Integer({ minimum: 0 }),
  changed: Type.Integer({ minimum: 0 }),
  still_blocked: Type.Array(Type.Object({ line_key: Type.String(), reason: Type.String() })),
});

export const OrderParams = Closed({ code: ChannelCode, order_id: Id });
export type OrderParams = Static<typeof OrderParams>;
export const LineParams = Closed({ code: ChannelCode, order_id: Id, line_id: Id });
export type LineParams = Static<typeof LineParams>;

export const ShipmentBody = Closed({
  id: Type.String({
    minLength: 1,
    maxLength: limits.codeLengthMax,
    description: "The shipment's id in the reporting system; the same id again is the same shipment",
  }),
  quantity: Type.Integer({ minimum: 0, maximum: limits.quantityMax }),
  location: Type.String({ minLength: 1, maxLength: limits.codeLengthMax, description: 'Location code shipped from' }),
  cancelled: Type.Optional(Type.Boolean({ description: 'The shipment was voided: its units were not shipped' })),
  version: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Greater wins when the same shipment is reported again with other figures; default 0',
    }),
  ),
  occurred_at: Type.Optional(Timestamp),
});
export type ShipmentBody = Static<typeof ShipmentBody>;
