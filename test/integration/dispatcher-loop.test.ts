/**
 * The dispatcher's run loop (`start`), on every store, with a scripted channel whose pushes can
 * be held. Goal: a commit wakes a sleeping dispatcher (it does not wait out `idleMs`); a batch
 * held at the channel does not keep a newer change of another listing from going out (claims
 * in flight); claims in flight share a rate-limited connector's budget (never more rows out than
 * the budget); an idle dispatcher renews its lease once per third of the TTL and polls with one
 * loop (counted against a reference timer of the same period, never against the wall clock). Method: `idleMs` of an hour, so only a wake can explain a push; no timing
 * assertion anywhere - each wait is for a state, bounded by a deadline that only a hang reaches.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PushItem, PushOutcome } from '../../src/connectors/channel-connector.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { Propagation } from '../../src/sync/propagation.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../support/scripted-channel.js';
import { STORES, type TestStore } from '../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });
const hourMs = 3_600_000;

/** A scripted channel whose pushes of `held` offers wait for `release()`; counts pushes in flight. */
class HoldingChannel extends ScriptedChannel {
  readonly held = new Set<string>();
  inFlight = 0;
  inFlightPeak = 0;
  budget = Number.POSITIVE_INFINITY;
  private releases: (() => void)[] = [];

  override async pushLevels(items: readonly PushItem[]): Promise<PushOutcome[]> {
    this.inFlight += items.length;
    this.inFlightPeak = Math.max(this.inFlightPeak, this.inFlight);
    try {
      if (items.some((item) => this.held.has(item.externalId)))
        await new Promise<void>((resolve) => this.releases.push(resolve));
      return await super.pushLevels(items);
    } finally {
      this.inFlight -= items.length;
    }
  }

  release(): void {
    this.held.clear();
    for (const resolve of this.releases.splice(0)) resolve();
  }

  override rateLimit() {
    return { available: this.budget, capacity: this.budget, waitMs: 0 };
  }
}

/** Wait for `condition` (a state, not a duration); a deadline only a hang reaches. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !(await condition()); ) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const factory of STORES) {
  describe(`${factory.name}: dispatcher run loop`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let key = 0;
    const clock = { now: () => Date.now() };
    const skus = ['A', 'B', 'C', 'D'];
    const move = (commands: Record<string, unknown>[]) =>
      ledger.submit(
        commands.map(
          (command) => ({ ...command, key: `k${++key}`, payloadHash: `h${key}` }) as unknown as LedgerCommand,
        ),
      );
    const sale = (sku: string) => move([{ type: 'sale', sku, location: 'WH1', quantity: 1 }]);
    const settled = async () => (await store.outbox.syncStatus(Date.now()))[0]?.queueDepth === 0;
    const channel = new HoldingChannel(1);

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      await store.availability.upsertChannels(
        [{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }],
        clock.now(),
      );
      await store.availability.upsertListings(
        skus.map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        clock.now(),
      );
      await move(skus.map((sku) => ({ type: 'receipt', sku, location: 'WH1', quantity: 50 })));
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('a commit wakes a sleeping dispatcher: the change goes out without waiting out idleMs', async () => {
      const propagation = new Propagation({
        store,
        ledger,
        clock,
        owner: 'p1',
        policy,
        channels: [{ channel: 'bol', connector: channel }],
        onError: (_, error) => assert.fail(String(error)),
      });
      // One loop that sleeps an hour when nothing is due: only a wake can push the sale below.
      const dispatcher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        idleMs: hourMs,
        claimsInFlightMax: 1,
      });
      propagation.dispatchers.set('bol', dispatcher);
      propagation.start();
      try {
        await until(async () => channel.shown.size === 4 && (await settled()), 'the first push of every listing');
        const [answer] = await sale('A');
        const desired = answer!.level!.available;
        await until(() => channel.shown.get('offer-A') === desired, `offer-A shows ${desired} after the sale`);
      } finally {
        await propagation.stop();
      }
    });

    it('a batch held at the channel does not hold back another listing committed after it', async () => {
      const dispatcher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        idleMs: 5,
        claimsInFlightMax: 2,
      });
      dispatcher.start();
      try {
        await until(settled, 'nothing due');
        channel.held.add('offer-B');
        await sale('B');
        await until(() => channel.inFlight === 1, 'the push of offer-B is held at the channel');
        const [answer] = await sale('C');
        const desired = answer!.level!.available;
        await until(() => channel.shown.get('offer-C') === desired, 'offer-C pushed while offer-B is still held');
        assert.equal(channel.inFlight, 1, 'offer-B is still held');
        channel.release();
        await until(settled, 'everything pushed once released');
      } finally {
        channel.release();
        await dispatcher.stop();
      }
    });

    it('idle, it renews the lease once per third of its TTL and polls with one loop, not four', async () => {
      let leases = 0;
      let claims = 0;
      const counted: typeof store.outbox = Object.create(store.outbox);
      counted.acquireLease = (...args) => {
        leases += 1;
        return store.outbox.acquireLease(...args);
      };
      counted.claimDue = (...args) => {
        claims += 1;
        return store.outbox.claimDue(...args);
      };
      const idleMs = 10;
      const dispatcher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: counted,
        clock,
        owner: 'p1',
        policy,
        idleMs,
        leaseTtlMs: hourMs,
        claimsInFlightMax: 4,
      });
      await until(settled, 'nothing due');
      dispatcher.start();
      // A reference timer of the same period, in the same process: polls are counted per its
      // fires (a ratio of two timers, so a slow machine slows both).
      let periods = 0;
      const reference = setInterval(() => (periods += 1), idleMs);
      try {
        await until(() => periods >= 30, 'thirty idle periods');
      } finally {
        clearInterval(reference);
        await dispatcher.stop();
      }
      assert.equal(leases, 1, 'the lease was taken once: an hour of TTL is renewed after twenty minutes');
      // Four loops each polling every period would make about 4 claims per period.
      assert.ok(claims <= 2 * periods + 4, `${claims} claims in ${periods} idle periods: one loop polls`);
      assert.ok(claims >= 4, `${claims} claims: the idle loop still polls`);
    });

    it('claims in flight share a rate-limited budget: never more rows out than it allows', async () => {
      channel.budget = 2;
      const dispatcher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        idleMs: 5,
        claimsInFlightMax: 4,
      });
      dispatcher.start();
      try {
        await until(settled, 'nothing due');
        for (const sku of skus) channel.held.add(`offer-${sku}`);
        channel.inFlightPeak = 0;
        for (const sku of skus) await sale(sku);
        await until(() => channel.inFlight === 2, 'two pushes held at the channel');
        // Four loops, each seeing a budget of 2: without sharing, all four rows would be out.
        // Let every loop claim a few more times (rounds, not a duration) while two are held.
        const rounds = dispatcher.stats.ticks;
        await until(() => dispatcher.stats.ticks >= rounds + 12, 'twelve more rounds of the four loops');
        assert.equal(channel.inFlightPeak, 2);
        channel.release();
        await until(settled, 'everything pushed once released');
        assert.deepEqual(
          skus.map((sku) => channel.shown.get(`offer-${sku}`)),
          [48, 48, 48, 49],
          'every sale reached the channel',
        );
        assert.ok(channel.inFlightPeak <= 2, `at most 2 rows out at once, saw ${channel.inFlightPeak}`);
      } finally {
        channel.release();
        await dispatcher.stop();
      }
    });

    it('tells onBatch once per pushed batch, after recording it, with every listing of the batch', async () => {
      channel.budget = Number.POSITIVE_INFINITY;
      const batches: string[][] = [];
      const dispatcher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        onBatch: (results) => batches.push(results.map((result) => `${result.listingId}:${result.status}`)),
      });
      for (const sku of skus) await sale(sku);
      const pushed = await dispatcher.tick();
      assert.equal(pushed, skus.length);
      // The scripted channel takes one item per call: one batch, and one line, per listing.
      assert.equal(batches.length, skus.length);
      for (const batch of batches) assert.match(batch.join(), /^\d+:ok$/);
      assert.ok(await settled(), 'recorded before it was told');
    });
  });
}
