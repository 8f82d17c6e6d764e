import { configSchema, configSources, secretSettings, shownDatabase, type Config } from './config-schema.js';

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

function booleanFrom(where: string, value: unknown): boolean {
  const word = String(value).toLowerCase();
  if (!(word in booleanWords)) throw new ConfigError(`${where}=${JSON.stringify(value)}: expected true or false`);
  return booleanWords[word] as boolean;
}

/** A secret given as `env:NAME` is read from that variable; the value itself is never repeated in an error. */
function secretFrom(where: string, value: unknown, env: NodeJS.ProcessEnv): unknown {
  const text = String(value);
  if (!text.startsWith('env:')) return value;
  const variable = text.slice('env:'.length);
  const found = env[variable];
  if (variable === '' || found === undefined || found === '')
    throw new ConfigError(
      `invalid configuration: ${where}=${JSON.stringify(text)}: the variable ${variable || '(none)'} is not set`,
    );
  return found;
}

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
  const shown = (name: string, value: unknown) =>
    secretSettings.has(name as keyof Config)
      ? '"[redacted]"'
      : name === 'database' && typeof value === 'string'
        ? JSON.stringify(shownDatabase(value))
        : JSON.stringify(value);
  for (const [name, source] of Object.entries(configSources) as [keyof Config, { flag: string; env: string[] }][]) {
    if (flags[name] !== undefined) {
      raw[name] = flags[name];
      origin[name] = source.flag;
      if (name === 'alertDeadLetters' && typeof raw[name] === 'string') raw[name] = booleanFrom(source.flag, raw[name]);
      if (secretSettings.has(name)) raw[name] = secretFrom(source.flag, raw[name], env);
      continue;
    }
    const variable = source.env.find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
    if (variable === undefined) continue;
    let value: unknown = env[variable];
    if (
      name === 'allowAsyncCommit' ||
      name === 'allowMaintenanceDatabase' ||
      name === 'demo' ||
      name === 'alertDeadLetters'
    )
      value = booleanFrom(variable, value);
    if (secretSettings.has(name)) value = secretFrom(variable, value, env);
    raw[name] = value;
    origin[name] = variable;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      const source = configSources[name as keyof Config];
      if (origin[name] === undefined && source)
        return `${source.flag} (env ${source.env.join(' / ')}) ${issue.message}`;
      return `${origin[name] ?? name}=${shown(name, raw[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${messages.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}
