/**
 * COPY text format (PostgreSQL bulk inserts): every value the ledger writes must come back
 * byte-exact. Goal: NULL is the only value written as `\N`; backslash, tab, newline and carriage
 * return are escaped; nothing else is touched. (The round trip through a real PostgreSQL is in
 * the store conformance suite.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { copyLine, copyValue } from '../../src/store/postgres/copy-rows.js';

/** COPY's text-format decoder for the escapes we emit (PostgreSQL's copyfrom.c, reduced). */
function decode(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(.)/gs, (_, char: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[char] ?? char);
}

describe('COPY text format', () => {
  it('writes NULL as \\N and numbers as digits', () => {
    assert.equal(copyValue(null), '\\N');
    assert.equal(copyValue(undefined), '\\N');
    assert.equal(copyValue(-42), '-42');
    assert.equal(copyValue(1763900000000), '1763900000000');
    assert.equal(copyLine([1, null, 'a']), '1\t\\N\ta\n');
  });

  it('escapes exactly backslash, tab, newline and carriage return', () => {
    assert.equal(copyValue('\\N'), '\\\\N', 'a string spelled like the NULL marker is not NULL');
    assert.equal(copyValue('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
    assert.equal(copyValue('plain é 📦 "q" \'s\' ,;|'), 'plain é 📦 "q" \'s\' ,;|');
  });

  it('round-trips any string: a line splits into the fields given', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: 'binary' }), { nil: null }), { minLength: 1, maxLength: 6 }),
        (values) => {
          const line = copyLine(values);
          assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one physical line per row');
          assert.deepEqual(line.slice(0, -1).split('\t').map(decode), values);
        },
      ),
      { numRuns: 500 },
    );
  });
});
