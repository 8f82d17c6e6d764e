/**
 * The rate budget at test scale (docs/RELIABILITY.md, sections 10 and 11): a burst of 10x
 * Bol.com's offers PATCH budget (50 per second) lands in one ledger transaction: 100 listings drop
 * to 0 (the channel shows stock that is gone: an oversell risk) and 400 rise. Through the real
 * connector and the simulator with its real windows: zero rate-limit violations, the 100 urgent
 * listings are written before any raise (up to the connector's concurrent PATCHes of one claim),
 * and each listing is written once (the changes are absolute and coalesced).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import { bolLimits } from '../../src/connectors/bol/bol-limits.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { Propagation } from '../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../src/sync/retry-policy.js';
import { STORES, type TestStore } from '../support/stores.js';

for (const factory of STORES.filter((each) => each.name === 'sqlite')) {
  describe(`${factory.name}: a 10x burst under Bol.com's real limits`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let propagation: Propagation;
    const sim = new BolSimulator();
    const skus = Array.from({ length: 500 }, (_, index) => `B${index}`);
    const offers = new Map<string, string>();

    const drain = async () => {
      const dispatcher = propagation.dispatchers.get('bol')!;
      const deadline = Date.now() + 60_000;
      for (;;) {
        await dispatcher.tick();
        if ((await store.outbox.syncStatus(Date.now()))[0]!.queueDepth === 0) return;
        if (Date.now() > deadline) throw new Error('did not drain');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    before(async () => {
      test = await factory.create();
      store = test.store;
      const clock = { now: () => Date.now() };
      let ids = 0;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++ids}` });
      const url = await sim.start();
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      await store.availability.upsertChannels(
        [{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }],
        clock.now(),
      );
      for (const sku of skus) offers.set(sku, sim.seedOffer({ amount: 0 }));
      await store.availability.upsertListings(
        skus.map((sku) => ({ channel: 'bol', externalId: offers.get(sku)!, sku })),
        clock.now(),
      );
      const connector = new BolConnector({
        account: 'burst',
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      });
      propagation = new Propagation({
        store,
        ledger,
        clock,
        owner: 'test',
        policy: defaultRetryPolicy,
        channels: [{ channel: 'bol', connector }],
        onError: () => undefined,
      });
      await ledger.submit(
        skus.map(
          (sku) =>
            ({
              type: 'receipt',
              key: `open-${sku}`,
              payloadHash: 'h',
              sku,
              location: 'WH1',
              quantity: 5,
            }) as LedgerCommand,
        ),
      );
      await drain();
    });
    after(async () => {
      await propagation.stop();
      await ledger.close();
      await sim.stop();
      await test.cleanup();
    });

    it('writes the urgent listings first, within the budget, once each', async () => {
      const burstAt = Date.now();
      await ledger.submit(
        skus.map(
          (sku, index) =>
            (index % 5 === 0
              ? { type: 'sale', key: `burst-${sku}`, payloadHash: 'h', sku, location: 'WH1', quantity: 5 }
              : {
                  type: 'receipt',
                  key: `burst-${sku}`,
                  payloadHash: 'h',
                  sku,
                  location: 'WH1',
                  quantity: 1,
                }) as LedgerCommand,
        ),
      );
      await drain();
      const writes = skus
        .flatMap((sku) =>
          sim
            .offerState(offers.get(sku)!)
            .stockHistory.filter((write) => write.at >= burstAt)
            .map((write) => ({ sku, ...write })),
        )
        .sort((a, b) => a.seq - b.seq);
      assert.equal(writes.length, 500, 'one write per listing');
      // One claim may hold the last drops and the first raises, and the connector sends a claim's
      // PATCHes concurrently (at most pushConcurrencyMax at once), so their arrival order within
      // that window is the network's. Beyond it the order is the dispatcher's: drops first.
      const overlap = bolLimits.pushConcurrencyMax - 1;
      assert.ok(
        writes.slice(0, 100 - overlap).every((write) => write.amount === 0),
        'the 100 listings that dropped to 0 go first',
      );
      assert.ok(
        writes.slice(100 + overlap).every((write) => write.amount === 6),
        'then the raises',
      );
      assert.equal(writes.filter((write) => write.amount === 0).length, 100);
      assert.equal(writes.filter((write) => write.amount === 6).length, 400);
      assert.equal(sim.stats().rateLimitViolations, 0);
      assert.ok(writes[writes.length - 1]!.at - burstAt >= 8_000, 'bounded by 50 writes per second');
    });
  });
}
