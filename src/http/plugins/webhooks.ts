import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { resolveSettings, shopifyConnectorSettings } from '../../connectors/connector-settings.js';
import {
  parseShopifyWebhookBody,
  readShopifyWebhookHeaders,
  shopifyWebhookToOrderLines,
  verifyShopifyWebhook,
} from '../../connectors/shopify/shopify-webhooks.js';
import { ingestOrderLines } from '../../ingest/order-lines.js';
import type { GroupCommitter } from '../../store/group-commit.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { ProblemError } from '../errors.js';
import { problemResponses } from '../schemas.js';

export interface WebhooksDeps {
  store: LedgerStore;
  ledger: GroupCommitter;
  clock: Clock;
}

/**
 * Signed webhooks from the channels (no bearer token: the signature is the credential).
 * Shopify: `POST /webhooks/shopify/{channel}` (RELIABILITY 1.4, 1.9; S1, I1):
 * 1. the RAW body bytes (this plugin parses JSON as a Buffer; re-serialised JSON would not verify);
 * 2. HMAC-SHA256 of those bytes with the channel's webhook secret, constant-time, current or
 *    previous secret (rotation) - before anything is parsed, logged or stored;
 * 3. X-Shopify-Shop-Domain (unsigned) must be the connection's shop;
 * 4. the delivery becomes order lines keyed by the BUSINESS event (shop, order, line, kind),
 *    never by X-Shopify-Webhook-Id, so a redelivery or duplicate changes nothing;
 * 5. the lines are applied as ledger facts (durably) before the 200.
 */
export async function webhooksPlugin(app: FastifyInstance, deps: WebhooksDeps): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.webhookBodyBytesMax }, (_request, body, done) => done(null, body));

  app.post(
    '/shopify/:channel',
    {
      bodyLimit: limits.webhookBodyBytesMax,
      schema: {
        tags: ['webhooks'],
        summary: 'A Shopify webhook (orders/create, orders/cancelled, refunds/create, inventory_levels/update)',
        description:
          'Authenticated by X-Shopify-Hmac-Sha256 over the raw body with the channel\'s webhook secret; no bearer token. ' +
          'Order events become ledger facts with keys from the business event.',
        params: Type.Object({ channel: Type.String({ minLength: 1, maxLength: limits.codeLengthMax }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            applied: Type.Integer(),
            replayed: Type.Integer(),
            refused: Type.Integer(),
            unmapped: Type.Integer(),
            ignored: Type.Boolean(),
          }),
          ...problemResponses([400, 401, 404, 413, 500, 503]),
        },
      },
    },
    async (request: FastifyRequest<{ Params: { channel: string } }>) => {
      const channel = await deps.store.getChannel(request.params.channel);
      if (!channel || channel.platform !== 'shopify' || channel.settings.connector === undefined) {
        throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no Shopify channel ${request.params.channel} with connector settings`);
      }
      const settings = resolveSettings(channel.code, shopifyConnectorSettings, channel.settings.connector);
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const headers = readShopifyWebhookHeaders(request.headers);
      const secrets = [settings.webhook_secret, ...(settings.previous_webhook_secret ? [settings.previous_webhook_secret] : [])];
      if (!verifyShopifyWebhook(raw, headers.hmac, secrets)) throw new ProblemError('ONH_ERR_WEBHOOK_SIGNATURE', 'X-Shopify-Hmac-Sha256 does not verify');
      if ((headers.shopDomain ?? '').toLowerCase() !== settings.shop_domain.toLowerCase()) {
        throw new ProblemError('ONH_ERR_WEBHOOK_SIGNATURE', 'X-Shopify-Shop-Domain is not this channel\'s shop');
      }
      const parsed = parseShopifyWebhookBody(raw);
      if (!parsed.ok) throw new ProblemError('ONH_ERR_WEBHOOK_INVALID', parsed.reason);
      const event = shopifyWebhookToOrderLines(headers.topic ?? '', parsed.payload, settings.shop_domain);
      if (event.kind === 'invalid') throw new ProblemError('ONH_ERR_WEBHOOK_INVALID', event.reason);
      if (event.kind === 'level') {
        // What Shopify shows now: our own push's echo, or an edit made in Shopify's admin.
        if (event.available !== null && event.locationId === settings.location_id) {
          const seen = await deps.store.noticeChannelLevel(channel.code, event.inventoryItemId, event.available, deps.clock.now(), limits.driftGraceMs);
          if (seen === 'drift') request.log.info({ channel: channel.code, item: event.inventoryItemId, shown: event.available }, 'channel drift noticed');
        }
        return { applied: 0, replayed: 0, refused: 0, unmapped: 0, ignored: true };
      }
      if (event.kind !== 'lines') return { applied: 0, replayed: 0, refused: 0, unmapped: 0, ignored: true };
      const report = await ingestOrderLines(event.lines, channel, deps.store, deps.ledger);
      if (report.refused.length > 0 || report.unmapped.length > 0) request.log.warn({ channel: channel.code, report }, 'webhook lines not applied');
      return { applied: report.applied, replayed: report.replayed, refused: report.refused.length, unmapped: report.unmapped.length, ignored: false };
    },
  );
}
