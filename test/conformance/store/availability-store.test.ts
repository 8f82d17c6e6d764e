/**
 * Availability conformance, on every store. Goal: the desired quantity stored for each
 * listing is exactly what a full recompute gives, after any sequence of ledger movements -
 * incremental (inside each ledger transaction) and full recomputation always agree - and the
 * catalogue side (normalizer, rule versions, dry run, rollback) behaves the same on both
 * engines. Method: fast-check drives random movement batches (facts and requests across three
 * locations, shared bundle components), including concurrent batches through two connections;
 * after each run `recomputeAll` must find nothing to change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { CatalogueError, type LedgerStore } from '../../../src/store/ledger-store.js';
import { UnknownRuleSetError } from '../../../src/store/availability-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const day = 86_400_000;

async function seed(store: LedgerStore) {
  await store.catalogue.upsertLocations(
    [
      { code: 'WH1', name: 'Main', kind: 'warehouse' },
      { code: 'WH2', name: '3PL', kind: '3pl' },
      { code: 'ST1', name: 'Store', kind: 'store' },
    ],
    T0,
  );
  await store.catalogue.upsertVariants(
    [
      { sku: 'A', name: 'A', barcode: '8710000000001' },
      { sku: 'B', name: 'B', barcode: '8710000000002' },
      { sku: 'C', name: 'C' },
    ],
    T0,
  );
  await store.catalogue.upsertVariants(
    [
      {
        sku: 'KIT-AB',
        name: 'Kit 2A+B',
        components: [
          { sku: 'A', quantity: 2 },
          { sku: 'B', quantity: 1 },
        ],
      },
      {
        sku: 'KIT-AC',
        name: 'Kit A+C',
        components: [
          { sku: 'A', quantity: 1 },
          { sku: 'C', quantity: 1 },
        ],
      },
    ],
    T0,
  );
  await store.availability.upsertChannels(
    [
      { code: 'shop', name: 'Own shop', platform: 'shopify', locations: ['WH1', 'ST1'], pushLatencyP95Ms: 800 },
      { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1', 'WH2'], pushLatencyP95Ms: 4000 },
      { code: 'b2b', name: 'B2B portal', platform: 'custom', locations: ['WH2'] },
    ],
    T0,
  );
  const report = await store.availability.upsertListings(
    [
      { channel: 'shop', externalId: 'gid://shopify/InventoryItem/1', sku: 'A', rank: 1 },
      { channel: 'bol', externalId: 'offer-a', barcode: '8710000000001', rank: 2 },
      { channel: 'b2b', externalId: 'b2b-a', sku: 'A', rank: 3 },
      { channel: 'shop', externalId: 'gid://shopify/InventoryItem/2', sku: 'B' },
      { channel: 'bol', externalId: 'offer-b', sku: 'B' },
      { channel: 'shop', externalId: 'gid://shopify/InventoryItem/3', sku: 'C' },
      { channel: 'shop', externalId: 'gid://shopify/InventoryItem/10', sku: 'KIT-AB' },
      { channel: 'bol', externalId: 'offer-kit-ab', sku: 'KIT-AB' },
      { channel: 'bol', externalId: 'offer-kit-ac', sku: 'KIT-AC' },
      { channel: 'bol', externalId: 'offer-unknown', sku: 'NOPE', barcode: '0000' },
    ],
    T0,
  );
  assert.equal(report.created, 9);
  assert.deepEqual(
    report.unmapped.map((item) => [item.index, item.externalId]),
    [[9, 'offer-unknown']],
  );
}

const rules = {
  defaults: { buffer: { units: 1, dynamic: { safety_factor: 2, ceiling: 5 } } },
  channels: {
    shop: { buffer: { percent: 10 }, pickup: { count_max_age_hours: 24 }, preorder: { within_days: 14 } },
    bol: { cap: 5, exclude_locations: ['WH2'] },
    b2b: { allocation: { units: 2 } },
  },
  low_stock: { threshold: 2, listings_max: 1 },
};

const skus = ['A', 'B', 'C'];
const codes = ['WH1', 'WH2', 'ST1'];
const movement = fc.oneof(
  fc.record({
    type: fc.constant('receipt' as const),
    sku: fc.constantFrom(...skus),
    location: fc.constantFrom(...codes),
    quantity: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    type: fc.constantFrom('order' as const, 'sale' as const),
    sku: fc.constantFrom(...skus),
    location: fc.constantFrom(...codes),
    quantity: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({
    type: fc.constant('reserve' as const),
    sku: fc.constantFrom(...skus),
    location: fc.constantFrom(...codes),
    quantity: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    type: fc.constant('count' as const),
    sku: fc.constantFrom(...skus),
    location: fc.constant('ST1'),
    onHand: fc.integer({ min: 0, max: 6 }),
  }),
  fc.record({
    type: fc.constant('transfer_out' as const),
    sku: fc.constantFrom(...skus),
    location: fc.constant('WH1'),
    toLocation: fc.constant('WH2'),
    quantity: fc.integer({ min: 1, max: 3 }),
  }),
);

for (const factory of STORES) {
  describe(`${factory.name}: availability store conformance`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let other: LedgerStore;
    const now = T0;
    let key = 0;
    const ledgers: GroupCommitter[] = [];
    const submit = (ledger: GroupCommitter, commands: Record<string, unknown>[]) =>
      ledger.submit(
        commands.map(
          (command) =>
            ({ ...command, key: `k${++key}`, payloadHash: `h${key}`, occurredAt: now }) as unknown as LedgerCommand,
        ),
      );

    before(async () => {
      test = await factory.create();
      store = test.store;
      other = await test.reopen();
      await seed(store);
      let ids = 0;
      for (const each of [store, other])
        ledgers.push(
          new GroupCommitter(each, { now: () => now }, { next: (prefix) => `${prefix}_${ledgers.length}_${++ids}` }),
        );
    });
    after(async () => {
      for (const ledger of ledgers) await ledger.close();
      await test.cleanup();
    });

    it('normalizes channel items: explicit mapping, then sku, then barcode; unmapped are kept and listed', async () => {
      const listings = await store.availability.listListings({ limit: 50 });
      assert.deepEqual(listings.map((listing) => listing.matchedBy).sort(), [
        'barcode',
        'sku',
        'sku',
        'sku',
        'sku',
        'sku',
        'sku',
        'sku',
        'sku',
      ]);
      assert.deepEqual(
        (await store.availability.listUnmapped({ limit: 10 })).map((item) => item.externalId),
        ['offer-unknown'],
      );
      await store.availability.upsertMappings([{ channel: 'bol', externalId: 'offer-unknown', sku: 'C' }], T0);
      const again = await store.availability.upsertListings(
        [{ channel: 'bol', externalId: 'offer-unknown', sku: 'NOPE' }],
        T0,
      );
      assert.deepEqual(again, { created: 1, updated: 0, unmapped: [] });
      assert.equal(
        (await store.availability.listListings({ channel: 'bol', sku: 'C', limit: 5 }))[0]?.matchedBy,
        'mapping',
      );
      assert.deepEqual(
        await store.availability.listUnmapped({ limit: 10 }),
        [],
        'a mapped item leaves the unmapped list',
      );
      await assert.rejects(
        store.availability.upsertListings([{ channel: 'ebay', externalId: 'x', sku: 'A' }], T0),
        CatalogueError,
      );
    });

    it('versions rule sets: refuses bad rules, dry-runs without storing, activates, rolls back', async () => {
      await assert.rejects(
        store.availability.createRuleSet({ rules: { channels: { bol: { cap: -1 } } }, author: 'ann' }, T0),
        CatalogueError,
      );
      await assert.rejects(
        store.availability.createRuleSet({ rules: { defaults: { buffer: { percent: 120 } } }, author: 'ann' }, T0),
        CatalogueError,
      );
      await assert.rejects(
        store.availability.createRuleSet(
          { rules: { channels: { bol: { exclude_locations: ['NOWHERE'] } } }, author: 'ann' },
          T0,
        ),
        CatalogueError,
      );
      assert.deepEqual(await store.availability.listRuleSets(), []);
      await submit(ledgers[0]!, [
        { type: 'receipt', sku: 'A', location: 'WH1', quantity: 20 },
        { type: 'receipt', sku: 'B', location: 'WH1', quantity: 4 },
      ]);
      const before = await store.availability.getAvailability('A');
      const v1 = await store.availability.createRuleSet({ rules, author: 'ann', note: 'launch' }, T0);
      assert.equal(v1.version, 1);
      const dry = await store.availability.dryRunRuleSet(rules, now, 100);
      assert.ok(dry.changed > 0);
      assert.deepEqual(await store.availability.getAvailability('A'), before, 'a dry run stores nothing');
      const bolA = dry.changes.find((change) => change.channel === 'bol' && change.sku === 'A');
      assert.deepEqual([bolA?.current, bolA?.proposed], [20, 5], 'bol is capped at 5');
      const report = await store.availability.activateRuleSet(1, { author: 'ann' }, now);
      assert.equal(report.ruleVersion, 1);
      assert.equal(
        (await store.availability.getAvailability('A'))!.find((listing) => listing.channel === 'bol')?.quantity,
        5,
      );
      const v2 = await store.availability.createRuleSet(
        { rules: { ...rules, channels: { ...rules.channels, bol: { cap: 2 } } }, author: 'bob' },
        now,
      );
      await store.availability.activateRuleSet(v2.version, { author: 'bob' }, now);
      assert.equal(
        (await store.availability.getAvailability('A'))!.find((listing) => listing.channel === 'bol')?.quantity,
        2,
      );
      await store.availability.activateRuleSet(1, { author: 'bob', note: 'rollback' }, now);
      assert.equal(
        (await store.availability.getAvailability('A'))!.find((listing) => listing.channel === 'bol')?.quantity,
        5,
      );
      assert.deepEqual(
        (await store.availability.ruleSetEvents()).map((event) => [event.version, event.action, event.author]),
        [
          [1, 'activated', 'bob'],
          [2, 'activated', 'bob'],
          [2, 'created', 'bob'],
          [1, 'activated', 'ann'],
          [1, 'created', 'ann'],
        ],
      );
      assert.deepEqual(
        (await store.availability.listRuleSets()).map((version) => [version.version, version.active]),
        [
          [2, false],
          [1, true],
        ],
      );
      await assert.rejects(store.availability.activateRuleSet(99, { author: 'x' }, now), UnknownRuleSetError);
    });

    it('the dry run and the activation count the same listings as changed', async () => {
      // The same rules again: a new version, nothing shown differently. Then bol capped at 2.
      const active = (await store.availability.listRuleSets()).find((each) => each.active)!;
      const same = await store.availability.createRuleSet({ rules: active.rules, author: 'cid' }, now);
      const sameDry = await store.availability.dryRunRuleSet(active.rules, now, 100);
      const sameReport = await store.availability.activateRuleSet(same.version, { author: 'cid' }, now);
      assert.deepEqual([sameDry.changed, sameReport.changed], [0, 0], 'a new version alone changes no listing');
      const capped = { ...active.rules, channels: { ...active.rules.channels, bol: { cap: 2 } } };
      const tighter = await store.availability.createRuleSet({ rules: capped, author: 'cid' }, now);
      const dry = await store.availability.dryRunRuleSet(capped, now, 100);
      const report = await store.availability.activateRuleSet(tighter.version, { author: 'cid' }, now);
      assert.ok(dry.changed > 0);
      assert.equal(report.changed, dry.changed, 'the activation changed what the dry run said it would');
      await store.availability.activateRuleSet(active.version, { author: 'cid', note: 'back' }, now);
    });
    it('explains a listing: each location, each rule and its units, the limiting component', async () => {
      const kit = (await store.availability.listListings({ channel: 'bol', sku: 'KIT-AB', limit: 1 }))[0]!;
      const explained = (await store.availability.explainListing(kit.id, now))!;
      assert.equal(explained.quantity, explained.storedQuantity);
      const location = explained.explanation.find((step) => step.step === 'location' && step.location === 'WH1');
      assert.deepEqual(location, { step: 'location', location: 'WH1', available: 4, contributes: 4, limited_by: 'B' });
      assert.ok(
        explained.explanation.some(
          (step) => step.step === 'location' && step.location === 'WH2' && step.excluded === 'excluded by rule',
        ),
      );
      assert.ok(explained.explanation.some((step) => step.step === 'cap'));
      assert.equal(await store.availability.explainListing('999999', now), null);
    });

    it('incremental recompute equals full recompute after any movement sequence, sequential and concurrent', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(movement, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
          fc.boolean(),
          async (batches, concurrent) => {
            // One instant for the whole property: rules that depend on time (the velocity buffer
            // decays, counts age) make a listing's quantity change without any movement; that
            // drift is the sweeper's periodic refresh, tested separately. Here: same inputs, same answer.
            if (concurrent) {
              // Two connections at once: on PostgreSQL they contend for the same variants' levels.
              await Promise.all(batches.map((batch, index) => submit(ledgers[index % 2]!, batch)));
            } else {
              for (const batch of batches) await submit(ledgers[0]!, batch);
            }
            const report = await store.availability.recomputeAll(now);
            assert.equal(
              report.changed,
              0,
              `full recompute changed ${report.changed} listings the incremental one had stored`,
            );
            for (const sku of ['A', 'B', 'C', 'KIT-AB', 'KIT-AC']) {
              for (const listing of (await store.availability.getAvailability(sku))!) {
                assert.ok(Number.isSafeInteger(listing.quantity) && listing.quantity >= 0);
                if (listing.channel === 'bol') assert.ok(listing.quantity <= 5);
              }
            }
          },
        ),
        { numRuns: factory.name === 'postgres' ? 15 : 30 },
      );
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('offers incoming stock as pre-order on the channel whose rules allow it, never as stock', async () => {
      await store.catalogue.upsertPurchaseOrder(
        {
          id: 'PO-9',
          status: 'open',
          lines: [
            { line: 1, sku: 'C', location: 'WH1', quantity: 12, expectedAt: now + 3 * day },
            { line: 2, sku: 'C', location: 'WH1', quantity: 5, expectedAt: now + 40 * day },
          ],
        },
        now,
      );
      const shopC = (await store.availability.getAvailability('C'))!.find((listing) => listing.channel === 'shop')!;
      assert.deepEqual(shopC.preorder, {
        quantity: 12,
        earliest_at: new Date(now + 3 * day).toISOString(),
        latest_at: new Date(now + 3 * day).toISOString(),
      });
      const bolC = (await store.availability.getAvailability('C'))!.find((listing) => listing.channel === 'bol')!;
      assert.equal(bolC.preorder, null);
      assert.equal((await store.availability.recomputeAll(now)).changed, 0);
    });
  });
}
