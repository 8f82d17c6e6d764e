import { z } from 'zod';
import { limits } from '../core/limits.js';

/**
 * THE configuration schema: one place for every setting and its default (docs/ARCHITECTURE.md,
 * The tree: src/config).
 * `database` decides the store profile: a `postgres://` (or `postgresql://`) URL selects
 * PostgreSQL, anything else is a SQLite file path. No other knob can disagree with it.
 */
/**
 * A secret setting (the alert webhook's signing key): its value is read with `reveal()` where it
 * is used, and it prints, logs and serialises as `[redacted]`.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

/** Minutes of an alert threshold: 0 turns the rule off. */
const alertMinutes = (fallback: number) => z.coerce.number().int().min(0).max(limits.alertMinutesMax).default(fallback);

export const configSchema = z
  .object({
    // A URL with a scheme other than postgres(ql):// would otherwise become a SQLite file named
    // like the URL (`mysql://...` -> ./mysql:/...): refused, naming the two forms accepted.
    database: z
      .string()
      .min(1)
      .superRefine((text, context) => {
        const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1];
        if (scheme !== undefined && !/^postgres(ql)?$/i.test(scheme))
          context.addIssue({
            code: 'custom',
            message: `unsupported scheme ${scheme}://: use a postgres:// URL or a SQLite file path`,
          });
      })
      .default('./onhand.db'),
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
    // How far the V8 heap may grow past what its last full collection kept (src/core/limits.ts):
    // 0 leaves V8's own heuristic (faster under saturation, up to 4 times the live heap).
    heapGrowthPercent: z.coerce
      .number()
      .int()
      .min(0)
      .max(limits.heapGrowthPercentMax)
      .refine(
        (percent) => percent === 0 || percent >= limits.heapGrowthPercentMin,
        `expected 0 (V8's own) or ${limits.heapGrowthPercentMin}-${limits.heapGrowthPercentMax}`,
      )
      .default(limits.heapGrowthPercentDefault),
    // Migrating into PostgreSQL's maintenance database `postgres` mixes onhand's tables with
    // what every other tool connects to first; refused unless asked for.
    allowMaintenanceDatabase: z.boolean().default(false),
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
    // Alert rules (src/core/alerts.ts); 0 turns a rule off.
    alertDriftPercent: z.coerce.number().min(0).max(100).default(limits.alertDriftPercentDefault),
    alertOldestPendingSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .max(limits.alertMinutesMax * 60)
      .default(limits.alertOldestPendingSecondsDefault),
    alertFailingMinutes: alertMinutes(limits.alertFailingMinutesDefault),
    // Order silence: the floor in minutes (0 turns the rule off) and the factor over each
    // channel's usual gap between order lines.
    alertOrderSilenceMinutes: alertMinutes(limits.alertOrderSilenceMinutesDefault),
    alertOrderSilenceFactor: z.coerce
      .number()
      .min(1)
      .max(limits.alertOrderSilenceFactorMax)
      .default(limits.alertOrderSilenceFactorDefault),
    alertDeadLetters: z.boolean().default(true),
    // Where alerts are posted, signed with the secret (which may be given as env:NAME).
    alertWebhookUrl: z
      .string()
      .url('expected an http:// or https:// URL')
      .refine((text) => /^https?:\/\//i.test(text), 'expected an http:// or https:// URL')
      .nullable()
      .default(null),
    alertWebhookSecret: z
      .string()
      .min(16, 'expected at least 16 characters')
      .transform((text) => new Secret(text))
      .nullable()
      .default(null),
  })
  .strict()
  .superRefine((config, context) => {
    if (
      storeProfile(config.database) === 'postgres' &&
      !config.allowMaintenanceDatabase &&
      postgresDatabaseName(config.database) === 'postgres'
    )
      context.addIssue({
        code: 'custom',
        path: ['database'],
        message:
          "names PostgreSQL's maintenance database postgres: create one for onhand (createdb onhand) and name it in the URL, or pass --allow-maintenance-database",
      });
    if (config.alertWebhookUrl !== null && config.alertWebhookSecret === null)
      context.addIssue({
        code: 'custom',
        path: ['alertWebhookSecret'],
        message: 'required when an alert webhook URL is set (the deliveries are signed with it)',
      });
  });

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
  heapGrowthPercent: { flag: '--heap-growth-percent', env: ['ONHAND_HEAP_GROWTH_PERCENT'] },
  allowMaintenanceDatabase: { flag: '--allow-maintenance-database', env: ['ONHAND_ALLOW_MAINTENANCE_DATABASE'] },
  metricsListen: { flag: '--metrics-listen', env: ['ONHAND_METRICS_LISTEN'] },
  demo: { flag: '--demo', env: ['ONHAND_DEMO'] },
  alertDriftPercent: { flag: '--alert-drift-percent', env: ['ONHAND_ALERT_DRIFT_PERCENT'] },
  alertOldestPendingSeconds: { flag: '--alert-oldest-pending-seconds', env: ['ONHAND_ALERT_OLDEST_PENDING_SECONDS'] },
  alertFailingMinutes: { flag: '--alert-failing-minutes', env: ['ONHAND_ALERT_FAILING_MINUTES'] },
  alertOrderSilenceMinutes: { flag: '--alert-order-silence-minutes', env: ['ONHAND_ALERT_ORDER_SILENCE_MINUTES'] },
  alertOrderSilenceFactor: { flag: '--alert-order-silence-factor', env: ['ONHAND_ALERT_ORDER_SILENCE_FACTOR'] },
  alertDeadLetters: { flag: '--alert-dead-letters', env: ['ONHAND_ALERT_DEAD_LETTERS'] },
  alertWebhookUrl: { flag: '--alert-webhook-url', env: ['ONHAND_ALERT_WEBHOOK_URL'] },
  alertWebhookSecret: { flag: '--alert-webhook-secret', env: ['ONHAND_ALERT_WEBHOOK_SECRET'] },
};

/** Settings whose values an error message never repeats. */
export const secretSettings: ReadonlySet<keyof Config> = new Set(['alertWebhookSecret']);

export function storeProfile(database: string): 'postgres' | 'sqlite' {
  return /^postgres(ql)?:\/\//i.test(database) ? 'postgres' : 'sqlite';
}

/**
 * The database a postgres:// URL connects to: its path, else (as libpq and pg do) the user's
 * name; `undefined` when neither is in the URL (pg then takes PGDATABASE / PGUSER).
 */
export function postgresDatabaseName(database: string): string | undefined {
  try {
    const url = new URL(database);
    const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username);
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

/** The setting as shown in a message: a URL's password masked. */
export function shownDatabase(database: string): string {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(database)) return database;
  try {
    const url = new URL(database);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return database.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  }
}
