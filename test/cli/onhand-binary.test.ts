/**
 * The built `onhand` binary as a user starts it: the few things that need a real process.
 * Goal: it starts, answers --help and exits with the documented codes; `serve` prints a
 * one-time admin token on first start only, loads the demo catalogue with --demo, shuts down
 * cleanly on SIGTERM, and `verify` exits 0 on the served database and 1 when a level
 * disagrees with its movements.
 *
 * The load path: those runs take test/support/load-recorder.mjs, which logs each module the
 * process resolves. `onhand --help` and a plain `serve` load nothing under src/demo/ or sim/
 * (the simulators are for the demo, tests and benches); `serve --demo` loads both. Everything
 * else about the commands is tested in-process (onhand-cli, availability-cli, sync-cli).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ensureBuilt } from '../support/built-binary.js';
import { pgAdminUrl, STORES } from '../support/stores.js';

const recorder = new URL('../support/load-recorder.mjs', import.meta.url).pathname;
let binary: string;
let directory: string;
let logs = 0;

const environment = { ...process.env, DATABASE_URL: '', ONHAND_DATABASE: '' };

function newLog(): string {
  return join(directory, `loaded-${++logs}.txt`);
}

/** The dist/ files a process loaded, relative to dist/ (`src/main.js`, `sim/prng.js`...). */
function loaded(log: string): string[] {
  if (!existsSync(log)) return [];
  const urls = readFileSync(log, 'utf8')
    .split('\n')
    .filter((url) => url.includes('/dist/'));
  return [...new Set(urls.map((url) => url.slice(url.indexOf('/dist/') + '/dist/'.length)))].sort();
}

function demoOrSimulator(files: readonly string[]): string[] {
  return files.filter((file) => file.startsWith('sim/') || file.startsWith('src/demo/'));
}

/**
 * The recorder's hooks run off the main thread and roughly double a start-up (0.6 s -> 1.4 s of
 * CPU for --help), so only the runs that check the load path take it.
 */
function recorded(record: boolean): { flags: string[]; env: NodeJS.ProcessEnv; log: string | undefined } {
  if (!record) return { flags: [], env: environment, log: undefined };
  const log = newLog();
  return { flags: ['--import', recorder], env: { ...environment, ONHAND_LOAD_LOG: log }, log };
}

function onhand(args: string[], options: { record?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const run = recorded(options.record ?? false);
  const result = spawnSync(process.execPath, [...run.flags, binary, ...args], {
    encoding: 'utf8',
    env: { ...run.env, ...options.env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, loaded: run.log ? loaded(run.log) : [] };
}

/** Start `onhand serve`, wait for its banner, return its output, what it loaded, and a stop function. */
async function serve(
  args: string[],
  record = false,
): Promise<{ banner: string; output: () => string; loaded: string[]; stop: () => Promise<number | null> }> {
  const run = recorded(record);
  const child = spawn(
    process.execPath,
    [...run.flags, binary, 'serve', '--port', '0', '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: run.env,
    },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if (signal) output += `\n[exited on ${signal}]`;
      resolve(code);
    }),
  );
  for (let waited = 0; !output.includes('API docs'); waited += 50) {
    if (waited > 30_000 || child.exitCode !== null) throw new Error(`serve did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    banner: output,
    output: () => output,
    loaded: run.log ? loaded(run.log) : [],
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('onhand binary', { concurrency: false }, () => {
  before(() => {
    binary = ensureBuilt();
    directory = mkdtempSync(join(tmpdir(), 'onhand-binary-'));
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('--help starts, prints the usage, exits 0, and loads neither the demo nor a simulator', () => {
    const result = onhand(['--help'], { record: true });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Usage: onhand/);
    assert.ok(
      result.loaded.includes('src/main.js') && result.loaded.includes('src/cli/onhand.js'),
      `the recorder saw the CLI load:\n${result.loaded.join('\n')}`,
    );
    assert.deepEqual(demoOrSimulator(result.loaded), []);
  });

  it('--version prints the version of package.json, from the built binary too', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const result = onhand(['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${manifest.version}\n`);
  });

  it('exits 1 on a usage error and on a refusal, 2 on a bad setting or bad arguments', () => {
    const database = join(directory, 'codes.db');
    const unknown = onhand(['bogus']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /onhand: unknown command 'bogus'/);
    const revoke = onhand(['token', 'revoke', 'tok_none', '--database', database]);
    assert.equal(revoke.code, 1);
    assert.match(revoke.stderr, /onhand: no active token tok_none/);
    const setting = onhand(['verify', '--database', database], { env: { ONHAND_IDEMPOTENCY_RETENTION_DAYS: '0' } });
    assert.equal(setting.code, 2);
    assert.match(setting.stderr, /ONHAND_IDEMPOTENCY_RETENTION_DAYS/);
    const limit = onhand(['dead-letters', '--limit', '0', '--database', database]);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be between 1 and 500/);
  });

  it('a plain serve loads neither the demo nor a simulator', async () => {
    const plain = await serve(['--database', join(directory, 'plain.db')], true);
    assert.match(plain.banner, /onhand is running on SQLite/);
    assert.match(plain.banner, /channels +none connected/);
    assert.ok(
      plain.loaded.includes('src/http/server.js'),
      `the recorder saw the server load:\n${plain.loaded.join('\n')}`,
    );
    assert.deepEqual(demoOrSimulator(plain.loaded), []);
    assert.equal(await plain.stop(), 0, `a clean shutdown on SIGTERM:\n${plain.output()}`);
  });

  it('serve prints a one-time admin token on first start, loads the demo, and verify passes on it', async () => {
    const fresh = join(directory, 'serve.db');
    const first = await serve(['--demo', '--database', fresh], true);
    assert.ok(first.loaded.includes('src/demo/demo.js'), `serve --demo loads the demo:\n${first.loaded.join('\n')}`);
    assert.ok(
      first.loaded.some((file) => file.startsWith('sim/')),
      'and the simulators it runs',
    );
    const token = /onh_admin_\S+/.exec(first.banner)?.[0];
    assert.ok(token, first.banner);
    const address = /API +(http:\/\/\S+)\/v1/.exec(first.banner)![1];
    const stock = await fetch(`${address}/v1/stock/TEE-RED-M`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(stock.status, 200);
    // The banner's dashboard address serves the dashboard's page.
    const dashboard = /dashboard +(http:\/\/\S+\/) /.exec(first.banner)?.[1];
    assert.equal(dashboard, `${address}/`, first.banner);
    const page = await fetch(dashboard!);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
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
    db.prepare(
      'UPDATE levels SET on_hand = on_hand + 1 WHERE (variant_id, location_id) = (SELECT variant_id, location_id FROM levels WHERE version > 0 LIMIT 1)',
    ).run();
    db.close();
    const verify = onhand(['verify', '--database', fresh]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /MISMATCH \S+ @ \S+: on_hand stored \d+, movements say \d+/);
  });
});

/**
 * Start-up failures an operator can fix: each is one line on stderr naming the setting (and
 * the fix), exit code 2, and no stack trace. Method: run the built binary once per case, the
 * way a user starts it, against a taken port, unreachable or incomplete PostgreSQL targets and
 * a missing SQLite directory.
 */
describe('onhand binary: start-up errors', { concurrency: false }, () => {
  let taken: ReturnType<typeof createServer>;
  let takenPort = 0;
  let startDirectory: string;
  before(async () => {
    binary = ensureBuilt();
    startDirectory = mkdtempSync(join(tmpdir(), 'onhand-start-'));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => taken.close(resolve));
    rmSync(startDirectory, { recursive: true, force: true });
  });

  const pg = (path: string, user = 'postgres') => {
    const url = new URL(pgAdminUrl);
    url.username = user;
    url.pathname = path;
    return url.toString();
  };
  const cases: { name: string; args: () => string[]; setting: RegExp; says: RegExp; postgres?: boolean }[] = [
    {
      name: 'the port is in use',
      args: () => [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(takenPort),
        '--database',
        join(startDirectory, 'a.db'),
      ],
      setting: /--port/,
      says: /already in use.*choose another port/,
    },
    {
      name: 'the metrics port is in use',
      args: () => [
        'serve',
        '--port',
        '0',
        '--metrics-listen',
        `127.0.0.1:${takenPort}`,
        '--database',
        join(startDirectory, 'b.db'),
      ],
      setting: /--metrics-listen/,
      says: /already in use/,
    },
    {
      name: 'PostgreSQL is unreachable',
      args: () => ['migrate', '--database', 'postgres://postgres@127.0.0.1:1/onhand'],
      setting: /--database/,
      says: /127\.0\.0\.1:1 is unreachable \(ECONNREFUSED\)/,
    },
    {
      name: 'the database is missing',
      args: () => ['migrate', '--database', pg('/onhand_no_such_database')],
      setting: /--database/,
      says: /database "onhand_no_such_database" does not exist; create it/,
      postgres: true,
    },
    {
      name: 'the role is missing',
      args: () => ['migrate', '--database', pg('/onhand_no_such_database', 'onhand_no_such_role')],
      setting: /--database/,
      says: /role "onhand_no_such_role" does not exist; create it/,
      postgres: true,
    },
    {
      name: "the SQLite file's directory is missing",
      args: () => ['migrate', '--database', join(startDirectory, 'missing', 'deeper', 'onhand.db')],
      setting: /--database/,
      says: /missing\/deeper of the SQLite file does not exist; create it \(mkdir -p /,
    },
    {
      name: 'the URL scheme is not supported',
      args: () => ['migrate', '--database', 'mysql://root:hunter2@127.0.0.1/onhand'],
      setting: /--database/,
      says: /unsupported scheme mysql:\/\//,
    },
    {
      name: "the URL names PostgreSQL's maintenance database",
      args: () => ['migrate', '--database', pg('/postgres')],
      setting: /--database.*--allow-maintenance-database/,
      says: /maintenance database postgres/,
    },
  ];
  for (const each of cases) {
    it(`${each.name}: one line naming the setting, exit code 2, no stack`, (context) => {
      const postgres = STORES.find((factory) => factory.name === 'postgres');
      if (each.postgres && (postgres === undefined || postgres.skip !== undefined))
        return context.skip(postgres?.skip ?? 'STORES excludes postgres');
      const result = onhand(each.args());
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, `one line:\n${result.stderr}`);
      assert.match(lines[0]!, /^onhand: /);
      assert.match(lines[0]!, each.setting);
      assert.match(lines[0]!, each.says);
      assert.doesNotMatch(result.stderr, /\n\s+at |hunter2/, 'no stack trace, no password');
    });
  }
});
