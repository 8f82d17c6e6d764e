import { createHash } from 'node:crypto';
import { limits } from '../core/limits.js';

/**
 * Keyset cursors of the lists (reservations, the movements feed, purchase orders). Each is the
 * last row's sort key, prefixed with the list's letter, followed by a check of 8 hex digits and
 * base64url-encoded: opaque to clients, and a cursor that was edited, truncated or issued by
 * another list is refused (ONH_ERR_CURSOR, answered 400) instead of silently starting
 * elsewhere. The check is an integrity check, not a secret: a position is nothing a caller
 * could not read anyway. Keys are bounded so that a decoded cursor can never make a query
 * larger than the row it names.
 */

/** An id in a cursor: reservation ids are minted by the ledger, purchase order ids are codes. */
const idLengthMax = Math.max(limits.idempotencyKeyLengthMax, limits.codeLengthMax);

function check(text: string): string {
  return createHash('sha256').update(`onhand-cursor\u0000${text}`).digest('hex').slice(0, 8);
}

function encode(text: string): string {
  return Buffer.from(`${text}|${check(text)}`).toString('base64url');
}

function decode(cursor: string): string | null {
  if (cursor.length > limits.listCursorLengthMax || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = decoded.lastIndexOf('|');
  if (bar < 0) return null;
  const text = decoded.slice(0, bar);
  return decoded.slice(bar + 1) === check(text) ? text : null;
}

/** Reservations, newest first: (created_at, id) of the last row. */
export function encodeReservationCursor(createdAt: number, id: string): string {
  return encode(`r:${createdAt}:${id}`);
}

export function decodeReservationCursor(cursor: string): { createdAt: number; id: string } | null {
  const match = /^r:(\d{1,15}):(.+)$/s.exec(decode(cursor) ?? '');
  if (!match || match[2]!.length > idLengthMax) return null;
  return { createdAt: Number(match[1]), id: match[2]! };
}

/**
 * The movements feed: (transaction, id) of the last row. The transaction part is 0 on SQLite,
 * whose single writer commits ids in order, and the writing transaction's id on PostgreSQL
 * (migration 0014 says why).
 */
export function encodeFeedCursor(xact: string, id: number): string {
  return encode(`f:${xact}:${id}`);
}

export function decodeFeedCursor(cursor: string): { xact: string; id: number } | null {
  const match = /^f:(\d{1,19}):(\d{1,15})$/.exec(decode(cursor) ?? '');
  return match ? { xact: match[1]!, id: Number(match[2]) } : null;
}

/** Purchase orders, in id order: the last row's id. */
export function encodePurchaseOrderCursor(id: string): string {
  return encode(`p:${id}`);
}

export function decodePurchaseOrderCursor(cursor: string): string | null {
  const match = /^p:(.+)$/s.exec(decode(cursor) ?? '');
  return match && match[1]!.length <= idLengthMax ? match[1]! : null;
}

/** Order lines, newest first: (created_at, channel code, line key) of the last row. */
export function encodeOrderLineCursor(createdAt: number, channel: string, lineKey: string): string {
  return encode(`o:${createdAt}:${channel}:${lineKey}`);
}

export function decodeOrderLineCursor(cursor: string): { createdAt: number; channel: string; lineKey: string } | null {
  const match = /^o:(\d{1,15}):([^:]+):(.+)$/s.exec(decode(cursor) ?? '');
  if (!match || match[2]!.length > limits.codeLengthMax || match[3]!.length > limits.textLengthMax) return null;
  return { createdAt: Number(match[1]), channel: match[2]!, lineKey: match[3]! };
}
