/**
 * A small table DSL for the pure ledger core (after TigerBeetle's
 * `state_machine_tests.zig`): a row names a starting snapshot in a few words, a batch of commands,
 * and what must come out (one expectation per command, optionally the final levels, the movements
 * and the reservation rows written). `runRow` builds the `LedgerSnapshot` the way a store would
 * (due reservations sorted by (expiresAt, createdAt, id) as the stores' SQL does), calls
 * `applyCommands`, and checks the row plus the invariants every outcome must keep:
 *
 *  1. one answer per command; the snapshot is not mutated; the same inputs give the same outcome;
 *  2. every written level = its starting level + the deltas of the movements written on it, and its
 *     version = starting version + number of those movements; every movement's `after` is the
 *     running sum; reserved/damaged/quarantine/in_transit never < 0;
 *  3. a guarded movement (a request) leaves available >= 0;
 *  4. applied answers name exactly their own movements; refusals name none; every non-replayed,
 *     non-conflict answer is stored once;
 *  5. an expire movement is written only for a reservation due at `now`, at its expiresAt;
 *  6. a written level's `held` = the units of the reservations still pending there (what the
 *     stores' verify() recomputes), and 0 <= held <= reserved.
 *
 * Catalogue in every row: variants A (id 1), B (id 2), KIT (id 3, a bundle); locations WH1 (id 10),
 * WH2 (id 20). Levels and reservations are named `SKU@CODE`, e.g. `A@WH1`.
 */
import assert from 'node:assert/strict';
import {
  applyCommands,
  purchaseOrderLineKey,
  systemKeyPrefix,
  type BatchItem,
  type BatchOutcome,
  type CommandAnswer,
  type LedgerSnapshot,
  type LevelView,
  type LocationRef,
  type PurchaseOrderLineState,
  type ReservationState,
  type ReservationView,
  type StoredAnswer,
  type VariantRef,
} from '../../src/core/ledger/apply-commands.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import {
  addDeltas,
  available,
  emptyLevel,
  levelKey,
  quantityFields,
  zeroQuantities,
  type LevelState,
  type Quantities,
} from '../../src/core/ledger/level.js';
import type { VerdictStatus } from '../../src/core/verdicts.js';
import { foldedAnswers } from '../../src/store/rows.js';

/** Reference timestamp (graphile's REFERENCE_TIMESTAMP idea): every row runs "now" = T0 unless it says otherwise. */
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
export const SECOND = 1_000;
export const MINUTE = 60_000;

const variantList: VariantRef[] = [
  { id: 1, sku: 'A', isBundle: false },
  { id: 2, sku: 'B', isBundle: false },
  { id: 3, sku: 'KIT', isBundle: true },
];
const locationList: LocationRef[] = [
  { id: 10, code: 'WH1' },
  { id: 20, code: 'WH2' },
];
const variantsBySku = new Map(variantList.map((variant) => [variant.sku, variant]));
const locationsByCode = new Map(locationList.map((location) => [location.code, location]));

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A command as a row writes it: payloadHash defaults to `hash:<key>`. */
export type Cmd = DistributiveOmit<LedgerCommand, 'payloadHash'> & { payloadHash?: string };
export type Item = Cmd | { type: 'tidy'; at: string };

export interface LevelGiven extends Partial<Quantities> {
  /** Units held by pending reservations; defaults to the sum of the row's pending reservations there (as stored). */
  held?: number;
  version?: number;
  lastCountAt?: number | null;
  lastCountSourceVersion?: number | null;
}

export interface ReservationGiven {
  id: string;
  at: string;
  quantity: number;
  status?: ReservationState['status'];
  committedQuantity?: number;
  expiresAt?: number | null;
  createdAt?: number;
}

export interface PurchaseOrderLineGiven {
  purchaseOrderId: string;
  line: number;
  at: string;
  quantityOrdered: number;
  quantityReceived?: number;
  status?: PurchaseOrderLineState['status'];
}

export interface Given {
  now?: number;
  levels?: Record<string, LevelGiven>;
  reservations?: ReservationGiven[];
  /** Answers stored by earlier transactions, by key. */
  answers?: Record<string, StoredAnswer>;
  /** By count command key: sum of stored on_hand deltas after the count's time. */
  countBaselines?: Record<string, number>;
  purchaseOrderLines?: PurchaseOrderLineGiven[];
}

type LevelFields = Pick<
  LevelView,
  'on_hand' | 'reserved' | 'available' | 'damaged' | 'quarantine' | 'in_transit' | 'version'
>;

export interface Expect {
  status: VerdictStatus;
  /** Fields of the answer's level view. */
  level?: Partial<LevelFields>;
  /** Exact: absent means the answer must carry no `oversold`. */
  oversold?: number;
  reservation?: Partial<ReservationView>;
  replayed?: boolean;
  detail?: RegExp;
  /** Number of movements the answer names. */
  movements?: number;
}

export interface MovementExpect {
  type: string;
  at: string;
  deltas?: Partial<Quantities>;
  occurredAt?: number;
  reservationId?: string | null;
  oversold?: number;
  guarded?: boolean;
}

export interface Row {
  name: string;
  given?: Given;
  when: Item[];
  then: Expect[];
  /** Levels after the batch (written, or as given when untouched); unnamed fields are not checked. */
  levels?: Record<
    string,
    Partial<
      Quantities & { held: number; version: number; lastCountAt: number | null; lastCountSourceVersion: number | null }
    >
  >;
  /** The exact sequence of movements written. */
  movements?: MovementExpect[];
  /** Reservation rows written (final state), by id; `created` checks insert vs update. */
  reservations?: Record<string, Partial<ReservationState> & { created?: boolean }>;
  /** Number of reservation rows written, when it matters. */
  reservationWrites?: number;
  purchaseOrderLines?: Record<string, Partial<PurchaseOrderLineState>>;
}

function parseAt(at: string): { variant: VariantRef; location: LocationRef } {
  const [sku, code] = at.split('@');
  const variant = variantsBySku.get(sku ?? '');
  const location = locationsByCode.get(code ?? '');
  assert.ok(variant && location, `bad level name ${at}`);
  return { variant, location };
}

function keyOf(at: string): string {
  const { variant, location } = parseAt(at);
  return levelKey(variant.id, location.id);
}

export function toCommand(cmd: Cmd): LedgerCommand {
  return { ...cmd, payloadHash: cmd.payloadHash ?? `hash:${cmd.key}` } as LedgerCommand;
}

function toItem(item: Item): BatchItem {
  if (item.type === 'tidy') {
    const { variant, location } = parseAt(item.at);
    return { type: 'tidy', variantId: variant.id, locationId: location.id };
  }
  return toCommand(item);
}

export function buildSnapshot(given: Given = {}): LedgerSnapshot {
  const now = given.now ?? T0;
  const levels = new Map<string, LevelState>();
  const pendingAt = (at: string) =>
    (given.reservations ?? [])
      .filter((spec) => spec.at === at && (spec.status ?? 'pending') === 'pending')
      .reduce((sum, spec) => sum + spec.quantity, 0);
  for (const [at, level] of Object.entries(given.levels ?? {})) {
    const { variant, location } = parseAt(at);
    // From emptyLevel, so fields the core adds later get their defaults here too.
    levels.set(levelKey(variant.id, location.id), {
      ...emptyLevel(variant.id, location.id),
      ...level,
      held: level.held ?? pendingAt(at),
      version: level.version ?? 1,
      lastCountAt: level.lastCountAt ?? null,
      lastCountSourceVersion: level.lastCountSourceVersion ?? null,
    });
  }
  for (const [key, level] of levels) {
    assert.ok(
      level.held <= level.reserved,
      `malformed row: level ${key} holds ${level.held} for reservations but reserves only ${level.reserved}`,
    );
  }
  const reservations = new Map<string, ReservationState>();
  for (const spec of given.reservations ?? []) {
    const { variant, location } = parseAt(spec.at);
    reservations.set(spec.id, {
      id: spec.id,
      key: `reserve:${spec.id}`,
      variantId: variant.id,
      locationId: location.id,
      sku: variant.sku,
      locationCode: location.code,
      quantity: spec.quantity,
      committedQuantity: spec.committedQuantity ?? 0,
      status: spec.status ?? 'pending',
      expiresAt: spec.expiresAt ?? null,
      createdAt: spec.createdAt ?? T0 - 10 * MINUTE,
      resolvedAt: spec.status === undefined || spec.status === 'pending' ? null : T0 - MINUTE,
    });
  }
  // As the stores load them: pending, due at now, ordered by (expires_at, created_at, id).
  const dueReservations = new Map<string, ReservationState[]>();
  const due = [...reservations.values()]
    .filter(
      (reservation) =>
        reservation.status === 'pending' && reservation.expiresAt !== null && reservation.expiresAt <= now,
    )
    .sort(
      (a, b) => a.expiresAt! - b.expiresAt! || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  for (const reservation of due) {
    const key = levelKey(reservation.variantId, reservation.locationId);
    dueReservations.set(key, [...(dueReservations.get(key) ?? []), reservation]);
  }
  const purchaseOrderLines = new Map<string, PurchaseOrderLineState>();
  for (const spec of given.purchaseOrderLines ?? []) {
    const { variant, location } = parseAt(spec.at);
    purchaseOrderLines.set(purchaseOrderLineKey(spec.purchaseOrderId, spec.line), {
      purchaseOrderId: spec.purchaseOrderId,
      line: spec.line,
      variantId: variant.id,
      locationId: location.id,
      quantityOrdered: spec.quantityOrdered,
      quantityReceived: spec.quantityReceived ?? 0,
      expectedAt: null,
      status: spec.status ?? 'open',
    });
  }
  return {
    variants: variantsBySku,
    locations: locationsByCode,
    levels,
    reservations,
    dueReservations,
    answers: new Map(Object.entries(given.answers ?? {})),
    countBaselines: new Map(Object.entries(given.countBaselines ?? {})),
    purchaseOrderLines,
  };
}

/** Apply with deterministic ids: movements from 101, reservations `res_new_1`, `res_new_2`, ... */
export function apply(given: Given | undefined, items: readonly Item[]): BatchOutcome {
  let movementId = 100;
  let reservationId = 0;
  return applyCommands(buildSnapshot(given), items.map(toItem), {
    now: given?.now ?? T0,
    newMovementId: () => ++movementId,
    newReservationId: () => `res_new_${++reservationId}`,
  });
}

/** The invariants every outcome keeps, whatever the row (see the file comment). */
export function checkOutcomeInvariants(given: Given | undefined, items: readonly Item[], outcome: BatchOutcome): void {
  const now = given?.now ?? T0;
  const snapshot = buildSnapshot(given);
  const before = structuredClone(snapshot);
  const again = applyCommands(snapshot, items.map(toItem), {
    now,
    newMovementId: (() => {
      let id = 100;
      return () => ++id;
    })(),
    newReservationId: (() => {
      let id = 0;
      return () => `res_new_${++id}`;
    })(),
  });
  assert.deepEqual(snapshot, before, 'applyCommands does not mutate its snapshot');
  assert.deepEqual(again, outcome, 'same inputs, same outcome');

  const commands = items.filter((item): item is Cmd => item.type !== 'tidy');
  assert.equal(outcome.answers.length, commands.length, 'one answer per command');

  // 2, 3: levels are their starting value plus the movements written on them.
  const running = new Map<string, LevelState>();
  for (const movement of outcome.writes.movements) {
    const key = levelKey(movement.variantId, movement.locationId);
    const start = running.get(key) ?? snapshot.levels.get(key) ?? emptyLevel(movement.variantId, movement.locationId);
    const after = addDeltas(start as Quantities, movement.deltas);
    assert.deepEqual(movement.after, after, `movement ${movement.id}: after = before + deltas`);
    assert.equal(
      movement.version,
      (start as LevelState).version + 1,
      `movement ${movement.id}: version increments by one`,
    );
    for (const field of ['reserved', 'damaged', 'quarantine', 'inTransit'] as const) {
      assert.ok(after[field] >= 0, `movement ${movement.id}: ${field} >= 0`);
    }
    if (movement.guarded) assert.ok(available(after) >= 0, `movement ${movement.id}: a request leaves available >= 0`);
    if (movement.type === 'expire') {
      const reservation = snapshot.reservations.get(movement.reservationId ?? '');
      assert.ok(reservation?.expiresAt !== null && reservation!.expiresAt! <= now, 'expired only when due');
      assert.equal(movement.occurredAt, reservation!.expiresAt, 'expired at its expiry instant');
    }
    running.set(key, { ...(start as LevelState), ...after, version: movement.version });
  }
  assert.equal(outcome.writes.levels.length, running.size, 'every level that moved is written, and only those');
  for (const write of outcome.writes.levels) {
    const key = levelKey(write.level.variantId, write.level.locationId);
    const expected = running.get(key);
    assert.ok(expected, `level ${key} written without movements`);
    for (const field of quantityFields) assert.equal(write.level[field], expected[field], `level ${key} ${field}`);
    assert.equal(write.level.version, expected.version, `level ${key} version`);
    const reservations = new Map(snapshot.reservations);
    for (const { reservation } of outcome.writes.reservations) reservations.set(reservation.id, reservation);
    const pending = [...reservations.values()]
      .filter(
        (reservation) =>
          levelKey(reservation.variantId, reservation.locationId) === key && reservation.status === 'pending',
      )
      .reduce((sum, reservation) => sum + reservation.quantity, 0);
    assert.equal(write.level.held, pending, `level ${key}: held = units of its pending reservations`);
    assert.ok(write.level.held >= 0 && write.level.held <= write.level.reserved, `level ${key}: 0 <= held <= reserved`);
    const stored = snapshot.levels.get(key);
    assert.equal(write.created, stored === undefined);
    assert.equal(write.previousVersion, stored?.version ?? 0);
  }
  const ids = outcome.writes.movements.map((movement) => movement.id);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
    'movement ids increase in write order',
  );

  // 4: answers name their own movements; stored answers are the judged ones.
  // An answer is stored apart (refusals, reservation commands) or folded into its command's
  // movements (leg 0 carries the payload hash), never both.
  const folded = outcome.writes.movements.filter((movement) => movement.payloadHash !== null);
  for (const movement of folded)
    assert.equal(movement.leg, 0, `${movement.commandKey}: only leg 0 carries the payload hash`);
  const stored = [
    ...outcome.writes.answers.map((answer) => answer.key),
    ...folded.map((movement) => movement.commandKey),
  ];
  assert.equal(new Set(stored).size, stored.length, 'an answer is stored once per key');
  commands.forEach((command, index) => {
    const answer = outcome.answers[index]!;
    assert.equal(answer.key, command.key);
    if (answer.replayed || answer.status === 'conflict') return;
    // A reserved key is refused like a schema error: every time, nothing stored.
    assert.equal(
      stored.includes(command.key),
      !command.key.startsWith(systemKeyPrefix),
      `answer for ${command.key} is stored`,
    );
    if (answer.status === 'applied') {
      const own = outcome.writes.movements
        .filter((movement) => movement.commandKey === command.key)
        .map((movement) => movement.id);
      assert.deepEqual(answer.movement_ids, own, `${command.key}: names exactly its movements`);
      const isFolded = folded.some((movement) => movement.commandKey === command.key);
      assert.equal(
        isFolded,
        answer.reservation === undefined,
        `${command.key}: folded exactly when it changed no reservation`,
      );
      if (isFolded) {
        assert.equal(
          folded.find((movement) => movement.commandKey === command.key)!.payloadHash,
          command.payloadHash ?? `hash:${command.key}`,
        );
        // What a store loads back for a replay (the legs by key, with sku and code) rebuilds this very answer.
        const rebuilt = new Map<string, StoredAnswer>();
        foldedAnswers(
          outcome.writes.movements
            .filter((movement) => movement.commandKey === command.key)
            .reverse() // the store may return legs in any order
            .map((movement) => ({
              key: movement.commandKey,
              leg: movement.leg,
              payload_hash: movement.payloadHash,
              id: movement.id,
              on_hand: movement.after.onHand,
              reserved: movement.after.reserved,
              damaged: movement.after.damaged,
              quarantine: movement.after.quarantine,
              in_transit: movement.after.inTransit,
              version: movement.version,
              oversold: movement.oversold,
              sku: [...variantsBySku.values()].find((variant) => variant.id === movement.variantId)!.sku,
              code: [...locationsByCode.values()].find((location) => location.id === movement.locationId)!.code,
            })),
          rebuilt,
        );
        assert.equal(
          JSON.stringify(rebuilt.get(command.key)?.answer),
          JSON.stringify(answer),
          `${command.key}: the folded answer rebuilds byte for byte`,
        );
      }
    } else {
      assert.equal(answer.movement_ids, undefined, `${command.key}: a refusal names no movement`);
      assert.equal(
        outcome.writes.movements.some((movement) => movement.commandKey === command.key),
        false,
        `${command.key}: a refusal writes nothing`,
      );
    }
  });
}

function checkAnswer(answer: CommandAnswer, expect: Expect, label: string): void {
  assert.equal(answer.status, expect.status, `${label}: status (detail: ${answer.detail ?? '-'})`);
  if (expect.level) {
    assert.ok(answer.level, `${label}: has a level`);
    for (const [field, value] of Object.entries(expect.level)) {
      assert.equal(answer.level[field as keyof LevelView], value, `${label}: level.${field}`);
    }
  }
  assert.equal(answer.oversold, expect.oversold, `${label}: oversold`);
  if (expect.reservation) {
    assert.ok(answer.reservation, `${label}: has a reservation`);
    for (const [field, value] of Object.entries(expect.reservation)) {
      assert.deepEqual(answer.reservation[field as keyof ReservationView], value, `${label}: reservation.${field}`);
    }
  }
  if (expect.replayed !== undefined) assert.equal(answer.replayed, expect.replayed, `${label}: replayed`);
  else assert.equal(answer.replayed, undefined, `${label}: not a replay`);
  if (expect.detail) assert.match(answer.detail ?? '', expect.detail, `${label}: detail`);
  if (expect.movements !== undefined)
    assert.equal(answer.movement_ids?.length ?? 0, expect.movements, `${label}: movements`);
}

/** Runs one row: the outcome invariants, then the row's own expectations. Returns the outcome. */
export function runRow(row: Row): BatchOutcome {
  const outcome = apply(row.given, row.when);
  checkOutcomeInvariants(row.given, row.when, outcome);
  assert.equal(outcome.answers.length, row.then.length, 'the row names one expectation per command');
  for (const [index, expect] of row.then.entries()) {
    checkAnswer(outcome.answers[index]!, expect, `command ${index} (${outcome.answers[index]!.key})`);
  }

  if (row.levels) {
    const snapshot = buildSnapshot(row.given);
    for (const [at, fields] of Object.entries(row.levels)) {
      const key = keyOf(at);
      const level =
        outcome.writes.levels.find((write) => levelKey(write.level.variantId, write.level.locationId) === key)?.level ??
        snapshot.levels.get(key);
      assert.ok(level, `level ${at} exists after the batch`);
      for (const [field, value] of Object.entries(fields)) {
        assert.equal(level[field as keyof LevelState], value, `level ${at}.${field}`);
      }
    }
  }
  if (row.movements) {
    assert.equal(
      outcome.writes.movements.length,
      row.movements.length,
      `movements written: ${outcome.writes.movements.map((movement) => movement.type).join(', ')}`,
    );
    row.movements.forEach((expect, index) => {
      const movement = outcome.writes.movements[index]!;
      const label = `movement ${index}`;
      assert.equal(movement.type, expect.type, `${label}: type`);
      assert.equal(levelKey(movement.variantId, movement.locationId), keyOf(expect.at), `${label}: level`);
      // `+ 0` turns -0 into 0: a full commit writes `reserved: -0` (JSON "0"), which is not a difference.
      const deltas = Object.fromEntries(Object.entries(movement.deltas).map(([field, value]) => [field, value + 0]));
      if (expect.deltas) assert.deepEqual(deltas, { ...zeroQuantities, ...expect.deltas }, `${label}: deltas`);
      if (expect.occurredAt !== undefined) assert.equal(movement.occurredAt, expect.occurredAt, `${label}: occurredAt`);
      if (expect.reservationId !== undefined)
        assert.equal(movement.reservationId, expect.reservationId, `${label}: reservationId`);
      if (expect.oversold !== undefined) assert.equal(movement.oversold, expect.oversold, `${label}: oversold`);
      if (expect.guarded !== undefined) assert.equal(movement.guarded, expect.guarded, `${label}: guarded`);
    });
  }
  if (row.reservations) {
    for (const [id, fields] of Object.entries(row.reservations)) {
      const write = outcome.writes.reservations.find((each) => each.reservation.id === id);
      assert.ok(write, `reservation ${id} is written`);
      const { created, ...rest } = fields;
      if (created !== undefined) assert.equal(write.created, created, `reservation ${id}: created`);
      for (const [field, value] of Object.entries(rest)) {
        assert.deepEqual(write.reservation[field as keyof ReservationState], value, `reservation ${id}.${field}`);
      }
    }
  }
  if (row.reservationWrites !== undefined)
    assert.equal(outcome.writes.reservations.length, row.reservationWrites, 'reservation rows written');
  if (row.purchaseOrderLines) {
    for (const [key, fields] of Object.entries(row.purchaseOrderLines)) {
      const line = outcome.writes.purchaseOrderLines.find(
        (each) => purchaseOrderLineKey(each.purchaseOrderId, each.line) === key,
      );
      assert.ok(line, `purchase order line ${key} is written`);
      for (const [field, value] of Object.entries(fields))
        assert.deepEqual(line[field as keyof PurchaseOrderLineState], value, `line ${key}.${field}`);
    }
  }
  return outcome;
}
