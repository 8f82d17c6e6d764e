/**
 * Goal: one error registry for everything that leaves the process (docs/errors.md, after
 * Fastify's test/internals/errors.test.js).
 *
 * Method: read the table of docs/errors.md and compare it, code by code and status by status,
 * with src/http/errors.ts; then scan src/ for ONH_ERR_* literals, so that an error code
 * raised anywhere (a store error, a ledger error) cannot reach the edge unregistered.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { errorRegistry } from '../../src/http/errors.js';

function documentedCodes(): Map<string, number> {
  const markdown = readFileSync('docs/errors.md', 'utf8');
  const rows = new Map<string, number>();
  for (const match of markdown.matchAll(/^\| `(ONH_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)) {
    assert.ok(!rows.has(match[1]!), `${match[1]} is documented twice`);
    rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('error registry', () => {
  const registry = new Map(Object.entries(errorRegistry).map(([code, entry]) => [code, entry.status]));

  it('documents every registered code with its status', () => {
    const documented = documentedCodes();
    for (const [code, status] of registry) {
      assert.ok(documented.has(code), `${code} is in src/http/errors.ts but not in docs/errors.md`);
      assert.equal(
        documented.get(code),
        status,
        `${code}: docs/errors.md says ${documented.get(code)}, the registry ${status}`,
      );
    }
  });

  it('documents no code the registry lacks', () => {
    for (const code of documentedCodes().keys()) {
      assert.ok(registry.has(code), `${code} is documented in docs/errors.md but not in src/http/errors.ts`);
    }
  });

  it('registers every ONH_ERR_* code named in src/', () => {
    for (const file of sourceFiles('src')) {
      for (const match of readFileSync(file, 'utf8').matchAll(/ONH_ERR_[A-Z_]*[A-Z]/g)) {
        assert.ok(registry.has(match[0]), `${file} names ${match[0]}, which src/http/errors.ts does not register`);
      }
    }
  });

  it('gives every code a title and an error status', () => {
    for (const [code, entry] of Object.entries(errorRegistry)) {
      assert.ok(entry.title.length > 0, code);
      assert.ok(entry.status >= 400 && entry.status <= 599, code);
    }
  });
});
