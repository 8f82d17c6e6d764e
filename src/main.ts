#!/usr/bin/env node
/**
 * Composition root (CONVENTIONS 3, 16): the ONLY place that chooses adapters for ports and
 * hands out the real clock and id source. Everything below receives them.
 */
import { resolve } from 'node:path';
import type { Config } from './config/config-schema.js';
import { storeProfile } from './config/config-schema.js';
import { runCli, type CliRuntime } from './cli/onhand.js';
import { loadDemo } from './demo/demo-catalogue.js';
import { buildServer } from './http/server.js';
import { issueToken } from './http/tokens.js';
import { GroupCommitter } from './store/group-commit.js';
import type { LedgerStore } from './store/ledger-store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { Sweeper } from './store/sweeper.js';
import { randomIds, systemClock } from './system-clock.js';

export async function openStore(config: Config): Promise<LedgerStore> {
  if (storeProfile(config.database) === 'postgres') {
    return new PostgresStore({ connectionString: config.database, poolSize: config.pgPoolSize, allowAsyncCommit: config.allowAsyncCommit });
  }
  return new SqliteStore({ filename: resolve(config.database) });
}

function describeDatabase(config: Config): string {
  if (storeProfile(config.database) === 'sqlite') return `SQLite ${resolve(config.database)}`;
  const url = new URL(config.database);
  url.password = url.password ? '***' : '';
  return `PostgreSQL ${url.toString()}`;
}

export async function serve(config: Config): Promise<void> {
  const store = await openStore(config);
  const migration = await store.migrate();
  const ledger = new GroupCommitter(store, systemClock, randomIds);
  const app = await buildServer({ store, ledger, clock: systemClock, ids: randomIds, logger: { level: config.logLevel } });
  const logger = app.log;
  if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'database migrated');
  const sweeper = new Sweeper(store, ledger, systemClock, {
    intervalMs: config.sweepIntervalMs,
    retentionDays: config.idempotencyRetentionDays,
    availabilityRefreshMs: config.availabilityRefreshMs,
    onError: (error) => logger.error({ err: error }, 'sweep failed'),
  });
  if (config.demo) {
    const report = await loadDemo(store, ledger, systemClock);
    if (report) logger.info(report, 'demo catalogue loaded');
  }
  let bootstrapToken: string | undefined;
  if ((await store.countTokens()) === 0) {
    bootstrapToken = (await issueToken(store, { name: 'bootstrap admin', scope: 'admin' }, systemClock, randomIds)).token;
  }
  const address = await app.listen({ host: config.host, port: config.port });
  sweeper.start();

  const lines = [
    `onhand is running on ${describeDatabase(config)}`,
    `  API      ${address}/v1`,
    `  API docs ${address}/docs`,
  ];
  if (bootstrapToken) {
    lines.push(
      '',
      'First start: an admin token was created. It is shown ONCE; store it now:',
      `  ${bootstrapToken}`,
      `  e.g. curl -H 'Authorization: Bearer ${bootstrapToken}' ${address}/v1/stock/TEE-RED-M`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close(); // stops accepting requests, finishes in-flight ones
    await sweeper.stop();
    await ledger.close(); // applies what is queued
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void stop(signal));
  process.once('SIGTERM', (signal) => void stop(signal));
}

const runtime: CliRuntime = { openStore, serve };

// Run as the `onhand` binary (not when imported by tests).
if (process.argv[1] && /(main|onhand)(\.[cm]?[jt]s)?$/.test(process.argv[1])) {
  await runCli(runtime, process.argv);
}
