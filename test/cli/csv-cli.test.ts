/**
 * `onhand import` and `onhand export` as a user runs them (in-process, test/support/cli-harness.ts)
 * on both stores: the example files of examples/csv import; a file with one bad row prints
 * `FILE:LINE: column <name>: <reason>`, exits 1 and changes nothing; `--apply-good` applies the
 * others; a second import of the same file changes nothing; a quoted field with line breaks
 * keeps the next rows' line numbers right; usage errors exit 2; a terminal gets a progress bar
 * on stderr; exports write CSV to stdout or --out.
 * Method: temp files, the CLI's own store opened by --database, levels read back through a
 * store opened on the same database after each command.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { onhand } from '../support/cli-harness.js';
import { STORES, type TestStore } from '../support/stores.js';

const examples = join(import.meta.dirname, '../../examples/csv');

for (const factory of STORES) {
  describe(`${factory.name}: onhand import and export`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let directory: string;
    const db = () => ['--database', test.database];
    const file = (name: string, text: string) => {
      const path = join(directory, name);
      writeFileSync(path, text);
      return path;
    };
    async function onHand(sku: string, location: string): Promise<number | undefined> {
      const stock = await test.store.ledger.getStock(sku, Date.now());
      return stock?.locations.find((level) => level.location === location)?.on_hand;
    }

    before(async () => {
      test = await factory.create();
      directory = mkdtempSync(join(tmpdir(), 'onhand-csv-cli-'));
    });
    after(async () => {
      await test?.cleanup();
      rmSync(directory, { recursive: true, force: true });
    });

    it('imports the example locations, variants and stock', async () => {
      for (const kind of ['locations', 'variants', 'stock']) {
        const result = await onhand(['import', kind, join(examples, `${kind}.csv`), ...db()]);
        assert.equal(result.code, 0, `${kind}: ${result.stdout}${result.stderr}`);
        assert.match(result.stdout, new RegExp(`^${kind}: \\d+ rows, \\d+ created, 0 updated, 0 unchanged\\n$`));
      }
      assert.equal(await onHand('MUG-RED', 'AMS'), 6);
      const again = await onhand(['import', 'stock', join(examples, 'stock.csv'), ...db()]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, 'stock: 4 rows, 0 created, 0 updated, 4 unchanged\n');
    });

    it('reports a bad row as FILE:LINE: column: reason, exits 1 and applies nothing', async () => {
      const path = file(
        'counts.csv',
        'sku,location,on_hand,note\nMUG-RED,WH1,100,"two\nlines"\nPLATE,WH1,-3,\nMUG-BLUE,NOWHERE,5,\n',
      );
      const result = await onhand(['import', 'stock', path, ...db()]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.equal(
        result.stderr,
        `${path}:4: column on_hand: must be between 0 and 1000000000\n` +
          `${path}:5: column location: no location with code NOWHERE\n`,
      );
      assert.match(result.stdout, /nothing applied: 2 bad rows/);
      assert.equal(await onHand('MUG-RED', 'WH1'), 120);

      const dry = await onhand(['import', 'stock', path, '--dry-run', ...db()]);
      assert.equal(dry.code, 1);
      assert.equal(await onHand('MUG-RED', 'WH1'), 120);

      const good = await onhand(['import', 'stock', path, '--apply-good', ...db()]);
      assert.equal(good.code, 1, good.stdout + good.stderr);
      assert.equal(good.stdout, 'stock: 3 rows, 0 created, 1 updated, 0 unchanged; 2 bad rows left out\n');
      assert.equal(await onHand('MUG-RED', 'WH1'), 100);
      assert.equal(await onHand('PLATE', 'WH1'), 40);
    });

    it('exits 2 on usage errors', async () => {
      for (const args of [
        ['import'],
        ['import', 'gadgets', 'x.csv'],
        ['import', 'stock', join(directory, 'none.csv')],
      ]) {
        const result = await onhand([...args, ...db()]);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /^onhand: /);
      }
      const since = await onhand(['export', 'movements', '--since', 'yesterday', ...db()]);
      assert.equal(since.code, 2);
      assert.match(since.stderr, /--since/);
      assert.equal((await onhand(['export', 'gadgets', ...db()])).code, 2);
    });

    it('draws a progress bar on a terminal only', async () => {
      const rows = Array.from({ length: 50 }, (_, index) => `P${index},Part ${index}`).join('\n');
      const path = file('parts.csv', `sku,name\n${rows}\n`);
      const tty = await onhand(['import', 'variants', path, ...db()], {}, { tty: true });
      assert.equal(tty.code, 0, tty.stderr);
      assert.match(tty.stderr, /\r\[#+\] 100% 50\/50 rows\n$/);
      const plain = await onhand(['import', 'variants', path, ...db()]);
      assert.equal(plain.stderr, '');
      assert.equal(plain.stdout, 'variants: 50 rows, 0 created, 0 updated, 50 unchanged\n');
    });

    it('exports stock and movements to stdout or a file', async () => {
      const stock = await onhand(['export', 'stock', ...db()]);
      assert.equal(stock.code, 0, stock.stderr);
      const lines = stock.stdout.trim().split('\n');
      assert.equal(lines[0], 'sku,location,on_hand,reserved,available,damaged,quarantine,in_transit,last_count_at');
      assert.ok(
        lines.some((line) => line.startsWith('MUG-RED,WH1,100,0,100,')),
        stock.stdout,
      );
      const out = join(directory, 'movements.csv');
      const movements = await onhand(['export', 'movements', '--since', '2000-01-01T00:00:00Z', '--out', out, ...db()]);
      assert.equal(movements.code, 0, movements.stderr);
      const records = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
      assert.deepEqual(
        records.map((record) => [record.type, record.sku, record.location, record.resulting_on_hand]),
        [
          ['count', 'MUG-RED', 'WH1', '120'],
          ['count', 'MUG-BLUE', 'WH1', '80'],
          ['count', 'PLATE', 'WH1', '40'],
          ['count', 'MUG-RED', 'AMS', '6'],
          ['count', 'MUG-RED', 'WH1', '100'],
        ],
      );
      const future = await onhand(['export', 'movements', '--since', '2100-01-01T00:00:00Z', ...db()]);
      assert.equal(future.stdout.trim().split('\n').length, 1);
    });
  });
}
