import { randomBytes } from 'node:crypto';
import type { Clock, IdSource } from './core/clock.js';

/** The real clock; only main.ts and the CLI hand it out. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Ids that sort by creation time: `<prefix>_<ms in base36, 9 chars><80 random bits base32>`.
 */
export const randomIds: IdSource = {
  next(prefix: string): string {
    const time = Date.now().toString(36).padStart(9, '0');
    const random = randomBytes(10).toString('base64url').replace(/[-_]/g, 'x').toLowerCase();
    return `${prefix}_${time}${random}`;
  },
};
