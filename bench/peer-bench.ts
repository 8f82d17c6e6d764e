/**
 * bench:peer - onhand side by side with Medusa v2's inventory module, in one run of the Medusa
 * peer benchmark (a harness kept outside this repository, default
 * ../shared/peers/medusa-inventory from the project root; its README describes the scenarios).
 *
 * 1. Checks the peer directory; runs `npm ci` there (from its own lockfile) when its
 *    node_modules is missing.
 * 2. Makes sure the harness's role and database exist on the local PostgreSQL (the names and
 *    password come from --database-url; --admin-url must be allowed to create them).
 * 3. Runs the harness with TARGETS=<--targets> and HUB_ADAPTER=bench/peer/onhand-adapter.mjs,
 *    which starts `onhand serve` (dist/, so `npm run build` first) on its own fresh database on
 *    the same server and drives it over HTTP. The harness's other knobs (MEASURE_SECONDS,
 *    PG_POOL_MAX, ...) pass through from the environment.
 * 4. Parses the harness's one JSON line, prints it and one JSON line per scenario, then a
 *    Markdown table: throughput and p50/p99 per target, onhand / medusa-locked, oversell and
 *    drift. Never asserts.
 *
 * The harness runs in its own process group, killed whole (Medusa children, the onhand server)
 * at --timeout-seconds; databases the adapter made for that run are dropped afterwards.
 *
 * Usage: npm run bench:peer [-- --peer-dir DIR --targets medusa-locked,medusa-module
 *                            --timeout-seconds 600 --database-url URL --admin-url URL]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    'peer-dir': { type: 'string', default: resolve(projectRoot, '../shared/peers/medusa-inventory') },
    targets: { type: 'string', default: 'medusa-locked' },
    'timeout-seconds': { type: 'string', default: '600' },
    'install-timeout-seconds': { type: 'string', default: '600' },
    'database-url': {
      type: 'string',
      default: 'postgres://medusa_bench:medusa_bench@127.0.0.1:5432/medusa_inv_bench',
    },
    'admin-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const peerDir = resolve(values['peer-dir']!);
const adapterPath = fileURLToPath(new URL('./peer/onhand-adapter.mjs', import.meta.url));
const databaseUrl = values['database-url']!;
const adminUrl = values['admin-url']!;
const timeoutMs = Number(values['timeout-seconds']) * 1000;
const installTimeoutMs = Number(values['install-timeout-seconds']) * 1000;
const log = (line: string) => process.stderr.write(`[bench:peer] ${line}\n`);

/** Run a process in its own group; kill the whole group at the deadline. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; deadlineMs: number; captureStdout: boolean },
): Promise<{ code: number | null; stdout: string; timedOut: boolean; pid: number }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', options.captureStdout ? 'pipe' : 'inherit', 'inherit'],
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      log(`${command} ${args.join(' ')}: no end after ${options.deadlineMs / 1000} s, killing its process group`);
      process.kill(-child.pid!, 'SIGKILL');
    }, options.deadlineMs);
    child.on('error', fail);
    child.on('exit', () => {
      clearTimeout(timer);
      // Whatever the leader left behind in its group (an orphaned onhand server) goes with it.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // ESRCH: the group is already empty
      }
    });
    // 'close' comes after 'exit' once stdout is drained, so the captured output is complete.
    child.on('close', (code) => done({ code, stdout, timedOut, pid: child.pid! }));
  });
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const identifier = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`${name}: not a plain PostgreSQL name`);
  return name;
};

/** The harness's role and database, created when missing (it migrates and truncates its own tables). */
async function ensureHarnessDatabase(): Promise<void> {
  const url = new URL(databaseUrl);
  const role = identifier(decodeURIComponent(url.username));
  const database = identifier(url.pathname.slice(1));
  const password = decodeURIComponent(url.password);
  await withAdmin(async (client) => {
    if ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 0) {
      await client.query(`CREATE ROLE ${role} LOGIN${password ? ` PASSWORD ${client.escapeLiteral(password)}` : ''}`);
      log(`created role ${role}`);
    }
    if ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 0) {
      await client.query(`CREATE DATABASE ${database} OWNER ${role}`);
      log(`created database ${database}`);
    }
  });
}

/** Databases the adapter created inside the harness process `pid` and did not drop (a killed run). */
async function dropLeftovers(pid: number): Promise<void> {
  await withAdmin(async (client) => {
    const rows = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `onhand\\_peer\\_${pid}\\_%`,
    ]);
    for (const { datname } of rows.rows) {
      await client.query(`DROP DATABASE IF EXISTS ${identifier(datname)} WITH (FORCE)`);
      log(`dropped leftover database ${datname}`);
    }
  });
}

interface LoadResult {
  ops_per_sec: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  errors?: number;
  stalled?: boolean;
  reserved_drift?: number;
  lost_updates?: number;
}
interface RaceResult {
  oversell_per_trial: number[];
  created_per_trial: number[];
  unfinished_requests_per_trial?: number[];
  other_errors_total: number;
}
interface TargetResult {
  hot: Record<string, LoadResult>;
  spread: LoadResult;
  adjust_hot: LoadResult;
  race: RaceResult;
  race_multi_process?: RaceResult;
}
interface HarnessResult {
  versions: Record<string, string | null>;
  config: { hot_concurrency: number[]; spread_concurrency: number; adjust_concurrency: number; pg_pool_max: number };
  targets: Record<string, TargetResult>;
  total_s: number;
}

// --- 1. the peer directory -------------------------------------------------------------------
for (const file of ['bench.mjs', 'package.json', 'package-lock.json']) {
  if (!existsSync(resolve(peerDir, file))) {
    log(`${peerDir} has no ${file}: not the Medusa peer benchmark (give --peer-dir)`);
    process.exit(2);
  }
}
if (!existsSync(resolve(projectRoot, 'dist/src/main.js'))) {
  log('dist/src/main.js is missing: run `npm run build` first');
  process.exit(2);
}
if (!existsSync(resolve(peerDir, 'node_modules'))) {
  log(`installing the peer's packages from its lockfile (npm ci in ${peerDir})`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = await run(npm, ['ci', '--no-audit', '--no-fund'], {
    cwd: peerDir,
    deadlineMs: installTimeoutMs,
    captureStdout: false,
  });
  if (install.code !== 0) {
    log(`npm ci failed (${install.timedOut ? 'timed out' : `exit ${install.code}`})`);
    process.exit(1);
  }
}

// --- 2. the harness's database -----------------------------------------------------------------
await ensureHarnessDatabase();

// --- 3. one harness run ------------------------------------------------------------------------
const targets = values.targets!.split(',').filter(Boolean);
log(`running the harness: TARGETS=${targets.join(',')} plus onhand (at most ${timeoutMs / 1000} s)`);
const harness = await run(process.execPath, ['bench.mjs'], {
  cwd: peerDir,
  env: {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TARGETS: targets.join(','),
    HUB_ADAPTER: adapterPath,
    ONHAND_PEER_PG_ADMIN_URL: adminUrl,
  },
  deadlineMs: timeoutMs,
  captureStdout: true,
});
await dropLeftovers(harness.pid);
const line = harness.stdout.trim().split('\n').pop() ?? '';
if (harness.code !== 0 || !line.startsWith('{')) {
  log(`the harness failed (${harness.timedOut ? 'timed out' : `exit ${harness.code}`}); no result`);
  process.exit(1);
}
const result = JSON.parse(line) as HarnessResult;
console.log(line);
if (!result.targets.onhand) {
  log('the result has no onhand target: the adapter did not run');
  process.exit(1);
}

// --- 4. the table --------------------------------------------------------------------------------
const hub = 'onhand';
const baseline = 'medusa-locked';
const columns = [...targets, hub].filter((target) => result.targets[target]);
const figure = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined
    ? '-'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const cell = (load: LoadResult | undefined) => {
  if (!load) return '-';
  if (load.stalled) return 'stalled';
  const errors = load.errors ? `, ${load.errors} errors` : '';
  return `${figure(load.ops_per_sec)}/s · ${figure(load.p50_ms, 1)} / ${figure(load.p99_ms, 1)} ms${errors}`;
};
const ratio = (of: LoadResult | undefined, to: LoadResult | undefined) =>
  of?.ops_per_sec && to?.ops_per_sec ? `${(of.ops_per_sec / to.ops_per_sec).toFixed(1)}x` : '-';

type Scenario = { name: string; load: (target: TargetResult) => LoadResult | undefined; check: string };
const scenarios: Scenario[] = [
  ...result.config.hot_concurrency.map((c) => ({
    name: `hot item, C=${c}`,
    load: (target: TargetResult) => target.hot[`c${c}`],
    check: 'reserved_drift',
  })),
  { name: `spread, C=${result.config.spread_concurrency}`, load: (target) => target.spread, check: 'reserved_drift' },
  {
    name: `adjust +1, C=${result.config.adjust_concurrency}`,
    load: (target) => target.adjust_hot,
    check: 'lost_updates',
  },
];

for (const scenario of scenarios) {
  console.log(
    JSON.stringify({
      bench: 'peer-medusa',
      scenario: scenario.name,
      ...Object.fromEntries(columns.map((target) => [target, scenario.load(result.targets[target]!)])),
    }),
  );
}
console.log(
  `\n| scenario | ${columns.map((target) => `${target} (ops/s · p50 / p99)`).join(' | ')} | ${hub} / ${baseline} | ${columns.map((target) => `${target} drift or lost`).join(' | ')} |`,
);
console.log(`|---|${columns.map(() => '---:').join('|')}|---:|${columns.map(() => '---:').join('|')}|`);
for (const scenario of scenarios) {
  const loads = columns.map((target) => scenario.load(result.targets[target]!));
  const baseLoad = result.targets[baseline] ? scenario.load(result.targets[baseline]) : undefined;
  const hubLoad = scenario.load(result.targets[hub]!);
  const checks = loads.map((load) =>
    figure((load as Record<string, number | undefined> | undefined)?.[scenario.check]),
  );
  console.log(
    `| ${scenario.name} | ${loads.map(cell).join(' | ')} | ${ratio(hubLoad, baseLoad)} | ${checks.join(' | ')} |`,
  );
}
const race = (r: RaceResult | undefined) =>
  r
    ? `oversell ${r.oversell_per_trial.join(', ')}; created ${r.created_per_trial.join(', ')}${r.unfinished_requests_per_trial ? `; unfinished ${r.unfinished_requests_per_trial.join(', ')}` : ''}${r.other_errors_total ? `; ${r.other_errors_total} errors` : ''}`
    : '-';
console.log(
  `| last-unit race, 1 process (stock 10, 100 requests, per trial) | ${columns.map((target) => race(result.targets[target]!.race)).join(' | ')} | - | ${columns.map(() => '').join(' | ')} |`,
);
console.log(
  `| last-unit race, 2 processes | ${columns.map((target) => (target === hub ? 'see bench:reservations' : race(result.targets[target]!.race_multi_process))).join(' | ')} | - | ${columns.map(() => '').join(' | ')} |`,
);
const versions = Object.entries(result.versions)
  .map(([name, version]) => `${name} ${version}`)
  .join(', ');
console.log(`\nPool max ${result.config.pg_pool_max}; ${versions}; harness ${result.total_s} s.`);
console.log('onhand is reached over HTTP on 127.0.0.1 (one hop per call); Medusa is called in-process.');
