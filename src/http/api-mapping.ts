import type { EpochMs } from '../core/clock.js';
import { epochMs, iso } from '../api/iso-time.js';
import type {
  ChannelReserve,
  CommitCommand,
  LedgerCommand,
  ReleaseCommand,
  ReserveCommand,
} from '../core/ledger/command.js';
import type {
  LocationRecord,
  PurchaseOrderInput,
  PurchaseOrderRecord,
  VariantInput,
  VariantRecord,
} from '../store/ledger-store.js';
import { payloadHash } from '../ingest/payload-hash.js';
import type {
  CommitBody,
  LocationView,
  MovementItem,
  PurchaseOrderBody,
  PurchaseOrderView,
  ReleaseBody,
  ReservationBody,
  VariantItem,
  VariantView,
} from './schemas.js';

/**
 * The API speaks snake_case JSON with RFC 3339 times; the store port and the ledger speak
 * camelCase with epoch milliseconds. One function per concept and direction, nothing else.
 */

function optionalEpochMs(text: string | undefined): EpochMs | undefined {
  return text === undefined ? undefined : epochMs(text);
}

/**
 * A movement item as a ledger command. The payload hash covers the item exactly as the client
 * sent it (before defaults such as occurred_at = now), so a verbatim retry is recognised.
 */
export function movementCommand(item: MovementItem): LedgerCommand {
  const base = {
    key: item.key,
    payloadHash: payloadHash(item),
    sku: item.sku,
    location: item.location,
    occurredAt: optionalEpochMs(item.occurred_at),
    source: item.source,
    note: item.note,
  };
  switch (item.type) {
    case 'receipt':
      return { ...base, type: item.type, quantity: item.quantity, purchaseOrder: item.purchase_order };
    case 'adjustment':
      return { ...base, type: item.type, quantity: item.quantity, reason: item.reason };
    case 'count':
      return { ...base, type: item.type, onHand: item.on_hand, sourceVersion: item.source_version };
    case 'transfer_out':
      return { ...base, type: item.type, quantity: item.quantity, toLocation: item.to_location };
    case 'transfer_in':
      return { ...base, type: item.type, quantity: item.quantity, fromLocation: item.from_location };
    case 'status':
      return { ...base, type: item.type, quantity: item.quantity, from: item.from, to: item.to };
    case 'return':
      return { ...base, type: item.type, quantity: item.quantity, to: item.to };
    case 'order':
    case 'cancellation':
    case 'shipment':
    case 'sale':
      return { ...base, type: item.type, quantity: item.quantity };
  }
}

/**
 * A reservation at a location, or by channel with what the channel may sell resolved by the
 * caller (`location` is then the first candidate's). The hash covers the body as sent, so a
 * channel's reservation replays by its key whatever the channel's rules say later.
 */
export function reserveCommand(
  body: ReservationBody,
  location: string,
  channel?: ChannelReserve | undefined,
): ReserveCommand {
  return {
    type: 'reserve',
    key: body.key,
    payloadHash: payloadHash(body),
    sku: body.sku,
    location,
    quantity: body.quantity,
    expiresInSeconds: body.expires_in_s,
    source: body.source,
    note: body.note,
    channel,
  };
}

/**
 * Commit and release name their reservation in the path; the hash covers it, so one key reused
 * for another reservation is a conflict. Without a key, `commit:<id>` makes a retry idempotent.
 */
export function commitCommand(reservationId: string, body: CommitBody): CommitCommand {
  return {
    type: 'commit',
    key: body.key ?? `commit:${reservationId}`,
    payloadHash: payloadHash({ reservation_id: reservationId, ...body }),
    reservationId,
    quantity: body.quantity,
  };
}

export function releaseCommand(reservationId: string, body: ReleaseBody): ReleaseCommand {
  return {
    type: 'release',
    key: body.key ?? `release:${reservationId}`,
    payloadHash: payloadHash({ reservation_id: reservationId, ...body }),
    reservationId,
  };
}

export function variantInput(item: VariantItem): VariantInput {
  return {
    sku: item.sku,
    name: item.name,
    barcode: item.barcode,
    productGroup: item.product_group,
    attributes: item.attributes,
    components: item.components,
  };
}

export function variantView(record: VariantRecord): VariantView {
  return {
    sku: record.sku,
    name: record.name,
    barcode: record.barcode,
    product_group: record.productGroup,
    attributes: record.attributes,
    is_bundle: record.isBundle,
    components: record.components,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    // Only once deactivated: the views of active records are unchanged.
    ...((record.deactivatedAt ?? null) === null ? {} : { active: false }),
  };
}

export function locationView(record: LocationRecord): LocationView {
  return {
    code: record.code,
    name: record.name,
    kind: record.kind,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    // Only once deactivated: the views of active records are unchanged.
    ...((record.deactivatedAt ?? null) === null ? {} : { active: false }),
  };
}

export function purchaseOrderInput(id: string, body: PurchaseOrderBody): PurchaseOrderInput {
  return {
    id,
    supplier: body.supplier,
    status: body.status ?? 'open',
    lines: body.lines.map((line) => ({
      line: line.line,
      sku: line.sku,
      location: line.location,
      quantity: line.quantity,
      expectedAt: optionalEpochMs(line.expected_at) ?? null,
    })),
  };
}

export function purchaseOrderView(record: PurchaseOrderRecord): PurchaseOrderView {
  return {
    id: record.id,
    supplier: record.supplier,
    status: record.status,
    lines: record.lines.map((line) => ({
      line: line.line,
      sku: line.sku,
      location: line.location,
      quantity_ordered: line.quantityOrdered,
      quantity_received: line.quantityReceived,
      incoming: line.incoming,
      expected_at: line.expectedAt === null ? null : iso(line.expectedAt),
    })),
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
  };
}
