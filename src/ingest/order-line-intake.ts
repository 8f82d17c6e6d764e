import { emptyReport, orderOutcome, type OrderIngestReport, type OrderIngestSummary } from './order-ingest-report.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { CommandAnswer } from '../core/ledger/apply-commands.js';
import type { LedgerCommand } from '../core/ledger/command.js';
import type { LineFactEvent, ShipmentSource } from '../core/orders/line-events.js';
import { lineEffect, type LineEffect, type RoutingContext } from '../core/orders/line-effect.js';
import { takeCommittedPart, type CommittedPart } from '../core/orders/line-commit.js';
import { applyMoves, lineMoves, type LineMove } from '../core/orders/line-moves.js';
import {
  dismissNotUnderstood,
  emptyLineState,
  foldLine,
  lineUnits,
  notUnderstoodReason,
  sameLineState,
} from '../core/orders/line-state.js';
import type { OrderLineEvent, OrderLineItem } from '../connectors/channel-intake.js';
import type { AvailabilityPort, ChannelRecord } from '../store/availability-store.js';
import { channelOrderSettings } from './channel-order-settings.js';
import type { GroupCommitter } from '../store/group-commit.js';
import { SideWriteConflict, type CataloguePort, type LedgerPort } from '../store/ledger-store.js';
import type { OrderLinePort, OrderLineRecord } from '../store/order-lines-port.js';
import { intakeReads, type IntakeReads } from './intake-reads.js';
import { notUnderstoodEvent, validEvent } from './not-understood.js';
import { payloadHash } from './payload-hash.js';

/**
 * Channel order lines in: every event about a line is folded into the line's state
 * (src/core/orders/line-state.ts) and the ledger is written only the difference between the
 * effect already applied and the effect the new state implies (line-effect.ts, line-moves.ts).
 * So any permutation, duplication or redelivery of a line's events ends in the same ledger.
 *
 * Durability and exactly-once, per line: a step's moves go to the ledger under keys
 * `<line key>:<step>:<index>` used once, and the line (its new state and the effect the
 * ledger's answers say was applied) is written in the same transaction, checked against the row
 * version it was computed from. A crash before the commit leaves neither; a line that another
 * process changed meanwhile fails the step whole (SideWriteConflict), and it is computed again
 * from the line as it now stands.
 *
 * A line that cannot be applied yet (no variant matches its item, an unknown platform location,
 * a refusal) is kept with status `blocked` and its reason: the intake inbox. Its state is kept,
 * so it is applied whole once a listing or mapping makes it applicable, or on a retry.
 */
/** The item of a line as an onhand sku: mapping, listing, listing ref, sku, then barcode. */
export type OrderItemMatcher = (channel: string, item: OrderLineItem) => Promise<string | null>;

export interface OrderLineIntakeDeps {
  store: {
    orders: OrderLinePort;
    ledger: Pick<LedgerPort, 'getStock' | 'availableByLocation'>;
    catalogue: Pick<CataloguePort, 'listLocations'>;
    availability: Pick<AvailabilityPort, 'getChannel'>;
  };
  ledger: GroupCommitter;
  clock: Clock;
  match: OrderItemMatcher;
  /** Told of every delivery's or poll's report once its lines are recorded (metrics). */
  onIngested?: (channel: string, report: OrderIngestReport) => void;
  /** Told once per channel order of each delivery or poll, after its lines are recorded (the log's one line per order). */
  onOrder?: (channel: string, order: OrderIngestSummary) => void;
}

const moveAttemptsMax = 8;

export class OrderLineIntake {
  /** The line being worked on in this process, so its deliveries queue here instead of racing the row version. */
  private readonly lineQueues = new Map<string, Promise<unknown>>();

  /** Line and level reads shared by the deliveries that arrive together. */
  private readonly reads: IntakeReads;

  constructor(private readonly deps: OrderLineIntakeDeps) {
    this.reads = intakeReads(deps.store, deps.clock);
  }

  /** Runs `work` after every earlier call for the same line in this process. */
  private serial<T>(channel: string, lineKey: string, work: () => Promise<T>): Promise<T> {
    const id = `${channel}\u0000${lineKey}`;
    const previous = this.lineQueues.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.lineQueues.set(id, settled);
    void settled.then(() => {
      if (this.lineQueues.get(id) === settled) this.lineQueues.delete(id);
    });
    return next;
  }

  /** Fold and apply one delivery's (or one poll's) events; resolves once every line is durably recorded. */
  async ingest(channel: ChannelRecord, events: readonly OrderLineEvent[]): Promise<OrderIngestReport> {
    const report = emptyReport();
    report.events = events.length;
    const byLine = new Map<string, OrderLineEvent[]>();
    const locations = () => this.reads.locationKinds();
    // Per order, for onOrder: bounded by the events of this call.
    const orders = new Map<string, Omit<OrderIngestSummary, 'outcome'> & { keys: Set<string> }>();
    const orderOf = (event: OrderLineEvent) => {
      let order = orders.get(event.orderId);
      if (!order) {
        order = {
          orderId: event.orderId,
          keys: new Set(),
          lines: 0,
          changed: 0,
          unchanged: 0,
          info: 0,
          blocked: 0,
          invalid: 0,
          reason: null,
        };
        orders.set(event.orderId, order);
      }
      order.keys.add(event.lineKey);
      return order;
    };
    for (const received of events) {
      const fault = validEvent(received);
      // Not understood: kept as such an event of its line, which waits in the inbox with it.
      const event = fault === null ? received : notUnderstoodEvent(received, fault);
      if (fault !== null || event.fact.kind === 'not_understood') {
        const reason = event.fact.kind === 'not_understood' ? event.fact.reason : '';
        report.invalid.push({ lineKey: event.lineKey, eventId: event.eventId, reason });
        const order = orderOf(event);
        order.invalid += 1;
        order.reason ??= reason;
      } else orderOf(event);
      const list = byLine.get(event.lineKey) ?? [];
      list.push(event);
      byLine.set(event.lineKey, list);
    }
    await Promise.all(
      [...byLine.values()].map(async (lineEvents) => {
        const outcome = await this.processLine(channel, lineEvents[0]!.lineKey, lineEvents, false, locations);
        this.count(report, outcome);
        const order = orders.get(lineEvents[0]!.orderId)!;
        order[outcome.kind] += 1;
        if (outcome.kind === 'blocked') order.reason ??= outcome.reason;
      }),
    );
    this.deps.onIngested?.(channel.code, report);
    if (this.deps.onOrder)
      for (const { keys, ...order } of orders.values()) {
        const summary = { ...order, lines: keys.size };
        this.deps.onOrder(channel.code, { ...summary, outcome: orderOutcome(summary) });
      }
    return report;
  }

  /**
   * A checkout's reservation part, committed in the ledger already, taken over by its channel
   * order line (core/orders/line-commit.ts): the line is created if the channel has not
   * reported it yet, and holds the part's units where the reservation held them. If the line
   * already held units of its own (the channel's event came first), the step releases what it
   * now holds beyond its open units, so nothing stays reserved twice. A part already taken is
   * `unchanged`. Call it only after the commit is durable; calling it again is harmless.
   */
  takeCommit(channel: ChannelRecord, line: CheckoutLine, part: CommittedPart): Promise<LineOutcome> {
    return this.serial(channel.code, line.lineKey, () => this.takeCommitNow(channel, line, part));
  }

  private async takeCommitNow(channel: ChannelRecord, line: CheckoutLine, part: CommittedPart): Promise<LineOutcome> {
    const { store, clock } = this.deps;
    for (let attempt = 0; attempt < moveAttemptsMax; attempt += 1) {
      const record =
        (await this.reads.line(channel.code, line.lineKey)) ??
        this.newRecord(channel.code, {
          lineKey: line.lineKey,
          orderId: line.orderId,
          lineId: line.lineId,
          item: { externalId: '', sku: line.sku, barcode: null },
        });
      if (record.sku !== null && record.sku !== line.sku)
        return {
          kind: 'blocked',
          lineKey: line.lineKey,
          reason: `the order line is of ${record.sku}, the reservation of ${line.sku}: not taken over`,
        };
      const taken = takeCommittedPart(record.state, record.applied, part, clock.now());
      if (taken.kind === 'known') return { kind: 'unchanged' };
      const next: OrderLineRecord = {
        ...record,
        sku: line.sku,
        state: taken.state,
        applied: taken.applied,
        updatedAt: clock.now(),
      };
      const held = notUnderstoodReason(taken.state);
      if (held !== null) {
        // The part is the line's now (held where the reservation held it); nothing else moves.
        if (!(await store.orders.saveLine({ ...next, status: 'blocked', reason: held }))) continue;
        return { kind: 'blocked', lineKey: line.lineKey, reason: held };
      }
      const context = await this.routingContext(channel, line.sku, this.reads.locationKinds());
      const result = lineEffect(lineUnits(taken.state, context.shipments), taken.applied, context.routing);
      if (result.kind === 'blocked') {
        if (!(await store.orders.saveLine({ ...next, status: 'blocked', reason: result.reason }))) continue;
        return { kind: 'blocked', lineKey: line.lineKey, reason: result.reason };
      }
      // A line the marketplace fulfils holds nothing of our own stock: the part is released.
      const target = result.kind === 'effect' ? result.effect : {};
      const moves = lineMoves(taken.applied, target);
      if (moves.length === 0) {
        if (!(await store.orders.saveLine({ ...next, status: statusOf(taken.applied), reason: null }))) continue;
        return { kind: 'changed', oversold: 0 };
      }
      const step: Step = {
        number: record.seq + 1,
        sku: line.sku,
        pool: result.kind === 'effect' ? [...result.pool] : [],
        moves,
        occurredAt: clock.now(),
      };
      const outcome = await this.applyStep(channel, { ...next, seq: step.number }, taken.applied, target, step);
      if (outcome !== null) return outcome;
    }
    throw new Error(`order line ${line.lineKey}: ${moveAttemptsMax} concurrent writers in a row; not recorded`);
  }

  /**
   * Take a line up again (the inbox's retry). A line held for an event not understood stays
   * held, unless `dismiss`: the operator sets its held events aside for good (a redelivery of
   * one does not hold the line again), and the line is applied from what was understood.
   */
  async retry(channelCode: string, lineKey: string, options: { dismiss?: boolean } = {}): Promise<LineOutcome> {
    const channel = await this.deps.store.availability.getChannel(channelCode);
    if (!channel) return { kind: 'blocked', lineKey, reason: `no channel ${channelCode}` };
    if (options.dismiss) await this.serial(channel.code, lineKey, () => this.dismissNow(channel.code, lineKey));
    return this.processLine(channel, lineKey, [], true, () => this.reads.locationKinds());
  }

  /** Marks the line's held not-understood events dismissed (compare-and-set on the row version). */
  private async dismissNow(channel: string, lineKey: string): Promise<void> {
    const { store, clock } = this.deps;
    for (let attempt = 0; attempt < moveAttemptsMax; attempt += 1) {
      const record = await store.orders.getLine(channel, lineKey);
      const state = record === null ? null : dismissNotUnderstood(record.state);
      if (record === null || state === null) return;
      if (await store.orders.saveLine({ ...record, state, updatedAt: clock.now() })) return;
    }
    throw new Error(`order line ${lineKey}: ${moveAttemptsMax} concurrent writers in a row; not dismissed`);
  }

  /** Retry blocked lines (bounded per call). */
  async retryDue(options: { channel?: string | undefined; limit?: number } = {}) {
    const report = emptyReport();
    const due = await this.deps.store.orders.linesToRetry({
      channel: options.channel,
      limit: options.limit ?? limits.orderLineRetryBatchMax,
    });
    for (const { channel, lineKey } of due) this.count(report, await this.retry(channel, lineKey));
    return report;
  }

  private count(report: OrderIngestReport, outcome: LineOutcome): void {
    switch (outcome.kind) {
      case 'changed':
        report.changed += 1;
        report.oversold += outcome.oversold;
        break;
      case 'unchanged':
        report.unchanged += 1;
        break;
      case 'info':
        report.info += 1;
        break;
      case 'blocked':
        report.blocked.push({ lineKey: outcome.lineKey, reason: outcome.reason });
        break;
    }
  }

  private processLine(
    channel: ChannelRecord,
    lineKey: string,
    events: readonly OrderLineEvent[],
    force: boolean,
    locations: () => Promise<Map<string, string>>,
  ): Promise<LineOutcome> {
    return this.serial(channel.code, lineKey, () => this.processLineNow(channel, lineKey, events, force, locations));
  }

  private async processLineNow(
    channel: ChannelRecord,
    lineKey: string,
    events: readonly OrderLineEvent[],
    force: boolean,
    locations: () => Promise<Map<string, string>>,
  ): Promise<LineOutcome> {
    const { store, clock } = this.deps;
    const facts: LineFactEvent[] = events.map((event) => ({
      eventId: event.eventId,
      occurredAt: event.occurredAt,
      fact: event.fact,
    }));
    for (let attempt = 0; attempt < moveAttemptsMax; attempt += 1) {
      const stored = await this.reads.line(channel.code, lineKey);
      if (stored === null && events.length === 0) return { kind: 'blocked', lineKey, reason: 'no such order line' };
      const record = stored ?? this.newRecord(channel.code, events[0]!);
      const state = foldLine(record.state, facts);
      if (record.version > 0 && !force && sameLineState(state, record.state) && record.status !== 'blocked')
        return { kind: 'unchanged' };
      const item = events.length > 0 ? events[events.length - 1]!.item : record.item;
      const held = notUnderstoodReason(state);
      if (held !== null) {
        // An event not understood: the line applies nothing more until it is dismissed.
        const line = { ...record, item, state, updatedAt: clock.now(), status: 'blocked' as const, reason: held };
        if (!(await store.orders.saveLine(line))) continue;
        return { kind: 'blocked', lineKey, reason: held };
      }
      // Started before the match, so on PostgreSQL the two reads are one round trip apart, not two.
      const kinds = locations();
      const sku = record.sku ?? (await this.deps.match(channel.code, item));
      const next: OrderLineRecord = { ...record, item, state, updatedAt: clock.now() };
      if (sku === null) {
        const reason = `unmapped: no mapping, listing, sku or barcode of channel ${channel.code} matches item ${JSON.stringify(item.externalId)}${item.sku ? ` (sku ${JSON.stringify(item.sku)})` : ''}`;
        if (!(await store.orders.saveLine({ ...next, status: 'blocked', reason }))) continue;
        return { kind: 'blocked', lineKey, reason };
      }
      next.sku = sku;
      const context = await this.routingContext(channel, sku, kinds);
      const result = lineEffect(lineUnits(state, context.shipments), record.applied, context.routing);
      if (result.kind !== 'effect') {
        const status = result.kind === 'info' ? 'info' : 'blocked';
        if (!(await store.orders.saveLine({ ...next, status, reason: result.reason }))) continue;
        return result.kind === 'info' ? { kind: 'info' } : { kind: 'blocked', lineKey, reason: result.reason };
      }
      const moves = lineMoves(record.applied, result.effect);
      if (moves.length === 0) {
        if (!(await store.orders.saveLine({ ...next, status: statusOf(record.applied), reason: null }))) continue;
        return { kind: 'unchanged' };
      }
      const step: Step = {
        number: record.seq + 1,
        sku,
        pool: [...result.pool],
        moves,
        occurredAt: Math.min(Math.max(state.lastEventAt, 0) || clock.now(), clock.now()),
      };
      const outcome = await this.applyStep(channel, { ...next, seq: step.number }, record.applied, result.effect, step);
      if (outcome !== null) return outcome;
    }
    // Another process kept winning the row: nothing of this delivery is recorded, so it must not
    // be acknowledged (the platform delivers again, the poll cursor stays).
    throw new Error(`order line ${lineKey}: ${moveAttemptsMax} concurrent writers in a row; not recorded`);
  }

  /**
   * One step: the moves go to the ledger and the line (its new state, the effect the answers
   * say was applied) is written in the same transaction, checked against the row version read.
   * Null when another writer changed the line first: nothing was written, read it again.
   */
  private async applyStep(
    channel: ChannelRecord,
    record: OrderLineRecord,
    before: LineEffect,
    target: LineEffect,
    step: Step,
  ): Promise<LineOutcome | null> {
    const commands = step.moves.map((move, index) => this.command(channel, record, step, move, index));
    const settle = (answers: readonly CommandAnswer[]) => {
      const done: LineMove[] = [];
      let refusal: string | null = null;
      let oversold = 0;
      answers.forEach((answer, index) => {
        const move = step.moves[index]!;
        if (answer.status === 'applied' || answer.status === 'exists') {
          done.push(move);
          oversold += (answer as { oversold?: number }).oversold ?? 0;
        } else
          refusal ??= `${move.type} of ${move.quantity} at ${move.location} refused: ${answer.status}${answer.detail ? ` (${answer.detail})` : ''}`;
      });
      const applied: LineEffect = refusal === null ? target : applyMoves(before, done);
      const line: OrderLineRecord = {
        ...record,
        applied,
        status: refusal === null ? statusOf(applied) : 'blocked',
        reason: refusal,
      };
      return { line, refusal, oversold };
    };
    let answers: CommandAnswer[];
    try {
      answers = await this.deps.ledger.submit(commands, {
        sideWrites: (own) => this.deps.store.orders.lineWrites(settle(own).line),
      });
    } catch (error) {
      if (error instanceof SideWriteConflict) return null;
      throw error;
    }
    const { refusal, oversold } = settle(answers);
    return refusal === null
      ? { kind: 'changed', oversold }
      : { kind: 'blocked', lineKey: record.lineKey, reason: refusal };
  }

  private command(
    channel: ChannelRecord,
    record: OrderLineRecord,
    step: Step,
    move: LineMove,
    index: number,
  ): LedgerCommand {
    const key = `${record.lineKey}:${step.number}:${index}`;
    const meaning = { line: record.lineKey, step: step.number, index, move, sku: step.sku, pool: step.pool };
    const base = {
      key,
      payloadHash: payloadHash(meaning),
      sku: step.sku,
      location: move.location,
      quantity: move.quantity,
      occurredAt: step.occurredAt,
      source: { system: channel.platform, reference: record.orderId },
      note: `channel ${channel.code} order ${record.orderId} line ${record.lineId}`,
    };
    switch (move.type) {
      case 'order':
        return move.moved
          ? { ...base, type: 'order', pool: step.pool, moved: true }
          : { ...base, type: 'order', pool: step.pool };
      case 'cancellation':
        return { ...base, type: 'cancellation' };
      case 'shipment':
        return { ...base, type: 'shipment' };
      case 'return':
        return { ...base, type: 'return', to: move.to };
      case 'status':
        return { ...base, type: 'status', from: 'quarantine', to: 'on_hand' };
    }
  }

  private newRecord(
    channel: string,
    event: Pick<OrderLineEvent, 'lineKey' | 'orderId' | 'lineId' | 'item'>,
  ): OrderLineRecord {
    const now = this.deps.clock.now();
    return {
      channel,
      lineKey: event.lineKey,
      orderId: event.orderId,
      lineId: event.lineId,
      item: event.item,
      sku: null,
      state: emptyLineState(),
      applied: {},
      seq: 0,
      version: 0,
      status: 'open',
      reason: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  private async routingContext(
    channel: ChannelRecord,
    sku: string,
    kinds: Promise<ReadonlyMap<string, string>>,
  ): Promise<{ routing: RoutingContext; shipments: ShipmentSource }> {
    const settings = channelOrderSettings(channel);
    const now = this.deps.clock.now();
    // The variant's levels are read while the location kinds may still be on their way.
    const [kind, byLocation] = await Promise.all([kinds, this.reads.available(sku)]);
    const pool = channel.locations.filter((code) => kind.get(code) !== 'marketplace_fulfilment');
    const marketplaceLocation = channel.locations.find((code) => kind.get(code) === 'marketplace_fulfilment') ?? null;
    const available =
      byLocation ??
      new Map(
        ((await this.deps.store.ledger.getStock(sku, now))?.locations ?? []).map((l) => [l.location, l.available]),
      );
    // The connector's own location, as its settings store it (`location_id`, a gid or its id).
    const connector = channel.settings.connector as { location_id?: unknown } | undefined;
    const own = typeof connector?.location_id === 'string' ? connector.location_id : null;
    return {
      shipments: settings.shipments,
      routing: {
        pool,
        marketplaceLocation,
        resolveLocation: (platformId) => {
          const mapped = settings.locationMap[platformId];
          if (mapped !== undefined) return kind.has(mapped) ? mapped : undefined;
          if (own !== null && (own === platformId || platformId.endsWith(`/${own}`))) return pool[0];
          return kind.has(platformId) ? platformId : undefined;
        },
        available: (code) => available.get(code) ?? 0,
      },
    };
  }
}

/** The moves of one step of a line: keyed `<line key>:<step>:<index>`, never reused. */
interface Step {
  number: number;
  sku: string;
  /** The channel's pool (true oversells are judged against it). */
  pool: string[];
  moves: LineMove[];
  occurredAt: number;
}

/** The channel order line a checkout's commit names, keyed as the channel's connector keys its events. */
export interface CheckoutLine {
  lineKey: string;
  orderId: string;
  lineId: string;
  /** The reservation's variant. */
  sku: string;
}

export type LineOutcome =
  | { kind: 'changed'; oversold: number }
  | { kind: 'unchanged' }
  | { kind: 'info' }
  | { kind: 'blocked'; lineKey: string; reason: string };

function statusOf(applied: LineEffect): 'open' | 'closed' {
  return Object.values(applied).some((entry) => entry.reserved > 0) ? 'open' : 'closed';
}

/**
 * The retry sweep: every `intervalMs`, blocked lines are
 * taken up again (bounded per sweep). A blocked line that is still blocked stays in the inbox.
 */
export function startOrderLineRetries(
  intake: OrderLineIntake,
  options: { intervalMs?: number; onError: (error: unknown) => void; onReport?: (report: OrderIngestReport) => void },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => intake.retryDue())
      .then((report) => options.onReport?.(report))
      .catch(options.onError);
  }, options.intervalMs ?? limits.orderLineRetryIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
