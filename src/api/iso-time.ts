import type { EpochMs } from '../core/clock.js';

/** The API's times are RFC 3339 strings; inside they are epoch milliseconds. */

/** RFC 3339 -> epoch ms. The body validator's date-time format already refused what Date cannot parse. */
export function epochMs(text: string): EpochMs {
  return Date.parse(text);
}

export function iso(ms: EpochMs): string {
  return new Date(ms).toISOString();
}
