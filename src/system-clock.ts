import { randomFillSync } from 'node:crypto';
import type { Clock, IdSource } from './core/clock.js';

/** The real clock; only main.ts and the CLI hand it out. */
export const systemClock: Clock = { now: () => Date.now() };

const idRandomBytes = 10;
/** Random bytes for 512 ids, drawn at once: one call into the CSPRNG per 512 ids instead of per id. */
const pool = Buffer.alloc(idRandomBytes * 512);
let poolOffset = pool.length;

function randomChunk(): Buffer {
  if (poolOffset + idRandomBytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const chunk = pool.subarray(poolOffset, poolOffset + idRandomBytes);
  poolOffset += idRandomBytes;
  return chunk;
}

/**
 * Ids that sort by creation time: `<prefix>_<ms in base36, 9 chars><80 random bits, base64url
 * lowercased with - and _ as x>`.
 */
export const randomIds: IdSource = {
  next(prefix: string): string {
    const time = Date.now().toString(36).padStart(9, '0');
    const random = randomChunk().toString('base64url').replace(/[-_]/g, 'x').toLowerCase();
    return `${prefix}_${time}${random}`;
  },
};
