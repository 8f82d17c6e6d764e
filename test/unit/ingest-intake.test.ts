/**
 * The platform-neutral intake (src/ingest/) over the connector port's intake side, with a
 * connector of a platform onhand does not ship: what a new platform writes is only
 * verifyWebhook / parseWebhook or pollOrders; finding the channel, the refusals, the level
 * notice, the ledger facts, the lease and the cursor are ingest's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelConnector, ChannelOrderLine } from '../../src/connectors/channel-connector.js';
import type { IntakeEvent, OrderPollBatch, WebhookDelivery } from '../../src/connectors/channel-intake.js';
import { businessEventKey } from '../../src/connectors/channel-intake.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { cachedConnectors, receiveWebhook } from '../../src/ingest/webhook-intake.js';
import type { ChannelRecord } from '../../src/store/availability-store.js';
import type { GroupCommitter } from '../../src/store/group-commit.js';

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

/** A ledger that applies every command once and answers `exists` after. */
function fakeLedger() {
  const seen = new Set<string>();
  const submitted: LedgerCommand[] = [];
  const ledger = {
    submit: async (commands: readonly LedgerCommand[]) =>
      commands.map((command) => {
        submitted.push(command);
        const status = seen.has(command.key) ? 'exists' : 'applied';
        seen.add(command.key);
        return { key: command.key, status };
      }),
  } as unknown as GroupCommitter;
  return { ledger, submitted };
}

function fakeStore(channels: ChannelRecord[]) {
  const notices: [string, string, number][] = [];
  const cursors = new Map<string, string>();
  let leaseOwner: string | null = null;
  const availability = {
    getChannel: async (code: string) => channels.find((each) => each.code === code) ?? null,
  };
  const outbox = {
    listingByExternalId: async (_channel: string, externalId: string) =>
      externalId === 'item-1' ? { listingId: 'l1', sku: 'TEE' } : null,
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
  return { store: { availability, outbox }, notices, cursors };
}

const line = (order: string, kind: ChannelOrderLine['kind'] = 'order'): ChannelOrderLine => ({
  key: businessEventKey('woo', 'shop1', [order, '1'], kind),
  kind,
  externalId: 'item-1',
  sku: null,
  quantity: 2,
  orderReference: order,
  occurredAt: clock.now(),
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
      if (body.type === 'order') return { kind: 'lines', lines: [line(body.order!)] };
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

describe('receiveWebhook over the port', () => {
  const setup = () => {
    const { store, notices } = fakeStore([
      channel('woo1', 'woo'),
      channel('bare', 'woo', {}),
      channel('other', 'shopify'),
    ]);
    const { ledger, submitted } = fakeLedger();
    const deps = { store, ledger, clock, connect: () => webhookConnector() };
    return { deps, notices, submitted };
  };

  it("refuses an unknown channel, another platform's channel and one without connector settings", async () => {
    const { deps } = setup();
    for (const code of ['nope', 'other', 'bare'])
      assert.equal(
        (await receiveWebhook(deps, 'woo', code, delivery({ type: 'order', order: '1' }))).status,
        'unknown-channel',
      );
  });

  it('refuses what does not verify before parsing it, and what is malformed after', async () => {
    const { deps, submitted } = setup();
    assert.deepEqual(await receiveWebhook(deps, 'woo', 'woo1', { body: Buffer.from('not json'), headers: {} }), {
      status: 'unauthentic',
      reason: 'bad secret',
    });
    assert.deepEqual(await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'broken' })), {
      status: 'invalid',
      reason: 'no order id',
    });
    assert.equal(submitted.length, 0);
  });

  it('applies order lines as ledger facts keyed by the business event; a redelivery replays', async () => {
    const { deps, submitted } = setup();
    const first = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'order', order: '77' }));
    assert.ok(first.status === 'accepted');
    assert.deepEqual([first.ignored, first.report.applied, first.report.replayed], [false, 1, 0]);
    const again = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'order', order: '77' }));
    assert.ok(again.status === 'accepted' && again.report.replayed === 1);
    assert.deepEqual(
      submitted.map((command) => [command.type, command.key, 'sku' in command ? command.sku : null]),
      [
        ['order', 'woo:shop1:77:1:order', 'TEE'],
        ['order', 'woo:shop1:77:1:order', 'TEE'],
      ],
    );
  });

  it('a level is noticed, never a fact: drift is reported, a null level and other topics are ignored', async () => {
    const { deps, notices, submitted } = setup();
    const drift = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'level', shown: 9 }));
    assert.deepEqual(drift.status === 'accepted' && [drift.ignored, drift.drift], [
      true,
      { externalId: 'item-1', shown: 9 },
    ]);
    const consistent = await receiveWebhook(deps, 'woo', 'woo1', delivery({ type: 'level', shown: 4 }));
    assert.ok(consistent.status === 'accepted' && consistent.drift === undefined);
    for (const body of [{ type: 'level', shown: null }, { type: 'customer' }]) {
      const ignored = await receiveWebhook(deps, 'woo', 'woo1', delivery(body));
      assert.ok(ignored.status === 'accepted' && ignored.ignored && ignored.report.applied === 0);
    }
    assert.deepEqual(notices, [
      ['woo1', 'item-1', 9],
      ['woo1', 'item-1', 4],
    ]);
    assert.equal(submitted.length, 0);
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
  /** A polled platform: pages of lines, the page number as the cursor. */
  function pollingConnector(pages: ChannelOrderLine[][], error?: string): ChannelConnector {
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
          lines: pages[page] ?? [],
          cursor: String(Math.min(page + 1, pages.length)),
          ...(error ? { error } : {}),
        };
      },
    };
  }

  it('polls from the saved cursor, applies the lines, then saves the next cursor', async () => {
    const { store, cursors } = fakeStore([channel('woo1', 'woo')]);
    const { ledger } = fakeLedger();
    const polling = new OrderPolling({
      store,
      ledger,
      clock,
      owner: 'p1',
      channels: [
        { channel: 'woo1', connector: pollingConnector([[line('1'), line('2')], [line('2', 'cancellation')]]) },
      ],
      onError: (_, error) => assert.fail(String(error)),
    });
    assert.deepEqual((await polling.pollOnce('woo1'))?.applied, 2);
    assert.equal(cursors.get('woo1'), '1');
    assert.deepEqual((await polling.pollOnce('woo1'))?.applied, 1);
    // A crash before the cursor was saved re-reads the page: the keys replay.
    cursors.delete('woo1');
    assert.deepEqual([(await polling.pollOnce('woo1'))?.replayed], [2]);
  });

  it('polls only channels whose connector polls, only under the lease, and reports a partial failure', async () => {
    const { store } = fakeStore([channel('woo1', 'woo'), channel('hook', 'woo')]);
    const { ledger } = fakeLedger();
    const errors: string[] = [];
    const channels = [
      { channel: 'woo1', connector: pollingConnector([[line('1')]], 'page 2: HTTP 503') },
      { channel: 'hook', connector: webhookConnector() },
    ];
    const first = new OrderPolling({
      store,
      ledger,
      clock,
      owner: 'p1',
      channels,
      onError: (code, error) => errors.push(`${code}: ${(error as Error).message}`),
    });
    const second = new OrderPolling({
      store,
      ledger,
      clock,
      owner: 'p2',
      channels,
      onError: () => assert.fail('p2 must not poll'),
    });
    assert.equal(await first.pollOnce('hook'), null);
    assert.equal((await first.pollOnce('woo1'))?.applied, 1);
    assert.equal(await second.pollOnce('woo1'), null, 'another process holds the lease');
    assert.deepEqual(errors, ['woo1: page 2: HTTP 503']);
  });
});
