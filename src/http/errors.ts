import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { CommandAnswer } from '../core/ledger/apply-commands.js';
import type { VerdictStatus } from '../core/verdicts.js';
import { limits } from '../core/limits.js';

/**
 * THE error registry: every error that leaves the process has an `ONH_ERR_*`
 * code listed here with its HTTP status and title, and is sent as an RFC 9457 problem
 * (`application/problem+json`). `docs/errors.md` documents every code; the style test
 * `test/style/error-registry.test.ts` fails when the two disagree, or when `src/` names a
 * code this registry lacks.
 *
 * Errors are recognised by their `code` string, never by `instanceof` across modules
 * (Temporal's SymbolBasedInstanceOfError lesson): the store's CatalogueError and CursorError,
 * the group committer's QueueFullError and LedgerClosedError carry a registered code, so the
 * edge maps them without importing their classes.
 */
export const errorRegistry = {
  ONH_ERR_VALIDATION: { status: 400, title: 'The request does not match its schema' },
  ONH_ERR_MALFORMED_REQUEST: { status: 400, title: 'The request cannot be parsed' },
  ONH_ERR_CURSOR: { status: 400, title: 'The cursor is not one this server issued' },
  ONH_ERR_UNAUTHENTICATED: { status: 401, title: 'A valid bearer token is required' },
  ONH_ERR_WEBHOOK_SIGNATURE: { status: 401, title: 'The webhook signature does not verify' },
  ONH_ERR_WEBHOOK_INVALID: { status: 400, title: 'The webhook payload is not valid for its topic' },
  ONH_ERR_FORBIDDEN: { status: 403, title: 'The token lacks the scope this route needs' },
  ONH_ERR_CSRF: { status: 403, title: 'A signed-in browser request lacks its same-origin proof' },
  ONH_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  ONH_ERR_VARIANT_NOT_FOUND: { status: 404, title: 'No variant with this sku' },
  ONH_ERR_RESERVATION_NOT_FOUND: { status: 404, title: 'No reservation with this id' },
  ONH_ERR_PURCHASE_ORDER_NOT_FOUND: { status: 404, title: 'No purchase order with this id' },
  ONH_ERR_CHANNEL_NOT_FOUND: { status: 404, title: 'No channel with this code' },
  ONH_ERR_LOCATION_NOT_FOUND: { status: 404, title: 'No location with this code' },
  ONH_ERR_LISTING_NOT_FOUND: { status: 404, title: 'No listing with this id' },
  ONH_ERR_RULE_SET_NOT_FOUND: { status: 404, title: 'No rule set with this version' },
  ONH_ERR_ORDER_LINE_NOT_FOUND: { status: 404, title: 'No order line of this channel with these ids' },
  ONH_ERR_REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  ONH_ERR_INSUFFICIENT: { status: 409, title: 'Not enough stock available' },
  ONH_ERR_IDEMPOTENCY_CONFLICT: { status: 409, title: 'The idempotency key was used with a different payload' },
  ONH_ERR_RESERVATION_EXPIRED: { status: 409, title: 'The reservation has expired' },
  ONH_ERR_RESERVATION_CLOSED: { status: 409, title: 'The reservation is already committed or released' },
  ONH_ERR_STALE: { status: 409, title: 'A newer update is already applied' },
  ONH_ERR_CHANNEL_NOT_CONNECTED: { status: 409, title: 'The channel has no connector' },
  ONH_ERR_VARIANT_INACTIVE: { status: 409, title: 'The variant is deactivated' },
  ONH_ERR_LOCATION_INACTIVE: { status: 409, title: 'The location is deactivated' },
  ONH_ERR_CHANNEL_INACTIVE: { status: 409, title: 'The channel is deactivated' },
  ONH_ERR_NOT_EARLIER: { status: 409, title: 'A rollback must name a version earlier than the active one' },
  ONH_ERR_BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  ONH_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The content type is not supported' },
  ONH_ERR_CATALOGUE: { status: 422, title: 'The catalogue change was rejected' },
  ONH_ERR_INVALID_RULES: { status: 422, title: 'The rule set was rejected' },
  ONH_ERR_IMPORT_ROWS: { status: 422, title: 'Rows of the CSV file are bad' },
  ONH_ERR_RESERVED_KEY: { status: 422, title: 'The idempotency key is reserved for onhand or a channel intake' },
  ONH_ERR_UNKNOWN_VARIANT: { status: 422, title: 'The command names an unknown variant' },
  ONH_ERR_UNKNOWN_LOCATION: { status: 422, title: 'The command names an unknown location' },
  ONH_ERR_INVALID_COMMAND: { status: 422, title: 'The command is well-formed but impossible' },
  ONH_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  ONH_ERR_INTERNAL: { status: 500, title: 'Internal error' },
  // Startup refusals: they leave the process as a CLI message (exit code 2), never over HTTP.
  // Registered so that every code leaving the process is documented in one place.
  ONH_ERR_CONFIG: { status: 500, title: 'The configuration is invalid' },
  ONH_ERR_DURABILITY: { status: 500, title: 'The database does not guarantee durable commits' },
  ONH_ERR_BUSY: { status: 503, title: 'The ledger is busy' },
  ONH_ERR_UNAVAILABLE: { status: 503, title: 'The service is unavailable' },
  ONH_ERR_IMPORT_INCOMPLETE: { status: 503, title: 'The CSV import stopped part way' },
  ONH_ERR_TIMEOUT: { status: 503, title: 'The request did not finish in time; its outcome is unknown' },
} as const satisfies Record<`ONH_ERR_${string}`, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorRegistry;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorRegistry, code);
}

export interface ProblemDetail {
  path: string;
  message: string;
}

/** RFC 9457 problem details, plus our `code` and optional extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: ProblemDetail[];
  [extension: string]: unknown;
}

/** At most this many entries in a problem's `errors` (core/limits.ts says why). */
export const problemErrorsMax = limits.problemErrorsMax;

export const problemContentType = 'application/problem+json; charset=utf-8';

export function problemType(code: ErrorCode): string {
  return `https://onhand.dev/errors/${code}`;
}

/** An error a handler throws to answer with a registered problem. */
export class ProblemError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly options: {
      errors?: ProblemDetail[];
      /** Extension members of the problem body (e.g. `available`). */
      members?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
  }
}

export function problem(
  code: ErrorCode,
  detail: string,
  errors?: ProblemDetail[],
  members: Record<string, unknown> = {},
): Problem {
  const { status, title } = errorRegistry[code];
  const body: Problem = {
    type: problemType(code),
    title,
    status,
    detail,
    code,
    ...(errors && errors.length > 0 ? { errors: errors.slice(0, problemErrorsMax) } : {}),
  };
  // Extension members (RFC 9457 section 3.2) never override the standard ones.
  for (const [name, value] of Object.entries(members)) if (!(name in body)) body[name] = value;
  return body;
}

/** Send a problem. Serialised here, not by a route's response schema, so its shape is exact. */
export function sendProblem(reply: FastifyReply, body: Problem, headers: Record<string, string> = {}): FastifyReply {
  if (body.code === 'ONH_ERR_BUSY') reply.header('retry-after', '1');
  return reply.code(body.status).headers(headers).type(problemContentType).send(JSON.stringify(body));
}

// --- verdicts ----------------------------------------------------------------------------

/** The problem code for each refusal the ledger can answer (total over the verdicts). */
const verdictCodes: Record<Exclude<VerdictStatus, 'applied' | 'exists'>, ErrorCode> = {
  conflict: 'ONH_ERR_IDEMPOTENCY_CONFLICT',
  unknown_variant: 'ONH_ERR_UNKNOWN_VARIANT',
  unknown_location: 'ONH_ERR_UNKNOWN_LOCATION',
  unknown_reservation: 'ONH_ERR_RESERVATION_NOT_FOUND',
  invalid: 'ONH_ERR_INVALID_COMMAND',
  reservation_expired: 'ONH_ERR_RESERVATION_EXPIRED',
  reservation_closed: 'ONH_ERR_RESERVATION_CLOSED',
  stale: 'ONH_ERR_STALE',
  insufficient: 'ONH_ERR_INSUFFICIENT',
};

/** A refused command as a problem; the idempotency key travels along so a client can correlate. */
export function verdictProblem(answer: CommandAnswer, members: Record<string, unknown> = {}): ProblemError {
  if (answer.status === 'applied' || answer.status === 'exists') throw new Error(`${answer.status} is not a refusal`);
  return new ProblemError(verdictCodes[answer.status], answer.detail ?? answer.status, {
    members: { key: answer.key, ...members },
    headers: answer.replayed ? { 'idempotent-replayed': 'true' } : {},
  });
}

// --- mapping any error -------------------------------------------------------------------

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** The keyword's value (the body validator runs with `verbose`). */
  schema?: unknown;
}

/**
 * One entry per failing path. Body paths are JSON pointers into the body
 * (`/movements/3/quantity`); query and path parameters are prefixed with their part
 * (`querystring/limit`), so the two cannot be confused.
 */
export function validationDetails(errors: readonly AjvError[], part: string): ProblemDetail[] {
  const prefix = part === 'body' ? '' : part;
  const details = errors.map((error): ProblemDetail => {
    const { instancePath, keyword, params } = error;
    switch (keyword) {
      case 'required':
        return { path: `${prefix}${instancePath}/${String(params.missingProperty)}`, message: 'is required' };
      case 'additionalProperties':
        return {
          path: `${prefix}${instancePath}/${String(params.additionalProperty)}`,
          message: 'is not a known field',
        };
      case 'discriminator':
        return {
          path: `${prefix}${instancePath}/${String(params.tag)}`,
          message: 'must be one of the documented types',
        };
      case 'not': {
        // Ajv says "must NOT be valid"; our only `not` is `{ const: 0 }` (a non-zero adjustment).
        const forbidden = (error.schema as { const?: unknown } | undefined)?.const;
        const message =
          forbidden === undefined ? (error.message ?? keyword) : `must not be ${JSON.stringify(forbidden)}`;
        return { path: `${prefix}${instancePath}`, message };
      }
      default:
        return { path: `${prefix}${instancePath}`, message: error.message ?? keyword };
    }
  });
  const seen = new Set<string>();
  return details.filter((detail) => {
    const id = `${detail.path}\u0000${detail.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Fastify's own client errors (body parser, router) and what they mean to a client. */
function frameworkCode(error: FastifyError): ErrorCode | undefined {
  if (!error.code?.startsWith('FST_')) return undefined;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'ONH_ERR_BODY_TOO_LARGE';
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'ONH_ERR_UNSUPPORTED_MEDIA_TYPE';
  // Invalid or empty JSON, a content-length mismatch, bad percent-encoding, an over-long
  // path parameter: all the client's bytes, all safe to describe.
  const status = error.statusCode ?? 500;
  return status >= 400 && status < 500 ? 'ONH_ERR_MALFORMED_REQUEST' : undefined;
}

/**
 * Map anything thrown while handling a request to a problem. Anything unrecognised is a 500
 * whose detail names only the request id: the error itself goes to the log, never to the
 * client.
 */
export function problemOf(error: unknown, request: FastifyRequest): { body: Problem; headers: Record<string, string> } {
  if (error instanceof ProblemError) {
    return {
      body: problem(error.code, error.message, error.options.errors, error.options.members),
      headers: error.options.headers ?? {},
    };
  }
  const fastifyError = error as FastifyError & { errors?: unknown };
  if (fastifyError?.validation) {
    const part = fastifyError.validationContext ?? 'body';
    const details = validationDetails(fastifyError.validation as unknown as AjvError[], part);
    return { body: problem('ONH_ERR_VALIDATION', `the ${part} does not match the schema`, details), headers: {} };
  }
  // A registered code is a client-facing error whose message is safe to show; a 500-class
  // one (a startup refusal met at run time) is an internal fault like any other.
  if (isErrorCode(fastifyError?.code) && errorRegistry[fastifyError.code].status !== 500) {
    const errors = Array.isArray(fastifyError.errors) ? (fastifyError.errors as ProblemDetail[]) : undefined;
    return { body: problem(fastifyError.code, fastifyError.message, errors), headers: {} };
  }
  const code = error instanceof Error ? frameworkCode(fastifyError) : undefined;
  if (code) return { body: problem(code, fastifyError.message), headers: {} };
  request.log.error({ err: error }, 'unhandled error');
  return {
    body: problem('ONH_ERR_INTERNAL', `an internal error occurred; quote request id ${request.id}`),
    headers: {},
  };
}

export function problemErrorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | Promise<FastifyReply> {
  const answer = problemOf(error, request);
  const confirmToken = request.confirmToken;
  // A token taken from the cache (auth.ts) is confirmed before any other refusal is shown.
  if (confirmToken && answer.body.status >= 400 && answer.body.status < 500 && answer.body.status !== 401) {
    request.confirmToken = null;
    return confirmToken().then((revoked) =>
      answerProblem(revoked ? problemOf(revoked, request) : answer, request, reply),
    );
  }
  return answerProblem(answer, request, reply);
}

function answerProblem(
  { body, headers }: ReturnType<typeof problemOf>,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  // A refusal is the client's to act on: per-request detail, at debug with the request line.
  if (body.status < 500) request.log.debug({ code: body.code, status: body.status }, body.detail);
  // A request whose body never arrived leaves unread bytes on the socket: close it.
  if (body.code === 'ONH_ERR_REQUEST_TIMEOUT') reply.header('connection', 'close');
  return sendProblem(reply, body, headers);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(
    reply,
    problem('ONH_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (slow headers past the
 * request timeout, oversized headers, garbage). Fastify's default answers with its own JSON;
 * this answers with a problem, then closes the socket as Node does.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'ONH_ERR_REQUEST_TIMEOUT'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 'ONH_ERR_HEADERS_TOO_LARGE'
        : 'ONH_ERR_MALFORMED_REQUEST';
  const body = JSON.stringify(problem(code, errorRegistry[code].title));
  const status = errorRegistry[code].status;
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${problemContentType}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
