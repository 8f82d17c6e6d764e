import { z } from 'zod';
import { limits } from '../core/limits.js';

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

/** Google Merchant Center (docs/channels/google-merchant-center.md): a service account's key and where the feed goes. */
export const gmcConnectorSettings = z
  .object({
    /** The Merchant Center account id. */
    merchant_id: z.string().regex(/^\d{1,20}$/, 'a Merchant Center account id (digits)'),
    /** The data source id onhand inserts into (a supplemental API data source). */
    data_source: z.string().regex(/^\d{1,20}$/, 'a data source id (digits)'),
    /** `client_email` of the service account's JSON key. */
    client_email: z.string().email(),
    /** `private_key` of the JSON key: the PEM RSA key that signs the token requests. */
    private_key: z.string().min(1),
    /** `private_key_id` of the JSON key (sent as the JWT's kid). */
    private_key_id: z.string().min(1).max(100).optional(),
    content_language: z.string().regex(/^[a-z]{2}$/, 'an ISO 639-1 code'),
    feed_label: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'a feed label (letters, digits, - and _)'),
    /** What a pre-order offer is shown as. @default preorder */
    preorder_availability: z.enum(['preorder', 'backorder']).optional(),
    /** The account's per-minute quotas (quotas.list, quotaMinuteLimit) per method group. */
    insert_per_minute: z.number().int().min(1).max(1_000_000).optional(),
    get_per_minute: z.number().int().min(1).max(1_000_000).optional(),
    list_per_minute: z.number().int().min(1).max(1_000_000).optional(),
    /** A push's inserts as one HTTP batch request; false: one request per insert. @default true */
    batch_requests: z.boolean().optional(),
    /** Origin instead of https://merchantapi.googleapis.com (the simulator). */
    base_url: url.optional(),
    /** Token endpoint instead of https://oauth2.googleapis.com/token (the simulator). */
    token_url: url.optional(),
  })
  .strict();

export const amazonConnectorSettings = z
  .object({
    /** The seller's merchant token (selling partner id): in API paths and order line keys. */
    seller_id: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'a merchant token (letters and digits)'),
    marketplace_ids: z.array(z.string().regex(/^[A-Z0-9]{1,32}$/)).min(1),
    region: z.enum(['na', 'eu', 'fe']),
    /** The application's LWA credentials and the seller's refresh token (docs/channels/amazon.md, Authentication). */
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    refresh_token: z.string().min(1),
    /** productType sent with each patch. @default PRODUCT */
    product_type: z.string().min(1).optional(),
    poll_interval_ms: z.number().int().min(1000).max(3_600_000).optional(),
    /** Pause between two FBA inventory reads (only with a marketplace_fulfilment location). @default 5 minutes */
    inventory_poll_interval_ms: z
      .number()
      .int()
      .min(10_000)
      .max(24 * 3_600_000)
      .optional(),
    /** Origin instead of the region's (the simulator). */
    base_url: url.optional(),
    /** LWA token endpoint instead of https://api.amazon.com/auth/o2/token (the simulator). */
    token_url: url.optional(),
  })
  .strict();

export type GmcConnectorSettings = z.infer<typeof gmcConnectorSettings>;
export type AmazonConnectorSettings = z.infer<typeof amazonConnectorSettings>;

export const woocommerceConnectorSettings = z
  .object({
    /** The shop's address (WordPress home), https://...; plain http only signs with OAuth 1.0a. */
    store_url: url.refine((text) => /^https?:/i.test(text), 'an http(s) URL'),
    consumer_key: z.string().min(1),
    consumer_secret: z.string().min(1),
    /** The secret of the shop's order webhooks; during a rotation, the previous one too. */
    webhook_secret: z.string().min(1).optional(),
    previous_webhook_secret: z.string().min(1).optional(),
    /** Order line keys' account (`woocommerce:<account>:...`); the channel's code when absent. */
    account: z
      .string()
      .min(1)
      .regex(/^[^:]+$/, 'no ":"')
      .optional(),
    /** The host's budget: requests started per second, and in flight at once. */
    requests_per_second: z.number().int().min(1).max(limits.wooRequestsPerSecondCeiling).optional(),
    concurrency: z.number().int().min(1).max(limits.wooConcurrencyCeiling).optional(),
    poll_interval_ms: z.number().int().min(1000).max(3_600_000).optional(),
  })
  .strict();

export type WoocommerceConnectorSettings = z.infer<typeof woocommerceConnectorSettings>;

export class ConnectorSettingsError extends Error {
  readonly code = 'ONH_ERR_CONFIG';
}

/** Resolve `env:NAME` references and validate; the error names the channel and the field. */
export function resolveSettings<T>(
  channel: string,
  schema: z.ZodType<T>,
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string' && value.startsWith('env:')) {
      const name = value.slice(4);
      const found = env[name];
      if (found === undefined)
        throw new ConnectorSettingsError(`channel ${channel}: environment variable ${name} is not set`);
      return found;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, resolve(inner)]),
      );
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

// --- what a read token may see -------------------------------------------------------------

/**
 * What each connector field holds, so that redaction goes by what a value is, not by its key:
 * `secret` is shown only as an `env:NAME` reference, `url` loses its userinfo, `plain` is
 * shown when it is a scalar. The tables are checked against the schemas at compile time, so a
 * new field must be classified.
 */
export type SettingKind = 'plain' | 'secret' | 'url';

const bolSettingKinds = {
  client_id: 'plain',
  client_secret: 'secret',
  base_url: 'url',
  token_url: 'url',
  account: 'plain',
  managed_by_retailer: 'plain',
  poll_interval_ms: 'plain',
} as const satisfies Record<keyof BolConnectorSettings, SettingKind>;

const shopifySettingKinds = {
  shop_domain: 'plain',
  access_token: 'secret',
  location_id: 'plain',
  webhook_secret: 'secret',
  previous_webhook_secret: 'secret',
  api_version: 'plain',
  base_url: 'url',
} as const satisfies Record<keyof ShopifyConnectorSettings, SettingKind>;

const gmcSettingKinds = {
  merchant_id: 'plain',
  data_source: 'plain',
  client_email: 'plain',
  private_key: 'secret',
  private_key_id: 'plain',
  content_language: 'plain',
  feed_label: 'plain',
  preorder_availability: 'plain',
  insert_per_minute: 'plain',
  get_per_minute: 'plain',
  list_per_minute: 'plain',
  batch_requests: 'plain',
  base_url: 'url',
  token_url: 'url',
} as const satisfies Record<keyof GmcConnectorSettings, SettingKind>;
const amazonSettingKinds = {
  seller_id: 'plain',
  marketplace_ids: 'plain',
  region: 'plain',
  client_id: 'plain',
  client_secret: 'secret',
  refresh_token: 'secret',
  product_type: 'plain',
  poll_interval_ms: 'plain',
  inventory_poll_interval_ms: 'plain',
  base_url: 'url',
  token_url: 'url',
} as const satisfies Record<keyof AmazonConnectorSettings, SettingKind>;
const woocommerceSettingKinds = {
  store_url: 'url',
  consumer_key: 'secret',
  consumer_secret: 'secret',
  webhook_secret: 'secret',
  previous_webhook_secret: 'secret',
  account: 'plain',
  requests_per_second: 'plain',
  concurrency: 'plain',
  poll_interval_ms: 'plain',
} as const satisfies Record<keyof WoocommerceConnectorSettings, SettingKind>;

export const connectorSettingKinds: Readonly<Record<string, Readonly<Record<string, SettingKind>>>> = Object.freeze({
  amazon: amazonSettingKinds,
  bol: bolSettingKinds,
  shopify: shopifySettingKinds,
  gmc: gmcSettingKinds,
  woocommerce: woocommerceSettingKinds,
});

export const redacted = '***';
const envReference = /^env:[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A URL without its userinfo; anything that is not a URL is not shown. */
function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return redacted;
  }
  if (url.username === '' && url.password === '') return text;
  url.username = '';
  url.password = '';
  return url.toString();
}

function redactValue(kind: SettingKind | undefined, value: unknown): unknown {
  if (typeof value === 'string' && envReference.test(value)) return value;
  // Only a web address is shown: `env:SECRET-not-a-name` parses as a URL of scheme `env:` too.
  if (kind === 'url') return typeof value === 'string' && /^https?:\/\//i.test(value) ? redactUrl(value) : redacted;
  if (kind !== 'plain') return redacted;
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value) ? redactUrl(value) : value;
  return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : redacted;
}

/**
 * A channel's settings as a read token sees them. Only fields the platform's connector
 * classifies are shown (at the top level too, where descriptive copies such as `shop_domain`
 * live), each by its kind; every other key keeps its name and shows "***", whatever it holds.
 * Never recursive, so a stored document of any depth is shown in constant stack.
 */
export function redactChannelSettings(platform: string, settings: unknown): Record<string, unknown> {
  const kinds = connectorSettingKinds[platform] ?? {};
  const kindOf = (name: string) => (Object.hasOwn(kinds, name) ? kinds[name] : undefined);
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) return {};
  // fromEntries defines own properties, so a stored `__proto__` key stays a key.
  return Object.fromEntries(
    Object.entries(settings).map(([name, value]): [string, unknown] => {
      if (name !== 'connector') return [name, redactValue(kindOf(name), value)];
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [name, redacted];
      return [
        name,
        Object.fromEntries(Object.entries(value).map(([field, inner]) => [field, redactValue(kindOf(field), inner)])),
      ];
    }),
  );
}

// --- checked when stored ---------------------------------------------------------------------

const connectorSchemas: Readonly<Record<string, z.ZodObject>> = Object.freeze({
  amazon: amazonConnectorSettings,
  bol: bolConnectorSettings,
  shopify: shopifyConnectorSettings,
  gmc: gmcConnectorSettings,
  woocommerce: woocommerceConnectorSettings,
});

/**
 * Why a channel's `settings.connector` would not start, found when it is stored rather than
 * when a webhook arrives or the server starts: unknown fields (a typo would otherwise leave a
 * secret unread), wrong types, missing required fields. An `env:NAME` reference stands for any
 * field, since the environment is read only at start. Paths are relative to `connector`.
 */
export function connectorSettingsFaults(platform: string, raw: unknown): { path: string; message: string }[] {
  const schema = connectorSchemas[platform];
  if (!schema) return [{ path: '', message: `platform ${platform} has no connector yet` }];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return [{ path: '', message: 'must be an object' }];
  const faults: { path: string; message: string }[] = [];
  const shape = schema.shape as Record<string, z.ZodType>;
  for (const [field, value] of Object.entries(raw)) {
    const fieldSchema = Object.hasOwn(shape, field) ? shape[field] : undefined;
    if (!fieldSchema) {
      faults.push({ path: `/${field}`, message: 'is not a field of this connector' });
      continue;
    }
    if (typeof value === 'string' && envReference.test(value)) continue;
    const parsed = fieldSchema.safeParse(value);
    if (!parsed.success) faults.push({ path: `/${field}`, message: parsed.error.issues[0]?.message ?? 'is invalid' });
  }
  for (const [field, fieldSchema] of Object.entries(shape)) {
    if (!Object.hasOwn(raw, field) && !fieldSchema.safeParse(undefined).success)
      faults.push({ path: `/${field}`, message: 'is required' });
  }
  return faults;
}
