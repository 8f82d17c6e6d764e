/**
 * Goal: `POST /v1/imports/{kind}` and `GET /v1/exports/*.csv` keep their contract on both
 * stores: the import report `{kind, rows, applied, created, updated, unchanged, errors}`; a bad
 * row is a 422 problem with that same body naming its line and column, and nothing changed;
 * `mode=good` applies the good rows; importing the same file twice changes nothing; a quoted
 * field with line breaks keeps the line numbers right; a body over the bound is 413, a bad
 * query 400 naming the parameter, another content type 415; the exports stream what is stored.
 * Method: app.inject over each store of STORES with a fake clock (test/support/api-server.ts);
 * "changed nothing" is the snapshot of every table before and after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { limits } from '../../src/core/limits.js';
import { type ApiServer, problemOf, startApiServer } from '../support/api-server.js';
import { STORES } from '../support/stores.js';

const locations = 'code,name,kind\nWH1,Main,warehouse\nWH2,Shop,store\n';
const variants =
  'sku,name,barcode,product_group,attributes,components\n' +
  'A,Mug,871,mugs,color=red|size=M,\n' +
  'B,"Plate, big",,,,\n' +
  'KIT,Mug and plate,,,,A:2|B:1\n';

for (const factory of STORES) {
  describe(`${factory.name}: CSV import and export over HTTP`, { skip: factory.skip }, () => {
    let s: ApiServer;

    async function upload(kind: string, text: string | Buffer, query = '', contentType = 'text/csv') {
      return s.call({
        method: 'POST',
        url: `/v1/imports/${kind}${query}`,
        headers: { 'content-type': contentType },
        payload: text,
        as: 'write',
      });
    }

    before(async () => {
      s = await startApiServer(factory);
      for (const [kind, text] of [
        ['locations', locations],
        ['variants', variants],
      ] as const) {
        const response = await upload(kind, text);
        assert.equal(response.statusCode, 200, response.body);
      }
    });
    after(async () => s?.close());

    it('imports variants with a bundle, and a second import of the same file changes nothing', async () => {
      const variant = (await s.call({ method: 'GET', url: '/v1/variants/KIT', as: 'read' })).json();
      assert.deepEqual(variant.components, [
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 1 },
      ]);
      const mug = (await s.call({ method: 'GET', url: '/v1/variants/A', as: 'read' })).json();
      assert.deepEqual(mug.attributes, { color: 'red', size: 'M' });
      const before = await s.snapshot();
      const again = await upload('variants', variants);
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(again.json(), {
        kind: 'variants',
        rows: 3,
        applied: true,
        created: 0,
        updated: 0,
        unchanged: 3,
        errors: [],
      });
      assert.deepEqual(await s.snapshot(), before);
    });

    it('sets on_hand by counts, and the same stock file twice changes nothing', async () => {
      const stock = '\ufeffsku,location,on_hand\r\nA,WH1,10\r\nB,WH1,4\r\nA,WH2,0\r\n';
      const first = await upload('stock', stock);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), {
        kind: 'stock',
        rows: 3,
        applied: true,
        created: 2,
        updated: 0,
        unchanged: 1,
        errors: [],
      });
      const level = (await s.call({ method: 'GET', url: '/v1/stock/A', as: 'read' })).json();
      assert.equal(level.locations.find((each: { location: string }) => each.location === 'WH1').on_hand, 10);
      const before = await s.snapshot();
      const second = (await upload('stock', stock)).json() as Record<string, unknown> & { errors: unknown[] };
      assert.deepEqual(
        { ...second, errors: second.errors.length },
        { kind: 'stock', rows: 3, applied: true, created: 0, updated: 0, unchanged: 3, errors: 0 },
      );
      assert.deepEqual(await s.snapshot(), before);
    });

    it('imports purchase orders (a line per row) and mappings, each a second time unchanged', async () => {
      const orders =
        'purchase_order,supplier,status,line,sku,location,quantity,expected_at\n' +
        'PO-7,Ceramics BV,open,1,A,WH1,20,2026-03-15T00:00:00Z\n' +
        'PO-8,,open,1,B,WH2,5,\n' +
        'PO-7,Ceramics BV,open,2,B,WH1,10,\n';
      const first = await upload('purchase-orders', orders);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual([first.json().created, first.json().unchanged], [3, 0]);
      const order = (await s.call({ method: 'GET', url: '/v1/purchase-orders/PO-7', as: 'read' })).json();
      assert.deepEqual(
        order.lines.map((line: { line: number; sku: string; quantity_ordered: number }) => [
          line.line,
          line.sku,
          line.quantity_ordered,
        ]),
        [
          [1, 'A', 20],
          [2, 'B', 10],
        ],
      );
      assert.equal(order.supplier, 'Ceramics BV');
      const again = await upload('purchase-orders', orders);
      assert.deepEqual([again.json().created, again.json().updated, again.json().unchanged], [0, 0, 3]);
      const kit = problemOf(
        await upload('purchase-orders', 'purchase_order,line,sku,location,quantity\nPO-9,1,KIT,WH1,1\n'),
        422,
        'ONH_ERR_IMPORT_ROWS',
      );
      assert.deepEqual(
        kit.errors.map((error: { column: string }) => error.column),
        ['sku'],
      );

      const channel = await s.call({
        method: 'PUT',
        url: '/v1/channels',
        as: 'admin',
        payload: { channels: [{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }] },
      });
      assert.equal(channel.statusCode, 200, channel.body);
      const mappings = 'channel,external_id,sku\nbol,offer-1,A\nbol,offer-2,KIT\n';
      const mapped = await upload('mappings', mappings);
      assert.equal(mapped.statusCode, 200, mapped.body);
      assert.deepEqual([mapped.json().created, mapped.json().unchanged], [2, 0]);
      const remapped = await upload(
        'mappings',
        'channel,external_id,sku\nbol,offer-1,A\nbol,offer-2,B\nshop,x,A\n',
        '?mode=good',
      );
      assert.deepEqual(
        [remapped.json().created, remapped.json().updated, remapped.json().unchanged, remapped.json().errors[0].column],
        [0, 1, 1, 'channel'],
      );
      const listings = await upload(
        'listings',
        'channel,external_id,sku,barcode,rank\nbol,offer-1,,,5\nbol,offer-9,,871,\nbol,offer-10,,999,\n',
        '?mode=good',
      );
      assert.equal(listings.statusCode, 200, listings.body);
      assert.deepEqual(
        [listings.json().created, listings.json().errors.map((error: { line: number }) => error.line)],
        [2, [4]],
      );
      const listing = (await s.call({ method: 'GET', url: '/v1/listings?channel=bol', as: 'read' })).json();
      assert.deepEqual(
        listing.items.map((item: { external_id: string; sku: string }) => [item.external_id, item.sku]).sort(),
        [
          ['offer-1', 'A'],
          ['offer-9', 'A'],
        ],
      );
    });

    it('answers 422 naming the line and column of a bad row, and applies nothing', async () => {
      const before = await s.snapshot();
      const response = await upload('stock', 'sku,location,on_hand\nA,WH1,11\nB,WH1,many\nZZZ,WH1,1\n');
      const body = problemOf(response, 422, 'ONH_ERR_IMPORT_ROWS');
      assert.equal(body.applied, false);
      assert.equal(body.rows, 3);
      assert.deepEqual(
        body.errors.map((error: { line: number; column: string }) => [error.line, error.column]),
        [
          [3, 'on_hand'],
          [4, 'sku'],
        ],
      );
      assert.deepEqual(await s.snapshot(), before);
    });

    it('applies the good rows with mode=good and reports the bad', async () => {
      const response = await upload('locations', 'code,name,kind\nWH3,Third,3pl\nWH4,Fourth,castle\n', '?mode=good');
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.equal(body.applied, true);
      assert.equal(body.created, 1);
      assert.deepEqual(body.errors, [{ line: 3, column: 'kind', reason: body.errors[0].reason }]);
      assert.match(body.errors[0].reason, /must be one of/);
    });

    it('keeps line numbers right after a quoted field with line breaks', async () => {
      const response = await upload(
        'variants',
        'sku,name\nM1,"first line\nsecond line\nthird line"\nM2,\nM3,ok\n',
        '?dry_run=true',
      );
      const body = problemOf(response, 422, 'ONH_ERR_IMPORT_ROWS');
      assert.deepEqual(body.errors, [{ line: 5, column: 'name', reason: 'is empty; a value is required' }]);
      assert.equal(body.created, 2);
    });

    it('names unknown and missing columns on line 1', async () => {
      const body = problemOf(await upload('locations', 'code,name,colour\nX,Y,red\n'), 422, 'ONH_ERR_IMPORT_ROWS');
      assert.deepEqual(
        body.errors.map((error: { line: number; column: string }) => [error.line, error.column]),
        [
          [1, 'colour'],
          [1, 'kind'],
        ],
      );
    });

    it('refuses NUL and invalid UTF-8 per row, never the whole file', async () => {
      const text = Buffer.concat([
        Buffer.from('code,name,kind\nN1,a\u0000b,store\nN2,'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(',store\nN3,fine,store\n'),
      ]);
      const body = problemOf(await upload('locations', text, '?dry_run=true'), 422, 'ONH_ERR_IMPORT_ROWS');
      assert.deepEqual(
        body.errors.map((error: { line: number; column: string }) => [error.line, error.column]),
        [
          [2, 'name'],
          [3, 'name'],
        ],
      );
    });

    it('answers 413 over the body bound, 400 naming a bad query, 415 for JSON', async () => {
      const big = `code,name,kind\n${'x'.repeat(limits.csvImportBytesMax)}\n`;
      problemOf(await upload('locations', big), 413, 'ONH_ERR_BODY_TOO_LARGE');
      const bad = problemOf(await upload('locations', locations, '?dry_run=maybe'), 400, 'ONH_ERR_VALIDATION');
      assert.ok(
        bad.errors.some((error: { path: string }) => error.path.includes('dry_run')),
        JSON.stringify(bad),
      );
      const kind = problemOf(await upload('gadgets', locations), 400, 'ONH_ERR_VALIDATION');
      assert.ok(
        kind.errors.some((error: { path: string }) => error.path.includes('kind')),
        JSON.stringify(kind),
      );
      problemOf(await upload('locations', '{}', '', 'application/json'), 415, 'ONH_ERR_UNSUPPORTED_MEDIA_TYPE');
      problemOf(
        await s.call({
          method: 'POST',
          url: '/v1/imports/locations',
          as: 'read',
          headers: { 'content-type': 'text/csv' },
          payload: locations,
        }),
        403,
        'ONH_ERR_FORBIDDEN',
      );
    });

    it('exports stock and movements as CSV', async () => {
      const stock = await s.call({ method: 'GET', url: '/v1/exports/stock.csv', as: 'read' });
      assert.equal(stock.statusCode, 200, stock.body);
      assert.match(String(stock.headers['content-type']), /^text\/csv/);
      const lines = stock.body.trim().split('\n');
      assert.equal(lines[0], 'sku,location,on_hand,reserved,available,damaged,quarantine,in_transit,last_count_at');
      assert.ok(
        lines.some((line) => line.startsWith('A,WH1,10,0,10,')),
        stock.body,
      );
      const movements = await s.call({ method: 'GET', url: '/v1/exports/movements.csv', as: 'read' });
      assert.equal(movements.statusCode, 200, movements.body);
      const rows = movements.body.trim().split('\n');
      assert.ok(rows[0]!.startsWith('id,key,leg,type,sku,location'));
      assert.ok(rows.length >= 3, movements.body);
      assert.ok(
        rows.slice(1).every((row) => row.includes(',count,')),
        movements.body,
      );
      const none = await s.call({
        method: 'GET',
        url: '/v1/exports/movements.csv?since=2030-01-01T00:00:00Z',
        as: 'read',
      });
      assert.equal(none.body.trim().split('\n').length, 1);
      problemOf(
        await s.call({ method: 'GET', url: '/v1/exports/movements.csv?since=yesterday', as: 'read' }),
        400,
        'ONH_ERR_VALIDATION',
      );
    });
  });
}
