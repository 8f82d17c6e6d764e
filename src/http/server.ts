import { webhooksPlugin } from './plugins/webhooks.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { RateLimitStatus } from '../connectors/channel-connector.js';
import type { Clock, IdSource } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';
import { clientErrorHandler, notFoundHandler, problemErrorHandler, ProblemError } from './errors.js';
import { openApiOptions } from './openapi.js';
import { collectQueryNames, guardRequestText, logRedactPaths, requestSerializer } from './request-guards.js';
import { apiPlugin } from './plugins/api.js';
import { availabilityPlugin } from './plugins/availability.js';
import { healthPlugin } from './plugins/health.js';
import { kpiPlugin } from './plugins/kpis.js';
import { alertPlugin } from './plugins/alerts.js';
import { type Metrics, metricsPlugin } from './metrics.js';
import { syncPlugin } from './plugins/sync.js';
import { reconcilePlugin, type ReconcileRunner } from './plugins/reconcile.js';
import { ordersPlugin } from './plugins/orders.js';
import { listsPlugin } from './plugins/lists.js';
import { stockListPlugin } from './plugins/stock-list.js';
import { installSessions, sessionPlugin } from './session.js';
import { installRequestDeadlines } from './request-deadline.js';
import { deferredChildLogger } from './deferred-logger.js';
import { EventHub } from './event-hub.js';
import { eventsPlugin } from './plugins/events.js';
import { dashboardPlugin } from './plugins/dashboard.js';
import { csvPlugin } from './plugins/csv.js';
import { OrderLineIntake } from '../ingest/order-line-intake.js';
import { storeOrderItemMatcher } from '../ingest/order-item-match.js';

export interface ServerDeps {
  store: LedgerStore;
  ledger: GroupCommitter;
  clock: Clock;
  /** Ids minted at the edge (none yet: the ledger's reservation ids come from its own IdSource). */
  ids: IdSource;
  /** `true`, pino options, or off. @default false */
  logger?: boolean | object;
  /** The order-line intake shared with the poll loops and the retry sweep; built from the store when absent. */
  orders?: OrderLineIntake;
  /** Prometheus metrics: requests are counted when given. */
  metrics?: Metrics;
  /** Serve GET /metrics here, with a read token (false when it has an address of its own). @default true */
  metricsOnApi?: boolean;
  /**
   * What runs a reconcile pass for POST /v1/reconcile: main.ts's schedule, known only once the
   * channels are connected (after the server is built). Absent: no channel is connected here.
   */
  reconcile?: () => ReconcileRunner | undefined;
  /**
   * The live events of GET /v1/events: main.ts also points the dispatchers and the alert loop at
   * it. Built here when absent; the ledger's commits are published to it either way.
   */
  events?: EventHub;
  /**
   * The rate budget a channel's connector in this process reports, for GET /v1/sync/status:
   * main.ts's connected channels, known only once they are connected. Absent: none is connected here.
   */
  rateBudget?: (channel: string) => RateLimitStatus | undefined;
}

/** Socket bounds besides limits.requestTimeoutMs; their reasons are in core/limits.ts. */
const connectionTimeoutMs = limits.connectionTimeoutMs;
const keepAliveTimeoutMs = limits.keepAliveTimeoutMs;
const pathParameterLengthMax = limits.pathParameterLengthMax;

/**
 * Never log a credential: bearer tokens and webhook signatures are censored wherever a
 * serializer might put the headers, and the request line keeps only the query parameters
 * the routes declare (request-guards.ts), so `?access_token=` never reaches the log.
 */
function loggerOptions(
  logger: ServerDeps['logger'],
  queryNames: ReadonlySet<string>,
): NonNullable<FastifyServerOptions['logger']> {
  if (!logger) return false;
  const options = (logger === true ? {} : logger) as Exclude<FastifyServerOptions['logger'], boolean | undefined> & {
    serializers?: object;
  };
  return {
    ...options,
    serializers: { ...options.serializers, req: requestSerializer(queryNames) },
    redact: { paths: [...logRedactPaths, ...settingsSecretPaths], censor: '[redacted]' },
  };
}

/**
 * The secrets of a channel's connector settings (connector-settings.ts), wherever a log call
 * puts a channel record or its settings, up to three levels down.
 */
const settingsSecretPaths = ['access_token', 'client_secret', 'webhook_secret', 'previous_webhook_secret'].flatMap(
  (key) => [`settings.connector.${key}`, `*.settings.connector.${key}`, `connector.${key}`, `*.connector.${key}`],
);

/**
 * Fastify logs two info lines per request; at a few hundred requests a minute they were ~80%
 * of the log. One debug line per request instead, with the request line and the status; a
 * reply that failed to send stays an error.
 */
class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error }, 'request errored');
    else reply.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/**
 * Schema validation with two Ajv instances, because Fastify's default Ajv is right for
 * neither part:
 * - bodies: no coercion ("5" stays a string and fails `integer`), no stripping (an unknown
 *   field fails `additionalProperties: false` instead of vanishing), every error reported;
 * - query and path parameters arrive as strings, so there coercion and defaults are wanted.
 * `date-time` is RFC 3339 with a zone AND a time Date can represent: a leap second
 * (`23:59:60`) is valid RFC 3339 but Date.parse gives NaN.
 */
function validatorCompiler() {
  const shared: AjvOptions = { allErrors: true, removeAdditional: false, discriminator: true, strict: true };
  const body = new Ajv({ ...shared, coerceTypes: false, useDefaults: false, verbose: true });
  const parameters = new Ajv({ ...shared, coerceTypes: true, useDefaults: true });
  const rfc3339 = addFormats.default.get('date-time', 'full') as { validate: (text: string) => boolean };
  for (const ajv of [body, parameters]) {
    ajv.addFormat('date-time', {
      type: 'string',
      validate: (text: string) => rfc3339.validate(text) && Number.isFinite(Date.parse(text)),
    });
  }
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : parameters).compile(schema);
}

/**
 * The HTTP server: health probes, the OpenAPI document and its UI, and the /v1 API, each a
 * plugin, so a route is added in one file (docs/ARCHITECTURE.md, A new route or CLI command).
 * Every error leaves as an RFC 9457 problem (errors.ts).
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const queryNames = new Set<string>();
  const app = Fastify({
    logger: loggerOptions(deps.logger, queryNames),
    logController: new RequestLogController(),
    childLoggerFactory: deferredChildLogger,
    bodyLimit: limits.requestBodyBytesMax,
    // Fastify's default 0 is unbounded (a slow client could hold a socket forever). Shorter
    // than the handler deadline, and checked every second instead of Node's 30 s, so a stalled
    // body is answered 408 by clientErrorHandler and its socket closed, not 503 "outcome unknown".
    requestTimeout: limits.requestReceiveTimeoutMs,
    // Node checks a body against requestTimeout only when headersTimeout is not longer
    // (measured on Node 20: with its 60 s default, a stalled body was never answered).
    http: {
      connectionsCheckingInterval: limits.requestReceiveCheckIntervalMs,
      headersTimeout: limits.requestReceiveTimeoutMs,
    },
    // The whole-request deadline is kept by installRequestDeadlines (request-deadline.ts), not
    // by Fastify's handlerTimeout, which costs an AbortController and a DOMException per request.
    connectionTimeout: connectionTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    routerOptions: { maxParamLength: pathParameterLengthMax },
    // Fastify's closing answer is a fixed non-problem JSON body; the onRequest hook below
    // answers 503 as a problem instead (and Fastify still sets Connection: close).
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => {
      problemErrorHandler(error, request, reply);
    },
  });
  deps.metrics?.observeRequests(app);
  app.setValidatorCompiler(validatorCompiler());
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  collectQueryNames(app, queryNames);
  installRequestDeadlines(app);
  guardRequestText(app);

  // Graceful shutdown. close() stops accepting connections and drops the idle ones; a
  // keep-alive connection busy at that moment would otherwise stay open after its response
  // until keepAliveTimeoutMs (72 s here, measured), holding close() up. So once closing:
  // 1. every response says Connection: close;
  // 2. a request that still arrives is answered 503 as a problem.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new ProblemError('ONH_ERR_UNAVAILABLE', 'the server is shutting down; retry shortly');
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  // At the root, so that its onRoute hook sees every route registered after it.
  await app.register(swagger, openApiOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await installSessions(app, { tokens: deps.store.tokens, clock: deps.clock });
  await app.register(healthPlugin, { store: deps.store });
  await app.register(sessionPlugin, { prefix: '/v1', tokens: deps.store.tokens, clock: deps.clock });
  const intake =
    deps.orders ??
    new OrderLineIntake({
      store: deps.store,
      ledger: deps.ledger,
      clock: deps.clock,
      match: storeOrderItemMatcher(deps.store.availability),
      ...(deps.metrics ? { onIngested: deps.metrics.ingested } : {}),
    });
  await app.register(apiPlugin, {
    prefix: '/v1',
    store: deps.store,
    ledger: deps.ledger,
    clock: deps.clock,
    orders: intake,
  });
  await app.register(stockListPlugin, { prefix: '/v1', store: deps.store, clock: deps.clock });
  const events = deps.events ?? new EventHub(deps.clock.now().toString(36));
  const unsubscribeCommits = deps.ledger.onCommit(({ answers }) => events.publishCommit(answers));
  app.addHook('onClose', async () => {
    unsubscribeCommits();
  });
  await app.register(eventsPlugin, { prefix: '/v1', store: deps.store, events, clock: deps.clock });
  await app.register(dashboardPlugin);
  await app.register(syncPlugin, {
    prefix: '/v1',
    store: deps.store,
    clock: deps.clock,
    rateBudget: deps.rateBudget ?? (() => undefined),
  });
  await app.register(csvPlugin, { prefix: '/v1', store: deps.store, ledger: deps.ledger, clock: deps.clock });
  await app.register(kpiPlugin, { prefix: '/v1', store: deps.store, clock: deps.clock });
  await app.register(alertPlugin, { prefix: '/v1', store: deps.store });
  if (deps.metrics && deps.metricsOnApi !== false)
    await app.register(metricsPlugin, { metrics: deps.metrics, store: deps.store, clock: deps.clock });
  await app.register(reconcilePlugin, {
    prefix: '/v1',
    store: deps.store,
    reconcile: deps.reconcile ?? (() => undefined),
  });
  await app.register(availabilityPlugin, {
    prefix: '/v1',
    store: deps.store,
    clock: deps.clock,
    onListingsChanged: async (channels) => {
      events.publish('listing', { channels: [...channels] });
      for (const channel of channels) await intake.retryDue({ channel });
    },
  });
  await app.register(ordersPlugin, { prefix: '/v1', store: deps.store, intake, clock: deps.clock });
  await app.register(listsPlugin, { prefix: '/v1', store: deps.store, clock: deps.clock });
  await app.register(webhooksPlugin, {
    prefix: '/webhooks',
    store: deps.store,
    orders: intake,
    clock: deps.clock,
  });
  return app;
}
