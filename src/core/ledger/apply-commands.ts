import assert from 'node:assert';
import { BatchWorkingSet } from './batch-working-set.js';
import { answerOfLegs, levelView, reservationView, type CommandAnswer, type StoredAnswer } from './command-answer.js';
import { judgeCommand } from './command-judge.js';
import type { Leg } from './judgement.js';
import { systemKeyPrefix, type ApplyContext, type BatchItem, type LedgerSnapshot } from './ledger-snapshot.js';
import type { BatchOutcome } from './write-set.js';

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
 *
 * The parts: ledger-snapshot.ts (what a store loads), batch-working-set.ts (the batch's levels,
 * reservations and answers over the snapshot, and the rows to write), command-judge.ts and the
 * judges per family (fact-judges.ts, receipt-judge.ts, count-judge.ts, transfer-judges.ts,
 * reservation-judges.ts), command-answer.ts (answers and views), and the fold below.
 */

// What stores, the edges and the tests import from here.
export { appliedAnswer, levelView, reservationView } from './command-answer.js';
export type { CommandAnswer, LevelView, RecordedLeg, ReservationView, StoredAnswer } from './command-answer.js';
export { purchaseOrderLineKey, systemKeyPrefix } from './ledger-snapshot.js';
export type {
  ApplyContext,
  BatchItem,
  LedgerSnapshot,
  LocationRef,
  PurchaseOrderLineState,
  ReservationState,
  ReservationStatus,
  TidyCommand,
  VariantRef,
} from './ledger-snapshot.js';
export type { BatchOutcome, LevelWrite, MovementRecord, WriteSet } from './write-set.js';
export { collectNeeds, countQueries, movementLegsMax, touchedLevels, type BatchNeeds } from './batch-needs.js';

/**
 * Apply a batch of commands to a snapshot. Pure: the snapshot is not mutated; the outcome
 * lists every row to write.
 */
export function applyCommands(
  snapshot: LedgerSnapshot,
  items: readonly BatchItem[],
  context: ApplyContext,
): BatchOutcome {
  const { now } = context;
  const batch = new BatchWorkingSet(snapshot, items, context);
  const writes = batch.writes;
  const answers: CommandAnswer[] = [];
  for (const item of items) {
    if (item.type === 'tidy') {
      batch.touch(item.variantId, item.locationId);
      continue;
    }
    const command = item;
    const seen = batch.seenAnswer(command.key);
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
      answers.push({
        key: command.key,
        status: 'invalid',
        detail: `keys starting with ${systemKeyPrefix} are reserved for onhand's own movements`,
      });
      continue;
    }
    const occurredAt = command.occurredAt ?? now;
    const judgement = judgeCommand(batch, command, occurredAt);

    let answer: CommandAnswer;
    if (judgement.status !== 'applied') {
      answer = { key: command.key, status: judgement.status, detail: judgement.detail };
    } else {
      const reservation = judgement.reservation;
      const parts = judgement.parts;
      const records = batch.record(
        judgement.type,
        command.key,
        judgement.legs,
        {
          occurredAt,
          reason: movementReason(
            command.type === 'adjustment'
              ? command.reason
              : judgement.bundleSku
                ? `bundle ${judgement.bundleSku}`
                : (command.note ?? null),
            judgement.pool,
            judgement.legs,
          ),
          sourceSystem: command.source?.system ?? null,
          sourceReference: command.source?.reference ?? null,
          reservationId: reservation ? reservation.id : null,
          purchaseOrderId: command.type === 'receipt' ? (command.purchaseOrder?.id ?? null) : null,
          purchaseOrderLine: command.type === 'receipt' ? (command.purchaseOrder?.line ?? null) : null,
        },
        judgement.count,
        parts?.map((part) => part.id),
      );
      if (parts) for (const part of parts) batch.putReservation(part, true);
      else if (reservation) batch.putReservation(reservation, command.type === 'reserve');
      if (judgement.purchaseOrderLine) batch.putPurchaseOrderLine(judgement.purchaseOrderLine);
      // Legs touch distinct levels, so leg 0's resulting level is the command's primary level.
      answer = answerOfLegs(
        command.key,
        records,
        judgement.sku,
        judgement.location,
        reservation ? reservationView(reservation, now) : undefined,
      );
      if (parts) {
        answer.parts = parts.map((part, index) => ({
          reservation: reservationView(part, now),
          level: levelView(records[index]!.after, records[index]!.version, part.sku, part.locationCode),
        }));
      }
      // Folded: without a reservation the answer is a function of the movements alone, and leg
      // 0 carries the hash (a reservation's view is stored with the answer instead).
      const primary = records[0];
      if (!reservation && primary) primary.payloadHash = command.payloadHash;
    }
    const stored: StoredAnswer = { payloadHash: command.payloadHash, answer };
    batch.putAnswer(command.key, stored);
    if (answer.status !== 'applied' || answer.reservation) {
      writes.answers.push({ key: command.key, payloadHash: command.payloadHash, answer, recordedAt: now });
    }
    answers.push(answer);
  }
  batch.finish();
  assert.equal(answers.length, items.filter((item) => item.type !== 'tidy').length, 'one answer per command');
  return { answers, writes };
}

/**
 * A movement's reason: the command's own, and for an order or sale measured over a pool that
 * it drove short, the pool and the shortfall (`pool WH1,WH2 short by 2`), so the oversell view
 * names the locations the channel sells from.
 */
function movementReason(own: string | null, pool: readonly string[] | null, legs: readonly Leg[]): string | null {
  if (!pool) return own;
  let short = 0;
  for (const leg of legs) short += leg.oversold ?? 0;
  if (short === 0) return own;
  const text = `pool ${pool.join(',')} short by ${short}`;
  return own === null ? text : `${own}; ${text}`;
}
