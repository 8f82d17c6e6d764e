/**
 * The pages the CSV exports stream (store.ledger.listLevels, listMovementsRecorded) and the bulk
 * reads a CSV import resolves its rows with (listLevels of some skus, catalogue.getVariants), on
 * every store: levels in byte order of sku then location code, continuing exactly after the cursor
 * with no level skipped or repeated whatever the page size; movements by id within a recorded
 * time range, `since` included and `until` excluded.
 * Method: a small catalogue with skus whose byte order differs from a locale's (upper and lower
 * case, digits), receipts recorded at three times through the group committer, then every page
 * size from 1 to past the total.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore, LevelListing } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const t0 = Date.UTC(2026, 2, 2, 9);
const skus = ['a-1', 'B-2', 'b-10', 'Z', '0'];
const locations = ['WH1', 'WH10', 'wh2'];

for (const factory of STORES) {
  describe(`${factory.name}: export pages`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = t0;
    let ledger: GroupCommitter;

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, { now: () => now }, { next: (prefix: string) => `${prefix}_1` });
      await store.catalogue.upsertLocations(
        locations.map((code) => ({ code, name: code, kind: 'warehouse' })),
        now,
      );
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        now,
      );
      let key = 0;
      for (const [round, at] of [t0, t0 + 1000, t0 + 2000].entries()) {
        now = at;
        const commands = skus.flatMap((sku, index) =>
          locations.slice(0, 1 + ((index + round) % 3)).map(
            (location): LedgerCommand => ({
              type: 'receipt',
              key: `r${++key}`,
              payloadHash: `h${key}`,
              sku,
              location,
              quantity: 1 + index,
            }),
          ),
        );
        const answers = await ledger.submit(commands);
        assert.ok(answers.every((answer) => answer.status === 'applied'));
      }
    });
    after(async () => {
      await ledger?.close();
      await test?.cleanup();
    });

    it('pages levels in byte order of sku then location, each exactly once, at every page size', async () => {
      const all = await store.ledger.listLevels({ limit: 1000 });
      const keys = all.map((level) => `${level.sku}@${level.location}`);
      const sorted = [...all].sort((a, b) =>
        Buffer.compare(Buffer.from(a.sku), Buffer.from(b.sku)) !== 0
          ? Buffer.compare(Buffer.from(a.sku), Buffer.from(b.sku))
          : Buffer.compare(Buffer.from(a.location), Buffer.from(b.location)),
      );
      assert.deepEqual(
        keys,
        sorted.map((level) => `${level.sku}@${level.location}`),
      );
      assert.equal(new Set(keys).size, keys.length);
      const stock = await store.ledger.getStock('b-10', now);
      const wh1 = all.find((level) => level.sku === 'b-10' && level.location === 'WH1')!;
      assert.equal(wh1.onHand, stock!.locations.find((level) => level.location === 'WH1')!.on_hand);
      for (let size = 1; size <= all.length + 1; size += 1) {
        const paged: LevelListing[] = [];
        let afterKey: { sku: string; location: string } | undefined;
        for (let round = 0; round <= all.length + 1; round += 1) {
          const page = await store.ledger.listLevels({ after: afterKey, limit: size });
          paged.push(...page);
          if (page.length < size) break;
          afterKey = { sku: page[page.length - 1]!.sku, location: page[page.length - 1]!.location };
        }
        assert.deepEqual(paged, all, `page size ${size}`);
      }
    });

    it('reads the levels of some skus only, and variants by sku in one call', async () => {
      const all = await store.ledger.listLevels({ limit: 1000 });
      const some = await store.ledger.listLevels({ skus: ['b-10', 'Z', 'unknown'], limit: 1000 });
      assert.deepEqual(
        some,
        all.filter((level) => level.sku === 'b-10' || level.sku === 'Z'),
      );
      const second = await store.ledger.listLevels({ skus: ['b-10', 'Z'], after: some[0], limit: 1 });
      assert.deepEqual(second, [some[1]]);
      const variants = await store.catalogue.getVariants(['Z', 'a-1', 'nope', 'Z']);
      assert.deepEqual(variants.map((variant) => variant.sku).sort(), ['Z', 'a-1']);
      assert.deepEqual(
        variants.find((variant) => variant.sku === 'Z'),
        await store.catalogue.getVariant('Z'),
      );
      assert.deepEqual(await store.catalogue.getVariants([]), []);
    });

    it('pages movements by id within [since, until)', async () => {
      const all = await store.ledger.listMovementsRecorded({ limit: 1000 });
      const ids = all.map((movement) => movement.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
      const middle = await store.ledger.listMovementsRecorded({ since: t0 + 1000, until: t0 + 2000, limit: 1000 });
      assert.ok(middle.length > 0);
      assert.ok(middle.every((movement) => Date.parse(movement.recorded_at) === t0 + 1000));
      assert.equal(middle.length, all.filter((movement) => Date.parse(movement.recorded_at) === t0 + 1000).length);
      const paged = [];
      let afterId: number | undefined;
      for (let round = 0; round <= all.length; round += 1) {
        const page = await store.ledger.listMovementsRecorded({ since: t0 + 1000, afterId, limit: 2 });
        paged.push(...page);
        if (page.length < 2) break;
        afterId = page[page.length - 1]!.id;
      }
      assert.deepEqual(
        paged,
        all.filter((movement) => Date.parse(movement.recorded_at) >= t0 + 1000),
      );
    });
  });
}
