import type { EpochMs } from '../clock.js';
import { limits } from '../limits.js';
import type { BatchWorkingSet } from './batch-working-set.js';
import { isoOrNull } from './command-answer.js';
import type { CommitCommand, ReleaseCommand, ReserveCommand } from './command.js';
import { applied, deltas, futureRefusal, leg, refuse, type Judgement } from './judgement.js';
import type { LocationRef, ReservationState, VariantRef } from './ledger-snapshot.js';
import { available, type LevelState } from './level.js';

/**
 * Reservations: reserve is a REQUEST, judged against available and refused when short; it holds
 * the units (reserved and held grow) until commit, release or expiry resolves it, at most once.
 */

export function judgeReserve(
  batch: BatchWorkingSet,
  command: ReserveCommand,
  variant: VariantRef,
  location: LocationRef,
  level: LevelState,
): Judgement {
  if (command.expiresInSeconds !== undefined && !(command.expiresInSeconds >= 1)) {
    return refuse('invalid', 'expires_in_s must be at least 1 second');
  }
  if (available(level) < command.quantity) {
    return refuse(
      'insufficient',
      `available ${available(level)} at ${command.location}, reservation of ${command.quantity} refused`,
    );
  }
  const now = batch.now;
  const reservation: ReservationState = {
    id: batch.context.newReservationId(),
    key: command.key,
    variantId: variant.id,
    locationId: location.id,
    sku: variant.sku,
    locationCode: location.code,
    quantity: command.quantity,
    committedQuantity: 0,
    status: 'pending',
    expiresAt: command.expiresInSeconds === undefined ? null : now + command.expiresInSeconds * 1000,
    createdAt: now,
    resolvedAt: null,
  };
  const hold = leg(variant.id, location.id, deltas({ reserved: command.quantity }), true);
  hold.held = command.quantity;
  const judged = applied('reserve', [hold], reservation.sku, reservation.locationCode);
  judged.reservation = reservation;
  return judged;
}

/**
 * Commit and release resolve a pending reservation. Every resolution ends the hold; only the
 * released part leaves `reserved`: the committed units stay reserved as an order (they leave
 * on_hand with the shipment).
 */
export function judgeResolution(
  batch: BatchWorkingSet,
  command: CommitCommand | ReleaseCommand,
  occurredAt: EpochMs,
): Judgement {
  const known = batch.currentReservation(command.reservationId);
  if (!known) return refuse('unknown_reservation', `no reservation ${command.reservationId}`);
  const now = batch.now;
  if (occurredAt > now + limits.sourceClockSkewMsMax) return futureRefusal(occurredAt);
  batch.touch(known.variantId, known.locationId); // expires it if due
  // The touch may have expired it: read its state again (it exists: it was known).
  const reservation = batch.currentReservation(command.reservationId) ?? known;
  if (reservation.status === 'expired') {
    return refuse(
      'reservation_expired',
      `reservation ${reservation.id} expired at ${isoOrNull(reservation.expiresAt)}`,
    );
  }
  if (reservation.status !== 'pending') {
    return refuse('reservation_closed', `reservation ${reservation.id} is already ${reservation.status}`);
  }
  if (command.type === 'release') {
    const released = leg(reservation.variantId, reservation.locationId, deltas({ reserved: -reservation.quantity }));
    released.held = -reservation.quantity;
    const judged = applied('release', [released], reservation.sku, reservation.locationCode);
    judged.reservation = { ...reservation, status: 'released', resolvedAt: now };
    return judged;
  }
  const committed = command.quantity ?? reservation.quantity;
  if (committed > reservation.quantity) {
    return refuse('invalid', `cannot commit ${committed}: reservation ${reservation.id} holds ${reservation.quantity}`);
  }
  // The rest is released now.
  const resolved = leg(
    reservation.variantId,
    reservation.locationId,
    deltas({ reserved: -(reservation.quantity - committed) }),
  );
  resolved.held = -reservation.quantity;
  if (committed > 0) resolved.sold = committed;
  const judged = applied('commit', [resolved], reservation.sku, reservation.locationCode);
  judged.reservation = { ...reservation, status: 'committed', committedQuantity: committed, resolvedAt: now };
  return judged;
}
