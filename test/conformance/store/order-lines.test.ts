/**
 * orders.listLines on every store: newest first by (created_at, channel, line key), walked page
 * by page with a small limit it gives every matching line exactly once; the sku, channel and
 * status filters narrow to the lines they name; a tampered cursor, or one of another list, is
 * refused (CursorError, answered 400 at the edge). The intake's batched reads (getLines, and the
 * ledger's availableByLocation over several variants) answer as the one-by-one reads do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emptyLineState } from '../../../src/core/orders/line-state.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { encodeReservationCursor } from '../../../src/store/list-cursors.js';
import type { OrderLineRecord, OrderLineStatus } from '../../../src/store/order-lines-port.js';
import { CursorError } from '../../../src/store/views.js';
import { STORES, type TestStore } from '../../support/stores.js';

const base = Date.UTC(2026, 11, 6, 9);

for (const factory of STORES) {
  describe(`${factory.name}: order line list`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    /** What was saved, newest first as the list orders it. */
    const saved: { channel: string; lineKey: string; sku: string | null; status: OrderLineStatus; at: number }[] = [];

    async function save(channel: string, n: number, sku: string | null, status: OrderLineStatus, at: number) {
      const lineKey = `${channel}:acct:o${n}:1`;
      const record: OrderLineRecord = {
        channel,
        lineKey,
        orderId: `o${n}`,
        lineId: '1',
        item: { externalId: `offer-${sku ?? 'x'}`, sku, barcode: null },
        sku,
        state: emptyLineState(),
        applied: {},
        seq: 0,
        version: 0,
        status,
        reason: status === 'blocked' ? 'no variant matches' : null,
        createdAt: at,
        updatedAt: at,
      };
      assert.ok(await store.orders.saveLine(record));
      saved.push({ channel, lineKey, sku, status, at });
    }

    before(async () => {
      test = await factory.create();
      store = test.store;
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], base);
      await store.catalogue.upsertVariants(
        [
          { sku: 'A', name: 'A' },
          { sku: 'B', name: 'B' },
        ],
        base,
      );
      await store.availability.upsertChannels(
        [
          { code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] },
          { code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1'] },
        ],
        base,
      );
      const statuses: OrderLineStatus[] = ['open', 'closed', 'open', 'info', 'open'];
      for (let n = 0; n < 12; n++) {
        // Pairs of lines at one instant (one per channel), so the tie-break on channel and key is walked too.
        const at = base + Math.floor(n / 2) * 1000;
        await save(n % 2 === 0 ? 'bol' : 'shop', n, n % 3 === 0 ? 'B' : 'A', statuses[n % statuses.length]!, at);
      }
      await save('bol', 99, null, 'blocked', base + 500);
    });
    after(async () => {
      await test?.cleanup();
    });

    function expected(filter: (line: (typeof saved)[number]) => boolean): string[] {
      return saved
        .filter(filter)
        .sort(
          (a, b) =>
            b.at - a.at ||
            (a.channel === b.channel ? 0 : a.channel < b.channel ? 1 : -1) ||
            (a.lineKey === b.lineKey ? 0 : a.lineKey < b.lineKey ? 1 : -1),
        )
        .map((line) => line.lineKey);
    }

    async function walk(options: {
      sku?: string;
      channel?: string;
      status: OrderLineStatus | 'all';
      limit: number;
    }): Promise<string[]> {
      const keys: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.orders.listLines({ ...options, cursor });
        assert.ok(page.items.length <= options.limit);
        keys.push(...page.items.map((line) => line.lineKey));
        if (page.next_cursor === null) return keys;
        cursor = page.next_cursor;
      }
      assert.fail('paging ends');
    }

    it('pages every line once, newest first, with ties broken by channel and line key', async () => {
      assert.deepEqual(
        await walk({ status: 'all', limit: 3 }),
        expected(() => true),
      );
      const first = await store.orders.listLines({ status: 'all', limit: 100 });
      assert.equal(first.items.length, saved.length);
      assert.equal(first.next_cursor, null);
      const newest = first.items[0]!;
      assert.equal(newest.createdAt, base + 5000);
      assert.equal(newest.channel, 'shop');
    });

    it('narrows to the sku, the channel and the status asked for', async () => {
      assert.deepEqual(
        await walk({ sku: 'A', status: 'open', limit: 2 }),
        expected((line) => line.sku === 'A' && line.status === 'open'),
      );
      assert.deepEqual(
        await walk({ channel: 'shop', status: 'all', limit: 4 }),
        expected((line) => line.channel === 'shop'),
      );
      assert.deepEqual(
        await walk({ sku: 'B', channel: 'bol', status: 'all', limit: 1 }),
        expected((line) => line.sku === 'B' && line.channel === 'bol'),
      );
      assert.deepEqual(await walk({ status: 'blocked', limit: 5 }), ['bol:acct:o99:1']);
      assert.deepEqual((await store.orders.listLines({ sku: 'NONE', status: 'all', limit: 5 })).items, []);
    });

    it('refuses a tampered cursor and a cursor of another list', async () => {
      const page = await store.orders.listLines({ status: 'all', limit: 2 });
      const cursor = page.next_cursor!;
      const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}A`;
      await assert.rejects(store.orders.listLines({ status: 'all', limit: 2, cursor: tampered }), CursorError);
      await assert.rejects(
        store.orders.listLines({ status: 'all', limit: 2, cursor: encodeReservationCursor(base, 'res_1') }),
        CursorError,
      );
    });

    it('reads several lines of a channel in one call, each as getLine reads it', async () => {
      const keys = ['bol:acct:o0:1', 'bol:acct:o2:1', 'shop:acct:o1:1', 'bol:acct:nothing:1', 'bol:acct:o0:1'];
      const found = await store.orders.getLines('bol', keys);
      assert.deepEqual([...found.keys()].sort(), ['bol:acct:o0:1', 'bol:acct:o2:1']);
      for (const [lineKey, record] of found) assert.deepEqual(record, await store.orders.getLine('bol', lineKey));
      assert.equal((await store.orders.getLines('shop', keys)).size, 1);
      assert.equal((await store.orders.getLines('nowhere', keys)).size, 0);
      assert.equal((await store.orders.getLines('bol', [])).size, 0);
    });

    it('reads the available units of several variants per location in one call', async () => {
      const now = base + 60_000;
      await store.catalogue.upsertLocations([{ code: 'WH2', name: 'Second', kind: 'warehouse' }], base);
      const answers = await store.ledger.applyBatch(
        [
          { type: 'receipt', key: 'r-a1', payloadHash: 'h', sku: 'A', location: 'WH1', quantity: 5 },
          { type: 'receipt', key: 'r-a2', payloadHash: 'h', sku: 'A', location: 'WH2', quantity: 3 },
          { type: 'order', key: 'o-a2', payloadHash: 'h', sku: 'A', location: 'WH2', quantity: 1 },
        ],
        now,
        () => 'res_conformance',
      );
      assert.deepEqual(
        answers.map((answer) => answer.status),
        ['applied', 'applied', 'applied'],
      );
      const levels = await store.ledger.availableByLocation(['A', 'B', 'no-such-sku', 'A'], now);
      assert.deepEqual(
        [...levels.entries()].map(([sku, byLocation]) => [
          sku,
          byLocation === null ? null : Object.fromEntries(byLocation),
        ]),
        [
          ['A', { WH1: 5, WH2: 2 }],
          ['B', {}],
          ['no-such-sku', null],
        ],
      );
    });
  });
}
