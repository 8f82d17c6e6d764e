import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { limits } from '../core/limits.js';
import type { TokenScope } from '../store/ledger-store.js';
import { tokenScopes } from '../store/ledger-store.js';
import { issueToken } from '../api/tokens.js';
import { systemClock, randomIds } from '../system-clock.js';
import { addAvailabilityCommands } from './availability-commands.js';
import { addOrderCommands } from './order-commands.js';
import { addKpiCommands } from './kpi-commands.js';
import { addAlertCommands } from './alert-commands.js';
import { addReconcileCommands } from './reconcile-commands.js';
import { addSyncCommands } from './sync-commands.js';
import { addListCommands } from './list-commands.js';
import { startupFailureMessage } from './startup-errors.js';
import { addCsvCommands } from './csv-commands.js';
import {
  CliExit,
  CliFailure,
  complain,
  configFrom,
  integer,
  say,
  withDatabase,
  withStore,
  type CliRuntime,
  type Flags,
} from './cli-support.js';

export type { CliOutput, CliRuntime } from './cli-support.js';

/**
 * The version in onhand's package.json: the first one found walking up from this file (two
 * levels from src/cli/, three from the built dist/src/cli/), at most limits.packageJsonSearchDepthMax directories.
 */
export function packageVersion(): string {
  let directory = new URL('.', import.meta.url);
  for (let depth = 0; depth < limits.packageJsonSearchDepthMax; depth += 1) {
    const candidate = new URL('package.json', directory);
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'onhand' && typeof manifest.version === 'string') return manifest.version;
    }
    directory = new URL('..', directory);
  }
  return 'unknown';
}

export function buildCli(runtime: CliRuntime): Command {
  const program = new Command('onhand')
    .description('onhand: one stock ledger for every sales channel')
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => runtime.stdout.write(text),
      writeErr: (text) => runtime.stderr.write(text),
      outputError: (text, write) => write(`onhand: ${text.replace(/^error: /, '')}`),
    })
    .version(packageVersion(), '-V, --version', 'print the version (from package.json) and exit')
    // Usage errors and --help throw a CommanderError with the exit code instead of calling
    // process.exit, so runCli returns the code (subcommands inherit this when created).
    .exitOverride();

  withDatabase(program.command('serve'))
    .description('start the HTTP API (migrates the database first)')
    .option('--host <host>', 'address to listen on (env ONHAND_HOST)')
    .option('--port <port>', 'port to listen on (env ONHAND_PORT)', integer('--port'))
    .option('--demo', 'load the demo catalogue into an empty database')
    .option(
      '--metrics-listen <host:port>',
      'serve /metrics on this address, without a token, instead of on the API with a read token (env ONHAND_METRICS_LISTEN)',
    )
    .option(
      '--allow-async-commit',
      'start even if PostgreSQL synchronous_commit is off (acknowledged commands may be lost)',
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env ONHAND_LOG_LEVEL)')
    .option('--pg-pool-size <n>', 'PostgreSQL connections (env ONHAND_PG_POOL_SIZE)', integer('--pg-pool-size'))
    .option(
      '--group-commit-max <n>',
      'most commands per ledger transaction, 1000-10000 (env ONHAND_GROUP_COMMIT_MAX)',
      integer('--group-commit-max'),
    )
    .option(
      '--heap-growth-percent <percent>',
      'how far the heap may grow past what its last collection kept, 10-300, 0 = V8 decides (env ONHAND_HEAP_GROWTH_PERCENT)',
      integer('--heap-growth-percent'),
    )
    .option(
      '--idempotency-retention-days <days>',
      'keep idempotency keys this long (env ONHAND_IDEMPOTENCY_RETENTION_DAYS)',
      integer('--idempotency-retention-days'),
    )
    .option(
      '--sweep-interval-ms <ms>',
      'expiry sweep and key pruning interval (env ONHAND_SWEEP_INTERVAL_MS)',
      integer('--sweep-interval-ms'),
    )
    .option(
      '--availability-refresh-ms <ms>',
      'full availability refresh for time-dependent rules, 0 = off (env ONHAND_AVAILABILITY_REFRESH_MS)',
      integer('--availability-refresh-ms'),
    )
    .option(
      '--alert-drift-percent <percent>',
      'alert above this share of drifted listings, 0 = off (env ONHAND_ALERT_DRIFT_PERCENT)',
    )
    .option(
      '--alert-oldest-pending-seconds <s>',
      'alert when a change waits longer, 0 = off (env ONHAND_ALERT_OLDEST_PENDING_SECONDS)',
    )
    .option(
      '--alert-failing-minutes <min>',
      'alert when a connection fails this long, 0 = off (env ONHAND_ALERT_FAILING_MINUTES)',
    )
    .option(
      '--alert-order-silence-minutes <min>',
      'order silence alerts never before this long, 0 = off (env ONHAND_ALERT_ORDER_SILENCE_MINUTES)',
    )
    .option(
      '--alert-order-silence-factor <n>',
      'alert when a channel is silent n times its usual order gap (env ONHAND_ALERT_ORDER_SILENCE_FACTOR)',
    )
    .option('--alert-dead-letters <on|off>', 'alert while dead letters exist (env ONHAND_ALERT_DEAD_LETTERS)')
    .option('--alert-webhook-url <url>', 'post alerts, signed, to this URL (env ONHAND_ALERT_WEBHOOK_URL)')
    .option(
      '--alert-webhook-secret <secret|env:NAME>',
      'signing key of the alert webhook, or env:NAME to read it from NAME (env ONHAND_ALERT_WEBHOOK_SECRET)',
    )
    .action(async (flags: Flags) => runtime.serve(configFrom(flags, runtime.env)));

  withDatabase(program.command('migrate'))
    .description('apply pending database migrations')
    .action(async (flags: Flags) => {
      const config = configFrom(flags, runtime.env);
      const store = await runtime.openStore(config);
      try {
        const report = await store.migrate();
        say(
          runtime,
          report.applied.length > 0 ? `applied ${report.applied.join(', ')}` : `up to date at ${report.current}`,
        );
      } finally {
        await store.close();
      }
    });

  const token = program.command('token').description('manage API tokens');
  withDatabase(token.command('create'))
    .description('create a token and print it once (only its hash is stored)')
    .addOption(
      new Option('--scope <scope>', 'read, write or admin').choices(tokenScopes as string[]).makeOptionMandatory(),
    )
    .option('--name <name>', 'what the token is for', 'cli')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const issued = await issueToken(
          store,
          { name: String(flags.name), scope: flags.scope as TokenScope },
          systemClock,
          randomIds,
        );
        say(runtime, `created token ${issued.id} (${issued.scope}): ${issued.token}`);
        say(runtime, 'store it now: it is not shown again');
      }),
    );
  withDatabase(token.command('list'))
    .description('list tokens (never their secrets)')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const tokens = await store.tokens.listTokens();
        if (tokens.length === 0) say(runtime, 'no tokens');
        else say(runtime, 'ID\tSCOPE\tNAME\tCREATED\tSTATE');
        for (const each of tokens) {
          const state = each.revokedAt === null ? 'active' : `revoked ${new Date(each.revokedAt).toISOString()}`;
          say(runtime, `${each.id}\t${each.scope}\t${each.name}\t${new Date(each.createdAt).toISOString()}\t${state}`);
        }
      }),
    );
  withDatabase(token.command('revoke'))
    .description('revoke a token; it fails on its next request')
    .argument('<id>', 'token id, as `token list` shows it')
    .action(async (id: string, flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        if (!(await store.tokens.revokeToken(id, systemClock.now()))) throw new CliFailure(`no active token ${id}`, 1);
        say(runtime, `revoked ${id}`);
      }),
    );

  withDatabase(program.command('verify'))
    .description('recompute every level from its movements; exits 1 on any mismatch')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const report = await store.ledger.verify();
        for (const mismatch of report.mismatches) {
          say(
            runtime,
            `MISMATCH ${mismatch.sku} @ ${mismatch.location}: ${mismatch.field} stored ${mismatch.stored}, movements say ${mismatch.recomputed}`,
          );
        }
        say(
          runtime,
          `checked ${report.levelsChecked} levels and ${report.movementsChecked} movements: ${report.mismatches.length} mismatches`,
        );
        if (report.mismatches.length > 0) throw new CliExit(1);
      }),
    );

  addAvailabilityCommands(program, runtime);
  addSyncCommands(program, runtime);
  addKpiCommands(program, runtime);
  addAlertCommands(program, runtime);
  addReconcileCommands(program, runtime);
  addOrderCommands(program, runtime);
  addListCommands(program, runtime);
  addCsvCommands(program, runtime);
  return program;
}

/** A message as one line: a driver's detail may span several. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * Run the CLI with `argv` as process.argv would hold it (`node`, the script, then the
 * arguments) and return the exit code: 0 done, the command's code for a refusal or a usage
 * error, 2 for a bad configuration or a start-up failure the operator can fix (startup-errors.ts),
 * each with one clear message on stderr. Anything else is a
 * bug and is thrown.
 */
export async function runCli(runtime: CliRuntime, argv: readonly string[]): Promise<number> {
  try {
    await buildCli(runtime).parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed the message or the help
    if (error instanceof CliExit) return error.exitCode;
    if (error instanceof CliFailure) {
      complain(runtime, `onhand: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof ConfigError || (error as { code?: string }).code === 'ONH_ERR_DURABILITY') {
      complain(runtime, `onhand: ${oneLine((error as Error).message)}`);
      return 2;
    }
    const startup = startupFailureMessage(error);
    if (startup !== undefined) {
      complain(runtime, `onhand: ${oneLine(startup)}`);
      return 2;
    }
    throw error;
  }
}
