/**
 * `ledger-model` (docs/RELIABILITY.md, sections 1, 2, 4, 6 and 7: idempotency, no oversell, group
 * commit, verify and expiry, in one run):
 * model-based test of the whole write path - GroupCommitter -> store.applyBatch -> the pure core
 * -> SQL - against a naive reference model (./ledger-reference-model.ts), on EVERY store in STORES.
 *
 * Method: fast-check `fc.commands` generates sequences of steps; `fc.asyncModelRun` runs each on
 * the model and on the real ledger. A step is one command, one batch of commands in one submit,
 * several submits at once (Promise.all: they may share a batch; the committer applies them in
 * submission order, so the model takes them in call order), a clock move (a fake clock, also to
 * exactly expiresAt - 1/0/+1 ms), a sweeper pass, or two holds built to expire at the same
 * instant with different createdAt (the tie-break of the expiry order). Commands: every fact
 * (receipt - with and without purchase-order lines - sale, order, cancellation, shipment,
 * return, adjustment, count incl. late and versioned counts, transfer_in, status), the requests
 * reserve (with and without expiry) and transfer_out, commit (full/partial), release, invalid
 * commands, and replays of an earlier command with the same or a different payload. Parameters
 * that name earlier things (which reservation, which past command) are indices resolved at run
 * time, so shrinking keeps every sequence meaningful; three quarters of the quantities are
 * "fitted" to what the model holds, so success paths are common.
 *
 * Checked after every step: every answer's status is the model's; applied answers carry the
 * level the model folds (on_hand, reserved, available, damaged, quarantine, in_transit) and the
 * oversold units; an applied request never leaves available < 0; a replay is the first answer
 * byte for byte except `status` (applied -> exists) and `replayed: true`; `store.getStock` equals
 * the fold for every variant and location (logical expiry included) and the bundle's kits follow
 * its component. At the end of each run: each reservation matches the model and resolved at
 * most once in the movement history; each applied command wrote exactly its legs and each
 * refusal none (exactly-once effect); expiries were written at expiresAt, never early, in
 * (expiresAt, createdAt) order; `store.verify()` reports no mismatch.
 *
 * Isolation: one database per store; each run (and each shrink attempt) gets its own skus,
 * keys and purchase orders, so runs never see each other's levels.
 *
 * Reproduce a failure: fast-check prints `seed`, `path` and, in the counterexample, `replayPath`:
 *   ONHAND_SIM_SEED=<seed> ONHAND_SIM_PATH=<path> ONHAND_SIM_REPLAY_PATH=<replayPath> \
 *   STORES=<store> npm test -- ledger-model
 * Knobs: ONHAND_SIM_RUNS (default 100 on SQLite, 30 on PostgreSQL), ONHAND_SIM_COMMANDS (default 60).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { CommandAnswer } from '../../src/core/ledger/apply-commands.js';
import type { LedgerCommand, StockBucket } from '../../src/core/ledger/command.js';
import { limits } from '../../src/core/limits.js';
import type { VerdictStatus } from '../../src/core/verdicts.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore, MovementView, StockLocationView } from '../../src/store/ledger-store.js';
import { payloadHash } from '../../src/ingest/payload-hash.js';
import { Sweeper } from '../../src/store/sweeper.js';
import { STORES, type TestStore } from '../support/stores.js';
import {
  ReferenceLedger,
  zero,
  type Expectation,
  type ModelReservation,
  type Quantities,
} from './ledger-reference-model.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
/**
 * Sequences per store, sized for CI: every step on PostgreSQL is several round trips (about
 * 0.4 s a sequence against 0.07 s on SQLite), so 100 on SQLite and 30 on PostgreSQL; every
 * check runs on each. ONHAND_SIM_RUNS=<n> sets both for a long run (e.g. 2000 before a release).
 */
function numRunsOf(store: string): number {
  return Number(process.env.ONHAND_SIM_RUNS ?? (store === 'postgres' ? 30 : 100));
}
const maxCommands = Number(process.env.ONHAND_SIM_COMMANDS ?? 60);
const seed = process.env.ONHAND_SIM_SEED === undefined ? undefined : Number(process.env.ONHAND_SIM_SEED);
const path = process.env.ONHAND_SIM_PATH;
const replayPath = process.env.ONHAND_SIM_REPLAY_PATH;
const LOCATIONS = ['WH1', 'WH2'] as const;

// --- abstract operations (generated), resolved against the model when the step runs -----------

type Age = number | undefined;
type Op =
  | {
      t: 'receipt';
      s: number;
      l: number;
      q: number;
      age: Age;
      po: 'none' | 'line' | 'mismatch' | 'cancelled' | 'missing';
    }
  | { t: 'sale' | 'order'; s: number; l: number; q: number; age: Age }
  | { t: 'cancellation' | 'shipment'; s: number; l: number; q: number; age: Age; fit: boolean }
  | { t: 'return'; s: number; l: number; q: number; to: StockBucket | undefined }
  | { t: 'adjustment'; s: number; l: number; q: number; age: Age; fit: boolean }
  | { t: 'status'; s: number; l: number; q: number; from: StockBucket; to: StockBucket; fit: boolean }
  | { t: 'count'; s: number; l: number; onHand: number; age: Age; version: 'none' | 'next' | 'same' | 'older' }
  | { t: 'transfer_out'; s: number; l: number; q: number; same: boolean; fit: boolean }
  | { t: 'transfer_in'; s: number; l: number; q: number; from: 'other' | 'none' | 'same'; fit: boolean }
  | { t: 'reserve'; s: number; l: number; q: number; expiresIn: number | undefined; fit: boolean }
  | { t: 'commit'; pick: number; q: number | undefined; unknown: boolean; live: boolean }
  | { t: 'release'; pick: number; unknown: boolean; live: boolean }
  | {
      t: 'invalid';
      fault: 'unknown_sku' | 'unknown_location' | 'unknown_target' | 'bundle' | 'future' | 'future_edge';
      q: number;
    }
  | { t: 'replay'; pick: number; same: boolean; recent: boolean };

const sku = fc.integer({ min: 0, max: 1 });
const loc = fc.integer({ min: 0, max: 1 });
const qty = fc.integer({ min: 1, max: 8 });
/** Mostly "now"; sometimes late (up to 10 min), for late counts and late facts. */
const age: fc.Arbitrary<Age> = fc.option(
  fc.oneof(fc.constantFrom(1, 1_000, 60_000, 600_000), fc.integer({ min: 0, max: 600_000 })),
  { freq: 3, nil: undefined },
);
const bucket = fc.constantFrom<StockBucket>('on_hand', 'damaged', 'quarantine');
const expirySeconds = [1, 5, 30, 60, 120];
/**
 * Clock moves equal to the gap between two expiry durations (reserve 60 s, advance 30 s, reserve
 * 30 s): two holds then expire at the same instant with different createdAt, the only case
 * where the createdAt tie-break of the expiry order shows.
 */
const expiryGapsMs = [
  ...new Set(expirySeconds.flatMap((a) => expirySeconds.filter((b) => b < a).map((b) => (a - b) * 1000))),
];
/**
 * `fit`: size the quantity at run time to what the model has (in transit, reserved for orders,
 * in the source bucket, available), so success paths are common; the other quarter keeps the raw
 * quantity for the refusals and the boundaries.
 */
const fit = fc.integer({ min: 0, max: 3 }).map((n) => n !== 0);
const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);
const bucketPair = fc.constantFrom<[StockBucket, StockBucket]>(
  ['on_hand', 'damaged'],
  ['on_hand', 'quarantine'],
  ['damaged', 'on_hand'],
  ['damaged', 'quarantine'],
  ['quarantine', 'on_hand'],
  ['quarantine', 'damaged'],
  ['on_hand', 'damaged'],
  ['on_hand', 'on_hand'],
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('receipt' as const),
      s: sku,
      l: loc,
      q: fc.integer({ min: 1, max: 15 }),
      age,
      po: fc.constantFrom<'none' | 'line' | 'mismatch' | 'cancelled' | 'missing'>(
        'none',
        'none',
        'none',
        'none',
        'none',
        'none',
        'line',
        'line',
        'mismatch',
        'cancelled',
        'missing',
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constantFrom('sale' as const, 'order' as const), s: sku, l: loc, q: qty, age }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constantFrom('cancellation' as const, 'shipment' as const),
      s: sku,
      l: loc,
      q: qty,
      age,
      fit,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('return' as const),
      s: sku,
      l: loc,
      q: qty,
      to: fc.option(bucket, { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('adjustment' as const),
      s: sku,
      l: loc,
      q: fc.integer({ min: -8, max: 8 }).filter((q) => q !== 0),
      age,
      fit,
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(sku, loc, qty, bucketPair, fit)
      .map(([s, l, q, [from, to], fits]) => ({ t: 'status' as const, s, l, q, from, to, fit: fits })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('count' as const),
      s: sku,
      l: loc,
      onHand: fc.integer({ min: 0, max: 15 }),
      age,
      version: fc.constantFrom<'none' | 'next' | 'same' | 'older'>('none', 'next', 'same', 'older'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('transfer_out' as const), s: sku, l: loc, q: qty, same: rarely, fit }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('transfer_in' as const),
      s: sku,
      l: loc,
      q: qty,
      from: fc.constantFrom<'other' | 'none' | 'same'>('other', 'other', 'other', 'none', 'same'),
      fit,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('reserve' as const),
      s: sku,
      l: loc,
      q: qty,
      expiresIn: fc.option(fc.constantFrom(...expirySeconds), { freq: 2, nil: undefined }),
      fit,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('commit' as const),
      pick: fc.nat(),
      q: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
      unknown: rarely,
      live: fit,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('release' as const),
      pick: fc.nat(),
      unknown: fc.constant(false),
      live: fit,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('invalid' as const),
      fault: fc.constantFrom<
        'unknown_sku' | 'unknown_location' | 'unknown_target' | 'bundle' | 'future' | 'future_edge'
      >('unknown_sku', 'unknown_location', 'unknown_target', 'bundle', 'future', 'future_edge'),
      q: qty,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('replay' as const),
      pick: fc.nat(),
      same: fc.boolean(),
      recent: fc.boolean(),
    }),
  },
);

// --- one run: its own catalogue, model, ledger -----------------------------------------------

interface Real {
  store: LedgerStore;
  ledger: GroupCommitter;
  sweeper: Sweeper;
  clock: { now: () => number };
  setNow(ms: number): void;
}

interface Run {
  prefix: string;
  skus: [string, string];
  bundle: string;
  model: ReferenceLedger;
  real: Real;
  history: LedgerCommand[];
  nextKey: () => string;
  stats: Stats;
}

interface Stats {
  runs: number;
  steps: number;
  commands: number;
  concurrentSteps: number;
  statuses: Map<string, number>;
  replays: number;
  expiries: number;
}

let runCounter = 0;

async function startRun(store: LedgerStore, storeName: string, stats: Stats): Promise<Run> {
  const prefix = `${storeName[0]}${++runCounter}`;
  const skus: [string, string] = [`${prefix}-A`, `${prefix}-B`];
  const bundle = `${prefix}-KIT`;
  await store.catalogue.upsertVariants(
    [
      { sku: skus[0], name: 'A' },
      { sku: skus[1], name: 'B' },
      { sku: bundle, name: 'Kit', components: [{ sku: skus[0], quantity: 2 }] },
    ],
    T0,
  );
  await store.catalogue.upsertPurchaseOrder(
    {
      id: `${prefix}-PO1`,
      status: 'open',
      lines: [
        { line: 1, sku: skus[0], location: 'WH1', quantity: 20, expectedAt: null },
        { line: 2, sku: skus[1], location: 'WH2', quantity: 10, expectedAt: null },
      ],
    },
    T0,
  );
  await store.catalogue.upsertPurchaseOrder(
    {
      id: `${prefix}-PO2`,
      status: 'cancelled',
      lines: [{ line: 1, sku: skus[0], location: 'WH1', quantity: 5, expectedAt: null }],
    },
    T0,
  );
  const model = new ReferenceLedger(T0, skus, [bundle], LOCATIONS, [
    {
      purchaseOrderId: `${prefix}-PO1`,
      line: 1,
      sku: skus[0],
      location: 'WH1',
      ordered: 20,
      received: 0,
      cancelled: false,
    },
    {
      purchaseOrderId: `${prefix}-PO1`,
      line: 2,
      sku: skus[1],
      location: 'WH2',
      ordered: 10,
      received: 0,
      cancelled: false,
    },
    {
      purchaseOrderId: `${prefix}-PO2`,
      line: 1,
      sku: skus[0],
      location: 'WH1',
      ordered: 5,
      received: 0,
      cancelled: true,
    },
  ]);
  let now = T0;
  let ids = 0;
  const clock = { now: () => now };
  const ledger = new GroupCommitter(store, clock, { next: (kind) => `${kind}_${prefix}_${++ids}` });
  const sweeper = new Sweeper(store, ledger, clock, {
    intervalMs: 60_000,
    retentionDays: limits.idempotencyRetentionDaysDefault,
    onError: () => undefined,
  });
  let keys = 0;
  stats.runs += 1;
  return {
    prefix,
    skus,
    bundle,
    model,
    real: { store, ledger, sweeper, clock, setNow: (ms) => (now = ms) },
    history: [],
    nextKey: () => `${prefix}:${++keys}`,
    stats,
  };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type CommandBody = DistributiveOmit<LedgerCommand, 'payloadHash'>;

function withHash(body: CommandBody): LedgerCommand {
  return { ...body, payloadHash: payloadHash(body) } as LedgerCommand;
}

/** Resolve an abstract op into a concrete command, against the model as it stands. */
function resolve(run: Run, op: Op): LedgerCommand | null {
  const { model } = run;
  const now = model.now;
  const occurredAt = (a: Age) => (a === undefined ? {} : { occurredAt: now - a });
  const key = () => run.nextKey();
  const sku = (s: number) => run.skus[s]!;
  const location = (l: number) => LOCATIONS[l]!;
  const other = (l: number) => LOCATIONS[1 - l]!;
  /** `wanted`, or - when fitting and `have` > 0 - at most `have`. */
  const sized = (wanted: number, have: number, fits: boolean) => (fits && have > 0 ? Math.min(wanted, have) : wanted);
  const level = (s: number, l: number) => model.level(sku(s), location(l));
  /**
   * When fitting and the op's own level has nothing to give, the first level (from the op's own,
   * in a fixed order) that has some: e.g. a transfer_in goes where units are in transit.
   */
  const target = <T extends { s: number; l: number; fit: boolean }>(
    o: T,
    have: (s: number, l: number) => number,
  ): T => {
    if (!o.fit || have(o.s, o.l) > 0) return o;
    for (let index = 1; index < 4; index += 1) {
      const s = (o.s + (index >> 1)) % 2;
      const l = (o.l + (index & 1)) % 2;
      if (have(s, l) > 0) return { ...o, s, l };
    }
    return o;
  };
  const ofOrders = (s: number, l: number) => level(s, l).reserved - model.pendingHolds(sku(s), location(l));
  const availableAt = (s: number, l: number) => model.available(sku(s), location(l));
  op =
    op.t === 'cancellation' || op.t === 'shipment'
      ? target(op, ofOrders)
      : op.t === 'transfer_in'
        ? target(op, (s, l) => level(s, l).inTransit)
        : op.t === 'reserve' || op.t === 'transfer_out'
          ? target(op, availableAt)
          : op.t === 'status'
            ? target(
                op,
                (s, l) =>
                  level(s, l)[
                    ({ on_hand: 'onHand', damaged: 'damaged', quarantine: 'quarantine' } as const)[
                      (op as { from: StockBucket }).from
                    ]
                  ],
              )
            : op;
  switch (op.t) {
    case 'receipt': {
      let place = { sku: sku(op.s), location: location(op.l) };
      let purchaseOrder: { id: string; line: number } | undefined;
      if (op.po === 'line') {
        place = op.s === 0 ? { sku: run.skus[0], location: 'WH1' } : { sku: run.skus[1], location: 'WH2' };
        purchaseOrder = { id: `${run.prefix}-PO1`, line: op.s + 1 };
      } else if (op.po === 'mismatch') {
        place = { sku: run.skus[1], location: location(op.l) };
        purchaseOrder = { id: `${run.prefix}-PO1`, line: 1 };
      } else if (op.po === 'cancelled') {
        place = { sku: run.skus[0], location: 'WH1' };
        purchaseOrder = { id: `${run.prefix}-PO2`, line: 1 };
      } else if (op.po === 'missing') {
        purchaseOrder = { id: `${run.prefix}-PO1`, line: 9 };
      }
      return withHash({
        type: 'receipt',
        key: key(),
        ...place,
        quantity: op.q,
        ...occurredAt(op.age),
        ...(purchaseOrder ? { purchaseOrder } : {}),
      });
    }
    case 'cancellation':
    case 'shipment':
      return withHash({
        type: op.t,
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: sized(op.q, ofOrders(op.s, op.l), op.fit),
        ...occurredAt(op.age),
      });
    case 'sale':
    case 'order':
      return withHash({
        type: op.t,
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: op.q,
        ...occurredAt(op.age),
      });
    case 'return':
      return withHash({
        type: 'return',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: op.q,
        ...(op.to ? { to: op.to } : {}),
      });
    case 'adjustment':
      return withHash({
        type: 'adjustment',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: op.q > 0 ? op.q : -sized(-op.q, level(op.s, op.l).onHand, op.fit),
        reason: 'sim',
        ...occurredAt(op.age),
      });
    case 'status': {
      const field = ({ on_hand: 'onHand', damaged: 'damaged', quarantine: 'quarantine' } as const)[op.from];
      return withHash({
        type: 'status',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: sized(op.q, level(op.s, op.l)[field], op.fit),
        from: op.from,
        to: op.to,
      });
    }
    case 'count': {
      const last = model.countVersion(sku(op.s), location(op.l)) ?? 0;
      const sourceVersion =
        op.version === 'none'
          ? undefined
          : op.version === 'next'
            ? last + 1
            : op.version === 'same'
              ? last
              : Math.max(0, last - 1);
      return withHash({
        type: 'count',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        onHand: op.onHand,
        ...occurredAt(op.age),
        ...(sourceVersion === undefined ? {} : { sourceVersion }),
      });
    }
    case 'transfer_out':
      return withHash({
        type: 'transfer_out',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: sized(op.q, model.available(sku(op.s), location(op.l)), op.fit),
        toLocation: op.same ? location(op.l) : other(op.l),
      });
    case 'transfer_in':
      return withHash({
        type: 'transfer_in',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: sized(op.q, level(op.s, op.l).inTransit, op.fit),
        ...(op.from === 'none' ? {} : { fromLocation: op.from === 'same' ? location(op.l) : other(op.l) }),
      });
    case 'reserve':
      return withHash({
        type: 'reserve',
        key: key(),
        sku: sku(op.s),
        location: location(op.l),
        quantity: sized(op.q, model.available(sku(op.s), location(op.l)), op.fit),
        ...(op.expiresIn === undefined ? {} : { expiresInSeconds: op.expiresIn }),
      });
    case 'commit':
    case 'release': {
      const named = model.reservations.filter((reservation) => reservation.id !== null);
      const live = named.filter((reservation) => model.statusOf(reservation) === 'pending');
      // Mostly a live one; otherwise any (closed and expired ones answer reservation_closed/_expired).
      const known = op.live && live.length > 0 ? live : named;
      if (known.length === 0 && !op.unknown) return null; // nothing to resolve yet: spend the step elsewhere
      const reservationId =
        op.unknown || known.length === 0 ? `res_${run.prefix}_none` : known[op.pick % known.length]!.id!;
      if (op.t === 'release') return withHash({ type: 'release', key: key(), reservationId });
      return withHash({ type: 'commit', key: key(), reservationId, ...(op.q === undefined ? {} : { quantity: op.q }) });
    }
    case 'invalid': {
      const [a] = run.skus;
      switch (op.fault) {
        case 'unknown_sku':
          return withHash({ type: 'receipt', key: key(), sku: `${run.prefix}-NOPE`, location: 'WH1', quantity: op.q });
        case 'unknown_location':
          return withHash({ type: 'sale', key: key(), sku: a, location: 'NOWHERE', quantity: op.q });
        case 'unknown_target':
          return withHash({
            type: 'transfer_out',
            key: key(),
            sku: a,
            location: 'WH1',
            quantity: op.q,
            toLocation: 'NOWHERE',
          });
        case 'bundle':
          return withHash({
            type: op.q % 2 === 0 ? 'receipt' : 'reserve',
            key: key(),
            sku: run.bundle,
            location: 'WH1',
            quantity: op.q,
          });
        case 'future':
          return withHash({
            type: 'sale',
            key: key(),
            sku: a,
            location: 'WH1',
            quantity: op.q,
            occurredAt: now + limits.sourceClockSkewMsMax + 1,
          });
        case 'future_edge':
          return withHash({
            type: 'receipt',
            key: key(),
            sku: a,
            location: 'WH2',
            quantity: op.q,
            occurredAt: now + limits.sourceClockSkewMsMax,
          });
      }
      break;
    }
    case 'replay': {
      if (run.history.length === 0) return null;
      const original = op.recent ? run.history[run.history.length - 1]! : run.history[op.pick % run.history.length]!;
      if (op.same) return original;
      const { payloadHash: _ignored, ...body } = original;
      const changed = { ...body, note: `changed ${op.pick}` };
      return { ...changed, payloadHash: payloadHash(changed) } as LedgerCommand;
    }
  }
  return null;
}

// --- checks ------------------------------------------------------------------------------------

const quantityFields = [
  ['on_hand', 'onHand'],
  ['reserved', 'reserved'],
  ['damaged', 'damaged'],
  ['quarantine', 'quarantine'],
  ['in_transit', 'inTransit'],
] as const;

function assertLevel(actual: Record<string, unknown> | undefined, expected: Quantities, label: string): void {
  const view = actual ?? { on_hand: 0, reserved: 0, available: 0, damaged: 0, quarantine: 0, in_transit: 0 };
  const got = Object.fromEntries([...quantityFields.map(([api]) => [api, view[api]]), ['available', view.available]]);
  const want = Object.fromEntries([
    ...quantityFields.map(([api, field]) => [api, expected[field]]),
    ['available', expected.onHand - expected.reserved],
  ]);
  assert.deepEqual(got, want, `${label}: level differs from the model's fold`);
}

const withoutReplayMarks = (answer: CommandAnswer, status: VerdictStatus) => {
  const { replayed: _replayed, ...rest } = { ...answer, status };
  return JSON.stringify(rest);
};

function checkAnswer(run: Run, expectation: Expectation, answer: CommandAnswer | undefined): void {
  const { command } = expectation;
  const label = `${command.type} ${command.key}`;
  assert.ok(answer, `${label}: no answer`);
  assert.equal(answer.key, command.key, `${label}: answer for another key`);
  run.stats.statuses.set(answer.status, (run.stats.statuses.get(answer.status) ?? 0) + 1);
  const first = run.model.answers.get(command.key)!;
  switch (expectation.kind) {
    case 'replay': {
      run.stats.replays += 1;
      assert.equal(answer.status, expectation.status, `${label}: replay status (detail: ${answer.detail ?? '-'})`);
      assert.equal(answer.replayed, true, `${label}: replayed flag`);
      assert.ok(expectation.first.answer, `${label}: first answer known`);
      const firstStatus = expectation.first.answer.status;
      assert.equal(
        withoutReplayMarks(answer, firstStatus),
        withoutReplayMarks(expectation.first.answer, firstStatus),
        `${label}: a replay is the first answer`,
      );
      return;
    }
    case 'conflict':
      assert.equal(answer.status, 'conflict', `${label}: same key, other payload (detail: ${answer.detail ?? '-'})`);
      assert.equal(answer.movement_ids, undefined);
      return;
    case 'refused':
      assert.equal(answer.status, expectation.status, `${label}: status (detail: ${answer.detail ?? '-'})`);
      assert.equal(answer.replayed, undefined);
      assert.equal(answer.movement_ids, undefined, `${label}: a refusal moves nothing`);
      first.answer = answer;
      return;
    case 'applied': {
      assert.equal(answer.status, 'applied', `${label}: status (detail: ${answer.detail ?? '-'})`);
      assert.equal(answer.replayed, undefined);
      assert.equal(answer.movement_ids?.length, expectation.legs, `${label}: movements`);
      assert.equal(answer.level?.sku, expectation.sku);
      assert.equal(answer.level?.location, expectation.location);
      assertLevel(answer.level as unknown as Record<string, unknown>, expectation.after, `${label}: answer`);
      assert.equal(answer.oversold, expectation.oversold > 0 ? expectation.oversold : undefined, `${label}: oversold`);
      if (command.type === 'reserve' || command.type === 'transfer_out') {
        assert.ok(answer.level!.available >= 0, `${label}: a request left available at ${answer.level!.available}`);
      }
      const reservation = expectation.reservation;
      if (reservation) {
        assert.ok(answer.reservation, `${label}: names its reservation`);
        if (reservation.id === null) reservation.id = answer.reservation.id;
        assertReservation(run, reservation, answer.reservation as unknown as Record<string, unknown>, label);
      }
      first.answer = answer;
      return;
    }
  }
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function assertReservation(
  run: Run,
  reservation: ModelReservation,
  view: Record<string, unknown>,
  label: string,
): void {
  const status = run.model.statusOf(reservation);
  assert.deepEqual(
    {
      id: view.id,
      status: view.status,
      quantity: view.quantity,
      committed_quantity: view.committed_quantity,
      expires_at: view.expires_at,
      created_at: view.created_at,
      resolved_at: view.resolved_at,
    },
    {
      id: reservation.id,
      status,
      quantity: reservation.quantity,
      committed_quantity: reservation.committedQuantity,
      expires_at: isoOrNull(reservation.expiresAt),
      created_at: isoOrNull(reservation.createdAt),
      resolved_at: status === 'expired' ? isoOrNull(reservation.expiresAt) : isoOrNull(reservation.resolvedAt),
    },
    `${label}: reservation ${reservation.id}`,
  );
}

async function checkStock(run: Run): Promise<void> {
  const { model, real } = run;
  for (const sku of run.skus) {
    const stock = await real.store.ledger.getStock(sku, model.now);
    assert.ok(stock, `${sku}: stock`);
    const expectedLocations = LOCATIONS.filter(
      (code) => model.touched.has(`${sku}@${code}`) || model.incoming(sku, code) > 0,
    );
    assert.deepEqual(
      stock.locations.map((view) => view.location),
      expectedLocations,
      `${sku}: locations`,
    );
    const total = zero();
    for (const code of LOCATIONS) {
      const view: StockLocationView | undefined = stock.locations.find((each) => each.location === code);
      const expected = model.level(sku, code);
      assertLevel(
        view as unknown as Record<string, unknown> | undefined,
        expected,
        `getStock ${sku}@${code} at +${model.now - T0} ms`,
      );
      assert.equal(view?.incoming ?? 0, model.incoming(sku, code), `${sku}@${code}: incoming`);
      for (const [, field] of quantityFields) total[field] += expected[field];
    }
    assertLevel(stock.total as unknown as Record<string, unknown>, total, `${sku}: total`);
  }
  // The bundle: kits = floor(max(0, component) / 2) per location where the component has a level.
  const kit = await real.store.ledger.getStock(run.bundle, model.now);
  assert.ok(kit?.is_bundle);
  const component = run.skus[0];
  const codes = LOCATIONS.filter((code) => model.touched.has(`${component}@${code}`));
  assert.deepEqual(
    kit.locations.map((view) => view.location),
    codes,
    'bundle locations',
  );
  for (const view of kit.locations) {
    const level = model.level(component, view.location);
    assert.equal(
      view.available,
      Math.floor(Math.max(0, level.onHand - level.reserved) / 2),
      `bundle available at ${view.location}`,
    );
    assert.equal(view.on_hand, Math.floor(Math.max(0, level.onHand) / 2), `bundle on_hand at ${view.location}`);
  }
}

async function allMovements(store: LedgerStore, sku: string): Promise<MovementView[]> {
  const out: MovementView[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const result = await store.ledger.listMovements(sku, { limit: limits.pageSizeMax, ...(cursor ? { cursor } : {}) });
    assert.ok(result);
    out.push(...result.items);
    if (!result.next_cursor) return out.reverse();
    cursor = result.next_cursor;
  }
  throw new Error('more than 100 pages of movements');
}

async function checkEndOfRun(run: Run): Promise<void> {
  const { model, real } = run;
  const movements = (await Promise.all(run.skus.map((sku) => allMovements(real.store, sku)))).flat();

  // Exactly-once effect: an applied command wrote its legs, once; a refused or replayed one nothing.
  const byKey = new Map<string, number>();
  for (const movement of movements) byKey.set(movement.key, (byKey.get(movement.key) ?? 0) + 1);
  for (const [key, entry] of model.answers) {
    const written = byKey.get(key) ?? 0;
    const expected = entry.status === 'applied' ? model.appliedLegs.get(key)!.legs : 0;
    assert.equal(written, expected, `${key} (${entry.status}) wrote ${written} movements, expected ${expected}`);
  }
  for (const key of byKey.keys()) {
    assert.ok(model.answers.has(key) || key.startsWith('sys:expire:'), `movement for unknown key ${key}`);
  }

  // Reservations: as the model says, resolved at most once, expired at expiresAt in order.
  const expiries = new Map<string, MovementView[]>();
  for (const reservation of model.reservations) {
    assert.ok(reservation.id, `reservation ${reservation.key} was named`);
    const view = await real.store.ledger.getReservation(reservation.id, model.now);
    assert.ok(view, `reservation ${reservation.id} stored`);
    assertReservation(run, reservation, view as unknown as Record<string, unknown>, 'end of run');
    const resolutions = movements.filter(
      (movement) => movement.reservation_id === reservation.id && movement.type !== 'reserve',
    );
    assert.ok(
      resolutions.length <= 1,
      `reservation ${reservation.id} resolved ${resolutions.length} times: ${resolutions.map((m) => m.type).join(', ')}`,
    );
    const status = model.statusOf(reservation);
    if (status === 'committed' || status === 'released') {
      assert.deepEqual(
        resolutions.map((movement) => movement.type),
        [status === 'committed' ? 'commit' : 'release'],
      );
    }
    for (const movement of resolutions.filter((each) => each.type === 'expire')) {
      assert.equal(status, 'expired', `reservation ${reservation.id} has an expire movement but is ${status}`);
      assert.equal(movement.occurred_at, isoOrNull(reservation.expiresAt), 'expired at its expiresAt');
      assert.ok(Date.parse(movement.recorded_at) >= reservation.expiresAt!, 'never expired early');
      // Order is promised per level and per batch (one touch expires a level's due holds).
      const group = `${movement.sku}@${movement.location}|${movement.recorded_at}`;
      expiries.set(group, [...(expiries.get(group) ?? []), movement]);
      run.stats.expiries += 1;
    }
  }
  for (const group of expiries.values()) {
    const order = group
      .sort((a, b) => a.id - b.id)
      .map((movement) => model.reservations.find((reservation) => reservation.id === movement.reservation_id)!);
    for (let index = 1; index < order.length; index += 1) {
      const [previous, current] = [order[index - 1]!, order[index]!];
      assert.ok(
        previous.expiresAt! < current.expiresAt! ||
          (previous.expiresAt === current.expiresAt && previous.createdAt <= current.createdAt),
        `expiries out of (expiresAt, createdAt) order: ${previous.id} before ${current.id}`,
      );
    }
  }

  const report = await real.store.ledger.verify();
  assert.deepEqual(report.mismatches, [], 'store.verify(): stored levels equal the fold of their movements');
}

// --- fast-check commands ---------------------------------------------------------------------

type ModelCommand = fc.AsyncCommand<Run, Run>;

class SubmitStep implements ModelCommand {
  /** `groups`: one submit per group, all at once; one group = one submit (a batch). */
  constructor(readonly groups: Op[][]) {}
  check(): boolean {
    return true;
  }
  async run(run: Run): Promise<void> {
    const submissions: LedgerCommand[][] = [];
    const expectations: Expectation[][] = [];
    for (const group of this.groups) {
      const commands: LedgerCommand[] = [];
      const expected: Expectation[] = [];
      for (const op of group) {
        const command = resolve(run, op);
        if (!command) continue;
        const expectation = run.model.expect(command);
        // Originals (applied or refused) may be replayed later, even within this step.
        if (expectation.kind === 'applied' || expectation.kind === 'refused') run.history.push(command);
        expected.push(expectation);
        commands.push(command);
      }
      if (commands.length > 0) {
        submissions.push(commands);
        expectations.push(expected);
      }
    }
    if (submissions.length === 0) return;
    const batchesBefore = run.real.ledger.stats.batches;
    const answers = await Promise.all(submissions.map((commands) => run.real.ledger.submit(commands)));
    // The model takes the submissions in call order. That is the ledger's order because
    // submissions made in one tick form one batch, applied in submission order. If group commit
    // ever splits them over batches in flight together, say so here rather than as a mismatch.
    assert.equal(
      run.real.ledger.stats.batches - batchesBefore,
      1,
      'the submissions of one step were applied in one batch',
    );
    run.stats.steps += 1;
    if (submissions.length > 1) run.stats.concurrentSteps += 1;
    expectations.forEach((expected, index) => {
      assert.equal(answers[index]!.length, expected.length, 'one answer per command');
      for (const [position, expectation] of expected.entries())
        checkAnswer(run, expectation, answers[index]![position]);
      run.stats.commands += expected.length;
    });
    await checkStock(run);
  }
  toString(): string {
    const ops = this.groups.map((group) => group.map((op) => JSON.stringify(op)).join(', '));
    return ops.length === 1 ? `submit[${ops[0]}]` : `concurrently{${ops.map((each) => `[${each}]`).join(' | ')}}`;
  }
}

class AdvanceClock implements ModelCommand {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(run: Run): Promise<void> {
    run.model.now += this.ms;
    run.real.setNow(run.model.now);
    await checkStock(run);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

class AdvanceToExpiry implements ModelCommand {
  constructor(
    readonly pick: number,
    readonly offsetMs: -1 | 0 | 1,
  ) {}
  check(): boolean {
    return true;
  }
  async run(run: Run): Promise<void> {
    const ahead = run.model.reservations.filter(
      (reservation) =>
        run.model.statusOf(reservation) === 'pending' &&
        reservation.expiresAt !== null &&
        reservation.expiresAt + this.offsetMs > run.model.now,
    );
    if (ahead.length === 0) return;
    run.model.now = ahead[this.pick % ahead.length]!.expiresAt! + this.offsetMs;
    run.real.setNow(run.model.now);
    await checkStock(run);
  }
  toString(): string {
    return `advanceToExpiry(${this.pick}, ${this.offsetMs})`;
  }
}

/**
 * Two holds on one level that expire at the same instant but were created at different times:
 * reserve (e + gap s), advance gap s, reserve (e s). Random sequences almost never line this up,
 * and it is the only case where the createdAt tie-break of the expiry order (L6) shows.
 */
class TwinHolds implements ModelCommand {
  constructor(
    readonly s: number,
    readonly l: number,
    readonly expiresIn: number,
    readonly gap: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(run: Run): Promise<void> {
    const reserve = (expiresIn: number): Op => ({ t: 'reserve', s: this.s, l: this.l, q: 1, expiresIn, fit: true });
    await new SubmitStep([[reserve(this.expiresIn + this.gap)]]).run(run);
    await new AdvanceClock(this.gap * 1000).run(run);
    await new SubmitStep([[reserve(this.expiresIn)]]).run(run);
  }
  toString(): string {
    return `twinHolds(${this.s}, ${this.l}, ${this.expiresIn}, ${this.gap})`;
  }
}

class Sweep implements ModelCommand {
  check(): boolean {
    return true;
  }
  async run(run: Run): Promise<void> {
    // The sweeper only writes down what is already true: nothing observable may change.
    await run.real.sweeper.sweepOnce();
    await checkStock(run);
  }
  toString(): string {
    return 'sweep()';
  }
}

const commandArbs: fc.Arbitrary<ModelCommand>[] = [
  opArb.map((op) => new SubmitStep([[op]])),
  opArb.map((op) => new SubmitStep([[op]])),
  opArb.map((op) => new SubmitStep([[op]])),
  opArb.map((op) => new SubmitStep([[op]])),
  fc.array(opArb, { minLength: 2, maxLength: 4 }).map((ops) => new SubmitStep([ops])),
  fc
    .array(fc.array(opArb, { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 5 })
    .map((groups) => new SubmitStep(groups)),
  // The same request sent several times at once (a client retrying while the first is in flight).
  fc
    .tuple(opArb, fc.integer({ min: 1, max: 3 }))
    .map(
      ([op, copies]) =>
        new SubmitStep([
          [op],
          ...Array.from({ length: copies }, () => [{ t: 'replay' as const, pick: 0, same: true, recent: true }]),
        ]),
    ),
  fc
    .oneof(
      fc.constantFrom(1, 999, 1_000, 5_000, 30_000, 61_000, 300_000),
      fc.constantFrom(...expiryGapsMs),
      fc.integer({ min: 1, max: 120_000 }),
    )
    .map((ms) => new AdvanceClock(ms)),
  fc.tuple(fc.nat(), fc.constantFrom<-1 | 0 | 1>(-1, 0, 1)).map(([pick, offset]) => new AdvanceToExpiry(pick, offset)),
  fc.constant(new Sweep()),
  fc
    .tuple(sku, loc, fc.constantFrom(1, 5, 30), fc.constantFrom(1, 4, 25))
    .map(([s, l, expiresIn, gap]) => new TwinHolds(s, l, expiresIn, gap)),
];

for (const factory of STORES) {
  describe(`${factory.name}: ledger model (L1)`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    const stats: Stats = {
      runs: 0,
      steps: 0,
      commands: 0,
      concurrentSteps: 0,
      statuses: new Map(),
      replays: 0,
      expiries: 0,
    };
    const numRuns = numRunsOf(factory.name);

    before(async () => {
      test = await factory.create();
      await test.store.catalogue.upsertLocations(
        LOCATIONS.map((code) => ({ code, name: code, kind: 'warehouse' as const })),
        T0,
      );
    });
    after(async () => {
      await test?.cleanup();
    });

    it(`random command sequences agree with the reference model (numRuns ${numRuns}, maxCommands ${maxCommands})`, async () => {
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(
          fc.commands(commandArbs, { maxCommands, size: 'max', ...(replayPath ? { replayPath } : {}) }),
          async (commands) => {
            const run = await startRun(test.store, factory.name, stats);
            try {
              await fc.asyncModelRun(() => ({ model: run, real: run }), commands);
              await checkEndOfRun(run);
            } finally {
              await run.real.ledger.close();
            }
          },
        ),
        { numRuns, ...(seed === undefined ? {} : { seed }), ...(path ? { path } : {}) },
      );
      const statuses = Object.fromEntries([...stats.statuses].sort(([a], [b]) => a.localeCompare(b)));
      console.log(
        `${factory.name} L1: ${stats.runs} runs (incl. shrinks), ${stats.steps} submit steps (${stats.concurrentSteps} concurrent), ` +
          `${stats.commands} commands, ${stats.replays} replays, ${stats.expiries} expiries written, ` +
          `${Math.round(performance.now() - started)} ms; statuses ${JSON.stringify(statuses)}`,
      );
      // The run must have exercised the interesting paths, or it proves little (not checked when
      // replaying one counterexample).
      if (path === undefined)
        for (const status of [
          'applied',
          'exists',
          'conflict',
          'insufficient',
          'invalid',
          'stale',
          'reservation_expired',
          'reservation_closed',
          'unknown_reservation',
        ] as const) {
          assert.ok((stats.statuses.get(status) ?? 0) > 0, `no ${status} answer in ${stats.runs} runs`);
        }
    });
  });
}
