import { type BolRememberedOrderItem, bolItemHandled } from './bol-order-events.js';
import { bolLimits } from './bol-limits.js';

/**
 * The Bol order poll's position (bol-orders.ts): JSON, opaque to the ingest, saved by it only
 * after the events of a poll are recorded. Bounded: at most `deferredOrdersMax` owed details and
 * `rememberedOrderItemsMax` remembered items (a few dozen bytes each).
 *
 * Versions: 1 remembered per item the quantity ordered and whether a cancellation line was
 * emitted, and scanned the OPEN FBR orders only. 2 remembers the quantity, cancelled and shipped
 * totals reported, and scans both fulfilment methods. A version 1 cursor is read as version 2
 * (`readBolOrdersCursor`): its unknown totals make the next detail of each item report them, and
 * its scan in progress (other filters, other pages) is dropped for a full scan.
 */

export interface BolOrdersScan {
  startedAt: number;
  nextPage: number;
  /** null: a full scan of the OPEN items; a number: the items of any status changed within it. */
  intervalMinute: number | null;
}

export interface BolOrdersCursor {
  version: 2;
  /** The scan in progress (it spans polls when it has more pages than one poll may read). */
  scan: BolOrdersScan | null;
  lastScanStartedAt: number | null;
  lastFullScanStartedAt: number | null;
  /** Orders whose detail is still owed (over the per-poll budget, a failed GET, an item gone from OPEN). */
  deferredOrderIds: string[];
  /** Key `<orderId>/<orderItemId>`. */
  items: Record<string, BolRememberedOrderItem>;
}

export function initialBolOrdersCursor(): BolOrdersCursor {
  return {
    version: 2,
    scan: null,
    lastScanStartedAt: null,
    lastFullScanStartedAt: null,
    deferredOrderIds: [],
    items: {},
  };
}

/** A cursor as saved by a poll (version 1 or 2), or null to start; throws on anything else. */
export function readBolOrdersCursor(saved: string | null): BolOrdersCursor {
  if (saved === null || saved === '') return initialBolOrdersCursor();
  const parsed: unknown = JSON.parse(saved);
  if (!isRecord(parsed)) throw new Error('bol orders cursor: not an object');
  if (parsed.version === 1) return migrateVersion1(parsed);
  if (parsed.version !== 2) throw new Error(`bol orders cursor: unknown version ${JSON.stringify(parsed.version)}`);
  const cursor = initialBolOrdersCursor();
  cursor.scan = readScan(parsed.scan);
  cursor.lastScanStartedAt = readTime(parsed.lastScanStartedAt, 'lastScanStartedAt');
  cursor.lastFullScanStartedAt = readTime(parsed.lastFullScanStartedAt, 'lastFullScanStartedAt');
  cursor.deferredOrderIds = readOrderIds(parsed.deferredOrderIds);
  for (const [key, value] of Object.entries(readRecord(parsed.items, 'items'))) {
    const item = readRecord(value, `items.${key}`);
    cursor.items[key] = {
      quantity: readCount(item.quantity, key),
      cancelled: readCount(item.cancelled, key),
      shipped: readCount(item.shipped, key),
      seenAt: readNumber(item.seenAt, `items.${key}.seenAt`),
    };
  }
  return cursor;
}

function migrateVersion1(parsed: Record<string, unknown>): BolOrdersCursor {
  const cursor = initialBolOrdersCursor();
  // Version 1 scanned other filters: its pages mean nothing now, so a full scan comes first.
  cursor.lastScanStartedAt = readTime(parsed.lastScanStartedAt, 'lastScanStartedAt');
  cursor.deferredOrderIds = readOrderIds(parsed.deferredOrderIds);
  for (const [key, value] of Object.entries(readRecord(parsed.items, 'items'))) {
    const item = readRecord(value, `items.${key}`);
    const wasCancelled = item.cancelled === true;
    cursor.items[key] = {
      quantity: readCount(item.quantity, key),
      // A cancellation line of version 1 carried no total we can trust; shipments were not followed.
      cancelled: wasCancelled ? null : 0,
      shipped: null,
      seenAt: readNumber(item.seenAt, `items.${key}.seenAt`),
    };
  }
  return cursor;
}

/**
 * Forgets what the cursor no longer needs and bounds it: an item with nothing left to ship or
 * cancel once no list has shown it for longer than bol's largest change interval (no quick scan
 * lists it again unless it changes, and a change brings it back as a new item whose events repeat
 * harmlessly); then, over `rememberedOrderItemsMax`, handled items before open ones, oldest first.
 */
export function boundBolOrdersCursor(cursor: BolOrdersCursor, now: number): void {
  const retentionMs = (bolLimits.changeIntervalMinuteMax + 1) * 60_000;
  for (const [key, item] of Object.entries(cursor.items))
    if (bolItemHandled(item) && item.seenAt < now - retentionMs) delete cursor.items[key];
  const keys = Object.keys(cursor.items);
  if (keys.length > bolLimits.rememberedOrderItemsMax) {
    const rank = (key: string) => (bolItemHandled(cursor.items[key]!) ? 0 : 1);
    keys.sort((a, b) => rank(a) - rank(b) || cursor.items[a]!.seenAt - cursor.items[b]!.seenAt);
    for (const key of keys.slice(0, keys.length - bolLimits.rememberedOrderItemsMax)) delete cursor.items[key];
  }
  cursor.deferredOrderIds = cursor.deferredOrderIds.slice(0, bolLimits.deferredOrdersMax);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readRecord(value: unknown, name: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`bol orders cursor: ${name} is not an object`);
  return value;
}

function readNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`bol orders cursor: bad ${name}`);
  return value;
}

function readTime(value: unknown, name: string): number | null {
  return value === null || value === undefined ? null : readNumber(value, name);
}

function readCount(value: unknown, key: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new Error(`bol orders cursor: bad count in items.${key}`);
  return value;
}

function readOrderIds(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string'))
    throw new Error('bol orders cursor: deferredOrderIds is not a list of order ids');
  return value.slice(0, bolLimits.deferredOrdersMax);
}

function readScan(value: unknown): BolOrdersScan | null {
  if (value === null || value === undefined) return null;
  const scan = readRecord(value, 'scan');
  const intervalMinute = scan.intervalMinute === null ? null : readNumber(scan.intervalMinute, 'scan.intervalMinute');
  return {
    startedAt: readNumber(scan.startedAt, 'scan.startedAt'),
    nextPage: readNumber(scan.nextPage, 'scan.nextPage'),
    intervalMinute,
  };
}
