/**
 * Configuration: flags over environment over defaults, validated and frozen; a bad value is
 * refused with a message naming the flag or variable it came from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeProfile } from '../../src/config/config-schema.js';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

describe('loadConfig', () => {
  it('has working defaults: SQLite ./onhand.db on 127.0.0.1:7400, keys kept 7 days', () => {
    const config = loadConfig({}, {});
    assert.equal(config.database, './onhand.db');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 7400);
    assert.equal(config.idempotencyRetentionDays, 7);
    assert.equal(config.allowAsyncCommit, false);
    assert.ok(Object.isFrozen(config));
  });

  it('takes flags over the environment, and DATABASE_URL as the database', () => {
    const env = { DATABASE_URL: 'postgres://db/onhand', ONHAND_PORT: '8000' };
    assert.equal(loadConfig({}, env).database, 'postgres://db/onhand');
    assert.equal(loadConfig({}, env).port, 8000);
    assert.equal(loadConfig({ port: 9000, database: 'x.db' }, env).port, 9000);
    assert.equal(loadConfig({ port: 9000, database: 'x.db' }, env).database, 'x.db');
    assert.equal(loadConfig({}, { ONHAND_ALLOW_ASYNC_COMMIT: 'yes' }).allowAsyncCommit, true);
    assert.equal(loadConfig({}, {}).groupCommitMax, 2000);
    assert.equal(loadConfig({}, { ONHAND_GROUP_COMMIT_MAX: '5000' }).groupCommitMax, 5000);
    assert.equal(loadConfig({ groupCommitMax: 1000 }, { ONHAND_GROUP_COMMIT_MAX: '5000' }).groupCommitMax, 1000);
    assert.equal(loadConfig({}, {}).heapGrowthPercent, 50);
    assert.equal(loadConfig({}, { ONHAND_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 0);
    assert.equal(loadConfig({ heapGrowthPercent: 100 }, { ONHAND_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 100);
  });

  const bad: [string, Record<string, unknown>, NodeJS.ProcessEnv, RegExp][] = [
    ['a port that is not a number', {}, { ONHAND_PORT: 'abc' }, /ONHAND_PORT="abc"/],
    ['a port out of range', { port: 70000 }, {}, /--port=70000/],
    [
      'a retention under a day',
      {},
      { ONHAND_IDEMPOTENCY_RETENTION_DAYS: '0' },
      /ONHAND_IDEMPOTENCY_RETENTION_DAYS="0"/,
    ],
    ['an unknown log level', {}, { ONHAND_LOG_LEVEL: 'loud' }, /ONHAND_LOG_LEVEL="loud"/],
    ['a boolean that is not one', {}, { ONHAND_DEMO: 'maybe' }, /ONHAND_DEMO="maybe": expected true or false/],
    ['a pool of zero', {}, { ONHAND_PG_POOL_SIZE: '0' }, /ONHAND_PG_POOL_SIZE="0"/],
    [
      'a group commit smaller than one full request',
      {},
      { ONHAND_GROUP_COMMIT_MAX: '999' },
      /ONHAND_GROUP_COMMIT_MAX="999"/,
    ],
    ['a group commit above its ceiling', { groupCommitMax: 10001 }, {}, /--group-commit-max=10001/],
    [
      'a heap growth under its floor',
      {},
      { ONHAND_HEAP_GROWTH_PERCENT: '5' },
      /ONHAND_HEAP_GROWTH_PERCENT="5": expected 0 \(V8's own\) or 10-300/,
    ],
    ['a heap growth above V8s ceiling', { heapGrowthPercent: 301 }, {}, /--heap-growth-percent=301/],
    [
      'a database URL of another engine, its password masked',
      {},
      { DATABASE_URL: 'mysql://root:hunter2@db/onhand' },
      /^(?!.*hunter2).*DATABASE_URL="mysql:\/\/root:\*\*\*@db\/onhand": unsupported scheme mysql:\/\//,
    ],
    [
      "PostgreSQL's maintenance database",
      { database: 'postgres://postgres:pw@db/postgres' },
      {},
      /^(?!.*:pw@).*--database=.*maintenance database postgres.*--allow-maintenance-database/,
    ],
    [
      'the maintenance database reached through the user name',
      { database: 'postgres://postgres@db' },
      {},
      /maintenance database postgres/,
    ],
  ];
  for (const [name, flags, env, message] of bad) {
    it(`refuses ${name}, naming the setting`, () => {
      assert.throws(
        () => loadConfig(flags, env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  it('migrates into the maintenance database only when asked to, by flag or environment', () => {
    const database = 'postgres://postgres@db/postgres';
    assert.equal(loadConfig({ database, allowMaintenanceDatabase: true }, {}).database, database);
    assert.equal(
      loadConfig({ database }, { ONHAND_ALLOW_MAINTENANCE_DATABASE: 'true' }).allowMaintenanceDatabase,
      true,
    );
    assert.equal(loadConfig({ database: 'postgres://postgres@db/onhand' }, {}).allowMaintenanceDatabase, false);
  });

  it('derives the store profile from the database setting alone', () => {
    assert.equal(storeProfile('postgres://u@h/db'), 'postgres');
    assert.equal(storeProfile('postgresql://u@h/db'), 'postgres');
    assert.equal(storeProfile('./onhand.db'), 'sqlite');
    assert.equal(storeProfile('/var/lib/onhand/postgres.db'), 'sqlite');
  });

  it('reads --metrics-listen / ONHAND_METRICS_LISTEN as host:port, and names it when it is not one', () => {
    assert.equal(loadConfig({}, {}).metricsListen, null);
    assert.deepEqual(loadConfig({ metricsListen: '0.0.0.0:9464' }, {}).metricsListen, { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(loadConfig({}, { ONHAND_METRICS_LISTEN: '[::1]:9464' }).metricsListen, {
      host: '::1',
      port: 9464,
    });
    assert.throws(
      () => loadConfig({ metricsListen: '9464' }, {}),
      (error: Error) =>
        error instanceof ConfigError &&
        /--metrics-listen="9464": expected host:port, e\.g\. 127\.0\.0\.1:9464/.test(error.message),
    );
    assert.throws(
      () => loadConfig({}, { ONHAND_METRICS_LISTEN: 'localhost:70000' }),
      (error: Error) =>
        error instanceof ConfigError &&
        /ONHAND_METRICS_LISTEN="localhost:70000": the port must be 0-65535/.test(error.message),
    );
  });
});
