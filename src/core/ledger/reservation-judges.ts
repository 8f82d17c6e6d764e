import type { EpochMs } from '../clock.js';
import { limits } from '../limits.js';
import type { BatchWorkingSet } from './batch-working-set.js';
import { isoOrNull } from './command-answer.js';
import type { ChannelReserve, CommitCommand, ReleaseCommand, ReserveCommand } from './command.js';
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
  if (command.channel) return judgeChannelReserve(batch, command, command.channel, variant);
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
 * What a channel may sell of one variant from its pool: floor(pool x (100 - percent) / 100) -
 * units, the shares and ring-fenced units steps of the listing computation
 * (availability/compute-available.ts) without the buffers, which cover the delay before a
 * channel shows a change and do not apply to a request judged here and now.
 */
export function channelSellable(pool: number, fence: ChannelReserve['fence']): number {
  const percent = Math.min(100, fence.percent);
  return Math.floor((pool * (100 - percent)) / 100 + 1e-9) - fence.units;
}

/**
 * A reservation by channel: a REQUEST judged against what the channel may sell, its pool (the
 * available units of its eligible locations) less what other channels hold ring-fenced, all
 * read from the batch's levels under the store's lock. Granted, it is placed in priority order:
 * whole at the first location that holds the quantity, else split over the locations in order,
 * each part taking what its location has; every part is its own reservation and guarded leg.
 */
function judgeChannelReserve(
  batch: BatchWorkingSet,
  command: ReserveCommand,
  channel: ChannelReserve,
  variant: VariantRef,
): Judgement {
  const now = batch.now;
  const candidates: { location: LocationRef; available: number }[] = [];
  let pool = 0;
  for (const candidate of channel.locations) {
    const location = batch.snapshot.locations.get(candidate.code);
    if (!location) return refuse('unknown_location', `no location with code ${JSON.stringify(candidate.code)}`);
    if (candidates.some((each) => each.location.id === location.id)) continue;
    const level = batch.touch(variant.id, location.id);
    // A store feeds the channel only with a fresh cycle count (the pickup rule).
    if (
      candidate.countMaxAgeMs !== undefined &&
      (level.lastCountAt === null || level.lastCountAt < now - candidate.countMaxAgeMs)
    ) {
      continue;
    }
    const units = Math.max(0, available(level));
    candidates.push({ location, available: units });
    pool += units;
  }
  const sellable = channelSellable(pool, channel.fence);
  if (sellable < command.quantity) {
    return refuse(
      'insufficient',
      `channel ${channel.code} may sell ${Math.max(0, sellable)} of ${command.sku} (pool ${pool}, ${pool - Math.max(0, sellable)} held for others), reservation of ${command.quantity} refused`,
    );
  }
  const whole = candidates.find((each) => each.available >= command.quantity);
  const placed: { location: LocationRef; quantity: number }[] = [];
  if (whole) placed.push({ location: whole.location, quantity: command.quantity });
  else {
    let rest = command.quantity;
    for (const each of candidates) {
      if (rest === 0) break;
      const quantity = Math.min(rest, each.available);
      if (quantity === 0) continue;
      placed.push({ location: each.location, quantity });
      rest -= quantity;
    }
  }
  const parts: ReservationState[] = [];
  const legs = placed.map(({ location, quantity }) => {
    parts.push({
      id: batch.context.newReservationId(),
      key: command.key,
      variantId: variant.id,
      locationId: location.id,
      sku: variant.sku,
      locationCode: location.code,
      quantity,
      committedQuantity: 0,
      status: 'pending',
      expiresAt: command.expiresInSeconds === undefined ? null : now + command.expiresInSeconds * 1000,
      createdAt: now,
      resolvedAt: null,
      channel: channel.code,
    });
    const hold = leg(variant.id, location.id, deltas({ reserved: quantity }), true);
    hold.held = quantity;
    return hold;
  });
  const first = parts[0];
  if (!first) return refuse('insufficient', `channel ${channel.code} has nothing to place`);
  const judged = applied('reserve', legs, first.sku, first.locationCode);
  judged.reservation = first;
  judged.parts = parts;
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
