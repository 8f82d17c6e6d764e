/**
 * Goal: a channel read (store.availability.getChannel, what every webhook delivery does first,
 * and channelConfig, what every checkout by channel does first) sees a write that another
 * process committed before the read was called, even though concurrent reads share one check
 * of the configuration version and the channel rows (the rules) are cached under it.
 * Method: two independent stores on the same database (another connection or pool, as another
 * process has); reads on the first around and across writes by the second, including a read
 * called while another read is still waiting to start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const now = Date.UTC(2026, 11, 7, 12);

for (const factory of STORES) {
  describe(`${factory.name}: channel reads across processes`, { skip: factory.skip }, () => {
    let test: TestStore;
    let reader: LedgerStore;
    let writer: LedgerStore;
    const rename = (name: string) =>
      writer.availability.upsertChannels([{ code: 'shop', name, platform: 'shopify', locations: ['WH1'] }], now);

    before(async () => {
      test = await factory.create();
      reader = test.store;
      writer = await test.reopen();
      await writer.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await rename('Shop 0');
    });
    after(() => test.cleanup());

    it('a write committed before a read is seen by it, also by reads that share a version check', async () => {
      assert.equal((await reader.availability.getChannel('shop'))!.name, 'Shop 0');
      for (let round = 1; round <= 5; round += 1) {
        // A read called before the write, still waiting for its check when the write commits...
        const early = reader.availability.getChannel('shop');
        await rename(`Shop ${round}`);
        // ...and reads called after it: these must see the write; the early one may or may not.
        const late = await Promise.all([1, 2, 3].map(() => reader.availability.getChannel('shop')));
        assert.deepEqual(
          late.map((channel) => channel!.name),
          [1, 2, 3].map(() => `Shop ${round}`),
        );
        assert.ok([`Shop ${round - 1}`, `Shop ${round}`].includes((await early)!.name));
      }
      assert.equal(await reader.availability.getChannel('nope'), null);
    });

    it("a checkout's channel config sees a rule set another process activated before the call", async () => {
      const capOf = async () => (await reader.availability.channelConfig('shop'))!.ruleSet.channels?.shop?.cap;
      for (let cap = 1; cap <= 4; cap += 1) {
        const early = reader.availability.channelConfig('shop');
        const version = await writer.availability.createRuleSet(
          { rules: { channels: { shop: { cap } } }, author: 'test' },
          now,
        );
        await writer.availability.activateRuleSet(version.version, { author: 'test' }, now);
        // Called after the activation committed: the new rules, also when the calls share a check.
        assert.deepEqual(await Promise.all([capOf(), capOf(), capOf()]), [cap, cap, cap]);
        assert.ok([cap - 1, cap].includes((await early)!.ruleSet.channels?.shop?.cap ?? 0));
      }
      assert.equal(await reader.availability.channelConfig('nope'), null);
    });
  });
}
