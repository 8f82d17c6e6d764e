/**
 * Goal: the admin token of a first start cannot be lost to a crash. Only its hash is stored, so
 * a token stored and never shown would lock every operator out (the next start sees a token
 * and makes none). bootstrapAdminToken shows it first, then stores it.
 *
 * Method: a crash injected between the two steps, twice: in-process (the store's insert throws)
 * and as a real crash (a child process SIGKILLs itself inside the insert, after the token went
 * to its stdout pipe). Each time the token was shown, nothing was stored, and the next start
 * shows and stores a new one whose hash is the stored one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapAdminToken, hashToken, type IssuedToken } from '../../src/api/tokens.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const clock = { now: () => Date.parse('2026-03-02T09:00:00.000Z') };
let next = 0;
const ids = { next: (prefix: string) => `${prefix}_${++next}` };

/** The store with its token insert replaced by `insert`. */
function withInsert(store: LedgerStore, insert: () => Promise<void>): LedgerStore {
  const tokens = Object.create(store.tokens, { createToken: { value: insert } });
  return Object.create(store, { tokens: { value: tokens } }) as LedgerStore;
}

describe('the first start admin token', () => {
  let directory: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-bootstrap-'));
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  async function migrated(name: string): Promise<SqliteStore> {
    const store = new SqliteStore({ filename: join(directory, name) });
    await store.migrate();
    return store;
  }

  it('is shown before it is stored: a failure in between leaves it shown and a new one next start', async () => {
    const store = await migrated('thrown.db');
    try {
      const steps: string[] = [];
      const shown: IssuedToken[] = [];
      const crashing = withInsert(store, async () => {
        steps.push('store');
        throw new Error('injected crash before commit');
      });
      await assert.rejects(
        bootstrapAdminToken(crashing, clock, ids, (issued) => {
          steps.push('show');
          shown.push(issued);
        }),
        /injected crash/,
      );
      assert.deepEqual(steps, ['show', 'store'], 'shown first');
      assert.match(shown[0]!.token, /^onh_admin_/);
      assert.equal(await store.tokens.countTokens(), 0, 'nothing stored');

      const again = await bootstrapAdminToken(store, clock, ids, (issued) => shown.push(issued));
      assert.ok(again);
      assert.equal(shown.length, 2, 'the next start shows a token');
      assert.notEqual(shown[1]!.token, shown[0]!.token);
      assert.equal((await store.tokens.findTokenByHash(hashToken(again.token)))?.scope, 'admin');
      assert.equal(
        await bootstrapAdminToken(store, clock, ids, () => assert.fail('shown twice')),
        undefined,
        'a later start makes none',
      );
    } finally {
      await store.close();
    }
  });

  it('survives a real crash (SIGKILL) between showing and storing', async () => {
    const database = join(directory, 'killed.db');
    await (await migrated('killed.db')).close();
    const tokens = new URL('../../src/api/tokens.ts', import.meta.url).href;
    const sqlite = new URL('../../src/store/sqlite/sqlite-store.ts', import.meta.url).href;
    const script = `
      import { bootstrapAdminToken } from ${JSON.stringify(tokens)};
      import { SqliteStore } from ${JSON.stringify(sqlite)};
      const store = new SqliteStore({ filename: ${JSON.stringify(database)} });
      const kill = Object.create(store.tokens, { createToken: { value: async () => process.kill(process.pid, 'SIGKILL') } });
      const crashing = Object.create(store, { tokens: { value: kill } });
      await bootstrapAdminToken(crashing, { now: () => 0 }, { next: (p) => p + '_1' }, (issued) =>
        process.stdout.write('token ' + issued.token + '\\n'));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    const shown = /token (onh_admin_\S+)/.exec(child.stdout)?.[1];
    assert.ok(shown, `the token reached stdout before the crash:\n${child.stdout}`);
    const store = new SqliteStore({ filename: database });
    try {
      assert.equal(await store.tokens.countTokens(), 0, 'the crash stored nothing');
      assert.equal(await store.tokens.findTokenByHash(hashToken(shown)), null);
      const again = await bootstrapAdminToken(store, clock, ids, () => undefined);
      assert.ok(again, 'the next start makes a new one');
      assert.equal(await store.tokens.countTokens(), 1);
    } finally {
      await store.close();
    }
  });
});
