/**
 * Listings re-pointed and order lines matched, on every store. Goal: a listing sent again with
 * another variant (by PUT /v1/listings or by an explicit mapping) keeps its id and its outbox
 * history while its stored desired quantity follows the new variant, in the same transaction;
 * a mapping wins over sku and barcode matching from then on; and `findOrderItem` matches an
 * order line by mapping, then the listing's external id, then one of its external refs, then
 * sku, then a barcode only one variant has, in that order. Method: one store per engine behind
 * the HTTP server (app.inject), a small catalogue whose quantities differ per variant (A 7,
 * B 3, C 2, D 0), each case building on the state the previous one left.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import pg from 'pg';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import type { OrderItemRef } from '../../../src/store/availability-store.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { referenceTime as now } from '../../support/http-harness.js';
import { startApiServer, type ApiServer } from '../../support/api-server.js';
import { STORES, type StoreFactory } from '../../support/stores.js';

const variantGid = 'gid://shopify/ProductVariant/1';

/** What the listing's channel would be sent next: its outbox row, claimed under a fresh lease. */
async function claimOne(store: LedgerStore, channel: string, listingId: string) {
  const epoch = (await store.outbox.acquireLease(channel, 'test', now, 60_000))!;
  assert.ok(epoch !== null);
  const rows = await store.outbox.claimDue(channel, epoch, now, 100, 1);
  await store.outbox.releaseLease(channel, 'test');
  return { epoch, row: rows.find((row) => row.listingId === listingId) };
}

/** The stored desired quantity of `listingId` under `sku`, or undefined when the sku does not list it. */
async function stored(store: LedgerStore, sku: string, listingId: string): Promise<number | undefined> {
  return (await store.availability.getAvailability(sku))!.find((entry) => entry.listingId === listingId)?.quantity;
}

const line = (externalId: string, sku: string | null = null, barcode: string | null = null): OrderItemRef => ({
  externalId,
  sku,
  barcode,
});

for (const factory of STORES) {
  describe(`${factory.name}: re-pointed listings and order-line matching`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let server: ApiServer;
    let store: LedgerStore;
    let key = 0;
    /** Listing ids by external id. */
    const ids = new Map<string, string>();

    const receive = (sku: string, quantity: number) =>
      server.ledger.submit([
        {
          type: 'receipt',
          sku,
          location: 'WH1',
          quantity,
          key: `r${++key}`,
          payloadHash: `h${key}`,
          occurredAt: now,
        } as unknown as LedgerCommand,
      ]);

    async function put(url: string, payload: object) {
      const response = await server.call({ method: 'PUT', url, payload });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    async function listingOverHttp(id: string) {
      const response = await server.call({ method: 'GET', url: `/v1/listings/${id}`, as: 'read' });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    before(async () => {
      server = await startApiServer(factory as StoreFactory);
      store = server.store;
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants(
        [
          { sku: 'A', name: 'A', barcode: '8710000000001' },
          { sku: 'B', name: 'B', barcode: '8710000000002' },
          { sku: 'C', name: 'C', barcode: '8710000000009' },
          { sku: 'D', name: 'D', barcode: '8710000000009' },
        ],
        now,
      );
      await store.availability.upsertChannels(
        [
          { code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1'] },
          { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
        ],
        now,
      );
      await receive('A', 7);
      await receive('B', 3);
      await receive('C', 2);
      const report = await store.availability.upsertListings(
        [
          {
            channel: 'shop',
            externalId: 'gid://shopify/InventoryItem/1',
            sku: 'A',
            externalRefs: { variant: variantGid },
          },
          { channel: 'shop', externalId: 'gid://shopify/InventoryItem/2', sku: 'A' },
          { channel: 'bol', externalId: 'offer-1', sku: 'A' },
          { channel: 'bol', externalId: 'offer-2', sku: 'A' },
        ],
        // Earlier than the re-sends: SQLite tells an insert from an update by created_at = updated_at.
        now - 60_000,
      );
      assert.equal(report.created, 4);
      for (const listing of await store.availability.listListings({ limit: 10 }))
        ids.set(listing.externalId, listing.id);
    });
    after(async () => {
      await server?.close();
    });

    it('re-points a listing sent again with another sku: same id, new sku, the new variant quantity pushed', async () => {
      const id = ids.get('gid://shopify/InventoryItem/1')!;
      assert.equal(await stored(store, 'A', id), 7);
      // The channel acknowledged 7: the row is done, with what was pushed and shown.
      const first = await claimOne(store, 'shop', id);
      assert.equal(first.row?.quantity, 7);
      await store.outbox.recordResults(
        'shop',
        first.epoch,
        [
          {
            listingId: id,
            desiredVersion: first.row!.desiredVersion,
            status: 'ok',
            channelQuantity: 7,
            pushedQuantity: 7,
          },
        ],
        now,
      );
      assert.equal((await claimOne(store, 'shop', id)).row, undefined, 'nothing left to push');

      const report = await store.availability.upsertListings(
        [
          {
            channel: 'shop',
            externalId: 'gid://shopify/InventoryItem/1',
            sku: 'B',
            externalRefs: { variant: variantGid },
          },
        ],
        now,
      );
      assert.deepEqual(report, { created: 0, updated: 1, unmapped: [] });
      const listing = (await store.availability.getListing(id))!;
      assert.deepEqual([listing.sku, listing.matchedBy], ['B', 'sku']);
      assert.equal(await stored(store, 'A', id), undefined, 'the old variant no longer lists it');
      assert.equal(await stored(store, 'B', id), 3, 'its desired quantity is the new variant one');
      const next = (await claimOne(store, 'shop', id)).row!;
      assert.equal(next.quantity, 3, 'the outbox pushes the new variant quantity');
      assert.equal(next.desiredVersion, first.row!.desiredVersion + 1, 'one more version of the same row');
      assert.equal(next.channelQuantity, 7, 'what the channel showed is kept');
      // The ledger follows the listing to its new variant, and a full recompute agrees.
      await receive('B', 1);
      assert.equal(await stored(store, 'B', id), 4);
      await receive('A', 1);
      assert.equal(await stored(store, 'B', id), 4);
      assert.equal((await store.availability.recomputeAll(now)).changed, 0);
    });

    it('re-points a listing through PUT /v1/listings (no 500), and GET shows the new sku and quantity', async () => {
      const id = ids.get('offer-1')!;
      const answer = await put('/v1/listings', { listings: [{ channel: 'bol', external_id: 'offer-1', sku: 'C' }] });
      assert.deepEqual(answer, { created: 0, updated: 1, unmapped: [] });
      const listing = await listingOverHttp(id);
      assert.deepEqual([listing.id, listing.sku, listing.matched_by], [id, 'C', 'sku']);
      const response = await server.call({ method: 'GET', url: '/v1/availability/C', as: 'read' });
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(
        response.json().listings.map((entry: any) => [entry.listing_id, entry.quantity]),
        [[id, 2]],
      );
      assert.equal(await stored(store, 'A', id), undefined);
    });

    it('a mapping re-points the listing it names at once and wins over the sku sent later', async () => {
      const id = ids.get('offer-2')!;
      assert.deepEqual(
        await put('/v1/listing-mappings', { mappings: [{ channel: 'bol', external_id: 'offer-2', sku: 'B' }] }),
        {
          created: 1,
          updated: 0,
        },
      );
      const listing = await listingOverHttp(id);
      assert.deepEqual([listing.sku, listing.matched_by], ['B', 'mapping']);
      assert.equal(await stored(store, 'B', id), 4);
      assert.equal(await stored(store, 'A', id), undefined);
      // The channel still says sku A: the mapping wins.
      await put('/v1/listings', {
        listings: [{ channel: 'bol', external_id: 'offer-2', sku: 'A', barcode: '8710000000001' }],
      });
      assert.deepEqual([(await listingOverHttp(id)).sku, (await listingOverHttp(id)).matched_by], ['B', 'mapping']);
      assert.equal(await stored(store, 'B', id), 4);
      // Through the store: another mapping moves it again, to a variant with nothing in stock.
      await store.availability.upsertMappings([{ channel: 'bol', externalId: 'offer-2', sku: 'D' }], now);
      assert.equal((await store.availability.getListing(id))!.sku, 'D');
      assert.equal(await stored(store, 'D', id), 0);
      assert.equal(await stored(store, 'B', id), undefined);
      assert.equal((await store.availability.recomputeAll(now)).changed, 0);
    });

    it('finds an order line by listing id, then external ref, then sku, then a barcode one variant has', async () => {
      const shop1 = ids.get('gid://shopify/InventoryItem/1')!;
      // The listing keyed by the line's id wins over the line's sku and barcode (listing names B).
      assert.deepEqual(
        await store.availability.findOrderItem('shop', line('gid://shopify/InventoryItem/1', 'A', '8710000000001')),
        { sku: 'B', listingId: shop1, matchedBy: 'listing' },
      );
      // Shopify order lines name the product variant, which the listing carries in its refs.
      assert.deepEqual(await store.availability.findOrderItem('shop', line(variantGid, 'A', '8710000000001')), {
        sku: 'B',
        listingId: shop1,
        matchedBy: 'listing_ref',
      });
      // Listings and refs belong to their channel.
      assert.equal(await store.availability.findOrderItem('bol', line(variantGid)), null);
      assert.equal(await store.availability.findOrderItem('bol', line('gid://shopify/InventoryItem/1')), null);
      // Then the sku, before the barcode.
      assert.deepEqual(await store.availability.findOrderItem('shop', line('unknown', 'A', '8710000000002')), {
        sku: 'A',
        listingId: null,
        matchedBy: 'sku',
      });
      assert.deepEqual(await store.availability.findOrderItem('shop', line('unknown', 'NOPE', '8710000000002')), {
        sku: 'B',
        listingId: null,
        matchedBy: 'barcode',
      });
      // A barcode two variants share names neither.
      assert.equal(await store.availability.findOrderItem('shop', line('unknown', null, '8710000000009')), null);
      assert.equal(await store.availability.findOrderItem('shop', line('unknown', 'NOPE', null)), null);
    });

    it('an explicit mapping wins over every other step of order matching', async () => {
      const shop1 = ids.get('gid://shopify/InventoryItem/1')!;
      await store.availability.upsertMappings(
        [
          { channel: 'shop', externalId: variantGid, sku: 'C' },
          { channel: 'shop', externalId: 'gid://shopify/InventoryItem/1', sku: 'A' },
        ],
        now,
      );
      // A mapping of a ref (no listing keyed by it): the line is C, through no listing.
      assert.deepEqual(await store.availability.findOrderItem('shop', line(variantGid, 'B', '8710000000002')), {
        sku: 'C',
        listingId: null,
        matchedBy: 'mapping',
      });
      // A mapping of a listing's id: the listing was re-pointed with it, and the line follows.
      assert.deepEqual(
        await store.availability.findOrderItem('shop', line('gid://shopify/InventoryItem/1', 'B', '8710000000002')),
        { sku: 'A', listingId: shop1, matchedBy: 'mapping' },
      );
      assert.equal((await store.availability.getListing(shop1))!.sku, 'A');
      assert.equal(await stored(store, 'A', shop1), 8);
      // Mappings belong to their channel too.
      assert.deepEqual(await store.availability.findOrderItem('bol', line(variantGid, 'B')), {
        sku: 'B',
        listingId: null,
        matchedBy: 'sku',
      });
    });

    it('keeps the refs in step with the listing; a ref on listings of two variants matches neither', async () => {
      const shop2 = ids.get('gid://shopify/InventoryItem/2')!;
      const ref = 'gid://shopify/ProductVariant/2';
      await store.availability.upsertListings(
        [{ channel: 'shop', externalId: 'gid://shopify/InventoryItem/2', sku: 'A', externalRefs: { variant: ref } }],
        now,
      );
      assert.deepEqual(await store.availability.findOrderItem('shop', line(ref)), {
        sku: 'A',
        listingId: shop2,
        matchedBy: 'listing_ref',
      });
      await store.availability.upsertListings(
        [
          {
            channel: 'shop',
            externalId: 'gid://shopify/InventoryItem/2',
            sku: 'A',
            externalRefs: { variant: 'gid://shopify/ProductVariant/3' },
          },
        ],
        now,
      );
      assert.equal(await store.availability.findOrderItem('shop', line(ref)), null, 'a ref the listing dropped');
      assert.equal(
        (await store.availability.findOrderItem('shop', line('gid://shopify/ProductVariant/3')))?.listingId,
        shop2,
      );
      // Two listings of two variants carry the same product id: the line falls through to its sku.
      await store.availability.upsertListings(
        [
          { channel: 'shop', externalId: 'woo-11', sku: 'B', externalRefs: { product: 'woo-10' } },
          { channel: 'shop', externalId: 'woo-12', sku: 'C', externalRefs: { product: 'woo-10', other: 'woo-10' } },
        ],
        now,
      );
      assert.deepEqual(await store.availability.findOrderItem('shop', line('woo-10', 'C')), {
        sku: 'C',
        listingId: null,
        matchedBy: 'sku',
      });
      assert.equal(await store.availability.findOrderItem('shop', line('woo-10')), null);
    });

    it('a batch of order lines matches each line as it would alone, in the lines order', async () => {
      // Every step and every miss the cases above reach, on the state they left.
      const pool = [
        line('gid://shopify/InventoryItem/1', 'A', '8710000000001'),
        line(variantGid, 'B', '8710000000002'),
        line('gid://shopify/ProductVariant/3'),
        line('unknown', 'A', '8710000000002'),
        line('unknown', 'NOPE', '8710000000002'),
        line('unknown', null, '8710000000009'),
        line('unknown', 'NOPE', null),
        line('woo-10', 'C'),
        line('woo-10'),
        line('gid://shopify/ProductVariant/2'),
      ];
      const alone = new Map<number, unknown>();
      for (const [index, item] of pool.entries())
        alone.set(index, await store.availability.findOrderItem('shop', item));
      assert.ok(
        new Set([...alone.values()].map((match) => (match as { matchedBy?: string } | null)?.matchedBy ?? 'none'))
          .size >= 5,
        'the pool reaches mapping, listing ref, sku, barcode and no match',
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(pool.length - 1), { minLength: 1, maxLength: 25 }), async (picks) => {
          const batch = await store.availability.findOrderItems(
            'shop',
            picks.map((pick) => pool[pick]!),
          );
          assert.deepEqual(
            batch,
            picks.map((pick) => alone.get(pick)),
          );
        }),
        { numRuns: 40 },
      );
      assert.deepEqual(await store.availability.findOrderItems('shop', []), []);
      // Text no stored id can hold (a NUL, a lone surrogate) matches nothing, beside lines that match.
      assert.deepEqual(
        await store.availability.findOrderItems('shop', [
          pool[2]!,
          line('a\u0000b', 'A'),
          line('unknown', 'A\ud800'),
          line('unknown', null, '871\u0000'),
          pool[3]!,
        ]),
        [alone.get(2), null, null, null, alone.get(3)],
      );
    });

    it('recomputes the variant a listing left: its other listings may show what the moved one took', async () => {
      await store.catalogue.upsertVariants(
        [
          { sku: 'E', name: 'E' },
          { sku: 'F', name: 'F' },
        ],
        now,
      );
      await receive('E', 2);
      await receive('F', 5);
      await store.availability.upsertListings(
        [
          { channel: 'bol', externalId: 'offer-e1', sku: 'E', rank: 1 },
          { channel: 'bol', externalId: 'offer-e2', sku: 'E', rank: 2 },
        ],
        now - 1,
      );
      // At 2 units or fewer only the best-ranked listing of a variant shows them.
      const rules = await store.availability.createRuleSet(
        { rules: { low_stock: { threshold: 2, listings_max: 1 } }, author: 'test' },
        now,
      );
      await store.availability.activateRuleSet(rules.version, { author: 'test' }, now);
      const listings = await store.availability.listListings({ channel: 'bol', sku: 'E', limit: 5 });
      const [e1, e2] = ['offer-e1', 'offer-e2'].map((id) => listings.find((each) => each.externalId === id)!.id);
      assert.deepEqual([await stored(store, 'E', e1!), await stored(store, 'E', e2!)], [2, 0]);
      await store.availability.upsertListings([{ channel: 'bol', externalId: 'offer-e1', sku: 'F', rank: 1 }], now);
      assert.equal(await stored(store, 'F', e1!), 5);
      assert.equal(await stored(store, 'E', e2!), 2, 'the listing left alone on E shows its units');
      await store.availability.upsertMappings([{ channel: 'bol', externalId: 'offer-e2', sku: 'F' }], now);
      assert.deepEqual([await stored(store, 'F', e1!), await stored(store, 'F', e2!)], [5, 5]);
      assert.deepEqual(await store.availability.getAvailability('E'), []);
      assert.equal((await store.availability.recomputeAll(now)).changed, 0);
    });

    it('migration 0007 fills the refs of listings written before it', async () => {
      const name = factory.name === 'sqlite' ? 'sqlite' : 'postgres';
      const migration = readFileSync(
        new URL(`../../../src/store/${name}/migrations/0007_listing_refs.sql`, import.meta.url),
        'utf8',
      );
      const backfill = migration.slice(migration.indexOf('INSERT INTO listing_refs'));
      assert.ok(backfill.length > 0);
      const test = await factory.create();
      try {
        const other = test.store;
        await other.catalogue.upsertVariants([{ sku: 'X', name: 'X' }], now);
        await other.availability.upsertChannels(
          [{ code: 'shop', name: 'Shop', platform: 'shopify', locations: [] }],
          now,
        );
        await other.availability.upsertListings(
          [
            { channel: 'shop', externalId: 'inv-1', sku: 'X', externalRefs: { variant: 'v-1', product: 'p-1' } },
            { channel: 'shop', externalId: 'inv-2', sku: 'X' },
          ],
          now,
        );
        // The rows as a database at 0006 holds them: listings, no refs.
        const run = async (sql: string) => {
          if (name === 'sqlite') {
            const db = new Database(test.database);
            try {
              db.exec(sql);
            } finally {
              db.close();
            }
          } else {
            const client = new pg.Client({ connectionString: test.database });
            await client.connect();
            try {
              await client.query(sql);
            } finally {
              await client.end();
            }
          }
        };
        await run('DELETE FROM listing_refs');
        assert.equal(await other.availability.findOrderItem('shop', line('v-1')), null);
        await run(backfill);
        const inv1 = (await other.availability.listListings({ limit: 5 })).find((each) => each.externalId === 'inv-1')!;
        for (const ref of ['v-1', 'p-1'])
          assert.deepEqual(await other.availability.findOrderItem('shop', line(ref)), {
            sku: 'X',
            listingId: inv1.id,
            matchedBy: 'listing_ref',
          });
      } finally {
        await test.cleanup();
      }
    });
  });
}
