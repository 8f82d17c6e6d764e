/**
 * Goal: canonicalJson (src/core/canonical-json.ts) is what the idempotency check hashes, so two
 * payloads that mean the same must give the same string and two that differ must not.
 * Method: a table of exact outputs for the edge cases, then properties over random JSON values
 * (fast-check): same meaning as JSON.stringify, independent of key order, a fixed point.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../src/core/canonical-json.js';

/** Same object with its keys inserted in reverse order, recursively. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  // Object.fromEntries, not `out[name] =`: a "__proto__" key must stay an own property.
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((name) => [name, reverseKeys((value as Record<string, unknown>)[name])]),
  );
}

describe('canonicalJson', () => {
  const rows: [string, unknown, string][] = [
    ['keys sorted, no whitespace', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    [
      'nested objects sorted at every depth',
      { z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null },
      '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}',
    ],
    ['arrays keep their order', [3, 1, 2], '[3,1,2]'],
    ['undefined members are dropped', { a: undefined, b: 1 }, '{"b":1}'],
    ['undefined in an array becomes null (as JSON.stringify)', [1, undefined, 2], '[1,null,2]'],
    ['empty object and array', { a: {}, b: [] }, '{"a":{},"b":[]}'],
    ['scalars as JSON', [true, false, null, 0, -1.5, 'x'], '[true,false,null,0,-1.5,"x"]'],
    ['strings escaped as JSON', { 'quo"te': 'line\nbreak \u2028 é' }, '{"quo\\"te":"line\\nbreak \u2028 é"}'],
    [
      '-0 is 0, NaN and Infinity are null (as JSON.stringify)',
      [-0, Number.NaN, Number.POSITIVE_INFINITY],
      '[0,null,null]',
    ],
    [
      'keys sort by UTF-16 code units: uppercase before lowercase, digits first',
      { b: 1, B: 2, '10': 3, '9': 4 },
      '{"10":3,"9":4,"B":2,"b":1}',
    ],
    ['a lone undefined is null', undefined, 'null'],
    [
      'an own "__proto__" key (as JSON.parse makes it) is kept, sorted like any key',
      JSON.parse('{"a":2,"__proto__":{"x":1}}'),
      '{"__proto__":{"x":1},"a":2}',
    ],
  ];
  for (const [name, input, output] of rows) {
    it(name, () => assert.equal(canonicalJson(input), output));
  }

  it('payloads that differ in meaning differ', () => {
    assert.notEqual(canonicalJson({ quantity: 1 }), canonicalJson({ quantity: '1' }));
    assert.notEqual(canonicalJson({ a: null }), canonicalJson({}));
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.notEqual(canonicalJson({ a: { b: 1 } }), canonicalJson({ 'a.b': 1 }));
  });

  it('property: means what JSON.stringify means (parses to the same value)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  it('property: independent of key insertion order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(canonicalJson(reverseKeys(value)), canonicalJson(value));
      }),
      { numRuns: 300 },
    );
  });

  it('property: a fixed point, and with no whitespace outside strings', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(value);
        assert.equal(canonicalJson(JSON.parse(once)), once);
        assert.doesNotMatch(once.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/);
      }),
      { numRuns: 300 },
    );
  });
});
