/**
 * Goal: jsonFaults (src/core/json-bounds.ts) refuses exactly the text and nesting the stores
 * cannot keep (a NUL, a lone surrogate, in a value or a key; nesting past the bound), and names
 * each place by its JSON Pointer. It answers a clean value on a walk that builds no path, so
 * that walk must agree with the one that does.
 * Method: a table of edge cases with their exact faults, then a property over random JSON values
 * with planted faults (fast-check), against a recursive reference written from the rules alone
 * (surrogates judged by their code units, not by the engine's isWellFormed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonFaults, textFault } from '../../src/core/json-bounds.js';

/** The rules, one code unit at a time. */
function referenceTextBad(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit === 0) return true;
    const high = unit >= 0xd800 && unit <= 0xdbff;
    const low = unit >= 0xdc00 && unit <= 0xdfff;
    if (high) {
      const next = text.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      index += 1;
    } else if (low) return true;
  }
  return false;
}

function token(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Every fault's path, recursively; a node at the bound is a fault and is not entered. */
function referenceFaults(value: unknown, depthMax: number, path = '', depth = 0): string[] {
  if (typeof value === 'string') return referenceTextBad(value) ? [path] : [];
  if (value === null || typeof value !== 'object') return [];
  if (depth >= depthMax) return [path];
  const out: string[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      out.push(...referenceFaults(item, depthMax, `${path}/${index}`, depth + 1));
    });
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    const itemPath = `${path}/${token(key)}`;
    if (referenceTextBad(key)) out.push(itemPath);
    else out.push(...referenceFaults(item, depthMax, itemPath, depth + 1));
  }
  return out;
}

describe('jsonFaults: the table', () => {
  const cases: [string, unknown, { path: string; message: RegExp }[]][] = [
    ['a clean order', { sku: 'TEE', lines: [{ q: 1, note: 'Grüße 😀' }] }, []],
    ['a NUL in a value', { a: ['x', 'y\u0000'] }, [{ path: '/a/1', message: /U\+0000/ }]],
    ['a NUL in a key', { 'k\u0000': 1 }, [{ path: '/k\u0000', message: /its key must not contain U\+0000/ }]],
    ['a lone high half at the end', { a: 'x\ud83d' }, [{ path: '/a', message: /lone surrogate/ }]],
    ['a lone low half', ['\ude00x'], [{ path: '/0', message: /lone surrogate/ }]],
    ['two high halves then a low one', ['\ud83d\ud83d\ude00'], [{ path: '/0', message: /lone surrogate/ }]],
    ['a key with / and ~', { 'a/b~c': '\u0000' }, [{ path: '/a~1b~0c', message: /U\+0000/ }]],
    ['an object past the bound', { a: { b: { c: { d: {} } } } }, [{ path: '/a/b/c/d', message: /deeper than 4/ }]],
    ['a string at the bound is still text', { a: { b: { c: { d: 'ok' } } } }, []],
    ['a scalar document', 'plain', []],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      const faults = jsonFaults(value, { depthMax: 4, faultsMax: 10 });
      assert.equal(faults.length, expected.length, JSON.stringify(faults));
      faults.forEach((fault, index) => {
        assert.equal(fault.path, expected[index]!.path);
        assert.match(fault.message, expected[index]!.message);
      });
    });
  }

  it('prefixes paths and stops at faultsMax', () => {
    const faults = jsonFaults(['\u0000', '\u0000', '\u0000'], { depthMax: 4, faultsMax: 2, pathPrefix: 'body' });
    assert.deepEqual(
      faults.map((fault) => fault.path),
      ['body/0', 'body/1'],
    );
  });

  it('textFault: NUL first, then surrogates, else nothing', () => {
    assert.match(textFault('\u0000\ud800')!, /U\+0000/);
    assert.match(textFault('\udfff')!, /lone surrogate/);
    assert.equal(textFault('\ud83d\ude00'), undefined);
  });
});

describe('jsonFaults against the reference', () => {
  // Strings drawn from code units, so halves and NULs appear on their own.
  const text = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.constantFrom('\u0000', '\ud800', '\udc00', '\ud83d\ude00', 'a\ud83d', '~/'),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      fc.integer(),
      fc.constant(null),
      fc.boolean(),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(text, tie('node'), { maxKeys: 4 }),
    ),
  })).node;

  it('finds a fault exactly when the reference does, at the same paths', () => {
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 6 }), (document, depthMax) => {
        const expected = referenceFaults(document, depthMax).sort();
        const found = jsonFaults(document, { depthMax, faultsMax: 1_000 })
          .map((fault) => fault.path)
          .sort();
        assert.deepEqual(found, expected);
      }),
      { numRuns: 2_000 },
    );
  });
});
