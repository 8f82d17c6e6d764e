/**
 * The lists on every store (ledger.listReservations, ledger.movementFeed,
 * catalogue.listPurchaseOrders): each is walked page by page with a small limit and must give
 * every matching row exactly once, in its order, while rows are added between pages; every
 * filter narrows to the rows it names; a tampered cursor, or one of another list, is refused
 * (CursorError, answered 400 at the edge). On PostgreSQL a movement whose transaction commits
 * after a later one was read is still delivered by the feed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { Sweeper } from '../../../src/store/sweeper.js';
import type { LedgerStore, Page } from '../../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const base = Date.UTC(2026, 11, 1, 9);

function receipt(key: string, sku: string, location: string, quantity: number): LedgerCommand {
  return { type: 'receipt', key, payloadHash: key, sku, location, quantity } as LedgerCommand;
}

/** Walk every page; returns the ids in the order given and the number of pages. */
async function walk<T>(
  read: (cursor: string | undefined) => Promise<Page<T>>,
  id: (item: T) => string,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await read(cursor);
    pages += 1;
    ids.push(...page.items.map(id));
    if (page.next_cursor === null) return { ids, pages };
    cursor = page.next_cursor;
    assert.ok(pages < 1000, 'paging ends');
  }
}

const tamper = (cursor: string) => `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}A`;

for (const factory of STORES) {
  describe(`${factory.name}: lists`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = base;
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let next = 0;
    const reservations: { id: string; sku: string; location: string; channel: string | null; createdAt: number }[] = [];

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${String(++next).padStart(4, '0')}` });
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
      await ledger.submit([
        receipt('seed-A1', 'A', 'WH1', 100),
        receipt('seed-A2', 'A', 'WH2', 100),
        receipt('seed-B1', 'B', 'WH1', 100),
      ]);
      // 12 reservations, several per millisecond (ties on created_at are broken by id).
      for (let index = 0; index < 12; index += 1) {
        if (index % 3 === 0) now += 1;
        const sku = index % 2 === 0 ? 'A' : 'B';
        const location = sku === 'A' && index % 4 === 0 ? 'WH2' : 'WH1';
        const channel = index % 5 === 0 ? 'shop' : undefined;
        const [answer] = await ledger.submit([
          {
            type: 'reserve',
            key: `res-${index}`,
            payloadHash: `res-${index}`,
            sku,
            location,
            quantity: 1,
            ...(index === 11 ? { expiresInSeconds: 60 } : {}),
            ...(channel
              ? { channel: { code: channel, locations: [{ code: location }], fence: { units: 0, percent: 0 } } }
              : {}),
          } as LedgerCommand,
        ]);
        assert.equal(answer!.status, 'applied');
        reservations.push({ id: answer!.reservation!.id, sku, location, channel: channel ?? null, createdAt: now });
      }
      // Resolve a few: 0 and 1 committed, 2 released.
      await ledger.submit([
        { type: 'commit', key: 'c0', payloadHash: 'c0', reservationId: reservations[0]!.id } as LedgerCommand,
        { type: 'commit', key: 'c1', payloadHash: 'c1', reservationId: reservations[1]!.id } as LedgerCommand,
        { type: 'release', key: 'r2', payloadHash: 'r2', reservationId: reservations[2]!.id } as LedgerCommand,
      ]);
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    /**
     * PostgreSQL's feed serves a transaction once every transaction older than it has ended, on
     * the whole server (other databases' tests run there too): wait for that before reading
     * what was just written. SQLite serves a commit at once.
     */
    const settle = async () => {
      if (factory.name !== 'postgres') return;
      const client = new pg.Client({ connectionString: test.database });
      await client.connect();
      try {
        for (let attempt = 0; attempt < 400; attempt += 1) {
          const { rows } = await client.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM movements WHERE xact >= pg_snapshot_xmin(pg_current_snapshot())',
          );
          if (rows[0]!.n === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        throw new Error('movements not served after 10 s: a transaction on the server stays open');
      } finally {
        await client.end();
      }
    };

    const newestFirst = () => [...reservations].reverse().map((reservation) => reservation.id);

    it('reservations: all of them newest first, every one exactly once over pages of 5', async () => {
      const { ids, pages } = await walk(
        (cursor) => store.ledger.listReservations({ status: 'all', cursor, limit: 5 }, now),
        (item) => item.id,
      );
      assert.deepEqual(ids, newestFirst());
      assert.equal(pages, 3);
    });

    it('reservations: status, sku, location and channel filters', async () => {
      const list = async (options: Record<string, string>) =>
        (
          await walk(
            (cursor) =>
              store.ledger.listReservations(
                { status: 'all', ...options, cursor, limit: 2 } as Parameters<
                  LedgerStore['ledger']['listReservations']
                >[0],
                now,
              ),
            (item) => item.id,
          )
        ).ids;
      const ids = reservations.map((reservation) => reservation.id);
      assert.deepEqual(await list({ status: 'committed' }), [ids[1], ids[0]]);
      assert.deepEqual(await list({ status: 'released' }), [ids[2]]);
      assert.deepEqual(
        await list({ status: 'active' }),
        newestFirst().filter((id) => !ids.slice(0, 3).includes(id)),
      );
      assert.deepEqual(await list({ status: 'expired' }), []);
      assert.deepEqual(
        await list({ sku: 'B' }),
        newestFirst().filter((id) => reservations.find((each) => each.id === id)!.sku === 'B'),
      );
      assert.deepEqual(
        await list({ location: 'WH2' }),
        newestFirst().filter((id) => reservations.find((each) => each.id === id)!.location === 'WH2'),
      );
      assert.deepEqual(
        await list({ channel: 'shop' }),
        newestFirst().filter((id) => reservations.find((each) => each.id === id)!.channel === 'shop'),
      );
      assert.deepEqual(await list({ sku: 'NOPE' }), []);
      // Past its expiry, the hold made with expires_in_s moves from active to expired.
      const later = now + 61_000;
      const expired = await store.ledger.listReservations({ status: 'expired', limit: 10 }, later);
      assert.deepEqual(
        expired.items.map((item) => item.id),
        [ids[11]],
      );
      assert.equal(expired.items[0]!.status, 'expired');
      const active = await store.ledger.listReservations({ status: 'active', limit: 50 }, later);
      assert.ok(!active.items.some((item) => item.id === ids[11]));
    });

    it('reservations: a page read while new ones are made neither skips nor repeats', async () => {
      const first = await store.ledger.listReservations({ status: 'all', limit: 4 }, now);
      now += 5;
      const [answer] = await ledger.submit([
        {
          type: 'reserve',
          key: 'res-late',
          payloadHash: 'res-late',
          sku: 'A',
          location: 'WH1',
          quantity: 1,
        } as LedgerCommand,
      ]);
      const rest = await walk(
        (cursor) =>
          store.ledger.listReservations({ status: 'all', cursor: cursor ?? first.next_cursor!, limit: 4 }, now),
        (item) => item.id,
      );
      const seen = [...first.items.map((item) => item.id), ...rest.ids];
      assert.deepEqual(seen, newestFirst(), 'the newer reservation belongs to a page already read, not to these');
      const head = await store.ledger.listReservations({ status: 'all', limit: 1 }, now);
      assert.equal(head.items[0]!.id, answer!.reservation!.id);
      reservations.push({ id: answer!.reservation!.id, sku: 'A', location: 'WH1', channel: null, createdAt: now });
    });

    it('reservations: a tampered or foreign cursor is refused', async () => {
      const page = await store.ledger.listReservations({ status: 'all', limit: 2 }, now);
      for (const cursor of [tamper(page.next_cursor!), 'bm90LWEtY3Vyc29y', Buffer.from('p:X').toString('base64url')]) {
        await assert.rejects(store.ledger.listReservations({ status: 'all', cursor, limit: 2 }, now), {
          code: 'ONH_ERR_CURSOR',
        });
      }
    });

    it('movements feed: oldest first from since, every movement once over pages, new ones appended', async () => {
      await settle();
      now += 10_000;
      const since = now;
      await ledger.submit([receipt('f1', 'A', 'WH1', 1), receipt('f2', 'B', 'WH1', 2)]);
      now += 1;
      await ledger.submit([receipt('f3', 'A', 'WH2', 3)]);
      await settle();
      const keys: string[] = [];
      let page = await store.ledger.movementFeed({ since, limit: 2 });
      keys.push(...page.items.map((item) => item.key));
      assert.equal(page.has_more, true);
      // A batch commits between pages: it comes after, once.
      now += 1;
      await ledger.submit([receipt('f4', 'B', 'WH2', 4), receipt('f5', 'A', 'WH1', 5)]);
      await settle();
      for (let pages = 0; page.has_more; pages += 1) {
        page = await store.ledger.movementFeed({ cursor: page.next_cursor!, limit: 2 });
        keys.push(...page.items.map((item) => item.key));
        assert.ok(pages < 10);
      }
      assert.deepEqual(keys, ['f1', 'f2', 'f3', 'f4', 'f5']);
      // Caught up: an empty page keeps the position, and the next movement is read from it.
      const caughtUp = await store.ledger.movementFeed({ cursor: page.next_cursor!, limit: 2 });
      assert.deepEqual(caughtUp.items, []);
      assert.equal(caughtUp.has_more, false);
      assert.equal(caughtUp.next_cursor, page.next_cursor);
      await ledger.submit([receipt('f6', 'A', 'WH1', 6)]);
      await settle();
      const tail = await store.ledger.movementFeed({ cursor: caughtUp.next_cursor!, limit: 2 });
      assert.deepEqual(
        tail.items.map((item) => item.key),
        ['f6'],
      );
    });

    it('movements feed: until, type and location filters', async () => {
      const start = Date.UTC(2026, 11, 1, 9, 0, 10);
      const all = await store.ledger.movementFeed({ since: start, limit: 500 });
      const firstF = all.items.findIndex((item) => item.key === 'f1');
      const window = await store.ledger.movementFeed({
        since: Date.parse(all.items[firstF]!.recorded_at),
        until: Date.parse(all.items[firstF]!.recorded_at) + 1,
        limit: 500,
      });
      assert.deepEqual(
        window.items.map((item) => item.key),
        ['f1', 'f2'],
      );
      assert.equal(window.next_cursor, null, 'until reached: no next page');
      const atWh2 = await store.ledger.movementFeed({ location: 'WH2', type: 'receipt', limit: 500 });
      assert.ok(atWh2.items.length > 0);
      assert.ok(atWh2.items.every((item) => item.location === 'WH2' && item.type === 'receipt'));
      const reserves = await store.ledger.movementFeed({ type: 'reserve', limit: 500 });
      assert.equal(reserves.items.length, 13);
    });

    it('movements feed: a tampered or foreign cursor is refused', async () => {
      const page = await store.ledger.movementFeed({ limit: 1 });
      for (const cursor of [tamper(page.next_cursor!), Buffer.from('r:1:x').toString('base64url'), '***']) {
        await assert.rejects(store.ledger.movementFeed({ cursor, limit: 2 }), { code: 'ONH_ERR_CURSOR' });
      }
    });

    if (factory.name === 'postgres') {
      it('movements feed: a movement committed after a later one was read is still delivered', async () => {
        const head = await store.ledger.movementFeed({ since: now + 1, limit: 500 });
        // 1. A transaction takes a movement id and stays open.
        const client = new pg.Client({ connectionString: test.database });
        await client.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ id: string }>(
            `INSERT INTO movements (id, command_key, leg, type, variant_id, location_id, version, d_on_hand, d_reserved, d_damaged,
               d_quarantine, d_in_transit, on_hand, reserved, damaged, quarantine, in_transit, guarded, oversold, occurred_at, recorded_at)
             SELECT nextval('movements_id_seq'), 'slow-writer', 0, 'adjustment', variant_id, location_id, version + 100000, 0, 0, 0,
               0, 0, on_hand, reserved, damaged, quarantine, in_transit, 0, 0, $1, $1
             FROM movements WHERE command_key = 'f6' RETURNING id`,
            [now],
          );
          const slowId = Number(rows[0]!.id);
          // 2. A later batch takes higher ids and commits first.
          now += 1;
          await ledger.submit([receipt('fast', 'B', 'WH1', 1)]);
          const during = await store.ledger.movementFeed({ cursor: head.next_cursor!, limit: 500 });
          assert.deepEqual(during.items, [], 'nothing after a transaction still running is served');
          // 3. The slow one commits: both are read, the slow one first, none skipped.
          await client.query('COMMIT');
          await settle();
          const afterCommit = await store.ledger.movementFeed({ cursor: during.next_cursor!, limit: 500 });
          assert.deepEqual(
            afterCommit.items.map((item) => [item.key, item.id]),
            [
              ['slow-writer', slowId],
              ['fast', afterCommit.items[1]!.id],
            ],
          );
          assert.ok(afterCommit.items[1]!.id > slowId);
        } finally {
          await client.end();
        }
      });
    }

    it('purchase orders: id order over pages, status and sku filters, cursor refused when tampered', async () => {
      for (let index = 0; index < 7; index += 1) {
        await store.catalogue.upsertPurchaseOrder(
          {
            id: `PO-${index}`,
            status: index % 3 === 0 ? 'closed' : 'open',
            lines: [{ line: 1, sku: index % 2 === 0 ? 'A' : 'B', location: 'WH1', quantity: 10, expectedAt: null }],
          },
          now,
        );
      }
      const { ids, pages } = await walk(
        (cursor) => store.catalogue.listPurchaseOrders({ cursor, limit: 3 }),
        (item) => item.id,
      );
      assert.deepEqual(ids, ['PO-0', 'PO-1', 'PO-2', 'PO-3', 'PO-4', 'PO-5', 'PO-6']);
      assert.equal(pages, 3);
      const open = await walk(
        (cursor) => store.catalogue.listPurchaseOrders({ status: 'open', cursor, limit: 2 }),
        (item) => item.id,
      );
      assert.deepEqual(open.ids, ['PO-1', 'PO-2', 'PO-4', 'PO-5']);
      const withB = await store.catalogue.listPurchaseOrders({ sku: 'B', status: 'open', limit: 10 });
      assert.deepEqual(
        withB.items.map((item) => item.id),
        ['PO-1', 'PO-5'],
      );
      assert.equal(withB.items[0]!.lines[0]!.incoming, 10);
      const first = await store.catalogue.listPurchaseOrders({ limit: 2 });
      await assert.rejects(store.catalogue.listPurchaseOrders({ cursor: tamper(first.next_cursor!), limit: 2 }), {
        code: 'ONH_ERR_CURSOR',
      });
    });

    it('reservations: expired merges swept holds and holds past their expiry, newest first, over pages', async () => {
      // Three holds with an expiry, a millisecond apart; the sweeper turns the middle one to
      // expired, the other two stay pending past their expiry: all three are listed, in order.
      const made: string[] = [];
      for (const index of [0, 1, 2]) {
        now += 1;
        const [answer] = await ledger.submit([
          {
            type: 'reserve',
            key: `hold-${index}`,
            payloadHash: `hold-${index}`,
            sku: 'B',
            location: 'WH1',
            quantity: 1,
            expiresInSeconds: 1 + index,
          } as LedgerCommand,
        ]);
        made.push(answer!.reservation!.id);
      }
      const created = now;
      now += 2_500; // the first two are due
      const sweeper = new Sweeper(store, ledger, clock, { intervalMs: 60_000, retentionDays: 30, onError: () => {} });
      await sweeper.sweepOnce();
      now += 1_000; // the third is due too, not swept
      assert.equal((await store.ledger.getReservation(made[2]!, created))!.status, 'pending');
      const { ids } = await walk(
        (cursor) => store.ledger.listReservations({ status: 'expired', cursor, limit: 1 }, now),
        (item) => item.id,
      );
      assert.deepEqual(ids.slice(0, 3), [made[2], made[1], made[0]]);
      const page = await store.ledger.listReservations({ status: 'expired', limit: 10 }, now);
      assert.ok(page.items.slice(0, 3).every((item) => item.status === 'expired'));
      for (const id of made) reservations.push({ id, sku: 'B', location: 'WH1', channel: null, createdAt: created });
    });
  });
}
