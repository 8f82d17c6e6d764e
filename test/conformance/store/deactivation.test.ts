/**
 * Deactivation on every store (availability.setActive): per kind, the effect a user expects,
 * observed where it matters (what a channel is pushed, what drift lists, what lists show):
 * - a variant: its listings are pushed 0 and stay 0 while stock moves; activated, they show
 *   the stock again;
 * - a location: contributes nothing to any channel's availability;
 * - a channel: nothing is pushed to it; activated, the changes made meanwhile are pushed;
 * - a listing: not pushed and not counted in drift.
 * Every change is idempotent and recorded with who and when; nothing is deleted (history and
 * the record stay readable, lists filter on `active`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter, PreconditionFailed } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../../support/scripted-channel.js';
import { STORES, type TestStore } from '../../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });

for (const factory of STORES) {
  describe(`${factory.name}: deactivation`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = Date.UTC(2026, 11, 2, 10);
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let key = 0;
    const channel = new ScriptedChannel(10);
    let pusher: ChannelDispatcher;
    const listingIds = new Map<string, string>();

    const receive = async (sku: string, location: string, quantity: number) => {
      key += 1;
      const [answer] = await ledger.submit([
        { type: 'receipt', key: `r${key}`, payloadHash: `r${key}`, sku, location, quantity } as LedgerCommand,
      ]);
      assert.equal(answer!.status, 'applied');
    };
    /** Push everything due; returns what was pushed, by offer. */
    const push = async (): Promise<Record<string, number>> => {
      now += 10_000;
      const from = channel.log.length;
      while ((await pusher.tick()) > 0);
      return Object.fromEntries(channel.log.slice(from).map((item) => [item.externalId, item.quantity]));
    };

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Main', kind: 'warehouse' },
          { code: 'WH2', name: 'Second', kind: 'warehouse' },
        ],
        now,
      );
      await store.catalogue.upsertVariants(
        ['A', 'B'].map((sku) => ({ sku, name: sku })),
        now,
      );
      await store.availability.upsertChannels(
        [{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1', 'WH2'] }],
        now,
      );
      await store.availability.upsertListings(
        ['A', 'B'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        now,
      );
      for (const sku of ['A', 'B']) listingIds.set(sku, (await store.availability.getAvailability(sku))![0]!.listingId);
      await receive('A', 'WH1', 5);
      await receive('A', 'WH2', 3);
      await receive('B', 'WH1', 4);
      pusher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        random: () => 0.5,
      });
      assert.deepEqual(await push(), { 'offer-A': 8, 'offer-B': 4 });
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('a deactivated variant is pushed 0 and stays 0; activated, it shows its stock again', async () => {
      const first = await store.availability.setActive('variant', 'A', false, 'ops', now);
      assert.deepEqual(first, {
        kind: 'variant',
        ref: 'A',
        active: false,
        changed: true,
        deactivatedAt: now,
        deactivatedBy: 'ops',
      });
      const again = await store.availability.setActive('variant', 'A', false, 'someone-else', now + 5);
      assert.deepEqual(again, { ...first, changed: false }, 'idempotent: the first record stands');
      assert.deepEqual(await push(), { 'offer-A': 0 });
      await receive('A', 'WH1', 2);
      assert.deepEqual(await push(), {}, 'stock moves, the channel keeps showing 0');
      // History and the record stay readable; lists filter.
      assert.equal((await store.ledger.getStock('A', now))!.total.on_hand, 10);
      assert.equal((await store.ledger.listMovements('A', { limit: 10 }))!.items.length, 3);
      assert.equal((await store.catalogue.getVariant('A'))!.deactivatedAt, first!.deactivatedAt);
      const skus = async (active?: 'true' | 'false' | 'all') =>
        (await store.catalogue.listVariants({ limit: 10, active })).map((variant) => variant.sku);
      assert.deepEqual(await skus(), ['B']);
      assert.deepEqual(await skus('false'), ['A']);
      assert.deepEqual(await skus('all'), ['A', 'B']);
      assert.deepEqual(await store.catalogue.inactiveAmong({ skus: ['A', 'B', 'Z'], locations: ['WH1'] }), {
        skus: ['A'],
        locations: [],
      });
      const back = await store.availability.setActive('variant', 'A', true, 'ops', now);
      assert.equal(back!.changed, true);
      assert.equal(back!.deactivatedAt, null);
      assert.deepEqual(await push(), { 'offer-A': 10 });
      assert.equal(await store.availability.setActive('variant', 'NOPE', false, 'ops', now), null);
    });

    it('a deactivated location contributes nothing to availability', async () => {
      await store.availability.setActive('location', 'WH2', false, 'ops', now);
      assert.deepEqual(await push(), { 'offer-A': 7 }, 'A without its 3 at WH2');
      assert.equal((await store.availability.getAvailability('A'))![0]!.quantity, 7);
      await receive('A', 'WH2', 5);
      assert.deepEqual(await push(), {}, 'a receipt at WH2 changes nothing a channel may sell');
      assert.deepEqual(
        (await store.catalogue.listLocations()).map((location) => location.code),
        ['WH1'],
      );
      assert.deepEqual(
        (await store.catalogue.listLocations({ active: 'all' })).map((location) => location.code),
        ['WH1', 'WH2'],
      );
      await store.availability.setActive('location', 'WH2', true, 'ops', now);
      assert.deepEqual(await push(), { 'offer-A': 15 });
    });

    it('a deactivated channel is pushed nothing; activated, it is pushed what changed meanwhile', async () => {
      await receive('B', 'WH1', 1);
      const record = await store.availability.setActive('channel', 'bol', false, 'ops', now);
      assert.equal(record!.active, false);
      assert.deepEqual(await push(), {}, 'the queued push was dropped');
      await receive('B', 'WH1', 1);
      assert.deepEqual(await push(), {});
      assert.ok((await store.availability.getChannel('bol'))!.deactivatedAt);
      assert.deepEqual(
        (await store.availability.listChannels({ active: 'true' })).map((each) => each.code),
        [],
      );
      await store.availability.setActive('channel', 'bol', true, 'ops', now);
      assert.deepEqual(await push(), { 'offer-B': 6 });
    });

    it('a deactivated listing is not pushed and not counted in drift', async () => {
      const id = listingIds.get('B')!;
      await store.availability.setActive('listing', id, false, 'ops', now);
      await receive('B', 'WH1', 1);
      await receive('A', 'WH1', 1);
      assert.deepEqual(await push(), { 'offer-A': 16 });
      now += 1_000; // a read after the pushes
      await store.outbox.recordChannelLevels(
        'bol',
        [
          { listingId: id, shown: 99 },
          { listingId: listingIds.get('A')!, shown: 99 },
        ],
        now,
        now,
      );
      assert.deepEqual(
        (await store.outbox.listDrift('bol', { graceMs: 60_000, limit: 10 })).map((entry) => entry.sku),
        ['A'],
      );
      const kpis = await store.kpis.kpis({ from: now - 60_000, to: now });
      const bol = kpis.channels.find((each) => each.channel === 'bol')!;
      assert.deepEqual([bol.listings, bol.driftMore], [1, 1], 'the KPI counts only the active listing');
      assert.deepEqual(
        (await store.availability.listListings({ limit: 10, active: 'false' })).map((listing) => listing.id),
        [id],
      );
      await store.availability.setActive('listing', id, true, 'ops', now);
      assert.deepEqual((await push())['offer-B'], 7);
    });

    it("a batch checks its submissions' preconditions: the failing one is refused whole, the others applied", async () => {
      await store.catalogue.upsertVariants([{ sku: 'C', name: 'C' }], now);
      await store.catalogue.upsertLocations([{ code: 'WH3', name: 'Third', kind: 'warehouse' }], now);
      await store.availability.setActive('location', 'WH3', false, 'ops', now);
      const token = {
        id: 'tok_precondition',
        name: 'pre',
        scope: 'write' as const,
        hash: 'f'.repeat(64),
        createdAt: now,
      };
      await store.tokens.createToken(token);
      const receipt = (k: string, sku: string, location: string) =>
        ({ type: 'receipt', key: k, payloadHash: k, sku, location, quantity: 2 }) as LedgerCommand;
      // Submitted together: one batch (group commit queues them while none is in flight).
      const results = await Promise.allSettled([
        ledger.submit([receipt('pre-ok', 'C', 'WH1')], {
          preconditions: { tokenId: token.id, skus: ['C'], locations: ['WH1'] },
        }),
        ledger.submit([receipt('pre-loc', 'C', 'WH3')], { preconditions: { skus: ['C'], locations: ['WH3'] } }),
        ledger.submit([receipt('pre-tok', 'C', 'WH2')], { preconditions: { tokenId: 'tok_unknown', skus: ['C'] } }),
      ]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal((results[0] as PromiseFulfilledResult<{ status: string }[]>).value[0]!.status, 'applied');
      assert.ok(results[1].status === 'rejected' && results[1].reason instanceof PreconditionFailed);
      assert.deepEqual((results[1].reason as PreconditionFailed).failures, {
        revokedTokens: [],
        inactiveSkus: [],
        inactiveLocations: ['WH3'],
        inactiveChannels: [],
      });
      assert.ok(results[2].status === 'rejected' && results[2].reason instanceof PreconditionFailed);
      assert.deepEqual((results[2].reason as PreconditionFailed).failures.revokedTokens, ['tok_unknown']);
      const levels = (await store.ledger.getStock('C', now))!.locations.map((level) => [level.location, level.on_hand]);
      assert.deepEqual(levels, [['WH1', 2]], 'only the submission whose checks held was written');
      // Revoked after being live: refused from the next batch on.
      await store.tokens.revokeToken(token.id, now);
      await assert.rejects(
        ledger.submit([receipt('pre-late', 'C', 'WH1')], { preconditions: { tokenId: token.id } }),
        PreconditionFailed,
      );
    });
  });
}
