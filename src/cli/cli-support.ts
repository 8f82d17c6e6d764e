import { InvalidArgumentError, Option, type Command } from 'commander';
import { configSources, type Config } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import type { LedgerStore } from '../store/ledger-store.js';

/**
 * What every `onhand` command file shares: the runtime main.ts passes in, option parsers, the
 * `--database` option, and opening a migrated store for one command.
 */

/** Where a command writes: process.stdout / process.stderr, or a buffer in tests. */
export interface CliOutput {
  isTTY?: boolean | undefined;
  write(text: string): unknown;
}

/**
 * The `onhand` command's runtime. Adapters are not chosen here: main.ts passes `openStore` and
 * `serve` (main.ts is the only composition root: docs/ARCHITECTURE.md), and the process's streams and
 * environment, so that tests run the whole CLI in-process with their own.
 */
export interface CliRuntime {
  openStore(config: Config): Promise<LedgerStore>;
  serve(config: Config): Promise<void>;
  stdout: CliOutput;
  stderr: CliOutput;
  env: NodeJS.ProcessEnv;
}

/** One line on stdout (what console.log would print). */
export function say(runtime: CliRuntime, text: string): void {
  runtime.stdout.write(`${text}\n`);
}

/** One line on stderr (what console.error would print). */
export function complain(runtime: CliRuntime, text: string): void {
  runtime.stderr.write(`${text}\n`);
}

export type Flags = Record<string, unknown>;

/** A command's refusal: `onhand: <message>` on stderr and this exit code (runCli prints it). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** Exit with this code after what the command printed, with no further message (verify's mismatches). */
export class CliExit extends Error {
  constructor(readonly exitCode: 1 | 2) {
    super(`exit ${exitCode}`);
  }
}

export function integer(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(value);
  };
}

/** Options every command takes. */
export function withDatabase(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--database <path-or-url>',
        'SQLite file path or postgres:// URL (env DATABASE_URL / ONHAND_DATABASE)',
      ).default(undefined, './onhand.db'),
    )
    .addOption(
      new Option(
        '--allow-maintenance-database',
        "migrate into PostgreSQL's maintenance database postgres (env ONHAND_ALLOW_MAINTENANCE_DATABASE)",
      ).hideHelp(),
    );
}

export function configFrom(flags: Flags, env: NodeJS.ProcessEnv): Config {
  const picked: Partial<Record<keyof Config, unknown>> = {};
  // Every setting the schema knows, so a new one cannot be forgotten here.
  for (const name of Object.keys(configSources) as (keyof Config)[]) {
    if (flags[name] !== undefined) picked[name] = flags[name];
  }
  return loadConfig(picked, env);
}

export async function withStore<T>(
  runtime: CliRuntime,
  flags: Flags,
  work: (store: LedgerStore) => Promise<T>,
): Promise<T> {
  const store = await runtime.openStore(configFrom(flags, runtime.env));
  try {
    await store.migrate();
    return await work(store);
  } finally {
    await store.close();
  }
}
