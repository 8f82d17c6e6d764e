import type { Clock } from '../core/clock.js';
import { AmazonConnector } from './amazon/amazon-connector.js';
import { BolConnector } from './bol/bol-connector.js';
import type { ChannelConnector } from './channel-connector.js';
import {
  amazonConnectorSettings,
  bolConnectorSettings,
  ConnectorSettingsError,
  gmcConnectorSettings,
  resolveSettings,
  shopifyConnectorSettings,
  woocommerceConnectorSettings,
} from './connector-settings.js';
import { readPrivateKey } from './gmc/gmc-auth.js';
import { GmcConnector } from './gmc/gmc-connector.js';
import { ShopifyConnector } from './shopify/shopify-connector.js';
import { WooCommerceConnector } from './woocommerce/woocommerce-connector.js';

/** What the registry reads of a channel (the store's ChannelRecord has these fields). */
export interface ConnectableChannel {
  code: string;
  platform: string;
  settings: Readonly<Record<string, unknown>>;
}

/** The platforms that sign their webhooks (route `POST /webhooks/<platform>/<channel>`), as the API docs describe them. */
export const webhookPlatforms: readonly { platform: string; summary: string; description: string }[] = [
  {
    platform: 'shopify',
    summary: 'A Shopify webhook (orders/create, orders/cancelled, refunds/create, inventory_levels/update)',
    description:
      "Authenticated by X-Shopify-Hmac-Sha256 over the raw body with the channel's webhook secret; no bearer token. " +
      'Order events become ledger facts with keys from the business event.',
  },
  {
    platform: 'woocommerce',
    summary: 'A WooCommerce webhook (order.created, order.updated, order.deleted, order.restored)',
    description:
      "Authenticated by X-WC-Webhook-Signature (base64 HMAC-SHA256 over the raw body) with the channel's webhook secret; " +
      'no bearer token. The unsigned ping of a new webhook (form body webhook_id=<id>) is answered 200 and changes ' +
      'nothing. WooCommerce never retries: the order poll of the channel catches what a lost delivery missed.',
  },
];

/**
 * The connector for a channel, from its `settings.connector`: the one place that picks a
 * connector by platform. A new platform adds its case here (and to webhookPlatforms if it
 * signs webhooks), its settings schema in connector-settings.ts, and its own folder; push,
 * intake and read-back then work unchanged.
 * Channels without connector settings are tracked but not connected (undefined).
 * Throws ConnectorSettingsError on settings that do not validate.
 */
export function connectChannel(channel: ConnectableChannel, clock: Clock): ChannelConnector | undefined {
  const raw = channel.settings.connector;
  if (raw === undefined) return undefined;
  switch (channel.platform) {
    case 'amazon': {
      const settings = resolveSettings(channel.code, amazonConnectorSettings, raw);
      return new AmazonConnector({
        sellerId: settings.seller_id,
        marketplaceIds: settings.marketplace_ids,
        region: settings.region,
        clientId: settings.client_id,
        clientSecret: settings.client_secret,
        refreshToken: settings.refresh_token,
        ...(settings.product_type ? { productType: settings.product_type } : {}),
        ...(settings.poll_interval_ms === undefined ? {} : { pollIntervalMs: settings.poll_interval_ms }),
        ...(settings.inventory_poll_interval_ms === undefined
          ? {}
          : { inventoryPollIntervalMs: settings.inventory_poll_interval_ms }),
        ...(settings.base_url ? { baseUrl: settings.base_url } : {}),
        ...(settings.token_url ? { tokenUrl: settings.token_url } : {}),
        clock,
      });
    }
    case 'bol': {
      const settings = resolveSettings(channel.code, bolConnectorSettings, raw);
      return new BolConnector({
        account: settings.account ?? channel.code,
        ...(settings.base_url ? { baseUrl: settings.base_url } : {}),
        ...(settings.token_url ? { tokenUrl: settings.token_url } : {}),
        clientId: settings.client_id,
        clientSecret: settings.client_secret,
        ...(settings.managed_by_retailer === undefined ? {} : { managedByRetailer: settings.managed_by_retailer }),
        ...(settings.poll_interval_ms === undefined ? {} : { pollIntervalMs: settings.poll_interval_ms }),
        clock,
      });
    }
    case 'shopify': {
      const settings = resolveSettings(channel.code, shopifyConnectorSettings, raw);
      return new ShopifyConnector({
        shopDomain: settings.shop_domain,
        accessToken: settings.access_token,
        locationId: settings.location_id,
        webhookSecrets: [
          settings.webhook_secret,
          ...(settings.previous_webhook_secret ? [settings.previous_webhook_secret] : []),
        ],
        ...(settings.api_version ? { apiVersion: settings.api_version } : {}),
        ...(settings.base_url ? { baseUrl: settings.base_url } : {}),
      });
    }
    case 'gmc': {
      // Feed only: no webhooks, no order poll; orderLineAccount stays null for it.
      const settings = resolveSettings(channel.code, gmcConnectorSettings, raw);
      try {
        readPrivateKey(settings.private_key);
      } catch (error) {
        // The message names the problem, never the key.
        throw new ConnectorSettingsError(
          `channel ${channel.code}: invalid connector settings: ${(error as Error).message}`,
        );
      }
      return new GmcConnector({
        account: settings.merchant_id,
        dataSource: settings.data_source,
        clientEmail: settings.client_email,
        privateKey: settings.private_key,
        privateKeyId: settings.private_key_id,
        contentLanguage: settings.content_language,
        feedLabel: settings.feed_label,
        preorderAs: settings.preorder_availability === 'backorder' ? 'BACKORDER' : 'PREORDER',
        perMinute: {
          ...(settings.insert_per_minute === undefined ? {} : { insert: settings.insert_per_minute }),
          ...(settings.get_per_minute === undefined ? {} : { get: settings.get_per_minute }),
          ...(settings.list_per_minute === undefined ? {} : { list: settings.list_per_minute }),
        },
        ...(settings.batch_requests === undefined ? {} : { batchRequests: settings.batch_requests }),
        ...(settings.base_url ? { baseUrl: settings.base_url } : {}),
        ...(settings.token_url ? { tokenUrl: settings.token_url } : {}),
      });
    }
    case 'woocommerce': {
      const settings = resolveSettings(channel.code, woocommerceConnectorSettings, raw);
      return new WooCommerceConnector({
        storeUrl: settings.store_url,
        consumerKey: settings.consumer_key,
        consumerSecret: settings.consumer_secret,
        webhookSecrets: [
          ...(settings.webhook_secret ? [settings.webhook_secret] : []),
          ...(settings.previous_webhook_secret ? [settings.previous_webhook_secret] : []),
        ],
        account: settings.account ?? channel.code,
        ...(settings.requests_per_second === undefined ? {} : { requestsPerSecond: settings.requests_per_second }),
        ...(settings.concurrency === undefined ? {} : { concurrency: settings.concurrency }),
        ...(settings.poll_interval_ms === undefined ? {} : { pollIntervalMs: settings.poll_interval_ms }),
        clock,
      });
    }
    default:
      throw new Error(`channel ${channel.code}: no connector for platform ${channel.platform} yet`);
  }
}

/**
 * The account a channel's connector puts in its order line keys (`<platform>:<account>:...`),
 * exactly as its intake will key the channel's own events: Shopify the shop domain, lower-cased
 * (the webhook parser's form); bol and woocommerce `settings.connector.account`, else the
 * channel's code (as connectChannel builds the connector); Amazon the seller id. Null when the channel has no connector settings or its
 * platform has no intake here: no event of it will ever name a line. Throws
 * ConnectorSettingsError on settings that do not validate.
 */
export function orderLineAccount(channel: ConnectableChannel): string | null {
  const raw = channel.settings.connector;
  if (raw === undefined) return null;
  switch (channel.platform) {
    case 'amazon':
      return resolveSettings(channel.code, amazonConnectorSettings, raw).seller_id;
    case 'bol':
      return resolveSettings(channel.code, bolConnectorSettings, raw).account ?? channel.code;
    case 'shopify':
      return resolveSettings(channel.code, shopifyConnectorSettings, raw).shop_domain.toLowerCase();
    case 'woocommerce':
      return resolveSettings(channel.code, woocommerceConnectorSettings, raw).account ?? channel.code;
    default:
      return null;
  }
}
