/**
 * The `onhand` command as a user runs it: real processes (`src/main.ts` through tsx) on a
 * temp SQLite file. Goal: every command answers --help, tokens can be created, listed and
 * revoked, `verify` exits 0 on a sound ledger and 1 when a level disagrees with its movements,
 * a bad setting stops with a message naming it, and `serve` prints a one-time admin token on
 * first start only and loads the demo catalogue with --demo.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';

const main = new URL('../../src/main.ts', import.meta.url).pathname;

function onhand(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', ONHAND_DATABASE: '', ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Start `onhand serve`, wait for its banner, return its output and a stop function. */
async function serve(args: string[]): Promise<{ banner: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  for (let waited = 0; !output.includes('API docs'); waited += 100) {
    if (waited > 30_000 || child.exitCode !== null) throw new Error(`serve did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    banner: output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('onhand CLI', { concurrency: false }, () => {
  let directory: string;
  let database: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-cli-'));
    database = join(directory, 'cli.db');
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('answers --help for every command', () => {
    for (const args of [['--help'], ['serve', '--help'], ['migrate', '--help'], ['token', '--help'], ['token', 'create', '--help'], ['token', 'list', '--help'], ['token', 'revoke', '--help'], ['verify', '--help']]) {
      const result = onhand(args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: onhand/);
    }
    assert.match(onhand(['serve', '--help']).stdout, /--database/);
  });

  it('migrates, then says it is up to date', () => {
    const shipped = readdirSync(new URL('../../src/store/sqlite/migrations/', import.meta.url)).map((name) => name.replace(/\.sql$/, '')).sort();
    assert.equal(onhand(['migrate', '--database', database]).stdout.trim(), `applied ${shipped.join(', ')}`);
    assert.equal(onhand(['migrate', '--database', database]).stdout.trim(), `up to date at ${shipped[shipped.length - 1]}`);
  });

  it('creates, lists and revokes tokens; only a hash is stored', () => {
    const created = onhand(['token', 'create', '--scope', 'write', '--name', 'wms', '--database', database]);
    assert.equal(created.code, 0, created.stderr);
    const match = /created token (tok_\S+) \(write\): (onh_write_\S+)/.exec(created.stdout);
    assert.ok(match, created.stdout);
    const [, id, secret] = match;
    const db = new Database(database, { readonly: true });
    const stored = JSON.stringify(db.prepare('SELECT * FROM tokens').all());
    db.close();
    assert.ok(!stored.includes(secret!), 'the secret itself is never stored');
    assert.match(onhand(['token', 'list', '--database', database]).stdout, new RegExp(`${id}\\twrite\\twms\\t.*\\tactive`));
    assert.equal(onhand(['token', 'revoke', id!, '--database', database]).code, 0);
    assert.match(onhand(['token', 'list', '--database', database]).stdout, /revoked/);
    const again = onhand(['token', 'revoke', id!, '--database', database]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no active token/);
    const badScope = onhand(['token', 'create', '--scope', 'root', '--database', database]);
    assert.notEqual(badScope.code, 0);
    assert.match(badScope.stderr, /root.*(read|choices)/i);
  });

  it('stops with a message naming a bad setting', () => {
    const port = onhand(['serve', '--port', 'abc', '--database', database]);
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /--port/);
    const env = onhand(['verify', '--database', database], { ONHAND_IDEMPOTENCY_RETENTION_DAYS: '0' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /ONHAND_IDEMPOTENCY_RETENTION_DAYS/);
  });

  it('serve prints a one-time admin token on first start, loads the demo, and verify passes on it', async () => {
    const fresh = join(directory, 'serve.db');
    const first = await serve(['--demo', '--database', fresh]);
    const token = /onh_admin_\S+/.exec(first.banner)?.[0];
    assert.ok(token, first.banner);
    const address = /API +(http:\/\/\S+)\/v1/.exec(first.banner)![1];
    const stock = await fetch(`${address}/v1/stock/TEE-RED-M`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(stock.status, 200);
    const variants = await fetch(`${address}/v1/variants?limit=500`, { headers: { authorization: `Bearer ${token}` } });
    const listed = (await variants.json()) as { items?: unknown[]; variants?: unknown[] } | unknown[];
    const count = Array.isArray(listed) ? listed.length : (listed.items ?? listed.variants ?? []).length;
    assert.ok(count >= 180 && count <= 250, `about 200 demo variants, got ${count}`);
    assert.equal(await first.stop(), 0, 'a clean shutdown on SIGTERM');
    const second = await serve(['--demo', '--database', fresh]);
    assert.doesNotMatch(second.banner, /onh_admin_/, 'the token is shown once, on the first start only');
    await second.stop();
    const verify = onhand(['verify', '--database', fresh]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /0 mismatches/);
  });

  it('verify exits 1 and names the level when a stored level disagrees with its movements', () => {
    const fresh = join(directory, 'serve.db');
    const db = new Database(fresh);
    db.prepare('UPDATE levels SET on_hand = on_hand + 1 WHERE (variant_id, location_id) = (SELECT variant_id, location_id FROM levels WHERE version > 0 LIMIT 1)').run();
    db.close();
    const verify = onhand(['verify', '--database', fresh]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /MISMATCH \S+ @ \S+: on_hand stored \d+, movements say \d+/);
  });
});
