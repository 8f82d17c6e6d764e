/**
 * Crash safety and the lease at test scale (docs/RELIABILITY.md, sections 12 and 14): the
 * dispatcher runs in its own OS process and is killed (SIGKILL) at random moments in the middle of
 * pushes, five times, while the ledger keeps changing; a new process takes over (the killed one's
 * lease expires, its claims come back). After the last restart: every Bol.com offer equals the
 * ledger's quantity (nothing lost), and no write after a listing's last change carries an older
 * value (no stale overwrite).
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../support/stores.js';

const worker = new URL('../support/dispatch-worker.ts', import.meta.url).pathname;
/** The dispatcher's default lease (src/sync/dispatcher.ts): how long a killed owner holds the channel. */
const leaseTtlMs = 15_000;

for (const factory of STORES) {
  describe(`${factory.name}: dispatcher killed mid-push`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    const sim = new BolSimulator();
    const offers = new Map<string, string>();
    const children: ChildProcess[] = [];

    const start = (owner: string, aheadMs = 0) =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = fork(worker, [test.database, owner, String(aheadMs)], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
        children.push(child);
        child.once('message', () => resolve(child));
        child.once('error', reject);
      });

    /** Every worker, forked and loaded in before() (a start costs seconds on a busy machine); each pushes once sent "go". */
    let victims: ChildProcess[] = [];
    let survivor: ChildProcess;

    before(async () => {
      test = await factory.create();
      store = test.store;
      const clock = { now: () => Date.now() };
      let ids = 0;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++ids}` });
      const url = await sim.start();
      const skus = Array.from({ length: 30 }, (_, index) => `S${index}`);
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      await store.availability.upsertChannels(
        [
          {
            code: 'bol',
            name: 'Bol',
            platform: 'bol',
            locations: ['WH1'],
            settings: {
              connector: {
                client_id: 'onhand-sim',
                client_secret: 'onhand-sim-secret',
                base_url: url,
                token_url: sim.tokenUrl,
                account: 'crash',
              },
            },
          },
        ],
        clock.now(),
      );
      for (const sku of skus) offers.set(sku, sim.seedOffer({ amount: 0 }));
      await store.availability.upsertListings(
        skus.map((sku) => ({ channel: 'bol', externalId: offers.get(sku)!, sku })),
        clock.now(),
      );
      await ledger.submit(
        skus.map(
          (sku) =>
            ({
              type: 'receipt',
              key: `open-${sku}`,
              payloadHash: 'h',
              sku,
              location: 'WH1',
              quantity: 50,
            }) as LedgerCommand,
        ),
      );
      // The survivor's clock runs the lease TTL ahead (see the test).
      [survivor, ...victims] = await Promise.all([
        start('survivor', leaseTtlMs),
        ...Array.from({ length: 5 }, (_, kill) => start(`worker-${kill}`)),
      ]);
    });
    after(async () => {
      for (const child of children) child.kill('SIGKILL');
      await ledger.close();
      await sim.stop();
      await test.cleanup();
    });

    it('converges after five kills, with no older value written over a newer one', async () => {
      let changes = 0;
      let running = true;
      const skus = [...offers.keys()];
      const load = (async () => {
        while (running) {
          const sku = skus[changes % skus.length]!;
          const type = changes % 3 === 0 ? 'receipt' : 'sale';
          await ledger.submit([
            { type, key: `c${changes}`, payloadHash: 'h', sku, location: 'WH1', quantity: 1 } as LedgerCommand,
          ]);
          changes += 1;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      for (let kill = 0; kill < 5; kill += 1) {
        const child = victims[kill]!;
        child.send('go');
        await new Promise((resolve) => setTimeout(resolve, 150 + ((kill * 97) % 300)));
        // The workers were loaded beforehand, so a round no longer lasts a start-up: let the
        // ledger change at least 25 times a round, as it did while each worker was starting.
        for (const waitUntil = Date.now() + 10_000; changes < (kill + 1) * 25 && Date.now() < waitUntil; ) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        child.kill('SIGKILL');
        if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      }
      running = false;
      await load;
      // The survivor: takes over the channel once the last victim's 15 s lease has expired. Its
      // clock runs the lease TTL ahead instead of the test waiting 15 s: it starts as if after
      // the wait (the lease is all that clock decides here; the checks below use the real one).
      // Every killed worker is dead by now, so no request of theirs can still land: from here on
      // the only writer is the survivor (no clock grace: a dead worker's in-flight write may land
      // after a newer commit, which is why the check starts here and not at the last change).
      await new Promise((resolve) => setTimeout(resolve, 200)); // requests already on the wire are served
      const survivorAt = Date.now();
      survivor.send('go');
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [status] = await store.outbox.syncStatus(Date.now());
        if (status && status.queueDepth === 0 && status.leaseOwner === 'survivor') break;
        if (Date.now() > deadline) assert.fail(`did not converge: ${JSON.stringify(status)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(changes > 100, `the ledger kept changing during the kills (${changes} changes)`);
      for (const [sku, offerId] of offers) {
        const desired = (await store.availability.getAvailability(sku))![0]!.quantity;
        const state = sim.offerState(offerId);
        assert.equal(state.amount, desired, `${sku}: Bol.com shows the ledger's quantity`);
        for (const write of state.stockHistory.filter((each) => each.at >= survivorAt)) {
          assert.equal(write.amount, desired, `${sku}: every write of the survivor carries the final value`);
        }
      }
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });
}
