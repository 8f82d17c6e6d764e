/**
 * The closed set of answers the ledger gives to a command. Verdicts are data;
 * exceptions are for bugs and IO faults. Ordered by precedence: when several apply, the
 * first in this list is the answer (a replayed key is answered before anything is looked up,
 * an unknown variant before the level is judged, and so on).
 */
export const verdictStatuses = [
  'exists', // the key was seen with the same payload: the first answer is replayed
  'conflict', // the key was seen with a different payload: nothing changes
  'unknown_variant',
  'unknown_location',
  'unknown_reservation',
  // A reservation's state is judged before the command's own numbers: committing too much of
  // an already committed reservation answers reservation_closed, the more useful answer.
  'reservation_expired',
  'reservation_closed', // already committed, released (or expired) - resolves at most once
  'invalid', // well-formed but impossible (cancel more than is reserved, a bundle holds no stock, ...)
  'stale', // an absolute update older than one already applied
  'insufficient', // a request judged against available and refused
  'applied',
] as const;

export type VerdictStatus = (typeof verdictStatuses)[number];

/** Verdicts whose answer is stored with the key and replayed (Stripe / TigerBeetle: a refusal stays a refusal). */
export function isStoredVerdict(status: VerdictStatus): boolean {
  return status !== 'exists' && status !== 'conflict';
}
