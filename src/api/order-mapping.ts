import type { OrderLineRecord } from '../store/order-lines-port.js';

/** A stored order line as the API and the CLI show it. */
export function orderLineView(record: OrderLineRecord) {
  return {
    channel: record.channel,
    line_key: record.lineKey,
    order_id: record.orderId,
    line_id: record.lineId,
    item: { external_id: record.item.externalId, sku: record.item.sku, barcode: record.item.barcode },
    sku: record.sku,
    status: record.status,
    reason: record.reason,
    applied: Object.fromEntries(
      Object.entries(record.applied).map(([code, entry]) => [
        code,
        { reserved: entry.reserved, shipped: entry.shipped, written_off: entry.writtenOff, returned: entry.returned },
      ]),
    ),
    steps: record.seq,
    updated_at: new Date(record.updatedAt).toISOString(),
  };
}
