import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BulkOperations } from './bulk-operations.js';
import { type CostBucket, cost } from './cost-bucket.js';
import type { FaultInjector } from './fault-injector.js';
import { type OperationPlan, undefinedField } from './graphql-error.js';
import { parseOperation, type OperationField } from './graphql-operation.js';
import { readBody, sendJson } from './http-reply.js';
import type { IdempotencyStore, StoredAnswer } from './idempotency-store.js';
import { planSetQuantities } from './inventory-mutation.js';
import { planQuery } from './inventory-query.js';
import type { ShopifyFaults, ShopStats } from './shop-options.js';
import type { ShopState } from './shop-state.js';

export interface GraphqlAdmissionOptions {
  shop: ShopState;
  bucket: CostBucket;
  faultInjector: FaultInjector;
  idempotency: IdempotencyStore;
  stats: ShopStats;
  faults: () => ShopifyFaults;
  throttleWithHttp429: boolean;
  bulk: BulkOperations;
}

/**
 * One Admin GraphQL request, once routed and authenticated: faults that strike first, the plan of
 * the operation, admission by the cost bucket, the idempotency verdict, the run, the refund of
 * requested - actual, and a lost answer on demand.
 */
export class GraphqlAdmission {
  constructor(private readonly options: GraphqlAdmissionOptions) {}

  async answer(request: IncomingMessage, response: ServerResponse, version: string): Promise<void> {
    const { bucket, stats } = this.options;
    const raw = await readBody(request, 1024 * 1024);
    if (raw === null) return sendJson(response, 413, { errors: 'Request body too large' });
    let body: { query?: unknown; variables?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8')) as typeof body;
    } catch {
      return sendJson(response, 400, { errors: { query: 'Required parameter missing or invalid' } });
    }
    if (typeof body?.query !== 'string')
      return sendJson(response, 400, { errors: { query: 'Required parameter missing or invalid' } });
    const variables =
      body.variables && typeof body.variables === 'object' && !Array.isArray(body.variables)
        ? (body.variables as Record<string, unknown>)
        : {};
    stats.graphqlRequests += 1;
    response.setHeader('X-Shopify-API-Version', version);

    // Faults that strike before anything runs.
    const fault = this.options.faultInjector.beforeRun();
    if (fault === 'throttle') {
      // A storm: Shopify "may temporarily reduce API rate limits" [doc]; report an empty bucket.
      return this.#throttled(response, cost.mutation, 0, true);
    }
    if (fault) return sendJson(response, fault.status, { errors: 'Internal Server Error' });

    const operation = parseOperation(body.query);
    if (typeof operation === 'string')
      return sendJson(response, 200, { errors: [{ message: operation, extensions: { code: 'parseError' } }] });
    const plan = this.#plan(operation.type, operation.fields, variables, version);
    if ('errors' in plan) return sendJson(response, 200, { errors: plan.errors });

    if (plan.requestedCost > cost.queryMax) {
      return sendJson(response, 200, {
        errors: [
          {
            message: `Query cost is ${plan.requestedCost}, which exceeds the single query max cost limit (${cost.queryMax}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: plan.requestedCost, maxCost: cost.queryMax },
          },
        ],
        extensions: bucket.extension(plan.requestedCost, null),
      });
    }
    // Admission: the bucket must hold the whole requested cost before execution
    // (docs/channels/shopify.md, Rate limit: the cost bucket).
    const available = bucket.current();
    if (available < plan.requestedCost) {
      stats.rateLimitViolations += 1;
      return this.#throttled(response, plan.requestedCost, available, false);
    }
    bucket.take(plan.requestedCost);

    // The idempotency verdict is taken on arrival: a key whose first request is still running is
    // "in progress", whatever happens while this one waits.
    const idempotency = plan.idempotency;
    let answer: StoredAnswer | null = null;
    let earlier: { userError: { code: string; message: string } | null; stored: StoredAnswer } | null = null;
    if (idempotency) {
      const verdict = this.options.idempotency.arrive(idempotency.key, idempotency.variablesHash);
      if ('answer' in verdict) answer = verdict.answer;
      else earlier = verdict.earlier;
    }
    if (this.options.faults().latencyMs > 0) await sleep(this.options.faults().latencyMs);

    let data: Record<string, unknown>;
    let actualCost = plan.requestedCost;
    if (idempotency && earlier) {
      if (earlier.userError) {
        stats.userErrorAnswers += 1;
        data = {
          [idempotency.responseKey]: {
            inventoryAdjustmentGroup: null,
            userErrors: [{ ...earlier.userError, field: null }],
          },
        };
      } else {
        stats.idempotentReplays += 1;
        data = { [idempotency.responseKey]: earlier.stored.payload };
      }
    } else {
      try {
        const result = plan.run();
        data = result.data;
        actualCost = result.actualCost;
      } catch (error) {
        if (answer) this.options.idempotency.forget(idempotency!.key);
        throw error;
      }
      if (answer) {
        answer.payload = data[idempotency!.responseKey];
        answer.running = false;
      }
    }
    bucket.refund(plan.requestedCost, actualCost);

    if (plan.mutation) {
      if (this.options.faultInjector.loseAnswer()) {
        if (this.options.faults().lostResponseMode === '502') {
          response.writeHead(502, { 'Content-Type': 'text/html' });
          response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
        } else {
          request.socket.destroy();
        }
        return;
      }
    }
    sendJson(response, 200, { data, extensions: bucket.extension(plan.requestedCost, actualCost) });
  }

  #throttled(response: ServerResponse, requested: number, available: number, storm: boolean): void {
    const status = this.options.throttleWithHttp429 ? 429 : 200;
    if (status === 429)
      response.setHeader(
        'Retry-After',
        String(Math.max(1, Math.ceil((requested - available) / this.options.bucket.restoreRate))),
      );
    sendJson(response, status, {
      errors: [
        {
          message: 'Throttled',
          extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
        },
      ],
      extensions: this.options.bucket.extension(requested, null, storm ? 0 : available),
    });
  }

  #plan(type: string, fields: OperationField[], variables: Record<string, unknown>, version: string): OperationPlan {
    if (type === 'subscription')
      return { errors: [{ message: 'Subscriptions are not supported', extensions: { code: 'undefinedType' } }] };
    if (type === 'mutation') {
      if (fields.length !== 1)
        return {
          errors: [{ message: 'simulator: one mutation field per request', extensions: { code: 'simulatorLimit' } }],
        };
      const field = fields[0]!;
      if (field.name === 'bulkOperationRunQuery') return this.options.bulk.planRun(field, variables);
      if (field.name !== 'inventorySetQuantities') return { errors: [undefinedField(field.name, 'Mutation')] };
      return planSetQuantities(this.options.shop, this.options.stats, field, variables, version);
    }
    return planQuery(this.options.shop, fields, variables, this.options.bulk);
  }
}
