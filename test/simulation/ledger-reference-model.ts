/**
 * The reference model for test/simulation/ledger-model.test.ts: the ledger's rules written as
 * naively as possible, with nothing shared with src/core but types and the `limits` numbers
 * (fast-check: "the model should not be a carbon copy of the system").
 *
 * - State is an append-only array of movements (facts only) plus a list of reservations; a
 *   level is a fold over the array, recomputed from scratch on every read.
 * - Reservation holds are not movements here: `reserved` = the fold's order/cancellation/shipment
 *   deltas + what each reservation holds NOW (pending and not yet past expiresAt: its quantity;
 *   committed: its committed units; otherwise 0). Expiry is therefore purely logical - the model
 *   never "sweeps" - which is exactly the promise the ledger makes (docs/RELIABILITY.md,
 *   section 7).
 * - Commands are judged strictly one after another in submission order (the order the group
 *   committer applies them), each against the state left by the previous one.
 * - A cancellation or shipment may take only units reserved for ORDERS: reserved minus what
 *   pending reservations hold now (a hold is not an order; see the BUG-1 regression rows in
 *   test/unit/ledger-verdicts.test.ts). Committed reservations count as orders.
 */
import type { CommandAnswer } from '../../src/core/ledger/apply-commands.js';
import type { LedgerCommand, StockBucket } from '../../src/core/ledger/command.js';
import { limits } from '../../src/core/limits.js';
import type { VerdictStatus } from '../../src/core/verdicts.js';

export interface Quantities {
  onHand: number;
  reserved: number;
  damaged: number;
  quarantine: number;
  inTransit: number;
}

export const zero = (): Quantities => ({ onHand: 0, reserved: 0, damaged: 0, quarantine: 0, inTransit: 0 });

const bucketField: Record<StockBucket, 'onHand' | 'damaged' | 'quarantine'> = {
  on_hand: 'onHand',
  damaged: 'damaged',
  quarantine: 'quarantine',
};

export interface ModelMovement {
  key: string;
  sku: string;
  location: string;
  occurredAt: number;
  deltas: Partial<Quantities>;
}

export interface ModelReservation {
  /** Known once the ledger's answer names it. */
  id: string | null;
  key: string;
  sku: string;
  location: string;
  quantity: number;
  expiresAt: number | null;
  createdAt: number;
  resolution: 'pending' | 'committed' | 'released';
  committedQuantity: number;
  resolvedAt: number | null;
}

export interface ModelPurchaseOrderLine {
  purchaseOrderId: string;
  line: number;
  sku: string;
  location: string;
  ordered: number;
  received: number;
  cancelled: boolean;
}

export interface ModelAnswer {
  payloadHash: string;
  status: VerdictStatus;
  /** The ledger's first answer, bound when it is checked. */
  answer: CommandAnswer | null;
}

export type Expectation =
  | { kind: 'replay'; command: LedgerCommand; status: VerdictStatus; first: ModelAnswer }
  | { kind: 'conflict'; command: LedgerCommand }
  | { kind: 'refused'; command: LedgerCommand; status: VerdictStatus }
  | {
      kind: 'applied';
      command: LedgerCommand;
      legs: number;
      sku: string;
      location: string;
      after: Quantities;
      oversold: number;
      reservation?: ModelReservation;
    };

export type ReservationStatus = 'pending' | 'committed' | 'released' | 'expired';

export class ReferenceLedger {
  readonly movements: ModelMovement[] = [];
  readonly reservations: ModelReservation[] = [];
  readonly answers = new Map<string, ModelAnswer>();
  /** Keys of applied commands and the movements each must have written. */
  readonly appliedLegs = new Map<string, { legs: number }>();
  /** Levels that have a stored row (some applied movement touched them). */
  readonly touched = new Set<string>();
  private readonly lastCount = new Map<string, { at: number; version: number | null }>();

  constructor(
    public now: number,
    readonly plainSkus: readonly string[],
    readonly bundleSkus: readonly string[],
    readonly locations: readonly string[],
    readonly purchaseOrderLines: ModelPurchaseOrderLine[],
  ) {}

  statusOf(reservation: ModelReservation): ReservationStatus {
    if (reservation.resolution !== 'pending') return reservation.resolution;
    return reservation.expiresAt !== null && reservation.expiresAt <= this.now ? 'expired' : 'pending';
  }

  held(reservation: ModelReservation): number {
    const status = this.statusOf(reservation);
    return status === 'pending' ? reservation.quantity : status === 'committed' ? reservation.committedQuantity : 0;
  }

  /** The fold. */
  level(sku: string, location: string): Quantities {
    const level = zero();
    for (const movement of this.movements) {
      if (movement.sku !== sku || movement.location !== location) continue;
      for (const field of Object.keys(movement.deltas) as (keyof Quantities)[])
        level[field] += movement.deltas[field] ?? 0;
    }
    for (const reservation of this.reservations) {
      if (reservation.sku === sku && reservation.location === location) level.reserved += this.held(reservation);
    }
    return level;
  }

  available(sku: string, location: string): number {
    const level = this.level(sku, location);
    return level.onHand - level.reserved;
  }

  /** Units held right now by pending reservations at a level. */
  pendingHolds(sku: string, location: string): number {
    return this.reservations
      .filter(
        (reservation) =>
          reservation.sku === sku && reservation.location === location && this.statusOf(reservation) === 'pending',
      )
      .reduce((sum, reservation) => sum + reservation.quantity, 0);
  }

  incoming(sku: string, location: string): number {
    return this.purchaseOrderLines
      .filter((line) => !line.cancelled && line.sku === sku && line.location === location)
      .reduce((sum, line) => sum + Math.max(0, line.ordered - line.received), 0);
  }

  /** Source version of the newest applied count on a level, if it had one. */
  countVersion(sku: string, location: string): number | null {
    return this.lastCount.get(`${sku}@${location}`)?.version ?? null;
  }

  /** Judge one command and apply it to the model; commands must come in submission order. */
  expect(command: LedgerCommand): Expectation {
    const seen = this.answers.get(command.key);
    if (seen) {
      return seen.payloadHash === command.payloadHash
        ? { kind: 'replay', command, status: seen.status === 'applied' ? 'exists' : seen.status, first: seen }
        : { kind: 'conflict', command };
    }
    const expectation = this.judge(command);
    this.answers.set(command.key, {
      payloadHash: command.payloadHash,
      status: expectation.kind === 'applied' ? 'applied' : (expectation as { status: VerdictStatus }).status,
      answer: null,
    });
    if (expectation.kind === 'applied') {
      this.appliedLegs.set(command.key, { legs: expectation.legs });
    }
    return expectation;
  }

  private judge(command: LedgerCommand): Expectation {
    const refuse = (status: VerdictStatus): Expectation => ({ kind: 'refused', command, status });
    const occurredAt = command.occurredAt ?? this.now;
    if (occurredAt > this.now + limits.sourceClockSkewMsMax) return refuse('invalid');

    if (command.type === 'commit' || command.type === 'release') {
      const reservation = this.reservations.find((each) => each.id === command.reservationId);
      if (!reservation) return refuse('unknown_reservation');
      const status = this.statusOf(reservation);
      if (status === 'expired') return refuse('reservation_expired');
      if (status !== 'pending') return refuse('reservation_closed');
      if (command.type === 'commit') {
        const committed = command.quantity ?? reservation.quantity;
        if (committed > reservation.quantity) return refuse('invalid');
        reservation.resolution = 'committed';
        reservation.committedQuantity = committed;
      } else {
        reservation.resolution = 'released';
      }
      reservation.resolvedAt = this.now;
      return this.applied(command, reservation.sku, reservation.location, 1, 0, reservation);
    }

    const { sku, location } = command;
    if (!this.plainSkus.includes(sku) && !this.bundleSkus.includes(sku)) return refuse('unknown_variant');
    if (!this.locations.includes(location)) return refuse('unknown_location');
    const other =
      command.type === 'transfer_out'
        ? command.toLocation
        : command.type === 'transfer_in'
          ? command.fromLocation
          : undefined;
    if (other !== undefined && !this.locations.includes(other)) return refuse('unknown_location');
    if (this.bundleSkus.includes(sku)) return refuse('invalid');

    const before = this.level(sku, location);
    const availableBefore = before.onHand - before.reserved;
    const move = (deltas: Partial<Quantities>, at = location) =>
      this.movements.push({ key: command.key, sku, location: at, occurredAt, deltas });

    switch (command.type) {
      case 'receipt': {
        if (command.purchaseOrder) {
          const { id, line: number } = command.purchaseOrder;
          const line = this.purchaseOrderLines.find((each) => each.purchaseOrderId === id && each.line === number);
          if (!line || line.sku !== sku || line.location !== location || line.cancelled) return refuse('invalid');
          line.received += command.quantity;
        }
        move({ onHand: command.quantity });
        break;
      }
      case 'adjustment':
        // Only a decrease below zero is refused; raising a negative on_hand always applies.
        if (command.quantity < 0 && before.onHand + command.quantity < 0) return refuse('insufficient');
        move({ onHand: command.quantity });
        break;
      case 'count': {
        const name = `${sku}@${location}`;
        const last = this.lastCount.get(name);
        if (last && occurredAt <= last.at) return refuse('stale');
        if (command.sourceVersion !== undefined && last?.version != null && command.sourceVersion <= last.version)
          return refuse('stale');
        // Movements that happened after the count stay on top of it.
        let later = 0;
        for (const movement of this.movements) {
          if (movement.sku === sku && movement.location === location && movement.occurredAt > occurredAt)
            later += movement.deltas.onHand ?? 0;
        }
        move({ onHand: command.onHand + later - before.onHand });
        this.lastCount.set(name, { at: occurredAt, version: command.sourceVersion ?? last?.version ?? null });
        break;
      }
      case 'transfer_out':
        if (command.toLocation === location) return refuse('invalid');
        if (availableBefore < command.quantity) return refuse('insufficient');
        move({ onHand: -command.quantity });
        move({ inTransit: command.quantity }, command.toLocation);
        this.touched.add(`${sku}@${command.toLocation}`);
        return this.applied(command, sku, location, 2, 0);
      case 'transfer_in':
        if (command.fromLocation === location) return refuse('invalid');
        if (before.inTransit < command.quantity) return refuse('invalid');
        move({ inTransit: -command.quantity, onHand: command.quantity });
        break;
      case 'status':
        if (command.from === command.to) return refuse('invalid');
        if (before[bucketField[command.from]] < command.quantity) return refuse('insufficient');
        move({ [bucketField[command.from]]: -command.quantity, [bucketField[command.to]]: command.quantity });
        break;
      case 'order':
        move({ reserved: command.quantity });
        break;
      case 'cancellation':
        // Only units reserved for orders: a pending reservation's hold is not an order.
        if (before.reserved - this.pendingHolds(sku, location) < command.quantity) return refuse('invalid');
        move({ reserved: -command.quantity });
        break;
      case 'shipment':
        if (before.reserved - this.pendingHolds(sku, location) < command.quantity) return refuse('invalid');
        move({ reserved: -command.quantity, onHand: -command.quantity });
        break;
      case 'sale':
        move({ onHand: -command.quantity });
        break;
      case 'return':
        move({ [bucketField[command.to ?? 'quarantine']]: command.quantity });
        break;
      case 'reserve': {
        if (availableBefore < command.quantity) return refuse('insufficient');
        const reservation: ModelReservation = {
          id: null,
          key: command.key,
          sku,
          location,
          quantity: command.quantity,
          expiresAt: command.expiresInSeconds === undefined ? null : this.now + command.expiresInSeconds * 1000,
          createdAt: this.now,
          resolution: 'pending',
          committedQuantity: 0,
          resolvedAt: null,
        };
        this.reservations.push(reservation);
        return this.applied(command, sku, location, 1, 0, reservation);
      }
    }
    const oversold =
      command.type === 'order' || command.type === 'sale'
        ? Math.max(0, -this.available(sku, location)) - Math.max(0, -availableBefore)
        : 0;
    return this.applied(command, sku, location, 1, oversold);
  }

  private applied(
    command: LedgerCommand,
    sku: string,
    location: string,
    legs: number,
    oversold: number,
    reservation?: ModelReservation,
  ): Expectation {
    this.touched.add(`${sku}@${location}`);
    return {
      kind: 'applied',
      command,
      legs,
      sku,
      location,
      after: this.level(sku, location),
      oversold,
      ...(reservation ? { reservation } : {}),
    };
  }
}
