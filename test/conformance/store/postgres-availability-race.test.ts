/**
 * PostgreSQL only: a ledger batch that creates a NEW level (the first stock of a variant at a
 * location) must not let a concurrent batch compute that variant's listings, or a kit made of
 * it, without the new level. Row locks on levels cannot cover a row that does not exist yet,
 * and in READ COMMITTED a statement that waited on a lock still reads from the snapshot it took
 * before waiting; so the store locks the variants' rows first (`lockVariants`).
 *
 * Method: a trigger holds batch B's transaction open for 400 ms right after it inserted the
 * new level A@WH2; batch A (a sale of A at WH1, through another pool) starts 150 ms into that
 * window. Without the variant lock, A's level read misses WH2 and stores the kit at 9 where the
 * full recompute says 14 (this test failed that way before the fix). If the machine is so slow
 * that A starts after B commits, the test passes without proving anything - it can be
 * vacuous, never flaky.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const postgres = STORES.find((factory) => factory.name === 'postgres');

describe('postgres: a new level created by a concurrent batch is seen by every recompute', {
  skip: postgres ? postgres.skip : 'STORES excludes postgres',
}, () => {
  let test: TestStore;
  let store: LedgerStore;
  let other: LedgerStore;
  let admin: pg.Client;
  const ledgers: GroupCommitter[] = [];
  let key = 0;
  const submit = (ledger: GroupCommitter, command: Record<string, unknown>) =>
    ledger.submit([
      { ...command, key: `k${++key}`, payloadHash: `h${key}`, occurredAt: T0 } as unknown as LedgerCommand,
    ]);

  before(async () => {
    test = await postgres!.create();
    store = test.store;
    other = await test.reopen();
    admin = new pg.Client({ connectionString: test.database });
    await admin.connect();
    await store.catalogue.upsertLocations(
      [
        { code: 'WH1', name: 'Main', kind: 'warehouse' },
        { code: 'WH2', name: '3PL', kind: '3pl' },
      ],
      T0,
    );
    await store.catalogue.upsertVariants([{ sku: 'A', name: 'A' }], T0);
    await store.catalogue.upsertVariants([{ sku: 'KIT', name: 'Kit', components: [{ sku: 'A', quantity: 1 }] }], T0);
    await store.availability.upsertChannels(
      [{ code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1', 'WH2'] }],
      T0,
    );
    await store.availability.upsertListings(
      [
        { channel: 'shop', externalId: 'kit', sku: 'KIT' },
        { channel: 'shop', externalId: 'a', sku: 'A' },
      ],
      T0,
    );
    let ids = 0;
    for (const each of [store, other])
      ledgers.push(
        new GroupCommitter(each, { now: () => T0 }, { next: (prefix) => `${prefix}_${ledgers.length}_${++ids}` }),
      );
  });
  after(async () => {
    for (const ledger of ledgers) await ledger.close();
    await admin.end();
    await test.cleanup();
  });

  it('stores the kit from every level, including one inserted while the other batch waited', async () => {
    const [first] = await submit(ledgers[0]!, { type: 'receipt', sku: 'A', location: 'WH1', quantity: 10 });
    assert.equal(first?.status, 'applied');
    const { rows } = await admin.query<{ id: string }>("SELECT id FROM locations WHERE code = 'WH2'");
    await admin.query(`CREATE FUNCTION hold_new_level() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.location_id = ${Number(rows[0]!.id)} THEN PERFORM pg_sleep(0.4); END IF; RETURN NEW; END $$`);
    await admin.query(
      'CREATE TRIGGER hold_new_level AFTER INSERT ON levels FOR EACH ROW EXECUTE FUNCTION hold_new_level()',
    );

    const receipt = submit(ledgers[0]!, { type: 'receipt', sku: 'A', location: 'WH2', quantity: 5 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const sale = submit(ledgers[1]!, { type: 'sale', sku: 'A', location: 'WH1', quantity: 1 });
    const [received, sold] = await Promise.all([receipt, sale]);
    assert.deepEqual([received![0]?.status, sold![0]?.status], ['applied', 'applied']);

    const kit = (await store.availability.getAvailability('KIT'))!.find((listing) => listing.channel === 'shop');
    assert.equal(kit?.quantity, 14, 'the kit counts WH1 (9) and the new WH2 level (5)');
    assert.equal(
      (await store.availability.getAvailability('A'))!.find((listing) => listing.channel === 'shop')?.quantity,
      14,
    );
    assert.equal(
      (await store.availability.recomputeAll(T0)).changed,
      0,
      'the full recompute agrees with what the batches stored',
    );
  });
});
