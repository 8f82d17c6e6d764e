/**
 * Dispatch (the outbox and its push loop) on every store, with a scripted in-memory channel.
 * Goal: what propagation promises holds on both engines - the newest desired value always
 * reaches the channel, changes made while it is down coalesce into one push, what risks an
 * oversell goes first, failures back off and end in the dead-letter list with the newest
 * value (and come back on redrive), a compare-and-set miss is pushed again with what the
 * channel shows, and only the lease holder's answers count (a fenced former owner changes
 * nothing).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import type { PushItem } from '../../../src/connectors/channel-connector.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../../src/sync/dispatcher.js';
import { retryDelayMs, validateRetryPolicy } from '../../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../../support/scripted-channel.js';
import { STORES, type TestStore } from '../../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });

describe('retry policy', () => {
  it('is capped exponential backoff with jitter, and Retry-After wins', () => {
    assert.equal(retryDelayMs(policy, 1, 0), 500);
    assert.equal(retryDelayMs(policy, 1, 0.999999), 1000);
    assert.equal(retryDelayMs(policy, 3, 0.5), 3000);
    assert.equal(retryDelayMs(policy, 10, 0.999999), 8000, 'capped at delayMsMax');
    assert.equal(retryDelayMs(policy, 1, 0, 60_000), 60_000);
    assert.throws(() => validateRetryPolicy({ ...policy, delayMsMax: 10 }), /delayMsMax/);
    assert.throws(() => validateRetryPolicy({ ...policy, attemptsMax: 0 }), /attemptsMax/);
  });
});

for (const factory of STORES) {
  describe(`${factory.name}: dispatch`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = Date.UTC(2026, 10, 23, 10);
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let key = 0;
    const channel = new ScriptedChannel(2);
    const dispatcher = (owner = 'p1', options: Partial<ConstructorParameters<typeof ChannelDispatcher>[0]> = {}) =>
      new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner,
        policy,
        random: () => 0.5,
        ...options,
      });
    const move = (commands: Record<string, unknown>[]) =>
      ledger.submit(
        commands.map(
          (command) => ({ ...command, key: `k${++key}`, payloadHash: `h${key}` }) as unknown as LedgerCommand,
        ),
      );
    const rowOf = async (sku: string) => (await store.availability.getAvailability(sku))![0]!;

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants(
        ['A', 'B', 'C', 'D'].map((sku) => ({ sku, name: sku })),
        now,
      );
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
      await store.availability.upsertListings(
        ['A', 'B', 'C', 'D'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        now,
      );
      await move(['A', 'B', 'C', 'D'].map((sku) => ({ type: 'receipt', sku, location: 'WH1', quantity: 5 })));
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('pushes every listing once, and the channel shows the ledger', async () => {
      const pusher = dispatcher();
      while ((await pusher.tick()) > 0);
      assert.deepEqual([...channel.shown.entries()].sort(), [
        ['offer-A', 5],
        ['offer-B', 5],
        ['offer-C', 5],
        ['offer-D', 5],
      ]);
      const [status] = await store.outbox.syncStatus(now);
      assert.equal(status?.queueDepth, 0);
      assert.equal(status?.deadLetters, 0);
      assert.equal(status?.pushLatencyP50Ms, 0, 'pushed in the same (fake) millisecond as the commit');
      // Samples are bounded: the sweeper prunes what is older than the retention.
      assert.equal(await store.outbox.pruneSamples(now), 0, 'nothing older than now');
      assert.ok((await store.outbox.pruneSamples(now + 1)) >= 4, 'the four pushes were sampled');
      assert.equal((await store.outbox.syncStatus(now))[0]?.pushLatencyP50Ms, null);
    });

    it('coalesces changes made while the channel is down into one push of the newest value', async () => {
      channel.mode = 'down';
      await move([{ type: 'sale', sku: 'A', location: 'WH1', quantity: 1 }]);
      const pusher = dispatcher();
      await pusher.tick(); // fails: backoff
      for (let sale = 0; sale < 3; sale += 1) await move([{ type: 'sale', sku: 'A', location: 'WH1', quantity: 1 }]);
      channel.mode = 'up';
      channel.log.length = 0;
      assert.equal(await pusher.tick(), 0, 'still backing off: nothing is due');
      now += 10_000;
      while ((await pusher.tick()) > 0);
      assert.deepEqual(
        channel.log.map((item) => [item.externalId, item.quantity]),
        [['offer-A', 1]],
        'one push, the newest value',
      );
      assert.equal(channel.shown.get('offer-A'), 1);
    });

    it('pushes what risks an oversell first: desired 0 before raises', async () => {
      await move([
        { type: 'receipt', sku: 'B', location: 'WH1', quantity: 3 }, // raise 5 -> 8
        { type: 'sale', sku: 'C', location: 'WH1', quantity: 5 }, // drop 5 -> 0: the channel shows 5, desired 0
        { type: 'sale', sku: 'D', location: 'WH1', quantity: 2 }, // drop 5 -> 3
      ]);
      channel.log.length = 0;
      const pusher = dispatcher('p1', { batchSizeMax: 1 });
      while ((await pusher.tick()) > 0);
      assert.deepEqual(
        channel.log.map((item) => item.externalId),
        ['offer-C', 'offer-D', 'offer-B'],
      );
    });

    it('backs off, dead-letters after the last attempt with the newest value, and redrives', async () => {
      channel.mode = 'down';
      await move([{ type: 'receipt', sku: 'B', location: 'WH1', quantity: 1 }]); // 9
      const pusher = dispatcher();
      for (let attempt = 0; attempt < policy.attemptsMax; attempt += 1) {
        await pusher.tick();
        now += 60_000;
      }
      const dead = await store.outbox.listDeadLetters({ channel: 'bol', limit: 10 });
      assert.deepEqual(
        dead.map((letter) => [letter.sku, letter.quantity, letter.attempts]),
        [['B', 9, 3]],
      );
      assert.match(dead[0]!.lastError ?? '', /503/);
      await move([{ type: 'receipt', sku: 'B', location: 'WH1', quantity: 1 }]); // 10, while dead
      assert.deepEqual(
        (await store.outbox.listDeadLetters({ limit: 10 })).map((letter) => letter.quantity),
        [10],
        'kept dead, with the newest desired value',
      );
      channel.mode = 'up';
      assert.equal(await pusher.tick(), 0, 'a dead letter is not pushed');
      assert.equal(await store.outbox.redrive({ channel: 'bol', limit: 10 }, now), 1);
      while ((await pusher.tick()) > 0);
      assert.equal(channel.shown.get('offer-B'), 10);
      assert.equal((await store.outbox.syncStatus(now))[0]?.deadLetters, 0);
    });

    it('dead-letters a permanent error at once, with its reason', async () => {
      channel.permanent.add('offer-D');
      await move([{ type: 'sale', sku: 'D', location: 'WH1', quantity: 1 }]);
      const pusher = dispatcher();
      await pusher.tick();
      const dead = await store.outbox.listDeadLetters({ limit: 10 });
      assert.deepEqual(
        dead.map((letter) => [letter.sku, letter.attempts, letter.lastError]),
        [['D', 1, 'unknown offer']],
      );
      channel.permanent.clear();
      await store.outbox.redrive({ limit: 10 }, now);
      while ((await pusher.tick()) > 0);
    });

    it('on a compare-and-set miss, pushes again with what the channel shows, never blindly', async () => {
      channel.shown.set('offer-A', 7); // edited on the channel, out of band
      await move([{ type: 'receipt', sku: 'A', location: 'WH1', quantity: 2 }]); // desired 3
      channel.log.length = 0;
      const pusher = dispatcher();
      while ((await pusher.tick()) > 0);
      assert.deepEqual(
        channel.log.map((item) => [item.expectedChannelQuantity, item.quantity]),
        [
          [1, 3],
          [7, 3],
        ],
      );
      assert.equal(channel.shown.get('offer-A'), 3);
    });

    it('on a compare-and-set miss showing less than desired, pushes again only after the grace', async () => {
      const pusher = dispatcher();
      while ((await pusher.tick()) > 0);
      const desiredD = (await rowOf('D')).quantity;
      await move([{ type: 'receipt', sku: 'D', location: 'WH1', quantity: 1 }]); // desired + 1
      channel.shown.set('offer-D', desiredD - 1); // the channel sold one meanwhile
      channel.log.length = 0;
      while ((await pusher.tick()) > 0);
      assert.deepEqual(
        channel.log.map((item) => [item.expectedChannelQuantity, item.quantity]),
        [[desiredD, desiredD + 1]],
      );
      assert.equal(channel.shown.get('offer-D'), desiredD - 1, 'the sale is not overwritten during the grace');
      now += 60_000;
      while ((await pusher.tick()) > 0);
      assert.deepEqual(channel.log.at(-1), { ...channel.log.at(-1)!, expectedChannelQuantity: desiredD - 1 });
      assert.equal(channel.shown.get('offer-D'), desiredD + 1);
    });

    it('notices what the channel shows: more than desired is fixed at once, less only after the grace', async () => {
      const pusher = dispatcher();
      while ((await pusher.tick()) > 0);
      const desiredB = (await rowOf('B')).quantity;
      assert.equal(
        await store.outbox.noticeChannelLevel('bol', 'offer-B', desiredB, now, 60_000),
        'consistent',
        'our own echo',
      );
      assert.equal(await pusher.tick(), 0);
      channel.shown.set('offer-B', desiredB + 5); // edited up in the channel's admin: oversell risk
      assert.equal(await store.outbox.noticeChannelLevel('bol', 'offer-B', desiredB + 5, now, 60_000), 'drift');
      assert.equal(await pusher.tick(), 1, 'pushed back at once');
      assert.equal(channel.shown.get('offer-B'), desiredB);
      channel.shown.set('offer-B', desiredB - 2); // lower: perhaps a sale whose order is on its way
      assert.equal(await store.outbox.noticeChannelLevel('bol', 'offer-B', desiredB - 2, now, 60_000), 'drift');
      assert.equal(await pusher.tick(), 0, 'left alone during the grace');
      now += 60_000;
      assert.equal(await pusher.tick(), 1, 'corrected after the grace');
      assert.equal(channel.shown.get('offer-B'), desiredB);
      assert.equal(await store.outbox.noticeChannelLevel('bol', 'no-such-offer', 1, now, 60_000), 'unknown');
    });

    it('a push acknowledged for a value superseded while in flight leaves the newer value due, sampled once', async () => {
      const pusher = dispatcher();
      while ((await pusher.tick()) > 0);
      await store.outbox.pruneSamples(now + 1);
      await move([{ type: 'sale', sku: 'D', location: 'WH1', quantity: 1 }]);
      const desired = (await rowOf('D')).quantity;
      // The channel takes the push, and a sale lands before the answer is recorded.
      const racing = dispatcher('p1', {
        connector: Object.assign(Object.create(channel) as ScriptedChannel, {
          pushLevels: async (items: readonly PushItem[]) => {
            const outcomes = await channel.pushLevels(items);
            await move([{ type: 'sale', sku: 'D', location: 'WH1', quantity: 1 }]);
            return outcomes;
          },
        }),
      });
      assert.equal(await racing.tick(), 1);
      assert.equal(channel.shown.get('offer-D'), desired, 'the older value went out');
      assert.equal((await store.outbox.syncStatus(now))[0]?.queueDepth, 1, 'the newer value is still due');
      assert.equal(await store.outbox.pruneSamples(now + 1), 0, 'a superseded push is not a latency sample');
      assert.equal(await pusher.tick(), 1);
      assert.equal(channel.shown.get('offer-D'), desired - 1);
      assert.equal((await store.outbox.syncStatus(now))[0]?.queueDepth, 0);
      assert.equal(await store.outbox.pruneSamples(now + 1), 1, 'the push of the newest value is');
    });

    it('lets one process push a channel at a time, and fences a former owner out', async () => {
      const first = dispatcher('p1', { leaseTtlMs: 15_000 });
      const second = dispatcher('p2', { leaseTtlMs: 15_000 });
      await move([{ type: 'receipt', sku: 'C', location: 'WH1', quantity: 4 }]);
      const epoch = await store.outbox.acquireLease('bol', 'p1', now, 15_000);
      assert.ok(epoch !== null);
      assert.equal(await second.tick(), 0, 'p2 does not push while p1 holds the lease');
      now += 16_000; // p1 paused past its lease
      assert.equal(await second.tick(), 1, 'p2 takes over');
      assert.equal(channel.shown.get('offer-C'), 4);
      await move([{ type: 'receipt', sku: 'D', location: 'WH1', quantity: 1 }]); // a row due again
      const rows = await store.outbox.claimDue('bol', epoch!, now, 10, 30_000);
      assert.deepEqual(rows, [], 'the former owner claims nothing, even with a row due');
      const current = await store.outbox.acquireLease('bol', 'p2', now, 15_000);
      assert.ok(current !== null && current > epoch!);
      assert.deepEqual(
        (await store.outbox.claimDue('bol', current, now, 10, 30_000)).map((row) => row.externalId),
        ['offer-D'],
        'the owner of the current epoch claims it',
      );
      const accepted = await store.outbox.recordResults(
        'bol',
        epoch!,
        [{ listingId: '1', desiredVersion: 99, status: 'ok', channelQuantity: 0, pushedQuantity: 0 }],
        now,
      );
      assert.equal(accepted, false, "the former owner's late answer changes nothing");
      await first.stop();
      await second.stop();
      assert.equal((await store.availability.getAvailability('C'))![0]!.quantity, 4);
      assert.equal((await rowOf('A')).quantity, 3);
    });
  });
}
