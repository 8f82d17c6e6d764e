import type { BatchWorkingSet } from './batch-working-set.js';
import type { ReceiptCommand } from './command.js';
import { applied, deltas, leg, refuse, type Judgement } from './judgement.js';
import {
  purchaseOrderLineKey,
  type LocationRef,
  type PurchaseOrderLineState,
  type VariantRef,
} from './ledger-snapshot.js';

/**
 * A receipt is a fact: units arrived. Booked against a purchase-order line it must name a line
 * of that order for the same variant and location, not cancelled; the line's received quantity
 * grows by the receipt (no check against the ordered quantity: the goods are there).
 */
export function judgeReceipt(
  batch: BatchWorkingSet,
  command: ReceiptCommand,
  variant: VariantRef,
  location: LocationRef,
): Judgement {
  const order = command.purchaseOrder;
  let booked: PurchaseOrderLineState | null = null;
  if (order) {
    const lineKey = purchaseOrderLineKey(order.id, order.line);
    const line = batch.purchaseOrderLine(lineKey);
    if (!line) return refuse('invalid', `purchase order ${order.id} has no line ${order.line}`);
    if (line.variantId !== variant.id || line.locationId !== location.id) {
      return refuse('invalid', `purchase order line ${lineKey} is for another variant or location`);
    }
    if (line.status === 'cancelled') return refuse('invalid', `purchase order line ${lineKey} is cancelled`);
    booked = { ...line, quantityReceived: line.quantityReceived + command.quantity };
  }
  const received = applied(
    'receipt',
    [leg(variant.id, location.id, deltas({ onHand: command.quantity }))],
    command.sku,
    command.location,
  );
  received.purchaseOrderLine = booked;
  return received;
}
