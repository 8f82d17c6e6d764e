import { limits } from '../core/limits.js';
import type { ShipmentSource } from '../core/orders/line-events.js';
import type { ChannelRecord } from '../store/availability-store.js';

/** The `orders` entry of a channel's settings. */
export interface ChannelOrderSettings {
  /** Platform location id -> onhand location code. */
  locationMap: Record<string, string>;
  /** Who reports shipments for stock: the channel's fulfilments (default) or an outside system through the API. */
  shipments: ShipmentSource;
}

export function channelOrderSettings(channel: Pick<ChannelRecord, 'settings'>): ChannelOrderSettings {
  const raw = channel.settings.orders;
  const orders = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const map = orders.locationMap;
  const locationMap: Record<string, string> = {};
  if (map !== null && typeof map === 'object')
    for (const [key, value] of Object.entries(map as Record<string, unknown>))
      if (typeof value === 'string') locationMap[key] = value;
  return { locationMap, shipments: orders.shipments === 'api' ? 'api' : 'channel' };
}

/** Most entries in `settings.orders.locationMap`. */
const locationMapEntriesMax = 200;

/**
 * Why a channel's `settings.orders` would be misread, field by field (paths relative to
 * `orders`): checked when the channel is stored, so a typo is a 400, not a line in the inbox.
 */
export function orderSettingsFaults(orders: unknown): { path: string; message: string }[] {
  if (orders === undefined) return [];
  if (orders === null || typeof orders !== 'object' || Array.isArray(orders))
    return [{ path: '', message: 'must be an object with locationMap and/or shipments' }];
  const faults: { path: string; message: string }[] = [];
  for (const [key, value] of Object.entries(orders)) {
    if (key === 'shipments') {
      if (value !== 'channel' && value !== 'api')
        faults.push({ path: '/shipments', message: "must be 'channel' or 'api'" });
    } else if (key === 'locationMap') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        faults.push({ path: '/locationMap', message: 'must map platform location ids to onhand location codes' });
        continue;
      }
      const entries = Object.entries(value);
      if (entries.length > locationMapEntriesMax)
        faults.push({ path: '/locationMap', message: `at most ${locationMapEntriesMax} entries` });
      for (const [id, code] of entries.slice(0, locationMapEntriesMax))
        if (typeof code !== 'string' || code.length === 0 || code.length > limits.codeLengthMax)
          faults.push({ path: `/locationMap/${id}`, message: 'must be an onhand location code' });
    } else faults.push({ path: `/${key}`, message: 'is not a setting of channel orders (locationMap, shipments)' });
  }
  return faults;
}
