import type { EpochMs } from '../clock.js';
import { otherLocationCode, poolLocationCodes } from './command.js';
import {
  purchaseOrderLineKey,
  type BatchItem,
  type LocationRef,
  type ReservationState,
  type VariantRef,
} from './ledger-snapshot.js';
import { levelKey } from './level.js';

/**
 * Everything a store must load for a batch, derived from the commands alone.
 */
export interface BatchNeeds {
  skus: string[];
  locationCodes: string[];
  reservationIds: string[];
  keys: string[];
  purchaseOrderLines: { purchaseOrderId: string; line: number }[];
}

export function collectNeeds(items: readonly BatchItem[]): BatchNeeds {
  const skus = new Set<string>();
  const codes = new Set<string>();
  const reservationIds = new Set<string>();
  const keys = new Set<string>();
  const lines = new Map<string, { purchaseOrderId: string; line: number }>();
  for (const item of items) {
    if (item.type === 'tidy') continue;
    keys.add(item.key);
    if (item.type === 'commit' || item.type === 'release') {
      reservationIds.add(item.reservationId);
      continue;
    }
    skus.add(item.sku);
    codes.add(item.location);
    const other = otherLocationCode(item);
    if (other !== undefined) codes.add(other);
    for (const code of poolLocationCodes(item)) codes.add(code);
    if (item.type === 'receipt' && item.purchaseOrder) {
      lines.set(purchaseOrderLineKey(item.purchaseOrder.id, item.purchaseOrder.line), {
        purchaseOrderId: item.purchaseOrder.id,
        line: item.purchaseOrder.line,
      });
    }
  }
  return {
    skus: [...skus].sort(),
    locationCodes: [...codes].sort(),
    reservationIds: [...reservationIds].sort(),
    keys: [...keys].sort(),
    purchaseOrderLines: [...lines.values()],
  };
}

/**
 * The levels a batch will touch, once skus, codes and reservations are resolved; sorted so
 * that every store locks them in the same order (no lock-order deadlocks between batches).
 */
export function touchedLevels(
  items: readonly BatchItem[],
  variants: ReadonlyMap<string, VariantRef>,
  locations: ReadonlyMap<string, LocationRef>,
  reservations: ReadonlyMap<string, ReservationState>,
): { variantId: number; locationId: number }[] {
  const out = new Map<string, { variantId: number; locationId: number }>();
  const add = (variantId: number, locationId: number) =>
    out.set(levelKey(variantId, locationId), { variantId, locationId });
  for (const item of items) {
    if (item.type === 'tidy') {
      add(item.variantId, item.locationId);
      continue;
    }
    if (item.type === 'commit' || item.type === 'release') {
      const reservation = reservations.get(item.reservationId);
      if (reservation) add(reservation.variantId, reservation.locationId);
      continue;
    }
    const variant = variants.get(item.sku);
    const location = locations.get(item.location);
    if (!variant || !location) continue;
    add(variant.id, location.id);
    for (const component of variant.components ?? []) add(component.variantId, location.id);
    const other = otherLocationCode(item);
    const otherLocation = other === undefined ? undefined : locations.get(other);
    if (otherLocation) add(variant.id, otherLocation.id);
    // A pool's or a channel's levels are read (and so locked) like the command's own.
    for (const code of poolLocationCodes(item)) {
      const pooled = locations.get(code);
      if (!pooled) continue;
      add(variant.id, pooled.id);
      for (const component of variant.components ?? []) add(component.variantId, pooled.id);
    }
  }
  return [...out.values()].sort((a, b) => a.variantId - b.variantId || a.locationId - b.locationId);
}

/**
 * An upper bound of the movements a batch writes for its commands (due expiries aside): a
 * bundle fact writes one per component, a channel reservation at most one per candidate
 * location, a transfer two, anything else one.
 */
export function movementLegsMax(items: readonly BatchItem[], variants: ReadonlyMap<string, VariantRef>): number {
  let total = 0;
  for (const item of items) {
    if (item.type === 'tidy') continue;
    if (item.type === 'commit' || item.type === 'release') {
      total += 1;
      continue;
    }
    const components = variants.get(item.sku)?.components?.length ?? 0;
    const candidates = item.type === 'reserve' && item.channel ? item.channel.locations.length : 0;
    total += Math.max(2, components, candidates);
  }
  return total;
}

/** Count commands whose baseline (stored on_hand deltas after the count time) must be loaded. */
export function countQueries(
  items: readonly BatchItem[],
  variants: ReadonlyMap<string, VariantRef>,
  locations: ReadonlyMap<string, LocationRef>,
  now: EpochMs,
): { key: string; variantId: number; locationId: number; countedAt: EpochMs }[] {
  const out: { key: string; variantId: number; locationId: number; countedAt: EpochMs }[] = [];
  for (const item of items) {
    if (item.type !== 'count') continue;
    const variant = variants.get(item.sku);
    const location = locations.get(item.location);
    if (variant && location)
      out.push({ key: item.key, variantId: variant.id, locationId: location.id, countedAt: item.occurredAt ?? now });
  }
  return out;
}
