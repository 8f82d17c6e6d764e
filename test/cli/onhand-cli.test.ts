/**
 * The `onhand` command as a user runs it, in-process (test/support/cli-harness.ts) on a temp
 * SQLite file. Goal: every command answers --help, tokens can be created, listed and revoked,
 * and a bad setting stops with a message naming it. `serve` (a one-time admin token on first
 * start, the demo catalogue with --demo) and `verify`'s exit codes on a served database run the
 * built binary: test/cli/onhand-binary.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { onhand } from '../support/cli-harness.js';

describe('onhand CLI', { concurrency: false }, () => {
  let directory: string;
  let database: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-cli-'));
    database = join(directory, 'cli.db');
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('answers --help for every command', async () => {
    for (const args of [
      ['--help'],
      ['serve', '--help'],
      ['migrate', '--help'],
      ['token', '--help'],
      ['token', 'create', '--help'],
      ['token', 'list', '--help'],
      ['token', 'revoke', '--help'],
      ['verify', '--help'],
    ]) {
      const result = await onhand(args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: onhand/);
    }
    assert.match((await onhand(['serve', '--help'])).stdout, /--database/);
  });

  it('--version prints the version of package.json and exits 0', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const result = await onhand([flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${manifest.version}\n`);
    }
  });

  it('migrates, then says it is up to date', async () => {
    const shipped = readdirSync(new URL('../../src/store/sqlite/migrations/', import.meta.url))
      .map((name) => name.replace(/\.sql$/, ''))
      .sort();
    assert.equal((await onhand(['migrate', '--database', database])).stdout.trim(), `applied ${shipped.join(', ')}`);
    assert.equal(
      (await onhand(['migrate', '--database', database])).stdout.trim(),
      `up to date at ${shipped[shipped.length - 1]}`,
    );
  });

  it('creates, lists and revokes tokens; only a hash is stored', async () => {
    const created = await onhand(['token', 'create', '--scope', 'write', '--name', 'wms', '--database', database]);
    assert.equal(created.code, 0, created.stderr);
    const match = /created token (tok_\S+) \(write\): (onh_write_\S+)/.exec(created.stdout);
    assert.ok(match, created.stdout);
    const [, id, secret] = match;
    const db = new Database(database, { readonly: true });
    const stored = JSON.stringify(db.prepare('SELECT * FROM tokens').all());
    db.close();
    assert.ok(!stored.includes(secret!), 'the secret itself is never stored');
    const listed = (await onhand(['token', 'list', '--database', database])).stdout;
    assert.match(listed, /^ID\tSCOPE\tNAME\tCREATED\tSTATE\n/, 'a header row first');
    assert.match(listed, new RegExp(`${id}\\twrite\\twms\\t.*\\tactive`));
    assert.equal((await onhand(['token', 'revoke', id!, '--database', database])).code, 0);
    assert.match((await onhand(['token', 'list', '--database', database])).stdout, /revoked/);
    const again = await onhand(['token', 'revoke', id!, '--database', database]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no active token/);
    const badScope = await onhand(['token', 'create', '--scope', 'root', '--database', database]);
    assert.notEqual(badScope.code, 0);
    assert.match(badScope.stderr, /root.*(read|choices)/i);
  });

  it('stops with a message naming a bad setting', async () => {
    const port = await onhand(['serve', '--port', 'abc', '--database', database]);
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /--port/);
    const env = await onhand(['verify', '--database', database], { ONHAND_IDEMPOTENCY_RETENTION_DAYS: '0' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /ONHAND_IDEMPOTENCY_RETENTION_DAYS/);
  });
});
