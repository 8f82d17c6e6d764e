import assert from 'node:assert';
import type { EpochMs } from '../clock.js';
import { recordSale } from '../availability/velocity.js';
import {
  affectedVariants,
  changedWrites,
  computeListings,
  type AvailabilityContext,
  type ListingQuantityWrite,
} from '../availability/recompute.js';
import type { StoredAnswer } from './command-answer.js';
import type { MovementType } from './command.js';
import { deltas, leg, type CountMark, type Leg } from './judgement.js';
import {
  purchaseOrderLineKey,
  systemKeyPrefix,
  type ApplyContext,
  type BatchItem,
  type LedgerSnapshot,
  type PurchaseOrderLineState,
  type ReservationState,
} from './ledger-snapshot.js';
import {
  addDeltas,
  assertHeldInvariant,
  assertLevelInvariants,
  available,
  emptyLevel,
  levelKey,
  type LevelState,
} from './level.js';
import type { MovementRecord, WriteSet } from './write-set.js';

/** Everything a movement carries besides its leg. */
export interface MovementMeta {
  occurredAt: EpochMs;
  reason: string | null;
  sourceSystem: string | null;
  sourceReference: string | null;
  reservationId: string | null;
  purchaseOrderId: string | null;
  purchaseOrderLine: number | null;
}

/** A level as the batch sees it, with what the stored row was when first touched. */
interface LevelSlot {
  level: LevelState;
  /** Version the stored row had when loaded (0 when it did not exist). */
  previousVersion: number;
  created: boolean;
}

/**
 * The state of one batch while it is judged: the levels, reservations, purchase-order lines and
 * answers as earlier commands of the batch left them, over the snapshot (which is never
 * mutated), and the rows to write. Made once per batch; the judges read it and the fold records
 * into it.
 */
export class BatchWorkingSet {
  readonly snapshot: LedgerSnapshot;
  readonly context: ApplyContext;
  readonly now: EpochMs;
  readonly writes: WriteSet = {
    answers: [],
    movements: [],
    levels: [],
    reservations: [],
    purchaseOrderLines: [],
    listingQuantities: [],
  };
  /** By level key, in first-touch order (the order levels are written in). */
  private readonly levels = new Map<string, LevelSlot>();
  private readonly reservations = new Map<string, { reservation: ReservationState; created: boolean }>();
  private readonly purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
  private readonly answers = new Map<string, StoredAnswer>();
  // In-batch on_hand deltas by level, for a late count's baseline: kept only when a count is in the batch.
  private readonly onHandDeltas = new Map<string, { occurredAt: EpochMs; onHand: number }[]>();
  private readonly hasCount: boolean;

  constructor(snapshot: LedgerSnapshot, items: readonly BatchItem[], context: ApplyContext) {
    this.snapshot = snapshot;
    this.context = context;
    this.now = context.now;
    this.hasCount = items.some((item) => item.type === 'count');
  }

  /** The answer already given to a key, in this batch or an earlier one. */
  seenAnswer(key: string): StoredAnswer | undefined {
    return this.answers.get(key) ?? this.snapshot.answers.get(key);
  }

  putAnswer(key: string, stored: StoredAnswer): void {
    this.answers.set(key, stored);
  }

  currentReservation(id: string): ReservationState | undefined {
    return this.reservations.get(id)?.reservation ?? this.snapshot.reservations.get(id);
  }

  putReservation(reservation: ReservationState, created: boolean): void {
    const existing = this.reservations.get(reservation.id);
    this.reservations.set(reservation.id, { reservation, created: existing?.created ?? created });
  }

  purchaseOrderLine(key: string): PurchaseOrderLineState | undefined {
    return this.purchaseOrderLines.get(key) ?? this.snapshot.purchaseOrderLines.get(key);
  }

  putPurchaseOrderLine(line: PurchaseOrderLineState): void {
    this.purchaseOrderLines.set(purchaseOrderLineKey(line.purchaseOrderId, line.line), line);
  }

  /**
   * The level as this batch sees it. On first touch, pending reservations that are due are
   * expired first (in expiry order), so a request never sees stock held by an expired hold.
   */
  touch(variantId: number, locationId: number): LevelState {
    return this.slot(variantId, locationId).level;
  }

  /** {@link touch}, giving the slot the level lives in (the fold writes the next level into it). */
  private slot(variantId: number, locationId: number): LevelSlot {
    const key = levelKey(variantId, locationId);
    const known = this.levels.get(key);
    if (known) return known;
    const stored = this.snapshot.levels.get(key);
    const level = stored ? { ...stored } : emptyLevel(variantId, locationId);
    assertLevelInvariants(level);
    const slot: LevelSlot = { level, previousVersion: stored?.version ?? 0, created: stored === undefined };
    this.levels.set(key, slot);
    const now = this.now;
    for (const due of this.snapshot.dueReservations.get(key) ?? []) {
      const reservation = this.currentReservation(due.id) ?? due;
      if (reservation.status !== 'pending' || reservation.expiresAt === null || reservation.expiresAt > now) continue;
      const held = reservation.quantity;
      const expiry = leg(variantId, locationId, deltas({ reserved: -held }));
      expiry.held = -held;
      this.record(
        'expire',
        `${systemKeyPrefix}expire:${reservation.id}`,
        [expiry],
        {
          occurredAt: reservation.expiresAt,
          reason: 'reservation expired',
          sourceSystem: 'onhand',
          sourceReference: reservation.id,
          reservationId: reservation.id,
          purchaseOrderId: null,
          purchaseOrderLine: null,
        },
        null,
      );
      this.putReservation({ ...reservation, status: 'expired', resolvedAt: reservation.expiresAt }, false);
    }
    return slot;
  }

  /**
   * Records one movement per leg, in leg order, and moves each leg's level. `reservationIds`,
   * when given, names each leg's reservation (a channel reservation's parts) over
   * `meta.reservationId`.
   */
  record(
    type: MovementType,
    commandKey: string,
    legs: readonly Leg[],
    meta: MovementMeta,
    count: CountMark | null,
    reservationIds?: readonly string[],
  ): MovementRecord[] {
    const records: MovementRecord[] = [];
    const now = this.now;
    for (let index = 0; index < legs.length; index += 1) {
      const leg = legs[index]!;
      const slot = this.slot(leg.variantId, leg.locationId);
      const before = slot.level;
      const after = addDeltas(before, leg.deltas);
      assertLevelInvariants(after);
      // Units this sale sold beyond what was available (before may already be short); a judge
      // that measured them over a pool says so on the leg.
      const oversold =
        leg.oversold !== null
          ? leg.oversold
          : type === 'order' || type === 'sale'
            ? Math.max(0, -available(after)) - Math.max(0, -available(before))
            : 0;
      if (leg.guarded) assert(available(after) >= 0, 'a request never drives available below zero');
      const velocity = leg.sold
        ? recordSale({ rate: before.velocityRate, at: before.velocityAt }, leg.sold, now)
        : undefined;
      // Field by field (no spreads): this runs for every leg of every command.
      const next: LevelState = {
        variantId: before.variantId,
        locationId: before.locationId,
        onHand: after.onHand,
        reserved: after.reserved,
        damaged: after.damaged,
        quarantine: after.quarantine,
        inTransit: after.inTransit,
        held: before.held + leg.held,
        velocityRate: velocity ? velocity.rate : before.velocityRate,
        velocityAt: velocity ? velocity.at : before.velocityAt,
        version: before.version + 1,
        lastCountAt: count ? count.at : before.lastCountAt,
        lastCountSourceVersion: count
          ? (count.sourceVersion ?? before.lastCountSourceVersion)
          : before.lastCountSourceVersion,
      };
      assertHeldInvariant(next);
      slot.level = next;
      const record: MovementRecord = {
        id: this.context.newMovementId(),
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
        reservationId: reservationIds?.[index] ?? meta.reservationId,
        purchaseOrderId: meta.purchaseOrderId,
        purchaseOrderLine: meta.purchaseOrderLine,
        counterpartLocationId: leg.counterpartLocationId,
        payloadHash: null,
      };
      if (this.hasCount && leg.deltas.onHand !== 0) {
        const key = levelKey(leg.variantId, leg.locationId);
        const list = this.onHandDeltas.get(key) ?? [];
        list.push({ occurredAt: meta.occurredAt, onHand: leg.deltas.onHand });
        this.onHandDeltas.set(key, list);
      }
      this.writes.movements.push(record);
      records.push(record);
    }
    return records;
  }

  /**
   * What a count at `countedAt` on a level stands under: the on_hand deltas that occurred after
   * it, stored ones (loaded by the store per count key) and this batch's.
   */
  countBaseline(countKey: string, variantId: number, locationId: number, countedAt: EpochMs): number {
    let sum = this.snapshot.countBaselines.get(countKey) ?? 0;
    for (const movement of this.onHandDeltas.get(levelKey(variantId, locationId)) ?? []) {
      if (movement.occurredAt > countedAt) sum += movement.onHand;
    }
    return sum;
  }

  /**
   * Completes the write set once every command is judged: the levels the batch changed, the
   * reservations and purchase-order lines in their final state, and (with an availability
   * context) the listings whose desired quantity moved.
   */
  finish(): WriteSet {
    const writes = this.writes;
    for (const slot of this.levels.values()) {
      if (slot.level.version !== slot.previousVersion) {
        writes.levels.push({ level: slot.level, previousVersion: slot.previousVersion, created: slot.created });
      }
    }
    writes.reservations.push(...this.reservations.values());
    writes.purchaseOrderLines.push(...this.purchaseOrderLines.values());
    if (this.snapshot.availability) writes.listingQuantities.push(...this.listingWrites(this.snapshot.availability));
    return writes;
  }

  private listingWrites(context: AvailabilityContext): ListingQuantityWrite[] {
    const changed = new Set(this.writes.levels.map((write) => write.level.variantId));
    // The batch's levels win over the stored ones (indexed once: a batch touches thousands).
    const batchByVariant = new Map<number, Map<number, LevelState>>();
    for (const { level } of this.levels.values()) {
      let byLocation = batchByVariant.get(level.variantId);
      if (!byLocation) {
        byLocation = new Map();
        batchByVariant.set(level.variantId, byLocation);
      }
      byLocation.set(level.locationId, level);
    }
    const levelsOf = (variantId: number): LevelState[] => {
      const newer = batchByVariant.get(variantId);
      const stored = context.levels.get(variantId) ?? [];
      if (!newer) return [...stored];
      const merged = stored.map((level) => newer.get(level.locationId) ?? level);
      for (const level of newer.values())
        if (!stored.some((each) => each.locationId === level.locationId)) merged.push(level);
      return merged;
    };
    const results = computeListings(context, affectedVariants(changed, context.bundlesByComponent), levelsOf, this.now);
    return changedWrites(context, results, this.now);
  }
}
