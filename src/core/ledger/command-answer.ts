import assert from 'node:assert';
import type { EpochMs } from '../clock.js';
import type { VerdictStatus } from '../verdicts.js';
import { available, type Quantities } from './level.js';
import type { ReservationState, ReservationStatus } from './ledger-snapshot.js';

/**
 * The answer the ledger gives to one command, and the views it shows: what leaves the process
 * and what a replay gives back, byte for byte.
 */

/** The level as the API shows it. */
export interface LevelView {
  sku: string;
  location: string;
  on_hand: number;
  reserved: number;
  available: number;
  damaged: number;
  quarantine: number;
  in_transit: number;
  version: number;
}

export interface ReservationView {
  id: string;
  key: string;
  sku: string;
  location: string;
  quantity: number;
  committed_quantity: number;
  status: ReservationStatus;
  expires_at: string | null;
  created_at: string;
  resolved_at: string | null;
  /** The channel a reservation by channel was made for; absent for one made at a location. */
  channel?: string;
}

/** The answer to one command, exactly as it leaves the process and as it is replayed. */
export interface CommandAnswer {
  key: string;
  status: VerdictStatus;
  detail?: string;
  movement_ids?: number[];
  level?: LevelView;
  reservation?: ReservationView;
  /**
   * A channel reservation's parts, one per location it was placed at, in priority order
   * (part 0 is `reservation`). Present only on answers to a reservation by channel.
   */
  parts?: { reservation: ReservationView; level: LevelView }[];
  /** Units this fact sold beyond what was available (an oversell). */
  oversold?: number;
  /** True when this answer is the stored answer to an earlier command with the same key. */
  replayed?: boolean;
}

export interface StoredAnswer {
  payloadHash: string;
  answer: CommandAnswer;
}

/** What an applied answer needs of each recorded leg; a movement record has it all. */
export interface LegOutcome {
  id: number;
  after: Quantities;
  version: number;
  oversold: number;
}

/** One recorded leg of an applied command, as {@link appliedAnswer} needs it (leg order). */
export interface RecordedLeg extends LegOutcome {
  /** Sku and location code of the leg's level. */
  sku: string;
  location: string;
}

/**
 * The answer to an applied command that changed no reservation, built from its movements only.
 * The core answers such commands with this function and stores no separate answer for them, so
 * a store that loads the legs back (by command key, in leg order) rebuilds the same answer,
 * byte for byte, for a replay: one row less per command on the hot path.
 */
export function appliedAnswer(key: string, legs: readonly RecordedLeg[], reservation?: ReservationView): CommandAnswer {
  const primary = legs[0];
  assert(primary !== undefined, `applied command ${key} has no movement`);
  return answerOfLegs(key, legs, primary.sku, primary.location, reservation);
}

/**
 * {@link appliedAnswer} with the primary level's sku and location given apart: the core calls it
 * with its movement records as they are (no copy of each leg to attach a name), the store
 * through {@link appliedAnswer}; one body, so both build the same bytes.
 */
export function answerOfLegs(
  key: string,
  legs: readonly LegOutcome[],
  sku: string,
  location: string,
  reservation?: ReservationView,
): CommandAnswer {
  const primary = legs[0];
  assert(primary !== undefined, `applied command ${key} has no movement`);
  let oversold = 0;
  const ids: number[] = [];
  for (const leg of legs) {
    oversold += leg.oversold;
    ids.push(leg.id);
  }
  // Built field by field, in the order the API shows them (no spreads: this runs per command).
  const answer: CommandAnswer = {
    key,
    status: 'applied',
    movement_ids: ids,
    level: levelView(primary.after, primary.version, sku, location),
  };
  if (reservation) answer.reservation = reservation;
  if (oversold > 0) answer.oversold = oversold;
  return answer;
}

export function isoOrNull(ms: EpochMs | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function reservationView(reservation: ReservationState, now: EpochMs): ReservationView {
  // Logical expiry: a pending reservation past its expiry is expired, whether or not the
  // sweeper has written it yet.
  const expiredLogically =
    reservation.status === 'pending' && reservation.expiresAt !== null && reservation.expiresAt <= now;
  return {
    id: reservation.id,
    key: reservation.key,
    sku: reservation.sku,
    location: reservation.locationCode,
    quantity: reservation.quantity,
    committed_quantity: reservation.committedQuantity,
    status: expiredLogically ? 'expired' : reservation.status,
    expires_at: isoOrNull(reservation.expiresAt),
    created_at: new Date(reservation.createdAt).toISOString(),
    resolved_at: expiredLogically ? isoOrNull(reservation.expiresAt) : isoOrNull(reservation.resolvedAt),
    ...(reservation.channel === undefined ? {} : { channel: reservation.channel }),
  };
}

export function levelView(quantities: Quantities, version: number, sku: string, location: string): LevelView {
  return {
    sku,
    location,
    on_hand: quantities.onHand,
    reserved: quantities.reserved,
    available: available(quantities),
    damaged: quantities.damaged,
    quarantine: quantities.quarantine,
    in_transit: quantities.inTransit,
    version,
  };
}
