import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { webhookPlatforms } from '../../connectors/connector-registry.js';
import { cachedConnectors, receiveWebhook } from '../../ingest/webhook-intake.js';
import type { OrderLineIntake } from '../../ingest/order-line-intake.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { ProblemError } from '../errors.js';
import { problemResponses } from '../schemas.js';

export interface WebhooksDeps {
  store: LedgerStore;
  orders: OrderLineIntake;
  clock: Clock;
}

/**
 * Signed webhooks from the channels (no bearer token: the signature is the credential):
 * `POST /webhooks/<platform>/<channel>`. This plugin only keeps the RAW body bytes (a
 * re-serialised JSON body would not verify) and turns the intake's answer into HTTP; the
 * verification, the parsing and the ledger facts are src/ingest/webhook-intake.ts.
 */
export async function webhooksPlugin(app: FastifyInstance, deps: WebhooksDeps): Promise<void> {
  const intake = { ...deps, connect: cachedConnectors() };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.webhookBodyBytesMax }, (_request, body, done) =>
    done(null, body),
  );

  for (const route of webhookPlatforms) {
    app.post(
      `/${route.platform}/:channel`,
      {
        bodyLimit: limits.webhookBodyBytesMax,
        schema: {
          tags: ['webhooks'],
          summary: route.summary,
          description: route.description,
          params: Type.Object(
            { channel: Type.String({ minLength: 1, maxLength: limits.codeLengthMax }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              events: Type.Integer({ description: 'Order-line events in the delivery' }),
              changed: Type.Integer({ description: 'Lines whose ledger effect changed' }),
              unchanged: Type.Integer({ description: 'Lines the delivery taught nothing new (duplicates)' }),
              blocked: Type.Integer({ description: 'Lines kept in the intake inbox (GET /v1/intake/inbox)' }),
              invalid: Type.Integer({
                description:
                  'Events not understood (an unknown Shopify restock type or fulfilment status, an unknown kind, text no store may hold): each holds its line in the intake inbox with the reason until dismissed',
              }),
              ignored: Type.Boolean(),
            }),
            ...problemResponses([400, 401, 404, 409, 413, 500, 503]),
          },
        },
      },
      async (request: FastifyRequest<{ Params: { channel: string } }>) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const receipt = await receiveWebhook(intake, route.platform, request.params.channel, {
          body,
          headers: request.headers,
        }).catch((error: unknown) => {
          // Connector settings stored before they were checked at write, or an env: variable
          // this process lacks: the operator's to fix; a 503 makes the platform deliver again.
          if ((error as { code?: unknown }).code !== 'ONH_ERR_CONFIG') throw error;
          request.log.error(
            { channel: request.params.channel, reason: (error as Error).message },
            'webhook channel misconfigured',
          );
          throw new ProblemError(
            'ONH_ERR_UNAVAILABLE',
            `channel ${request.params.channel} takes no webhooks until its connector settings are fixed`,
          );
        });
        switch (receipt.status) {
          case 'unknown-channel':
            throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', receipt.reason);
          case 'unauthentic':
            throw new ProblemError('ONH_ERR_WEBHOOK_SIGNATURE', receipt.reason);
          case 'invalid':
            throw new ProblemError('ONH_ERR_WEBHOOK_INVALID', receipt.reason);
          case 'inactive-channel':
            throw new ProblemError('ONH_ERR_CHANNEL_INACTIVE', receipt.reason);
          case 'accepted':
            break;
        }
        const { report } = receipt;
        if (receipt.drift)
          request.log.info(
            { channel: receipt.channel, item: receipt.drift.externalId, shown: receipt.drift.shown },
            'channel drift noticed',
          );
        if (report.blocked.length > 0)
          request.log.warn({ channel: receipt.channel, report }, 'order lines kept in the intake inbox');
        // Events not understood whose lines were not blocked: an operator had dismissed them before.
        else if (report.invalid.length > 0)
          request.log.warn({ channel: receipt.channel, report }, 'order line events not understood, dismissed earlier');
        return {
          events: report.events,
          changed: report.changed,
          unchanged: report.unchanged,
          blocked: report.blocked.length,
          invalid: report.invalid.length,
          ignored: receipt.ignored,
        };
      },
    );
  }
}
