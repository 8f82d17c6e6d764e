import { configSchema, configSources, type Config } from './config-schema.js';

/** A configuration error that names the bad setting and where it came from. */
export class ConfigError extends Error {
  readonly code = 'ONH_ERR_CONFIG';
}

const booleanWords: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  on: true,
  false: false,
  '0': false,
  no: false,
  off: false,
};

/**
 * Flags win over the environment, the environment over defaults. The result is validated
 * against {@link configSchema} and frozen; an invalid value throws a {@link ConfigError}
 * naming the flag or variable, e.g. `ONHAND_PORT="abc": expected a number`.
 */
export function loadConfig(
  flags: Partial<Record<keyof Config, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const [name, source] of Object.entries(configSources) as [keyof Config, { flag: string; env: string[] }][]) {
    if (flags[name] !== undefined) {
      raw[name] = flags[name];
      origin[name] = source.flag;
      continue;
    }
    const variable = source.env.find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
    if (variable === undefined) continue;
    let value: unknown = env[variable];
    if (name === 'allowAsyncCommit' || name === 'demo') {
      const word = String(value).toLowerCase();
      if (!(word in booleanWords))
        throw new ConfigError(`${variable}=${JSON.stringify(value)}: expected true or false`);
      value = booleanWords[word];
    }
    raw[name] = value;
    origin[name] = variable;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      const where = origin[name] ?? name;
      return `${where}=${JSON.stringify(raw[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${messages.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}
