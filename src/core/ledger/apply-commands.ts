import assert from 'node:assert';
import type { EpochMs } from '../clock.js';
import { limits } from '../limits.js';
import type { VerdictStatus } from '../verdicts.js';
import type { LedgerCommand, LevelCommand, MovementType, StockBucket } from './command.js';
import { otherLocationCode } from './command.js';
import { recordSale } from '../availability/velocity.js';
import {
  affectedVariants,
  changedWrites,
  computeListings,
  type AvailabilityContext,
  type ListingQuantityWrite,
} from '../availability/recompute.js';
import {
  addDeltas,
  assertHeldInvariant,
  assertLevelInvariants,
  available,
  emptyLevel,
  levelKey,
  type Deltas,
  type LevelState,
  type Quantities,
} from './level.js';

/**
 * The ledger's decision procedure: a pure function from (snapshot of the rows a batch touches,
 * commands, time) to (one answer per command, the rows to write).
 *
 * Both stores use it the same way inside ONE transaction that holds the write lock on every
 * level the batch touches (SQLite: BEGIN IMMEDIATE, the single writer; PostgreSQL:
 * SELECT ... FOR UPDATE on the level rows, taken in key order). Nothing is read between the
 * lock and the write that this function does not see, so the judgement of a request
 * (reserve, transfer_out) against `available` cannot be overtaken by another writer: no
 * check-then-write across transactions. The stores back it with CHECK constraints
 * (reserved >= 0, and `available_after >= 0` on every guarded movement).
 *
 * Commands are judged one by one, in order, each on its own: a refused command does not
 * fail the others (group commit).
 */

export type ReservationStatus = 'pending' | 'committed' | 'released' | 'expired';

export interface VariantRef {
  id: number;
  sku: string;
  isBundle: boolean;
  /** A bundle's components (the store loads them for bundles named in a batch). */
  components?: readonly { variantId: number; sku: string; quantity: number }[] | undefined;
}

/** Sales facts a bundle takes: each becomes one movement per component (kit quantity x per-kit quantity). */
const bundleFactTypes = new Set(['order', 'cancellation', 'shipment', 'sale', 'return']);

export interface LocationRef {
  id: number;
  code: string;
}

export interface ReservationState {
  id: string;
  key: string;
  variantId: number;
  locationId: number;
  sku: string;
  locationCode: string;
  quantity: number;
  committedQuantity: number;
  status: ReservationStatus;
  expiresAt: EpochMs | null;
  createdAt: EpochMs;
  resolvedAt: EpochMs | null;
}

export interface PurchaseOrderLineState {
  purchaseOrderId: string;
  line: number;
  variantId: number;
  locationId: number;
  quantityOrdered: number;
  quantityReceived: number;
  expectedAt: EpochMs | null;
  status: 'open' | 'closed' | 'cancelled';
}

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
}

/** The answer to one command, exactly as it leaves the process and as it is replayed. */
export interface CommandAnswer {
  key: string;
  status: VerdictStatus;
  detail?: string;
  movement_ids?: number[];
  level?: LevelView;
  reservation?: ReservationView;
  /** Units this fact sold beyond what was available (an oversell). */
  oversold?: number;
  /** True when this answer is the stored answer to an earlier command with the same key. */
  replayed?: boolean;
}

export interface StoredAnswer {
  payloadHash: string;
  answer: CommandAnswer;
}

/** What a store loads (under its write lock) before calling {@link applyCommands}. */
export interface LedgerSnapshot {
  /** By sku; a sku missing here is unknown. */
  variants: ReadonlyMap<string, VariantRef>;
  /** By code; a code missing here is unknown. */
  locations: ReadonlyMap<string, LocationRef>;
  /** By {@link levelKey}; every level the batch touches, when it exists (absent = empty). */
  levels: ReadonlyMap<string, LevelState>;
  /** By id; every reservation the batch names. */
  reservations: ReadonlyMap<string, ReservationState>;
  /** By level key: pending reservations with expiresAt <= now, in (expiresAt, createdAt) order. */
  dueReservations: ReadonlyMap<string, readonly ReservationState[]>;
  /** By idempotency key: answers stored by earlier transactions. */
  answers: ReadonlyMap<string, StoredAnswer>;
  /**
   * By count command key: sum of on_hand deltas of STORED movements on that level that occurred
   * after the count's time (a late count is applied under them, never over them).
   */
  countBaselines: ReadonlyMap<string, number>;
  /** By `${purchaseOrderId}#${line}`. */
  purchaseOrderLines: ReadonlyMap<string, PurchaseOrderLineState>;
  /**
   * When present, the listings of every variant whose levels the batch changes (and of the
   * bundles containing them) are recomputed from the batch's final levels, in the same
   * transaction. It must hold the stored levels of those variants at ALL locations (and of
   * the bundles' components), locked like the touched ones.
   */
  availability?: AvailabilityContext | undefined;
}

export interface MovementRecord {
  id: number;
  commandKey: string;
  leg: number;
  type: MovementType;
  variantId: number;
  locationId: number;
  /** Level version after this movement (1 for the first movement on a level). */
  version: number;
  deltas: Deltas;
  after: Quantities;
  /** A request judged against available: the store's CHECK requires available_after >= 0. */
  guarded: boolean;
  /** Units sold beyond available by this fact (0 for everything but oversells). */
  oversold: number;
  occurredAt: EpochMs;
  recordedAt: EpochMs;
  reason: string | null;
  sourceSystem: string | null;
  sourceReference: string | null;
  reservationId: string | null;
  purchaseOrderId: string | null;
  purchaseOrderLine: number | null;
  counterpartLocationId: number | null;
  /**
   * Set on leg 0 of a command whose answer is not stored apart: its answer is rebuilt from its
   * movements ({@link appliedAnswer}), so the payload hash that decides replay vs. conflict
   * lives here. Null on other legs, on system movements and on commands with a stored answer.
   */
  payloadHash: string | null;
}

/** One recorded leg of an applied command, as {@link appliedAnswer} needs it (leg order). */
export interface RecordedLeg {
  id: number;
  /** Sku and location code of the leg's level. */
  sku: string;
  location: string;
  after: Quantities;
  version: number;
  oversold: number;
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
    level: levelView(primary.after, primary.version, primary.sku, primary.location),
  };
  if (reservation) answer.reservation = reservation;
  if (oversold > 0) answer.oversold = oversold;
  return answer;
}

/** Keys the ledger uses for its own movements (reservation expiry); refused from clients. */
export const systemKeyPrefix = 'sys:';

export interface LevelWrite {
  level: LevelState;
  /** Version the stored row had when loaded (0 and `created` when the row did not exist). */
  previousVersion: number;
  created: boolean;
}

export interface WriteSet {
  /** Answers to store apart: refusals and commands that changed a reservation (the rest are folded into movements). */
  answers: { key: string; payloadHash: string; answer: CommandAnswer; recordedAt: EpochMs }[];
  movements: MovementRecord[];
  levels: LevelWrite[];
  /** Reservations created or changed, final state; `created` marks inserts. */
  reservations: { reservation: ReservationState; created: boolean }[];
  purchaseOrderLines: PurchaseOrderLineState[];
  /** Listings whose desired quantity changed (only with `snapshot.availability`). */
  listingQuantities: ListingQuantityWrite[];
}

export interface ApplyContext {
  now: EpochMs;
  /** Unique id for a new reservation. */
  newReservationId: () => string;
  /** Next movement id; ids increase within a batch. */
  newMovementId: () => number;
}

export interface BatchOutcome {
  answers: CommandAnswer[];
  writes: WriteSet;
}

/** Tidy command used by the sweeper: touches a level so its due reservations expire. */
export interface TidyCommand {
  type: 'tidy';
  variantId: number;
  locationId: number;
}

export type BatchItem = LedgerCommand | TidyCommand;

function isoOrNull(ms: EpochMs | null): string | null {
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

const bucketField: Record<StockBucket, 'onHand' | 'damaged' | 'quarantine'> = {
  on_hand: 'onHand',
  damaged: 'damaged',
  quarantine: 'quarantine',
};

function deltas(partial: Partial<Deltas>): Deltas {
  return {
    onHand: partial.onHand ?? 0,
    reserved: partial.reserved ?? 0,
    damaged: partial.damaged ?? 0,
    quarantine: partial.quarantine ?? 0,
    inTransit: partial.inTransit ?? 0,
  };
}

export function purchaseOrderLineKey(purchaseOrderId: string, line: number): string {
  return `${purchaseOrderId}#${line}`;
}

interface Leg {
  variantId: number;
  locationId: number;
  deltas: Deltas;
  /** Change of the units held by pending reservations (reserve +q; commit, release, expire -q). */
  held?: number;
  /** Units sold by this leg (order, sale, committed reservation): feeds the sales velocity. */
  sold?: number;
  guarded: boolean;
  counterpartLocationId: number | null;
}

type Judgement =
  | { status: Exclude<VerdictStatus, 'applied' | 'exists' | 'conflict'>; detail: string }
  | {
      status: 'applied';
      type: MovementType;
      legs: Leg[];
      reservation?: ReservationState;
      purchaseOrderLine?: PurchaseOrderLineState;
      count?: { at: EpochMs; sourceVersion: number | null };
      /** The bundle a sales fact was recorded for (its legs are the components'). */
      bundleSku?: string;
    };

function sold(legs: Leg[], units: number): Leg[] {
  legs[0]!.sold = units;
  return legs;
}

function futureRefusal(occurredAt: EpochMs): Judgement {
  return refuse('invalid', `occurred_at ${new Date(occurredAt).toISOString()} lies in the future`);
}

function refuse(
  status: Exclude<VerdictStatus, 'applied' | 'exists' | 'conflict'>,
  detail: string,
): Judgement {
  return { status, detail };
}

/**
 * Apply a batch of commands to a snapshot. Pure: the snapshot is not mutated; the outcome
 * lists every row to write.
 */
export function applyCommands(snapshot: LedgerSnapshot, items: readonly BatchItem[], context: ApplyContext): BatchOutcome {
  const { now } = context;
  const levels = new Map<string, LevelState>();
  const levelOrigins = new Map<string, { previousVersion: number; created: boolean }>();
  const reservations = new Map<string, { reservation: ReservationState; created: boolean }>();
  const purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
  const batchAnswers = new Map<string, StoredAnswer>();
  // In-batch on_hand deltas by level, for a late count's baseline: kept only when a count is in the batch.
  const batchOnHandDeltas = new Map<string, { occurredAt: EpochMs; onHand: number }[]>();
  const batchHasCount = items.some((item) => item.type === 'count');
  const writes: WriteSet = { answers: [], movements: [], levels: [], reservations: [], purchaseOrderLines: [], listingQuantities: [] };
  const answers: CommandAnswer[] = [];

  function currentReservation(id: string): ReservationState | undefined {
    return reservations.get(id)?.reservation ?? snapshot.reservations.get(id);
  }

  function putReservation(reservation: ReservationState, created: boolean): void {
    const existing = reservations.get(reservation.id);
    reservations.set(reservation.id, { reservation, created: existing?.created ?? created });
  }

  function recordMovements(
    type: MovementType,
    commandKey: string,
    legs: readonly Leg[],
    meta: {
      occurredAt: EpochMs;
      reason: string | null;
      sourceSystem: string | null;
      sourceReference: string | null;
      reservationId: string | null;
      purchaseOrderId: string | null;
      purchaseOrderLine: number | null;
    },
    count?: { at: EpochMs; sourceVersion: number | null },
  ): MovementRecord[] {
    const records: MovementRecord[] = [];
    legs.forEach((leg, index) => {
      const key = levelKey(leg.variantId, leg.locationId);
      const before = touch(leg.variantId, leg.locationId);
      const after = addDeltas(before, leg.deltas);
      assertLevelInvariants(after);
      // Units this sale sold beyond what was available (before may already be short).
      const oversold =
        type === 'order' || type === 'sale' ? Math.max(0, -available(after)) - Math.max(0, -available(before)) : 0;
      if (leg.guarded) assert(available(after) >= 0, 'a request never drives available below zero');
      const velocity = leg.sold ? recordSale({ rate: before.velocityRate, at: before.velocityAt }, leg.sold, now) : undefined;
      // Field by field (no spreads): this runs for every leg of every command.
      const next: LevelState = {
        variantId: before.variantId,
        locationId: before.locationId,
        onHand: after.onHand,
        reserved: after.reserved,
        damaged: after.damaged,
        quarantine: after.quarantine,
        inTransit: after.inTransit,
        held: before.held + (leg.held ?? 0),
        velocityRate: velocity ? velocity.rate : before.velocityRate,
        velocityAt: velocity ? velocity.at : before.velocityAt,
        version: before.version + 1,
        lastCountAt: count ? count.at : before.lastCountAt,
        lastCountSourceVersion: count ? (count.sourceVersion ?? before.lastCountSourceVersion) : before.lastCountSourceVersion,
      };
      assertHeldInvariant(next);
      levels.set(key, next);
      const record: MovementRecord = {
        id: context.newMovementId(),
        commandKey,
        leg: index,
        type,
        variantId: leg.variantId,
        locationId: leg.locationId,
        version: next.version,
        deltas: leg.deltas,
        after,
        guarded: leg.guarded,
        oversold,
        occurredAt: meta.occurredAt,
        recordedAt: now,
        reason: meta.reason,
        sourceSystem: meta.sourceSystem,
        sourceReference: meta.sourceReference,
        reservationId: meta.reservationId,
        purchaseOrderId: meta.purchaseOrderId,
        purchaseOrderLine: meta.purchaseOrderLine,
        counterpartLocationId: leg.counterpartLocationId,
        payloadHash: null,
      };
      if (batchHasCount && leg.deltas.onHand !== 0) {
        const list = batchOnHandDeltas.get(key) ?? [];
        list.push({ occurredAt: meta.occurredAt, onHand: leg.deltas.onHand });
        batchOnHandDeltas.set(key, list);
      }
      writes.movements.push(record);
      records.push(record);
    });
    return records;
  }

  /**
   * The level as this batch sees it. On first touch, pending reservations that are due are
   * expired first (in expiry order), so a request never sees stock held by an expired hold.
   */
  function touch(variantId: number, locationId: number): LevelState {
    const key = levelKey(variantId, locationId);
    const known = levels.get(key);
    if (known) return known;
    const stored = snapshot.levels.get(key);
    const level = stored ? { ...stored } : emptyLevel(variantId, locationId);
    assertLevelInvariants(level);
    levels.set(key, level);
    levelOrigins.set(key, { previousVersion: stored?.version ?? 0, created: stored === undefined });
    for (const due of snapshot.dueReservations.get(key) ?? []) {
      const reservation = currentReservation(due.id) ?? due;
      if (reservation.status !== 'pending' || reservation.expiresAt === null || reservation.expiresAt > now) continue;
      const held = reservation.quantity;
      recordMovements(
        'expire',
        `${systemKeyPrefix}expire:${reservation.id}`,
        [{ variantId, locationId, deltas: deltas({ reserved: -held }), held: -held, guarded: false, counterpartLocationId: null }],
        {
          occurredAt: reservation.expiresAt,
          reason: 'reservation expired',
          sourceSystem: 'onhand',
          sourceReference: reservation.id,
          reservationId: reservation.id,
          purchaseOrderId: null,
          purchaseOrderLine: null,
        },
      );
      putReservation({ ...reservation, status: 'expired', resolvedAt: reservation.expiresAt }, false);
    }
    return levels.get(key)!;
  }

  function countBaseline(command: LedgerCommand & { type: 'count' }, key: string, countedAt: EpochMs): number {
    const stored = snapshot.countBaselines.get(command.key) ?? 0;
    const inBatch = (batchOnHandDeltas.get(key) ?? [])
      .filter((movement) => movement.occurredAt > countedAt)
      .reduce((sum, movement) => sum + movement.onHand, 0);
    return stored + inBatch;
  }

  function judgeLevelCommand(command: LevelCommand, occurredAt: EpochMs): Judgement {
    const variant = snapshot.variants.get(command.sku);
    if (!variant) return refuse('unknown_variant', `no variant with sku ${JSON.stringify(command.sku)}`);
    const location = snapshot.locations.get(command.location);
    if (!location) return refuse('unknown_location', `no location with code ${JSON.stringify(command.location)}`);
    const otherCode = otherLocationCode(command);
    const other = otherCode === undefined ? undefined : snapshot.locations.get(otherCode);
    if (otherCode !== undefined && !other) {
      return refuse('unknown_location', `no location with code ${JSON.stringify(otherCode)}`);
    }
    if (variant.isBundle) {
      if (!bundleFactTypes.has(command.type)) {
        return refuse('invalid', `${command.sku} is a bundle: it holds no stock of its own; record ${command.type} movements on its components`);
      }
      if (occurredAt > now + limits.sourceClockSkewMsMax) return futureRefusal(occurredAt);
      return judgeBundleFact(command as LevelCommand & { quantity: number }, variant, location);
    }
    if (occurredAt > now + limits.sourceClockSkewMsMax) return futureRefusal(occurredAt);
    const level = touch(variant.id, location.id);
    const single = (partial: Partial<Deltas>, guarded = false): Leg[] => [
      { variantId: variant.id, locationId: location.id, deltas: deltas(partial), guarded, counterpartLocationId: null },
    ];

    switch (command.type) {
      case 'receipt': {
        if (!command.purchaseOrder) return { status: 'applied', type: 'receipt', legs: single({ onHand: command.quantity }) };
        const lineKey = purchaseOrderLineKey(command.purchaseOrder.id, command.purchaseOrder.line);
        const line = purchaseOrderLines.get(lineKey) ?? snapshot.purchaseOrderLines.get(lineKey);
        if (!line) {
          return refuse('invalid', `purchase order ${command.purchaseOrder.id} has no line ${command.purchaseOrder.line}`);
        }
        if (line.variantId !== variant.id || line.locationId !== location.id) {
          return refuse('invalid', `purchase order line ${lineKey} is for another variant or location`);
        }
        if (line.status === 'cancelled') return refuse('invalid', `purchase order line ${lineKey} is cancelled`);
        return {
          status: 'applied',
          type: 'receipt',
          legs: single({ onHand: command.quantity }),
          purchaseOrderLine: { ...line, quantityReceived: line.quantityReceived + command.quantity },
        };
      }
      case 'adjustment':
        // Only a decrease can be refused: raising an on_hand that facts drove negative is always right.
        if (command.quantity < 0 && level.onHand + command.quantity < 0) {
          return refuse('insufficient', `adjustment of ${command.quantity} would leave on_hand at ${level.onHand + command.quantity}`);
        }
        return { status: 'applied', type: 'adjustment', legs: single({ onHand: command.quantity }) };
      case 'count': {
        const sourceVersion = command.sourceVersion ?? null;
        if (level.lastCountAt !== null && occurredAt <= level.lastCountAt) {
          return refuse('stale', `a count at ${new Date(level.lastCountAt).toISOString()} is already applied`);
        }
        if (sourceVersion !== null && level.lastCountSourceVersion !== null && sourceVersion <= level.lastCountSourceVersion) {
          return refuse('stale', `a count with source version ${level.lastCountSourceVersion} is already applied`);
        }
        const target = command.onHand + countBaseline(command, levelKey(variant.id, location.id), occurredAt);
        return {
          status: 'applied',
          type: 'count',
          legs: single({ onHand: target - level.onHand }),
          count: { at: occurredAt, sourceVersion },
        };
      }
      case 'transfer_out': {
        if (other!.id === location.id) return refuse('invalid', 'a transfer needs two different locations');
        if (available(level) < command.quantity) {
          return refuse('insufficient', `available ${available(level)} at ${command.location}, transfer of ${command.quantity} refused`);
        }
        return {
          status: 'applied',
          type: 'transfer_out',
          legs: [
            { variantId: variant.id, locationId: location.id, deltas: deltas({ onHand: -command.quantity }), guarded: true, counterpartLocationId: other!.id },
            { variantId: variant.id, locationId: other!.id, deltas: deltas({ inTransit: command.quantity }), guarded: false, counterpartLocationId: location.id },
          ],
        };
      }
      case 'transfer_in':
        if (other && other.id === location.id) return refuse('invalid', 'a transfer needs two different locations');
        if (level.inTransit < command.quantity) {
          return refuse('invalid', `in_transit is ${level.inTransit} at ${command.location}, cannot receive ${command.quantity} from a transfer`);
        }
        return {
          status: 'applied',
          type: 'transfer_in',
          legs: [
            {
              variantId: variant.id,
              locationId: location.id,
              deltas: deltas({ inTransit: -command.quantity, onHand: command.quantity }),
              guarded: false,
              counterpartLocationId: other?.id ?? null,
            },
          ],
        };
      case 'status': {
        if (command.from === command.to) return refuse('invalid', 'a status change needs two different buckets');
        const from = bucketField[command.from];
        if (level[from] < command.quantity) {
          return refuse('insufficient', `${command.from} is ${level[from]}, cannot move ${command.quantity} to ${command.to}`);
        }
        return {
          status: 'applied',
          type: 'status',
          legs: single({ [from]: -command.quantity, [bucketField[command.to]]: command.quantity }),
        };
      }
      case 'order':
        return { status: 'applied', type: 'order', legs: sold(single({ reserved: command.quantity }), command.quantity) };
      case 'cancellation':
        if (level.reserved - level.held < command.quantity) {
          return refuse('invalid', `reserved for orders is ${level.reserved - level.held}, cannot cancel ${command.quantity}`);
        }
        return { status: 'applied', type: 'cancellation', legs: single({ reserved: -command.quantity }) };
      case 'shipment':
        if (level.reserved - level.held < command.quantity) {
          return refuse(
            'invalid',
            `reserved for orders is ${level.reserved - level.held}, cannot ship ${command.quantity}: record the order (or commit the reservation) first, or a sale`,
          );
        }
        return { status: 'applied', type: 'shipment', legs: single({ reserved: -command.quantity, onHand: -command.quantity }) };
      case 'sale':
        return { status: 'applied', type: 'sale', legs: sold(single({ onHand: -command.quantity }), command.quantity) };
      case 'return':
        return { status: 'applied', type: 'return', legs: single({ [bucketField[command.to ?? 'quarantine']]: command.quantity }) };
      case 'reserve': {
        if (command.expiresInSeconds !== undefined && !(command.expiresInSeconds >= 1)) {
          return refuse('invalid', 'expires_in_s must be at least 1 second');
        }
        if (available(level) < command.quantity) {
          return refuse('insufficient', `available ${available(level)} at ${command.location}, reservation of ${command.quantity} refused`);
        }
        const reservation: ReservationState = {
          id: context.newReservationId(),
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
        const legs = single({ reserved: command.quantity }, true);
        legs[0]!.held = command.quantity;
        return { status: 'applied', type: 'reserve', legs, reservation };
      }
    }
  }

  /**
   * A kit sold (or cancelled, shipped, returned) on a channel moves its components: one leg per
   * component, quantity x per-kit quantity, each judged like the same fact on a plain variant.
   * Selling a kit thereby lowers every other kit that shares a component.
   */
  function judgeBundleFact(command: LevelCommand & { quantity: number }, bundle: VariantRef, location: LocationRef): Judgement {
    const components = bundle.components ?? [];
    if (components.length === 0) return refuse('invalid', `bundle ${bundle.sku} has no components`);
    const legs: Leg[] = [];
    for (const component of components) {
      const units = command.quantity * component.quantity;
      const level = touch(component.variantId, location.id);
      const leg = (partial: Partial<Deltas>): Leg => ({
        variantId: component.variantId, locationId: location.id, deltas: deltas(partial), guarded: false, counterpartLocationId: null,
      });
      switch (command.type) {
        case 'order':
          legs.push({ ...leg({ reserved: units }), sold: units });
          break;
        case 'sale':
          legs.push({ ...leg({ onHand: -units }), sold: units });
          break;
        case 'cancellation':
        case 'shipment':
          if (level.reserved - level.held < units) {
            return refuse('invalid', `reserved for orders of component ${component.sku} is ${level.reserved - level.held}, cannot ${command.type === 'shipment' ? 'ship' : 'cancel'} ${units}`);
          }
          legs.push(leg(command.type === 'shipment' ? { reserved: -units, onHand: -units } : { reserved: -units }));
          break;
        case 'return':
          legs.push(leg({ [bucketField[(command as LevelCommand & { to?: StockBucket }).to ?? 'quarantine']]: units }));
          break;
        default:
          return refuse('invalid', `${command.type} is not a sale of bundle ${bundle.sku}`);
      }
    }
    return { status: 'applied', type: command.type as MovementType, legs, bundleSku: bundle.sku };
  }

  function judgeReservationCommand(command: LedgerCommand & { type: 'commit' | 'release' }, occurredAt: EpochMs): Judgement {
    const known = currentReservation(command.reservationId);
    if (!known) return refuse('unknown_reservation', `no reservation ${command.reservationId}`);
    if (occurredAt > now + limits.sourceClockSkewMsMax) return futureRefusal(occurredAt);
    touch(known.variantId, known.locationId); // expires it if due
    const reservation = currentReservation(command.reservationId)!;
    if (reservation.status === 'expired') {
      return refuse('reservation_expired', `reservation ${reservation.id} expired at ${isoOrNull(reservation.expiresAt)}`);
    }
    if (reservation.status !== 'pending') {
      return refuse('reservation_closed', `reservation ${reservation.id} is already ${reservation.status}`);
    }
    // Every resolution ends the hold; only the released part leaves `reserved`.
    const leg = (reserved: number): Leg[] => [
      {
        variantId: reservation.variantId,
        locationId: reservation.locationId,
        deltas: deltas({ reserved }),
        held: -reservation.quantity,
        guarded: false,
        counterpartLocationId: null,
      },
    ];
    if (command.type === 'release') {
      return {
        status: 'applied',
        type: 'release',
        legs: leg(-reservation.quantity),
        reservation: { ...reservation, status: 'released', resolvedAt: now },
      };
    }
    const committed = command.quantity ?? reservation.quantity;
    if (committed > reservation.quantity) {
      return refuse('invalid', `cannot commit ${committed}: reservation ${reservation.id} holds ${reservation.quantity}`);
    }
    // The committed units stay reserved as an order (they leave on_hand with the shipment);
    // the rest is released now.
    return {
      status: 'applied',
      type: 'commit',
      legs: committed > 0 ? sold(leg(-(reservation.quantity - committed)), committed) : leg(-(reservation.quantity - committed)),
      reservation: { ...reservation, status: 'committed', committedQuantity: committed, resolvedAt: now },
    };
  }

  for (const item of items) {
    if (item.type === 'tidy') {
      touch(item.variantId, item.locationId);
      continue;
    }
    const command = item;
    const seen = batchAnswers.get(command.key) ?? snapshot.answers.get(command.key);
    if (seen) {
      answers.push(
        seen.payloadHash === command.payloadHash
          ? { ...seen.answer, status: seen.answer.status === 'applied' ? 'exists' : seen.answer.status, replayed: true }
          : { key: command.key, status: 'conflict', detail: 'this idempotency key was used with a different payload' },
      );
      continue;
    }
    if (command.key.startsWith(systemKeyPrefix)) {
      // Not stored: like a schema error, it is refused the same way every time.
      answers.push({ key: command.key, status: 'invalid', detail: `keys starting with ${systemKeyPrefix} are reserved for onhand's own movements` });
      continue;
    }
    const occurredAt = command.occurredAt ?? now;
    const judgement =
      command.type === 'commit' || command.type === 'release'
        ? judgeReservationCommand(command, occurredAt)
        : judgeLevelCommand(command, occurredAt);

    let answer: CommandAnswer;
    if (judgement.status !== 'applied') {
      answer = { key: command.key, status: judgement.status, detail: judgement.detail };
    } else {
      const reservationId = judgement.reservation?.id ?? null;
      const records = recordMovements(
        judgement.type,
        command.key,
        judgement.legs,
        {
          occurredAt,
          reason: command.type === 'adjustment' ? command.reason : judgement.bundleSku ? `bundle ${judgement.bundleSku}` : (command.note ?? null),
          sourceSystem: command.source?.system ?? null,
          sourceReference: command.source?.reference ?? null,
          reservationId,
          purchaseOrderId: command.type === 'receipt' ? (command.purchaseOrder?.id ?? null) : null,
          purchaseOrderLine: command.type === 'receipt' ? (command.purchaseOrder?.line ?? null) : null,
        },
        judgement.count,
      );
      if (judgement.reservation) putReservation(judgement.reservation, command.type === 'reserve');
      if (judgement.purchaseOrderLine) {
        const line = judgement.purchaseOrderLine;
        purchaseOrderLines.set(purchaseOrderLineKey(line.purchaseOrderId, line.line), line);
      }
      const primary = records[0]!;
      const reservation = judgement.reservation;
      // For a bundle fact the level shown is its first component's (leg 0).
      const sku = reservation?.sku ?? (judgement.bundleSku ? (snapshot.variants.get(judgement.bundleSku)?.components?.[0]?.sku ?? (command as LevelCommand).sku) : (command as LevelCommand).sku);
      const locationCode = reservation?.locationCode ?? (command as LevelCommand).location;
      // Legs touch distinct levels, so leg 0's resulting level is the command's primary level.
      answer = appliedAnswer(
        command.key,
        records.map((record, index) => ({
          id: record.id,
          sku: index === 0 ? sku : '',
          location: index === 0 ? locationCode : '',
          after: record.after,
          version: record.version,
          oversold: record.oversold,
        })),
        reservation ? reservationView(reservation, now) : undefined,
      );
      // Folded: without a reservation the answer is a function of the movements alone, and leg
      // 0 carries the hash (a reservation's view is stored with the answer instead).
      if (!reservation) primary.payloadHash = command.payloadHash;
    }
    const stored: StoredAnswer = { payloadHash: command.payloadHash, answer };
    batchAnswers.set(command.key, stored);
    if (answer.status !== 'applied' || answer.reservation) {
      writes.answers.push({ key: command.key, payloadHash: command.payloadHash, answer, recordedAt: now });
    }
    answers.push(answer);
  }

  for (const [key, level] of levels) {
    const origin = levelOrigins.get(key)!;
    if (level.version !== origin.previousVersion) {
      writes.levels.push({ level, previousVersion: origin.previousVersion, created: origin.created });
    }
  }
  writes.reservations.push(...reservations.values());
  writes.purchaseOrderLines.push(...purchaseOrderLines.values());
  if (snapshot.availability) {
    const context = snapshot.availability;
    const changed = new Set(writes.levels.map((write) => write.level.variantId));
    // The batch's levels win over the stored ones (indexed once: a batch touches thousands).
    const batchByVariant = new Map<number, Map<number, LevelState>>();
    for (const level of levels.values()) {
      let byLocation = batchByVariant.get(level.variantId);
      if (!byLocation) batchByVariant.set(level.variantId, (byLocation = new Map()));
      byLocation.set(level.locationId, level);
    }
    const levelsOf = (variantId: number): LevelState[] => {
      const newer = batchByVariant.get(variantId);
      const stored = context.levels.get(variantId) ?? [];
      if (!newer) return [...stored];
      const merged = stored.map((level) => newer.get(level.locationId) ?? level);
      for (const level of newer.values()) if (!stored.some((each) => each.locationId === level.locationId)) merged.push(level);
      return merged;
    };
    const results = computeListings(context, affectedVariants(changed, context.bundlesByComponent), levelsOf, now);
    writes.listingQuantities.push(...changedWrites(context, results, now));
  }
  assert.equal(answers.length, items.filter((item) => item.type !== 'tidy').length, 'one answer per command');
  return { answers, writes };
}

/**
 * Everything a store must load for a batch, derived from the commands alone.
 */
export interface BatchNeeds {
  skus: string[];
  locationCodes: string[];
  reservationIds: string[];
  keys: string[];
  purchaseOrderLines: { purchaseOrderId: string; line: number }[];
}

export function collectNeeds(items: readonly BatchItem[]): BatchNeeds {
  const skus = new Set<string>();
  const codes = new Set<string>();
  const reservationIds = new Set<string>();
  const keys = new Set<string>();
  const lines = new Map<string, { purchaseOrderId: string; line: number }>();
  for (const item of items) {
    if (item.type === 'tidy') continue;
    keys.add(item.key);
    if (item.type === 'commit' || item.type === 'release') {
      reservationIds.add(item.reservationId);
      continue;
    }
    skus.add(item.sku);
    codes.add(item.location);
    const other = otherLocationCode(item);
    if (other !== undefined) codes.add(other);
    if (item.type === 'receipt' && item.purchaseOrder) {
      lines.set(purchaseOrderLineKey(item.purchaseOrder.id, item.purchaseOrder.line), {
        purchaseOrderId: item.purchaseOrder.id,
        line: item.purchaseOrder.line,
      });
    }
  }
  return {
    skus: [...skus].sort(),
    locationCodes: [...codes].sort(),
    reservationIds: [...reservationIds].sort(),
    keys: [...keys].sort(),
    purchaseOrderLines: [...lines.values()],
  };
}

/**
 * The levels a batch will touch, once skus, codes and reservations are resolved; sorted so
 * that every store locks them in the same order (no lock-order deadlocks between batches).
 */
export function touchedLevels(
  items: readonly BatchItem[],
  variants: ReadonlyMap<string, VariantRef>,
  locations: ReadonlyMap<string, LocationRef>,
  reservations: ReadonlyMap<string, ReservationState>,
): { variantId: number; locationId: number }[] {
  const out = new Map<string, { variantId: number; locationId: number }>();
  const add = (variantId: number, locationId: number) => out.set(levelKey(variantId, locationId), { variantId, locationId });
  for (const item of items) {
    if (item.type === 'tidy') {
      add(item.variantId, item.locationId);
      continue;
    }
    if (item.type === 'commit' || item.type === 'release') {
      const reservation = reservations.get(item.reservationId);
      if (reservation) add(reservation.variantId, reservation.locationId);
      continue;
    }
    const variant = variants.get(item.sku);
    const location = locations.get(item.location);
    if (!variant || !location) continue;
    add(variant.id, location.id);
    for (const component of variant.components ?? []) add(component.variantId, location.id);
    const other = otherLocationCode(item);
    const otherLocation = other === undefined ? undefined : locations.get(other);
    if (otherLocation) add(variant.id, otherLocation.id);
  }
  return [...out.values()].sort((a, b) => a.variantId - b.variantId || a.locationId - b.locationId);
}

/** Count commands whose baseline (stored on_hand deltas after the count time) must be loaded. */
export function countQueries(
  items: readonly BatchItem[],
  variants: ReadonlyMap<string, VariantRef>,
  locations: ReadonlyMap<string, LocationRef>,
  now: EpochMs,
): { key: string; variantId: number; locationId: number; countedAt: EpochMs }[] {
  const out: { key: string; variantId: number; locationId: number; countedAt: EpochMs }[] = [];
  for (const item of items) {
    if (item.type !== 'count') continue;
    const variant = variants.get(item.sku);
    const location = locations.get(item.location);
    if (variant && location) out.push({ key: item.key, variantId: variant.id, locationId: location.id, countedAt: item.occurredAt ?? now });
  }
  return out;
}
