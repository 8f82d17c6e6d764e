/**
 * Store conformance: the same cases on every store in STORES - SQLite and the
 * real PostgreSQL on 127.0.0.1:5432 (CI must run both). No mocks.
 *
 * Goal: what the port promises holds on each engine - catalogue rules, purchase orders,
 * history, immutability, logical expiry, idempotency across connections - and above all the
 * last-unit race: 100 concurrent requests for the last 10 units give exactly 10 successes,
 * through several connections in one process and through several OS processes.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { limits } from '../../../src/core/limits.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { CatalogueError, type LedgerStore } from '../../../src/store/ledger-store.js';
import { Sweeper } from '../../../src/store/sweeper.js';
import { STORES, type TestStore } from '../../support/stores.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A command without its payload hash (distributes over the union, unlike Omit). */
type Unhashed = LedgerCommand extends infer C ? (C extends LedgerCommand ? Omit<C, 'payloadHash'> : never) : never;

let harnesses = 0;
function harness(store: LedgerStore, start = T0) {
  let now = start;
  let counter = 0;
  const instance = ++harnesses;
  const clock = { now: () => now };
  const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${instance}_${++counter}` });
  return {
    clock,
    ledger,
    advance(ms: number) {
      now += ms;
    },
    /** Submit commands with a payload hash derived from the key and body. */
    async run(...commands: Unhashed[]) {
      return ledger.submit(
        commands.map((command) => ({ ...command, payloadHash: JSON.stringify(command) }) as LedgerCommand),
      );
    },
  };
}

async function seedCatalogue(store: LedgerStore) {
  await store.catalogue.upsertLocations(
    [
      { code: 'WH1', name: 'Main', kind: 'warehouse' },
      { code: 'WH2', name: 'Overflow', kind: '3pl' },
    ],
    T0,
  );
  await store.catalogue.upsertVariants(
    [
      { sku: 'TEE-RED-M', name: 'Tee red M', barcode: '8712345000017', attributes: { colour: 'red', size: 'M' } },
      { sku: 'TEE-RED-L', name: 'Tee red L' },
      { sku: 'CAP', name: 'Cap' },
    ],
    T0,
  );
}

for (const factory of STORES) {
  describe(`${factory.name}: ledger store conformance`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;

    before(async () => {
      test = await factory.create();
      store = test.store;
      await seedCatalogue(store);
    });
    after(async () => {
      await test.cleanup();
    });

    it('migrations are idempotent', async () => {
      const report = await store.migrate();
      assert.deepEqual(report.applied, []);
      assert.match(report.current, /^\d{4}_/);
    });

    it('upserts the catalogue and enforces bundle rules all-or-nothing', async () => {
      const variant = await store.catalogue.getVariant('TEE-RED-M');
      assert.equal(variant?.barcode, '8712345000017');
      assert.deepEqual(variant?.attributes, { colour: 'red', size: 'M' });
      const report = await store.catalogue.upsertVariants(
        [
          { sku: 'TEE-RED-M', name: 'Tee red medium' },
          { sku: 'KIT-2', name: 'Two tees', components: [{ sku: 'TEE-RED-M', quantity: 2 }] },
        ],
        T0 + 1,
      );
      assert.deepEqual(report, { created: 1, updated: 1 });
      assert.equal((await store.catalogue.getVariant('TEE-RED-M'))?.name, 'Tee red medium');
      assert.deepEqual((await store.catalogue.getVariant('KIT-2'))?.components, [{ sku: 'TEE-RED-M', quantity: 2 }]);

      const before = await store.canonicalDump();
      for (const bad of [
        [{ sku: 'KIT-3', name: 'Self', components: [{ sku: 'KIT-3', quantity: 1 }] }],
        [{ sku: 'KIT-4', name: 'Nested', components: [{ sku: 'KIT-2', quantity: 1 }] }],
        [{ sku: 'KIT-5', name: 'Unknown', components: [{ sku: 'NOPE', quantity: 1 }] }],
        [
          { sku: 'NEW-OK', name: 'fine' },
          { sku: 'NEW-OK', name: 'twice' },
        ],
        [{ sku: 'TEE-RED-M', name: 'component turned bundle', components: [{ sku: 'CAP', quantity: 1 }] }],
      ]) {
        await assert.rejects(store.catalogue.upsertVariants(bad, T0 + 2), CatalogueError);
      }
      assert.deepEqual(await store.canonicalDump(), before, 'a rejected upsert changes nothing');
      const page = await store.catalogue.listVariants({ afterSku: 'CAP', limit: 2 });
      assert.deepEqual(
        page.map((each) => each.sku),
        ['KIT-2', 'TEE-RED-L'],
      );
      assert.deepEqual(
        (await store.catalogue.listLocations()).map((location) => location.code),
        ['WH1', 'WH2'],
      );
    });

    it('refuses movements on a bundle and computes its stock from components', async () => {
      const { run } = harness(store);
      const [answer] = await run({ type: 'receipt', key: 'kit-receipt', sku: 'KIT-2', location: 'WH1', quantity: 1 });
      assert.equal(answer?.status, 'invalid');
      await run({ type: 'receipt', key: 'tee-m-wh1', sku: 'TEE-RED-M', location: 'WH1', quantity: 5 });
      const stock = await store.ledger.getStock('KIT-2', T0);
      assert.equal(stock?.is_bundle, true);
      assert.equal(stock?.locations.find((location) => location.location === 'WH1')?.available, 2);
    });

    it('records a sale of a kit on its components, lowering every kit that shares them', async () => {
      const { run } = harness(store, T0 + 5_000);
      await store.catalogue.upsertVariants(
        [
          { sku: 'K-CAP', name: 'cap' },
          { sku: 'K-TEE', name: 'tee' },
        ],
        T0,
      );
      await store.catalogue.upsertVariants(
        [
          { sku: 'KIT-TEE2', name: 'Two tees', components: [{ sku: 'K-TEE', quantity: 2 }] },
          {
            sku: 'KIT-CAP-TEE',
            name: 'Cap + tee',
            components: [
              { sku: 'K-CAP', quantity: 1 },
              { sku: 'K-TEE', quantity: 1 },
            ],
          },
        ],
        T0,
      );
      await run(
        { type: 'receipt', key: 'kit-cap', sku: 'K-CAP', location: 'WH2', quantity: 4 },
        { type: 'receipt', key: 'kit-tee', sku: 'K-TEE', location: 'WH2', quantity: 6 },
      );
      const [order] = await run({ type: 'order', key: 'kit-order', sku: 'KIT-TEE2', location: 'WH2', quantity: 2 });
      assert.equal(order?.status, 'applied');
      assert.equal(order?.movement_ids?.length, 1, 'KIT-TEE2 = 2 x K-TEE: one component leg');
      const tee = (await store.ledger.getStock('K-TEE', T0 + 5_000))!.locations.find((l) => l.location === 'WH2')!;
      assert.deepEqual([tee.on_hand, tee.reserved, tee.available], [6, 4, 2]);
      const other = (await store.ledger.getStock('KIT-CAP-TEE', T0 + 5_000))!.locations.find(
        (l) => l.location === 'WH2',
      )!;
      assert.equal(other.available, 2, 'the other kit sharing K-TEE drops too');
      const [cancel] = await run({
        type: 'cancellation',
        key: 'kit-cancel',
        sku: 'KIT-TEE2',
        location: 'WH2',
        quantity: 1,
      });
      assert.equal(cancel?.status, 'applied');
      assert.equal(
        (await store.ledger.getStock('K-TEE', T0 + 5_000))!.locations.find((l) => l.location === 'WH2')!.reserved,
        2,
      );
      const [tooMany] = await run({ type: 'shipment', key: 'kit-ship', sku: 'KIT-TEE2', location: 'WH2', quantity: 2 });
      assert.equal(tooMany?.status, 'invalid', 'only 1 kit (2 tees) is ordered');
      const [reserve] = await run({
        type: 'reserve',
        key: 'kit-reserve',
        sku: 'KIT-TEE2',
        location: 'WH2',
        quantity: 1,
      });
      assert.equal(reserve?.status, 'invalid', 'requests on a kit are made on its components');
      const [sale] = await run({ type: 'sale', key: 'kit-sale', sku: 'KIT-CAP-TEE', location: 'WH2', quantity: 1 });
      assert.equal(sale?.movement_ids?.length, 2, 'one leg per component');
      const history = await store.ledger.listMovements('K-TEE', { location: 'WH2', limit: 1 });
      assert.equal(history?.items[0]?.reason, 'bundle KIT-CAP-TEE');
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('tracks purchase orders: incoming, partial receipts, protected lines', async () => {
      const { run } = harness(store);
      const po = await store.catalogue.upsertPurchaseOrder(
        {
          id: 'PO-1',
          supplier: 'Acme',
          status: 'open',
          lines: [{ line: 1, sku: 'TEE-RED-L', location: 'WH2', quantity: 10, expectedAt: T0 + 86_400_000 }],
        },
        T0,
      );
      assert.equal(po.lines[0]?.incoming, 10);
      const [receipt] = await run({
        type: 'receipt',
        key: 'po-1-r1',
        sku: 'TEE-RED-L',
        location: 'WH2',
        quantity: 4,
        purchaseOrder: { id: 'PO-1', line: 1 },
      });
      assert.equal(receipt?.status, 'applied');
      const stock = await store.ledger.getStock('TEE-RED-L', T0);
      assert.equal(stock?.total.incoming, 6);
      assert.equal(stock?.total.on_hand, 4);
      assert.deepEqual(
        stock?.incoming.map((line) => [line.purchase_order, line.quantity, line.expected_at]),
        [['PO-1', 6, new Date(T0 + 86_400_000).toISOString()]],
      );
      await assert.rejects(
        store.catalogue.upsertPurchaseOrder({ id: 'PO-1', status: 'open', lines: [] }, T0 + 1),
        CatalogueError,
      );
      const [wrongLine] = await run({
        type: 'receipt',
        key: 'po-1-r2',
        sku: 'TEE-RED-M',
        location: 'WH2',
        quantity: 1,
        purchaseOrder: { id: 'PO-1', line: 1 },
      });
      assert.equal(wrongLine?.status, 'invalid');
      await store.catalogue.upsertPurchaseOrder(
        {
          id: 'PO-1',
          status: 'cancelled',
          lines: [{ line: 1, sku: 'TEE-RED-L', location: 'WH2', quantity: 10, expectedAt: null }],
        },
        T0 + 2,
      );
      assert.equal((await store.ledger.getStock('TEE-RED-L', T0))?.total.incoming, 0);
      assert.equal(
        (await store.catalogue.getPurchaseOrder('PO-1'))?.lines[0]?.quantityReceived,
        4,
        'received quantities survive an update',
      );
    });

    it('keeps an immutable, paginated history and lists oversells', async () => {
      const { run } = harness(store);
      await run({ type: 'receipt', key: 'cap-r', sku: 'CAP', location: 'WH1', quantity: 1 });
      const [order] = await run({
        type: 'order',
        key: 'cap-o',
        sku: 'CAP',
        location: 'WH1',
        quantity: 3,
        source: { system: 'shopify', reference: '#1001' },
      });
      assert.equal(order?.oversold, 2);
      const oversells = await store.ledger.listOversells({ limit: 10 });
      assert.equal(oversells.items[0]?.key, 'cap-o');
      assert.equal(oversells.items[0]?.oversold, 2);
      assert.equal(oversells.items[0]?.source.reference, '#1001');
      for (let index = 0; index < 5; index += 1)
        await run({
          type: 'adjustment',
          key: `cap-adj-${index}`,
          sku: 'CAP',
          location: 'WH1',
          quantity: 1,
          reason: 'found',
        });
      const first = await store.ledger.listMovements('CAP', { limit: 3 });
      assert.equal(first?.items.length, 3);
      assert.deepEqual(
        first?.items.map((item) => item.key),
        ['cap-adj-4', 'cap-adj-3', 'cap-adj-2'],
      );
      const second = await store.ledger.listMovements('CAP', { limit: 3, cursor: first!.next_cursor! });
      assert.deepEqual(
        second?.items.map((item) => item.key),
        ['cap-adj-1', 'cap-adj-0', 'cap-o'],
      );
      const filtered = await store.ledger.listMovements('CAP', { limit: 10, location: 'WH2' });
      assert.equal(filtered?.items.length, 0);
      assert.equal(await store.ledger.listMovements('NOPE', { limit: 1 }), null);

      // The audit refuses edits at the database itself, not only in our code.
      if (test.database.startsWith('postgres')) {
        const client = new pg.Client({ connectionString: test.database });
        await client.connect();
        await assert.rejects(client.query('UPDATE movements SET d_on_hand = 99'), /append-only/);
        await assert.rejects(client.query('DELETE FROM movements'), /append-only/);
        await client.end();
      } else {
        const db = new Database(test.database);
        assert.throws(() => db.prepare('UPDATE movements SET d_on_hand = 99').run(), /append-only/);
        assert.throws(() => db.prepare('DELETE FROM movements').run(), /append-only/);
        db.close();
      }
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('measures an order with a pool over the pool: oversold only when the whole pool is short', async () => {
      const { run } = harness(store, T0 + 6_000);
      await store.catalogue.upsertVariants(
        [
          { sku: 'P-MUG', name: 'mug' },
          { sku: 'P-LID', name: 'lid' },
        ],
        T0,
      );
      await store.catalogue.upsertVariants(
        [
          {
            sku: 'P-SET',
            name: 'mug + lid',
            components: [
              { sku: 'P-MUG', quantity: 1 },
              { sku: 'P-LID', quantity: 1 },
            ],
          },
        ],
        T0,
      );
      await run(
        { type: 'receipt', key: 'p-mug-1', sku: 'P-MUG', location: 'WH1', quantity: 1 },
        { type: 'receipt', key: 'p-mug-2', sku: 'P-MUG', location: 'WH2', quantity: 4 },
        { type: 'receipt', key: 'p-lid-2', sku: 'P-LID', location: 'WH2', quantity: 1 },
      );
      const pool = ['WH1', 'WH2'];
      const [covered] = await run({ type: 'order', key: 'p-o1', sku: 'P-MUG', location: 'WH1', quantity: 3, pool });
      assert.equal(covered?.status, 'applied');
      assert.equal(covered?.level?.available, -2, 'WH1 is short');
      assert.equal(covered?.oversold, undefined, 'the pool (5) is not');
      const [short] = await run({ type: 'order', key: 'p-o2', sku: 'P-MUG', location: 'WH1', quantity: 4, pool });
      assert.equal(short?.oversold, 2, 'pool 2 left, 4 ordered');
      const [kit] = await run({ type: 'sale', key: 'p-s1', sku: 'P-SET', location: 'WH1', quantity: 2, pool });
      assert.equal(kit?.movement_ids?.length, 2);
      // Per component over the pool: the mug pool was already -2 (2 more), the lid pool 1 (1 more).
      assert.equal(kit?.oversold, 3);
      const [replay] = await run({ type: 'order', key: 'p-o2', sku: 'P-MUG', location: 'WH1', quantity: 4, pool });
      assert.equal(replay?.status, 'exists');
      assert.equal(replay?.oversold, 2, 'a replay rebuilds the pool shortfall from the movement');
      const oversells = await store.ledger.listOversells({ limit: 10 });
      const shown = oversells.items.filter((item) => item.key.startsWith('p-'));
      assert.deepEqual(
        shown.map((item) => [item.key, item.sku, item.oversold, item.reason]),
        [
          ['p-s1', 'P-MUG', 2, 'bundle P-SET; pool WH1,WH2 short by 3'],
          ['p-s1', 'P-LID', 1, 'bundle P-SET; pool WH1,WH2 short by 3'],
          ['p-o2', 'P-MUG', 2, 'pool WH1,WH2 short by 2'],
        ],
      );
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('reserves by channel in priority order, whole or split, and refuses when the pool is short', async () => {
      const { run } = harness(store, T0 + 7_000);
      await store.catalogue.upsertVariants([{ sku: 'CH-BAG', name: 'bag' }], T0);
      await run(
        { type: 'receipt', key: 'ch-1', sku: 'CH-BAG', location: 'WH1', quantity: 2 },
        { type: 'receipt', key: 'ch-2', sku: 'CH-BAG', location: 'WH2', quantity: 5 },
      );
      const channel = {
        code: 'web',
        locations: [{ code: 'WH1' }, { code: 'WH2' }],
        fence: { units: 1, percent: 0 },
      };
      const reserve = (key: string, quantity: number) =>
        run({ type: 'reserve', key, sku: 'CH-BAG', location: 'WH1', quantity, channel });
      const [whole] = await reserve('ch-r1', 3);
      assert.equal(whole?.reservation?.location, 'WH2', 'WH1 cannot hold 3: whole at WH2');
      assert.equal(whole?.parts?.length, 1);
      const [split] = await reserve('ch-r2', 3);
      assert.deepEqual(
        split?.parts?.map((part) => [part.reservation.location, part.reservation.quantity, part.level.available]),
        [
          ['WH1', 2, 0],
          ['WH2', 1, 1],
        ],
      );
      const [refused] = await reserve('ch-r3', 1);
      assert.equal(refused?.status, 'insufficient', 'the last unit is ring-fenced for another channel');
      const [replay] = await reserve('ch-r2', 3);
      assert.equal(replay?.status, 'exists');
      assert.deepEqual(replay?.parts, split?.parts);
      const [conflict] = await reserve('ch-r2', 2);
      assert.equal(conflict?.status, 'conflict');
      const [released] = await run({ type: 'release', key: 'ch-rel', reservationId: split!.parts![1]!.reservation.id });
      assert.equal(released?.reservation?.status, 'released');
      const stock = (await store.ledger.getStock('CH-BAG', T0 + 7_000))!;
      assert.deepEqual(
        stock.locations.map((level) => [level.location, level.reserved]),
        [
          ['WH1', 2],
          ['WH2', 3],
        ],
      );
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('last-unit race by channel, several connections: 100 requests for 10 units over 2 locations -> exactly 10', async () => {
      const stores = [store, await test.reopen(), await test.reopen(), await test.reopen()];
      const ledgers = stores.map((each) => harness(each, T0 + 8_000));
      await store.catalogue.upsertVariants([{ sku: 'CH-RACE', name: 'race by channel' }], T0);
      await ledgers[0]!.run(
        { type: 'receipt', key: 'ch-race-stock-1', sku: 'CH-RACE', location: 'WH1', quantity: 4 },
        { type: 'receipt', key: 'ch-race-stock-2', sku: 'CH-RACE', location: 'WH2', quantity: 6 },
      );
      const channel = { code: 'web', locations: [{ code: 'WH2' }, { code: 'WH1' }], fence: { units: 0, percent: 0 } };
      const answers = (
        await Promise.all(
          Array.from({ length: 100 }, (_, index) =>
            ledgers[index % ledgers.length]!.run({
              type: 'reserve',
              key: `ch-race-${index}`,
              sku: 'CH-RACE',
              location: 'WH2',
              quantity: 1,
              channel,
            }),
          ),
        )
      ).flat();
      assert.equal(answers.filter((answer) => answer.status === 'applied').length, 10);
      assert.equal(answers.filter((answer) => answer.status === 'insufficient').length, 90);
      const levels = (await store.ledger.getStock('CH-RACE', T0 + 8_000))!.locations;
      assert.deepEqual(
        levels.map((level) => [level.location, level.reserved, level.available]),
        [
          ['WH1', 4, 0],
          ['WH2', 6, 0],
        ],
      );
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('stores every text byte-exact: tabs, newlines, backslashes and COPY markers in keys, reasons and sources', async () => {
      const { run } = harness(store);
      const awkward = 'a\tb\nc\r\\N \\.\n\\ \u00e9\u{1F4E6} "quoted" \'single\'';
      const [movement] = await run({
        type: 'adjustment',
        key: `odd:${awkward}`,
        sku: 'TEE-RED-L',
        location: 'WH2',
        quantity: 1,
        reason: awkward,
        source: { system: `s\t${awkward}`, reference: '\\N' },
      });
      assert.equal(movement?.status, 'applied');
      const [nullish] = await run({
        type: 'adjustment',
        key: '\\N',
        sku: 'TEE-RED-L',
        location: 'WH2',
        quantity: 1,
        reason: '\\.',
      });
      assert.equal(nullish?.status, 'applied', "a key spelled like COPY's NULL marker is a key");
      const history = await store.ledger.listMovements('TEE-RED-L', { limit: 2, location: 'WH2' });
      assert.deepEqual(
        history?.items.map((item) => [item.key, item.reason, item.source.system, item.source.reference]),
        [
          ['\\N', '\\.', null, null],
          [`odd:${awkward}`, awkward, `s\t${awkward}`, '\\N'],
        ],
      );
      const [replay] = await run({
        type: 'adjustment',
        key: `odd:${awkward}`,
        sku: 'TEE-RED-L',
        location: 'WH2',
        quantity: 1,
        reason: awkward,
        source: { system: `s\t${awkward}`, reference: '\\N' },
      });
      assert.equal(replay?.status, 'exists', 'the stored key matches the key as sent');
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('writes a batch above the one-statement bound of appended rows as it writes one below it', async () => {
      // PostgreSQL appends a small batch's rows in one statement and a larger one by COPY
      // (limits.pgAppendedRowsPerStatementMax); both must store the same rows, byte-exact.
      const { run } = harness(store);
      const odd = 'x\ty\\N "q" {a,b} \u00e9';
      const batch = (prefix: string, count: number) =>
        Array.from({ length: count }, (_, index) => ({
          type: 'reserve' as const,
          key: `${prefix}:${index}:${odd}`,
          sku: 'CAP',
          location: 'WH1',
          quantity: 1,
        }));
      await run({ type: 'receipt', key: 'bound:stock', sku: 'CAP', location: 'WH1', quantity: 1_000 });
      const before = (await store.ledger.getStock('CAP', T0))!.total.reserved;
      // A reservation appends three rows: its movement, its stored answer and the reservation.
      const large = Math.ceil(limits.pgAppendedRowsPerStatementMax / 3) + 1;
      for (const [prefix, count] of [
        ['small', 3],
        ['large', large],
      ] as const) {
        // Each batch also releases an earlier reservation: a changed reservation is written after
        // the appended rows, by COPY or in the one statement.
        const [held] = await run({ type: 'reserve', key: `${prefix}:held`, sku: 'CAP', location: 'WH1', quantity: 2 });
        const release = { type: 'release' as const, key: `${prefix}:release`, reservationId: held!.reservation!.id };
        const answers = await run(release, ...batch(prefix, count));
        assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set(['applied']), prefix);
        assert.equal((await store.ledger.getReservation(held!.reservation!.id, T0))?.status, 'released', prefix);
        const replay = await run(release, ...batch(prefix, count));
        assert.deepEqual(
          replay.map((answer) => JSON.stringify(answer)),
          answers.map((answer) => JSON.stringify({ ...answer, status: 'exists', replayed: true })),
          `${prefix}: every stored answer comes back as it was given`,
        );
        const history = await store.ledger.listMovements('CAP', { limit: 1, location: 'WH1' });
        assert.equal(history?.items[0]?.key, `${prefix}:${count - 1}:${odd}`);
      }
      assert.equal((await store.ledger.getStock('CAP', T0))!.total.reserved, before + 3 + large);
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('verify reports a reservation whose level is missing (PostgreSQL keeps no foreign keys on reservations)', async () => {
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
      const insert = `INSERT INTO reservations (id, key, variant_id, location_id, quantity, committed_quantity, status, created_at)
        SELECT 'res_orphan', 'orphan', v.id, l.id, 1, 0, 'released', 0 FROM variants v, locations l WHERE v.sku = 'TEE-RED-M' AND l.code = 'WH2'`;
      const remove = "DELETE FROM reservations WHERE id = 'res_orphan'";
      const sql = async (statement: string) => {
        if (test.database.startsWith('postgres')) {
          const client = new pg.Client({ connectionString: test.database });
          await client.connect();
          await client.query(statement);
          await client.end();
        } else {
          const db = new Database(test.database);
          db.prepare(statement).run();
          db.close();
        }
      };
      await sql(insert);
      try {
        assert.deepEqual((await store.ledger.verify()).mismatches, [
          { sku: 'TEE-RED-M', location: 'WH2', field: 'level_missing', stored: 0, recomputed: 1 },
        ]);
      } finally {
        await sql(remove);
      }
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('expires reservations logically, and the sweeper only writes it down', async () => {
      const h = harness(store, T0 + 10_000);
      await h.run({ type: 'receipt', key: 'exp-r', sku: 'TEE-RED-M', location: 'WH2', quantity: 3 });
      const [held] = await h.run({
        type: 'reserve',
        key: 'exp-hold',
        sku: 'TEE-RED-M',
        location: 'WH2',
        quantity: 3,
        expiresInSeconds: 60,
      });
      assert.equal(held?.status, 'applied');
      const id = held!.reservation!.id;
      const at = (ms: number) =>
        store.ledger
          .getStock('TEE-RED-M', T0 + 10_000 + ms)
          .then((stock) => stock!.locations.find((l) => l.location === 'WH2')!.available);
      assert.equal(await at(59_999), 0, 'never expired early');
      assert.equal(await at(60_000), 3, 'available at the expiry instant, before any sweep');
      assert.equal((await store.ledger.getReservation(id, T0 + 10_000 + 60_000))?.status, 'expired');
      h.advance(60_000);
      const [commit] = await h.run({ type: 'commit', key: 'exp-commit', reservationId: id });
      assert.equal(commit?.status, 'reservation_expired');
      const sweeper = new Sweeper(store, h.ledger, h.clock, {
        intervalMs: 1000,
        retentionDays: 7,
        onError: (error) => assert.fail(String(error)),
      });
      assert.deepEqual(
        await store.ledger.dueReservationLevels(h.clock.now(), 10),
        [],
        'the commit already expired it on touch',
      );
      await h.run({
        type: 'reserve',
        key: 'exp-hold-2',
        sku: 'TEE-RED-M',
        location: 'WH2',
        quantity: 1,
        expiresInSeconds: 1,
      });
      h.advance(1000);
      assert.equal((await store.ledger.dueReservationLevels(h.clock.now(), 10)).length, 1);
      const swept = await sweeper.sweepOnce();
      assert.equal(swept.expiredLevels, 1);
      assert.deepEqual(await store.ledger.dueReservationLevels(h.clock.now(), 10), []);
      const history = await store.ledger.listMovements('TEE-RED-M', { location: 'WH2', limit: 1 });
      assert.equal(history?.items[0]?.type, 'expire');
    });

    it('keeps reservation holds apart from orders: facts cannot take held units', async () => {
      const h = harness(store, T0 + 15_000);
      await store.catalogue.upsertVariants([{ sku: 'HOLD', name: 'hold test' }], T0);
      await h.run({ type: 'receipt', key: 'hold-r', sku: 'HOLD', location: 'WH1', quantity: 5 });
      const [held] = await h.run({
        type: 'reserve',
        key: 'hold-1',
        sku: 'HOLD',
        location: 'WH1',
        quantity: 3,
        expiresInSeconds: 10,
      });
      await h.run({ type: 'order', key: 'hold-o', sku: 'HOLD', location: 'WH1', quantity: 1 });
      // reserved 4 = 3 held by the pending reservation + 1 for the order: only 1 may be cancelled or shipped.
      const [cancel] = await h.run({ type: 'cancellation', key: 'hold-c', sku: 'HOLD', location: 'WH1', quantity: 2 });
      assert.equal(cancel?.status, 'invalid');
      const [ship] = await h.run({ type: 'shipment', key: 'hold-s', sku: 'HOLD', location: 'WH1', quantity: 2 });
      assert.equal(ship?.status, 'invalid');
      const [commit] = await h.run({
        type: 'commit',
        key: 'hold-commit',
        reservationId: held!.reservation!.id,
        quantity: 2,
      });
      assert.equal(commit?.status, 'applied');
      // Now 3 units belong to orders (1 order + 2 committed): they may be shipped.
      const [shipAll] = await h.run({ type: 'shipment', key: 'hold-s2', sku: 'HOLD', location: 'WH1', quantity: 3 });
      assert.equal(shipAll?.status, 'applied');
      await h.run({ type: 'reserve', key: 'hold-2', sku: 'HOLD', location: 'WH1', quantity: 2, expiresInSeconds: 1 });
      h.advance(1000);
      const [after] = await h.run({ type: 'receipt', key: 'hold-r2', sku: 'HOLD', location: 'WH1', quantity: 1 });
      assert.equal(after?.status, 'applied', 'the expired hold is given back without poisoning the level');
      assert.deepEqual([after?.level?.on_hand, after?.level?.reserved, after?.level?.available], [3, 0, 3]);
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('prunes stored answers only past the retention; an applied fact keeps its answer in its movements', async () => {
      const h = harness(store, T0 + 20_000);
      await h.run({ type: 'receipt', key: 'prune-me', sku: 'CAP', location: 'WH2', quantity: 1 });
      const refusal = { type: 'reserve', key: 'prune-refusal', sku: 'CAP', location: 'WH2', quantity: 1000 } as const;
      assert.equal((await h.run(refusal))[0]?.status, 'insufficient');
      await store.ledger.pruneAnswers(T0 + 20_000, 1000);
      const [kept] = await h.run(refusal);
      assert.equal(kept?.replayed, true, 'a refusal is kept while within retention');
      const pruned = await store.ledger.pruneAnswers(T0 + 20_001, 100_000);
      assert.ok(pruned >= 1);
      const [again] = await h.run(refusal);
      assert.equal(again?.status, 'insufficient');
      assert.equal(again?.replayed, undefined, 'a pruned refusal is judged anew');
      const [replay] = await h.run({ type: 'receipt', key: 'prune-me', sku: 'CAP', location: 'WH2', quantity: 1 });
      assert.equal(replay?.status, 'exists', 'the answer of an applied fact lives as long as its movement');
      assert.equal(replay?.level?.on_hand, 1);
    });

    it('judges the same key sent through two connections at once exactly once', async () => {
      const other = await test.reopen();
      const a = harness(store, T0 + 30_000);
      const b = harness(other, T0 + 30_000);
      await a.run({ type: 'receipt', key: 'dup-stock', sku: 'TEE-RED-L', location: 'WH1', quantity: 5 });
      const command = { type: 'reserve', key: 'dup-key', sku: 'TEE-RED-L', location: 'WH1', quantity: 1 } as const;
      const answers = (await Promise.all([a.run(command), b.run(command), a.run(command), b.run(command)])).flat();
      assert.equal(answers.filter((answer) => answer.status === 'applied').length, 1);
      assert.equal(answers.filter((answer) => answer.status === 'exists').length, 3);
      const stock = await store.ledger.getStock('TEE-RED-L', T0 + 30_000);
      assert.equal(stock!.locations.find((l) => l.location === 'WH1')!.reserved, 1);
    });

    it('last-unit race, several connections: 100 requests for 10 units -> exactly 10', async () => {
      const stores = [store, await test.reopen(), await test.reopen(), await test.reopen()];
      const ledgers = stores.map((each) => harness(each, T0 + 40_000));
      await ledgers[0]!.run({
        type: 'receipt',
        key: 'race-stock',
        sku: 'TEE-RED-M',
        location: 'WH1',
        quantity: 10 - 5,
      });
      // 5 units were received earlier in this suite at WH1 and 2 kits' worth is not reserved: level is 10 now.
      const level = (await store.ledger.getStock('TEE-RED-M', T0 + 40_000))!.locations.find(
        (l) => l.location === 'WH1',
      )!;
      assert.equal(level.available, 10);
      const answers = (
        await Promise.all(
          Array.from({ length: 100 }, (_, index) =>
            ledgers[index % ledgers.length]!.run({
              type: 'reserve',
              key: `conn-race-${index}`,
              sku: 'TEE-RED-M',
              location: 'WH1',
              quantity: 1,
            }),
          ),
        )
      ).flat();
      assert.equal(answers.filter((answer) => answer.status === 'applied').length, 10);
      assert.equal(answers.filter((answer) => answer.status === 'insufficient').length, 90);
      const after = (await store.ledger.getStock('TEE-RED-M', T0 + 40_000))!.locations.find(
        (l) => l.location === 'WH1',
      )!;
      assert.equal(after.reserved, 10, 'no lost update: reserved equals the successes');
      assert.equal(after.available, 0);
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    for (const processes of [2, 4]) {
      it(`last-unit race, ${processes} OS processes: 100 requests for 10 units -> exactly 10`, async () => {
        const sku = `RACE-${processes}`;
        await store.catalogue.upsertVariants([{ sku, name: `race ${processes}` }], T0);
        await harness(store).run({
          type: 'receipt',
          key: `race-${processes}-stock`,
          sku,
          location: 'WH1',
          quantity: 10,
        });
        const workers = Array.from({ length: processes }, (_, index) =>
          fork(
            new URL('../../support/race-worker.ts', import.meta.url).pathname,
            [test.database, String(index), String(100 / processes), sku, 'WH1'],
            {
              execArgv: ['--import', 'tsx'],
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            },
          ),
        );
        const ready = workers.map((worker) => new Promise<void>((resolve) => worker.once('message', () => resolve())));
        await Promise.all(ready);
        const results = workers.map(
          (worker) =>
            new Promise<string[]>((resolve, reject) => {
              worker.once('message', (message: { statuses: string[] }) => resolve(message.statuses));
              worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited ${code}`))));
            }),
        );
        for (const worker of workers) worker.send({ go: true }); // the barrier opens for all at once
        const statuses = (await Promise.all(results)).flat();
        assert.equal(statuses.length, 100);
        assert.equal(statuses.filter((status) => status === 'applied').length, 10);
        assert.equal(statuses.filter((status) => status === 'insufficient').length, 90);
        const level = (await store.ledger.getStock(sku, Date.now()))!.locations[0]!;
        assert.equal(level.reserved, 10);
        assert.equal(level.available, 0);
        assert.deepEqual((await store.ledger.verify()).mismatches, []);
      });
    }
  });
}
