import { z } from 'zod';
import { limits } from '../core/limits.js';

/**
 * THE configuration schema: one place for every setting and its default (docs/ARCHITECTURE.md,
 * The tree: src/config).
 * `database` decides the store profile: a `postgres://` (or `postgresql://`) URL selects
 * PostgreSQL, anything else is a SQLite file path. No other knob can disagree with it.
 */
export const configSchema = z
  .object({
    database: z.string().min(1).default('./onhand.db'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65_535).default(7400),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    idempotencyRetentionDays: z.coerce
      .number()
      .int()
      .min(limits.idempotencyRetentionDaysMin)
      .max(limits.idempotencyRetentionDaysMax)
      .default(limits.idempotencyRetentionDaysDefault),
    sweepIntervalMs: z.coerce
      .number()
      .int()
      .min(limits.sweepIntervalMsMin)
      .max(limits.sweepIntervalMsMax)
      .default(limits.sweepIntervalMsDefault),
    availabilityRefreshMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(limits.availabilityRefreshMsMax)
      .default(limits.availabilityRefreshMsDefault),
    pgPoolSize: z.coerce.number().int().min(1).max(limits.pgPoolSizeMax).default(limits.pgPoolSizeDefault),
    // Commands per group-commit transaction at most: larger batches amortise the commit under
    // saturation (SQLite: +10-18% commands/s at 5,000, bench/README.md) but each holds the
    // writer (and, on SQLite, the event loop) longer. At least one full request.
    groupCommitMax: z.coerce
      .number()
      .int()
      .min(limits.movementsPerRequestMax)
      .max(limits.groupCommitBatchSizeCeiling)
      .default(limits.groupCommitBatchSizeMax),
    allowAsyncCommit: z.boolean().default(false),
    // Where /metrics is served instead of the API's address (then without a token): host:port,
    // an IPv6 host in brackets. Unset: /metrics on the API address, with a read token.
    metricsListen: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/, 'expected host:port, e.g. 127.0.0.1:9464')
      .refine((text) => Number(text.slice(text.lastIndexOf(':') + 1)) <= 65_535, 'the port must be 0-65535')
      .transform((text) => {
        const at = text.lastIndexOf(':');
        return { host: text.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(at + 1)) };
      })
      .nullable()
      .default(null),
    demo: z.boolean().default(false),
  })
  .strict();

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Where each setting may come from: the flag and the environment variable. */
export const configSources: Record<keyof Config, { flag: string; env: string[] }> = {
  database: { flag: '--database', env: ['ONHAND_DATABASE', 'DATABASE_URL'] },
  host: { flag: '--host', env: ['ONHAND_HOST'] },
  port: { flag: '--port', env: ['ONHAND_PORT', 'PORT'] },
  logLevel: { flag: '--log-level', env: ['ONHAND_LOG_LEVEL'] },
  idempotencyRetentionDays: { flag: '--idempotency-retention-days', env: ['ONHAND_IDEMPOTENCY_RETENTION_DAYS'] },
  sweepIntervalMs: { flag: '--sweep-interval-ms', env: ['ONHAND_SWEEP_INTERVAL_MS'] },
  availabilityRefreshMs: { flag: '--availability-refresh-ms', env: ['ONHAND_AVAILABILITY_REFRESH_MS'] },
  pgPoolSize: { flag: '--pg-pool-size', env: ['ONHAND_PG_POOL_SIZE'] },
  groupCommitMax: { flag: '--group-commit-max', env: ['ONHAND_GROUP_COMMIT_MAX'] },
  allowAsyncCommit: { flag: '--allow-async-commit', env: ['ONHAND_ALLOW_ASYNC_COMMIT'] },
  metricsListen: { flag: '--metrics-listen', env: ['ONHAND_METRICS_LISTEN'] },
  demo: { flag: '--demo', env: ['ONHAND_DEMO'] },
};

export function storeProfile(database: string): 'postgres' | 'sqlite' {
  return /^postgres(ql)?:\/\//i.test(database) ? 'postgres' : 'sqlite';
}
