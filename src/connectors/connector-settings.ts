import { z } from 'zod';

/**
 * A channel's connector settings (`settings.connector` of the channel), validated per
 * platform. Any string may be `env:NAME` to read it from the environment at start, so secrets
 * need not live in the database (the API never shows secrets either way).
 */
const url = z.string().url();
export const bolConnectorSettings = z
  .object({
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    base_url: url.optional(),
    token_url: url.optional(),
    account: z.string().min(1).optional(),
    managed_by_retailer: z.boolean().optional(),
    poll_interval_ms: z.number().int().min(1000).max(3_600_000).optional(),
  })
  .strict();

export type BolConnectorSettings = z.infer<typeof bolConnectorSettings>;

export const shopifyConnectorSettings = z
  .object({
    shop_domain: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$/i, 'a *.myshopify.com domain'),
    access_token: z.string().min(1),
    /** The Shopify location (gid) the channel's quantities are set at. */
    location_id: z.string().min(1),
    /** The app's client secret that signs webhooks; during a rotation, the previous one too. */
    webhook_secret: z.string().min(1),
    previous_webhook_secret: z.string().min(1).optional(),
    api_version: z.string().optional(),
    /** Origin instead of https://<shop_domain> (the simulator). */
    base_url: z.string().url().optional(),
  })
  .strict();

export type ShopifyConnectorSettings = z.infer<typeof shopifyConnectorSettings>;

export class ConnectorSettingsError extends Error {
  readonly code = 'ONH_ERR_CONFIG';
}

/** Resolve `env:NAME` references and validate; the error names the channel and the field. */
export function resolveSettings<T>(channel: string, schema: z.ZodType<T>, raw: unknown, env: NodeJS.ProcessEnv = process.env): T {
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string' && value.startsWith('env:')) {
      const name = value.slice(4);
      const found = env[name];
      if (found === undefined) throw new ConnectorSettingsError(`channel ${channel}: environment variable ${name} is not set`);
      return found;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, resolve(inner)]));
    }
    return value;
  };
  const parsed = schema.safeParse(resolve(raw));
  if (!parsed.success) {
    throw new ConnectorSettingsError(
      `channel ${channel}: invalid connector settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
