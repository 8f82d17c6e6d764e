/**
 * The platform-neutral intake (src/ingest/) over the connector port's intake side, with a
 * connector of a platform onhand does not ship: what a new platform writes is only
 * verifyWebhook / parseWebhook or pollOrders; finding the channel, the refusals, the level
 * notice, the ledger facts, the lease and the cursor are ingest's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelConnector } from '../../src/connectors/channel-connector.js';
import {
  type IntakeEvent,
  type OrderLineEvent,
  type OrderPollBatch,
  orderLineKey,
  type WebhookDelivery,
} from '../../src/connectors/channel-intake.js';
import { limits } from '../../src/core/limits.js';
import type { CommandAnswer } from '../../src/core/ledger/apply-commands.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { cachedConnectors, receiveWebhook } from '../../src/ingest/webhook-intake.js';
import type { ChannelRecord } from '../../src/store/availability-store.js';
import type { GroupCommitter } from '../../src/store/group-commit.js';
import { SideWriteConflict, type LocationRecord, type SideWrite } from '../../src/store/ledger-store.js';
import type { OrderLinePort, OrderLineRecord } from '../../src/store/order-lines-port.js';

const clock = { now: () => 1_700_000_000_000 };
const channel = (
  code: string,
  platform: string,
  settings: Record<string, unknown> = { connector: {} },
): ChannelRecord =>
  ({
    code,
    name: code,
    platform,
    settings,
    locations: ['WH1'],
    pushLatencyP95Ms: 2000,
    createdAt: 0,
    updatedAt: 0,
  }) as ChannelRecord;

/**
 * A ledger that applies every command once and answers `exists` after; `down` makes it fail.
 * Side writes (the order lines) are the fake store's own closures, run as the real store runs
 * them: in the same "transaction", a row-count mismatch failing it whole.
 */
function fakeLedger() {
  const seen = new Set<string>();
  const submitted: LedgerCommand[] = [];
  const state = { down: false };
  const ledger = {
    submit: async (
      commands: readonly LedgerCommand[],
      options: { sideWrites?: (answers: readonly CommandAnswer[]) => readonly SideWrite[] } = {},
    ) => {
      if (state.down) throw new Error('ledger unavailable');
      const answers = commands.map((command) => ({
        key: command.key,
        status: seen.has(command.key) ? 'exists' : 'applied',
      })) as CommandAnswer[];
      for (const write of options.sideWrites?.(answers) ?? []) {
        const changed = (write.params[0] as () => number)();
        if (write.expectRows !== undefined && changed !== write.expectRows) throw new SideWriteConflict(write.sql);
      }
      for (const command of commands) {
        submitted.push(command);
        seen.add(command.key);
      }
      return answers;
    },
  } as unknown as GroupCommitter;
  return { ledger, submitted, state };
}

/** The order-line slice in memory, with the row version's compare-and-set. */
function fakeOrderLines(): OrderLinePort & { rows: Map<string, OrderLineRecord> } {
  const rows = new Map<string, OrderLineRecord>();
  const id = (channelCode: string, lineKey: string) => `${channelCode}\u0000${lineKey}`;
  const save = (record: OrderLineRecord): boolean => {
    const known = rows.get(id(record.channel, record.lineKey));
    if ((known?.version ?? 0) !== record.version) return false;
    rows.set(id(record.channel, record.lineKey), structuredClone({ ...record, version: record.version + 1 }));
    return true;
  };
  return {
    rows,
    getLine: async (channelCode, lineKey) => structuredClone(rows.get(id(channelCode, lineKey)) ?? null),
    getLines: async (channelCode, lineKeys) =>
      new Map(
        lineKeys.flatMap((lineKey) => {
          const row = rows.get(id(channelCode, lineKey));
          return row ? [[lineKey, structuredClone(row)] as const] : [];
        }),
      ),
    saveLine: async (record) => save(record),
    lineWrites: (record) => [{ sql: 'order line', params: [() => (save(record) ? 1 : 0)], expectRows: 1 }],
    orderLines: async () => [],
    channelsOfLines: async () => [],
    inbox: async () => ({ lines: [], next: null }),
    linesToRetry: async () => [],
    staleOpenOrders: async (channelCode, options) => [
      ...new Set(
        [...rows.values()]
          .filter(
            (row) => row.channel === channelCode && row.status === 'open' && row.updatedAt < options.updatedBefore,
          )
          .map((row) => row.orderId),
      ),
    ],
    listLines: async () => ({ items: [], next_cursor: null }),
    countLines: async () => [],
  };
}

function fakeStore(channels: ChannelRecord[]) {
  const notices: [string, string, number][] = [];
  const cursors = new Map<string, string>();
  let leaseOwner: string | null = null;
  const availability = {
    getChannel: async (code: string) => channels.find((each) => each.code === code) ?? null,
  };
  const outbox = {
    noticeChannelLevel: async (code: string, externalId: string, shown: number) => {
      notices.push([code, externalId, shown]);
      return shown === 4 ? ('consistent' as const) : ('drift' as const);
    },
    acquireLease: async (_channel: string, owner: string) => {
      if (leaseOwner !== null && leaseOwner !== owner) return null;
      leaseOwner = owner;
      return 1;
    },
    loadCursor: async (code: string) => cursors.get(code) ?? null,
    saveCursor: async (code: string, cursor: string) => void cursors.set(code, cursor),
  };
  const orders = fakeOrderLines();
  const catalogue = {
    listLocations: async () => [{ code: 'WH1', name: 'Main', kind: 'warehouse' }] as LocationRecord[],
  };
  // No stock known: routing takes the channel's first location, the ledger judges.
  const ledger = {
    getStock: async () => null,
    availableByLocation: async (skus: readonly string[]) => new Map(skus.map((sku) => [sku, null])),
  };
  return { store: { availability, outbox, orders, catalogue, ledger }, notices, cursors, orders };
}

/** The order-line intake over the fake store; `item-1` is the channel's listing of TEE. */
function intakeOver(store: ReturnType<typeof fakeStore>['store'], ledger: GroupCommitter) {
  return new OrderLineIntake({
    store,
    ledger,
    clock,
    match: async (_channel, item) => (item.externalId === 'item-1' ? 'TEE' : null),
  });
}

const ordered = (order: string, quantity = 2): OrderLineEvent => ({
  lineKey: orderLineKey('woo', 'shop1', order, '1'),
  eventId: 'order',
  orderId: order,
  lineId: '1',
  item: { externalId: 'item-1', sku: null, barcode: null },
  occurredAt: clock.now(),
  fact: { kind: 'ordered', quantity, version: 1, fulfilledBy: 'merchant', locationId: null },
});

const cancelled = (order: string): OrderLineEvent => ({
  ...ordered(order),
  eventId: 'cancel',
  fact: { kind: 'cancelled', quantity: null },
});

/** A webhook platform in ~10 lines: a shared-secret header, a JSON body. */
function webhookConnector(): ChannelConnector {
  return {
    platform: 'woo',
    maxBatchSize: 1,
    pushLevels: async () => [],
    readLevels: async () => [],
    rateLimit: () => ({ available: 1, capacity: 1, waitMs: 0 }),
    verifyWebhook: (delivery) =>
      delivery.headers['x-secret'] === 's3cret' ? { ok: true } : { ok: false, reason: 'bad secret' },
    parseWebhook: (delivery): IntakeEvent => {
      const body = JSON.parse(delivery.body.toString('utf8')) as {
        type: string;
        order?: string;
        shown?: number | null;
      };
      if (body.type === 'order') return { kind: 'lines', events: [ordered(body.order!)] };
      if (body.type === 'cancel') return { kind: 'lines', events: [cancelled(body.order!)] };
      if (body.type === 'level') return { kind: 'level', externalId: 'item-1', quantity: body.shown ?? null };
      if (body.type === 'broken') return { kind: 'invalid', reason: 'no order id' };
      return { kind: 'ignored', reason: `type ${body.type}` };
    },
  };
}

const delivery = (body: unknown, secret = 's3cret'): WebhookDelivery => ({
  body: Buffer.from(JSON.stringify(body)),
  headers: { 'x-secret': secret },
});

/** What the ledger was asked: type, key, sku, location and quantity of each command. */
const asked = (submitted: readonly LedgerCommand[]) =>
  submitted.map((command) => [
    command.type,
    command.key,
    'sku' in command ? command.sku : null,
    'location' in command ? command.location : null,
    'quantity' in command ? command.quantity : null,
  ]);

describe('receiveWebhook over the port', () => {
  const setup = () => {
    const { store, notices, orders } = fakeStore([
      channel('woo1', 'woo'),
      channel('bare', 'woo', {}),
      channel('other', 'shopify'),
    ]);
    const { ledger, submitted } = fakeLedger();
    const deps = { store, orders: intakeOver(store, ledger), clock, connect: () => webhookConnector() };
    return { deps, notices, submitted, rows: orders.rows };
  };

  it("refuses an unknown channel, another platform's channel and one without connector settings", async () => {
    const { deps, submitted, rows } = setup();
    for (const code of ['nope', 'other', 'bare'])
      assert.equal(
        (await receiveWebhook(deps, 'woo', code, delivery({ type: 'order', order: '1' }))).status,
        'unknown-channel',
      );
    assert.equal(submitted.length, 0);
    assert.equal(rows.size, 0);
  });

  it('refuses what does not verify before parsing it, and what is malformed after', async () => {
    const { deps, submitted, rows } = setup();
    assert.deepEqual(await receiveWebhook(deps, 'woo', 'woo1', { body: Buffer.from('not json'), headers: {} }), {
      status: 'unauthentic',
      reason: 'bad secret',
    });
    // Signed with another secret: refused, although the body is a good order.
    assert.equal(
      (await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'order', order: '1' }, 'other'))).status,
      'unauthentic',
    );
    assert.deepEqual(await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'broken' })), {
      status: 'invalid',
      reason: 'no order id',
    });
    assert.equal(submitted.length, 0);
    assert.equal(rows.size, 0);
  });

  it('folds order lines into ledger moves keyed by line and step; a redelivery changes nothing', async () => {
    const { deps, submitted, rows } = setup();
    const first = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'order', order: '77' }));
    assert.ok(first.status === 'accepted');
    assert.equal(first.ignored, false);
    assert.deepEqual(first.report, {
      events: 1,
      changed: 1,
      unchanged: 0,
      info: 0,
      blocked: [],
      invalid: [],
      oversold: 0,
    });
    const again = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'order', order: '77' }));
    assert.ok(again.status === 'accepted');
    assert.deepEqual([again.report.changed, again.report.unchanged], [0, 1]);
    assert.deepEqual(asked(submitted), [['order', 'woo:shop1:77:1:1:0', 'TEE', 'WH1', 2]], 'submitted once');
    // The line's next fact is its next step, under a key never used before.
    const cancel = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'cancel', order: '77' }));
    assert.ok(cancel.status === 'accepted' && cancel.report.changed === 1);
    assert.deepEqual(asked(submitted).slice(1), [['cancellation', 'woo:shop1:77:1:2:0', 'TEE', 'WH1', 2]]);
    const line = rows.get('woo1\u0000woo:shop1:77:1');
    assert.deepEqual([line?.status, line?.seq], ['closed', 2]);
  });

  it('tells onOrder once per channel order of a delivery: its line count and outcome', async () => {
    const channels = [channel('woo1', 'woo')];
    const { store } = fakeStore(channels);
    const { ledger } = fakeLedger();
    const told: [string, string, number, string][] = [];
    const intake = new OrderLineIntake({
      store,
      ledger,
      clock,
      match: async (_channel, item) => (item.externalId === 'item-1' ? 'TEE' : null),
      onOrder: (code, order) => told.push([code, order.orderId, order.lines, order.outcome]),
    });
    const secondLine = { ...ordered('77'), lineKey: orderLineKey('woo', 'shop1', '77', '2'), lineId: '2' };
    const unknownItem = { ...ordered('78'), item: { externalId: 'item-9', sku: null, barcode: null } };
    await intake.ingest(channels[0]!, [ordered('77'), secondLine, unknownItem]);
    assert.deepEqual(told, [
      ['woo1', '77', 2, 'applied'],
      ['woo1', '78', 1, 'blocked'],
    ]);
    told.length = 0;
    await intake.ingest(channels[0]!, [ordered('77'), secondLine]);
    assert.deepEqual(told, [['woo1', '77', 2, 'unchanged']], 'a redelivery: one line, nothing new');
  });

  it('a level is noticed, never a fact: drift is reported, a null level and other topics are ignored', async () => {
    const { deps, notices, submitted, rows } = setup();
    const drift = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'level', shown: 9 }));
    assert.deepEqual(drift.status === 'accepted' && [drift.ignored, drift.drift], [
      true,
      { externalId: 'item-1', shown: 9 },
    ]);
    const consistent = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'level', shown: 4 }));
    assert.ok(consistent.status === 'accepted' && consistent.drift === undefined);
    for (const body of [{ type: 'level', shown: null }, { type: 'customer' }]) {
      const ignored = await receiveWebhook(deps, 'woo', 'woo1', delivery(body));
      assert.ok(ignored.status === 'accepted' && ignored.ignored);
      assert.deepEqual([ignored.report.events, ignored.report.changed], [0, 0]);
    }
    assert.deepEqual(notices, [
      ['woo1', 'item-1', 9],
      ['woo1', 'item-1', 4],
    ]);
    assert.equal(submitted.length, 0);
    assert.equal(rows.size, 0);
  });
});

describe('cachedConnectors', () => {
  it("builds a channel's connector once, again when its settings change, and keeps at most `max`", () => {
    const built: string[] = [];
    const connect = cachedConnectors((record) => {
      built.push(record.code);
      return webhookConnector();
    }, 2);
    const a = channel('a', 'woo', { connector: { secret: 1 } });
    const first = connect(a, clock);
    assert.equal(connect(a, clock), first);
    assert.notEqual(connect(channel('a', 'woo', { connector: { secret: 2 } }), clock), first);
    connect(channel('b', 'woo'), clock);
    connect(channel('c', 'woo'), clock); // evicts a, the oldest
    connect(channel('a', 'woo', { connector: { secret: 2 } }), clock);
    assert.deepEqual(built, ['a', 'a', 'b', 'c', 'a']);
  });
});

describe('OrderPolling over the port', () => {
  /** A polled platform: pages of events, the page number as the cursor. */
  function pollingConnector(pages: OrderLineEvent[][], error?: string): ChannelConnector {
    return {
      platform: 'woo',
      maxBatchSize: 1,
      pushLevels: async () => [],
      readLevels: async () => [],
      rateLimit: () => ({ available: 1, capacity: 1, waitMs: 0 }),
      pollIntervalMs: 60_000,
      pollOrders: async (cursor): Promise<OrderPollBatch> => {
        const page = cursor === null ? 0 : Number(cursor);
        return {
          events: pages[page] ?? [],
          cursor: String(Math.min(page + 1, pages.length)),
          ...(error ? { error } : {}),
        };
      },
    };
  }

  it('reads open orders again in full once they are stale, so a change the poll missed still lands', async () => {
    const { store, orders } = fakeStore([channel('woo1', 'woo')]);
    const { ledger, submitted } = fakeLedger();
    const asked: string[][] = [];
    const shipped: OrderLineEvent = {
      ...ordered('9'),
      eventId: 'shipment-1',
      fact: { kind: 'fulfilled', quantity: 2, locationId: 'WH1', active: true, version: 1 },
    };
    const connector = {
      ...pollingConnector([[ordered('9')]]),
      refreshOrders: async (orderIds: readonly string[]) => {
        asked.push([...orderIds]);
        return { events: [ordered('9'), shipped] };
      },
    };
    let now = clock.now();
    const polling = new OrderPolling({
      store,
      orders: intakeOver(store, ledger),
      clock: { now: () => now },
      owner: 'p1',
      channels: [{ channel: 'woo1', connector }],
      onError: (_, error) => assert.fail(String(error)),
    });
    assert.equal((await polling.pollOnce('woo1'))?.changed, 1);
    assert.deepEqual(asked, [], 'nothing stale yet');
    now += limits.openOrderRefreshAgeMs + 1;
    const later = await polling.pollOnce('woo1');
    assert.deepEqual(asked, [['9']]);
    assert.equal(later?.changed, 1, 'the shipment the poll never reported');
    assert.deepEqual(
      submitted.map((command) => command.type),
      ['order', 'shipment'],
    );
    assert.equal(orders.rows.get('woo1\u0000woo:shop1:9:1')?.status, 'closed');
    now += 1000;
    await polling.pollOnce('woo1');
    assert.equal(asked.length, 1, 'not again before the refresh interval');
  });

  it('polls from the saved cursor, applies the events, then saves the next cursor', async () => {
    const { store, cursors } = fakeStore([channel('woo1', 'woo')]);
    const { ledger, submitted } = fakeLedger();
    const polling = new OrderPolling({
      store,
      orders: intakeOver(store, ledger),
      clock,
      owner: 'p1',
      channels: [{ channel: 'woo1', connector: pollingConnector([[ordered('1'), ordered('2')], [cancelled('2')]]) }],
      onError: (_, error) => assert.fail(String(error)),
    });
    assert.equal((await polling.pollOnce('woo1'))?.changed, 2);
    assert.equal(cursors.get('woo1'), '1');
    assert.equal((await polling.pollOnce('woo1'))?.changed, 1);
    assert.equal(cursors.get('woo1'), '2');
    assert.equal(submitted.length, 3);
    // A crash before the cursor was saved re-reads the page: the fold finds nothing new.
    cursors.delete('woo1');
    const reread = await polling.pollOnce('woo1');
    assert.deepEqual([reread?.changed, reread?.unchanged], [0, 2]);
    assert.equal(submitted.length, 3, 'nothing submitted again');
  });

  it('saves no cursor when the events could not be recorded, and the next poll reads them again', async () => {
    const { store, cursors } = fakeStore([channel('woo1', 'woo')]);
    const { ledger, submitted, state } = fakeLedger();
    const polling = new OrderPolling({
      store,
      orders: intakeOver(store, ledger),
      clock,
      owner: 'p1',
      channels: [{ channel: 'woo1', connector: pollingConnector([[ordered('1')]]) }],
      onError: (_, error) => assert.fail(String(error)),
    });
    state.down = true;
    await assert.rejects(polling.pollOnce('woo1'), /ledger unavailable/);
    assert.equal(cursors.has('woo1'), false, 'the cursor waits for the ledger');
    state.down = false;
    // The step written before the failure is submitted now, under the same key.
    const again = await polling.pollOnce('woo1');
    assert.deepEqual([again?.events, again?.blocked, again?.invalid], [1, [], []]);
    assert.equal(cursors.get('woo1'), '1');
    assert.deepEqual(asked(submitted), [['order', 'woo:shop1:1:1:1:0', 'TEE', 'WH1', 2]]);
  });

  it('polls only channels whose connector polls, only under the lease, and reports a partial failure', async () => {
    const { store } = fakeStore([channel('woo1', 'woo'), channel('hook', 'woo')]);
    const { ledger } = fakeLedger();
    const orders = intakeOver(store, ledger);
    const errors: string[] = [];
    const channels = [
      { channel: 'woo1', connector: pollingConnector([[ordered('1')]], 'page 2: HTTP 503') },
      { channel: 'hook', connector: webhookConnector() },
    ];
    const first = new OrderPolling({
      store,
      orders,
      clock,
      owner: 'p1',
      channels,
      onError: (code, error) => errors.push(`${code}: ${(error as Error).message}`),
    });
    const second = new OrderPolling({
      store,
      orders,
      clock,
      owner: 'p2',
      channels,
      onError: () => assert.fail('p2 must not poll'),
    });
    assert.equal(await first.pollOnce('hook'), null);
    assert.equal((await first.pollOnce('woo1'))?.changed, 1);
    assert.equal(await second.pollOnce('woo1'), null, 'another process holds the lease');
    assert.deepEqual(errors, ['woo1: page 2: HTTP 503']);
  });
});
