/**
 * Reading and checking CSV rows (src/csv, pure: no store): line numbers as an editor shows them
 * (header = line 1, quoted line breaks counted, CRLF and LF mixed, a BOM, blank lines), the
 * header's unknown, missing and repeated columns, per-row refusals (wrong field count, broken
 * quoting, NUL, lone surrogates, invalid UTF-8, over-long fields), every kind's value checks,
 * and a key repeated in the file. Table-driven: a file's text and the errors expected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limits } from '../../src/core/limits.js';
import { checkCsvFile, type ImportKind } from '../../src/csv/csv-kinds.js';

interface Case {
  name: string;
  kind: ImportKind;
  text: string;
  /** `line column` of every error, in file order. */
  errors: string[];
  items?: number;
  rows?: number;
}

const cases: Case[] = [
  { name: 'a good file', kind: 'locations', text: 'code,name,kind\nA,a,store\nB,b,3pl\n', errors: [], items: 2 },
  {
    name: 'a BOM, CRLF and a missing last line break',
    kind: 'locations',
    text: '\ufeffcode,name,kind\r\nA,a,store\r\nB,b,nope',
    errors: ['3 kind'],
    items: 1,
  },
  {
    name: 'quoted line breaks move the next rows down',
    kind: 'variants',
    text: 'sku,name\nA,"one\ntwo\r\nthree"\nB,\nC,"x\n"\nD,\n',
    errors: ['5 name', '8 name'],
    items: 2,
    rows: 4,
  },
  {
    name: 'blank lines still count',
    kind: 'locations',
    text: 'code,name,kind\n\nA,a,store\n\n\nB,b,castle\n',
    errors: ['6 kind'],
  },
  {
    name: 'unknown, repeated and missing columns are errors of line 1, and no row is read',
    kind: 'locations',
    text: 'code,code,colour\nA,A,red\n',
    errors: ['1 code', '1 colour', '1 name', '1 kind'],
    items: 0,
  },
  { name: 'an empty file', kind: 'stock', text: '', errors: ['1 (header)'] },
  {
    name: 'too few and too many fields',
    kind: 'locations',
    text: 'code,name,kind\nA,a\nB,b,store,x\nC,c,store\n',
    errors: ['2 kind', '3 #4 (beyond the header)'],
    items: 1,
  },
  {
    name: 'broken quoting is an error of its row',
    kind: 'locations',
    text: 'code,name,kind\nA,"a"x,store\n',
    errors: ['2 name'],
  },
  {
    name: 'NUL, lone surrogates, invalid UTF-8 and over-long fields',
    kind: 'locations',
    text: `code,name,kind\nA,a\u0000,store\nB,\ud800,store\nC,\ufffd,store\nD,${'x'.repeat(limits.csvFieldLengthMax + 1)},store\nE,e,store\n`,
    errors: ['2 name', '3 name', '4 name', '5 name'],
    items: 1,
  },
  {
    name: 'a key twice names the first line',
    kind: 'stock',
    text: 'sku,location,on_hand\nA,WH1,1\nA,WH2,1\nA,WH1,2\n',
    errors: ['4 location'],
  },
  {
    name: 'stock values',
    kind: 'stock',
    text: 'sku,location,on_hand,counted_at,source_version\nA,W,-1,,\nB,W,1.5,,\nC,W,1000000001,,\nD,W,3,2026-03-01,\nE,W,3,2026-03-01T09:00:00+01:00,7\n',
    errors: ['2 on_hand', '3 on_hand', '4 on_hand', '5 counted_at'],
    items: 1,
  },
  {
    name: 'the stock export imports as it is',
    kind: 'stock',
    text: 'sku,location,on_hand,reserved,available,damaged,quarantine,in_transit,last_count_at\nA,W,5,2,3,0,0,0,\n',
    errors: [],
    items: 1,
  },
  {
    name: 'variant attributes and components',
    kind: 'variants',
    text: 'sku,name,attributes,components\nA,a,color=red|size=M,\nB,b,color,\nC,c,x=1|x=2,\nD,d,,A:2|B:x\nE,e,,A:0\nF,f,,A:1|B:2\n',
    errors: ['3 attributes', '4 attributes', '5 components', '6 components'],
    items: 2,
  },
  {
    name: "a purchase order's rows agree on supplier and status",
    kind: 'purchase-orders',
    text: 'purchase_order,supplier,status,line,sku,location,quantity\nP,S,open,1,A,W,1\nP,T,open,2,A,W,1\nP,S,closed,3,A,W,1\nP,S,open,1,B,W,1\nQ,,,1,A,W,0\n',
    errors: ['3 supplier', '4 status', '5 line', '6 quantity'],
    items: 1,
  },
  {
    name: 'listings and mappings',
    kind: 'listings',
    text: 'channel,external_id,sku,rank,external_refs\nshop,1,A,5,product=9\nshop,2,,-1,\nshop,1,B,,\n',
    errors: ['3 rank', '4 external_id'],
    items: 1,
  },
];

describe('CSV rows', () => {
  for (const each of cases) {
    it(each.name, () => {
      const checked = checkCsvFile(each.kind, each.text);
      assert.deepEqual(
        checked.errors.map((error) => `${error.line} ${error.column}`),
        each.errors,
        JSON.stringify(checked.errors),
      );
      if (each.items !== undefined) assert.equal(checked.items.length, each.items);
      if (each.rows !== undefined) assert.equal(checked.rows, each.rows);
    });
  }

  it('turns a row into what the bulk API takes', () => {
    const checked = checkCsvFile(
      'variants',
      'sku,name,barcode,product_group,attributes,components\n KIT , Set ,,,size=M, A:2 | B:1\n',
    );
    assert.deepEqual(checked.items, [
      {
        line: 2,
        item: {
          sku: 'KIT',
          name: 'Set',
          barcode: null,
          productGroup: null,
          attributes: { size: 'M' },
          components: [
            { sku: 'A', quantity: 2 },
            { sku: 'B', quantity: 1 },
          ],
        },
      },
    ]);
  });
});
