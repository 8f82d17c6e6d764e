import type { FastifyInstance, FastifyRequest } from 'fastify';
import { reservedKeyOwner } from '../connectors/intake-keys.js';
import { documentFault, jsonFaults } from '../core/json-bounds.js';
import { limits } from '../core/limits.js';
import { problemErrorsMax, ProblemError, type ProblemDetail } from './errors.js';

/**
 * Guards every route shares, run before schema validation (core/json-bounds.ts says why):
 * no NUL, no lone surrogate, no nesting deeper than limits.requestJsonDepthMax, in any string
 * or key of the body, the query or the path parameters. A refusal is one 400 ONH_ERR_VALIDATION
 * naming each field, like a schema error, so nothing reaches a store. Raw bodies (webhooks,
 * verified byte for byte) are left to their route.
 */
export function guardRequestText(app: FastifyInstance): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const parts: [string, unknown, string][] = [
      ['params', request.params, 'params'],
      ['querystring', request.query, 'querystring'],
      ['body', request.body, ''],
    ];
    for (const [part, value, pathPrefix] of parts) {
      if (value === undefined || Buffer.isBuffer(value)) continue;
      const faults = jsonFaults(value, {
        depthMax: limits.requestJsonDepthMax,
        faultsMax: problemErrorsMax,
        pathPrefix,
      });
      if (faults.length > 0)
        throw new ProblemError('ONH_ERR_VALIDATION', `the ${part} holds text or nesting onhand does not accept`, {
          errors: faults,
        });
    }
  });
}

/** Refuse a document over its bounds with a 400 naming it, before it is stored. */
export function refuseOversizedDocuments(
  documents: { path: string; value: unknown; depthMax: number; bytesMax: number }[],
): void {
  const errors: ProblemDetail[] = [];
  for (const { path, value, depthMax, bytesMax } of documents) {
    if (value === undefined) continue;
    const fault = documentFault(value, { depthMax, bytesMax });
    if (fault) errors.push({ path, message: fault });
  }
  if (errors.length > 0) throw new ProblemError('ONH_ERR_VALIDATION', 'the body does not match the schema', { errors });
}

/** Refuse idempotency keys reserved for onhand or a channel's intake (connectors/intake-keys.ts). */
export function refuseReservedKeys(keys: { path: string; key: string | undefined }[]): void {
  const errors: ProblemDetail[] = [];
  for (const { path, key } of keys) {
    const owner = key === undefined ? undefined : reservedKeyOwner(key);
    if (owner) errors.push({ path, message: `is reserved for ${owner}` });
  }
  if (errors.length > 0) {
    throw new ProblemError(
      'ONH_ERR_RESERVED_KEY',
      'an idempotency key uses a prefix reserved for onhand or a channel intake; nothing was applied',
      {
        errors,
      },
    );
  }
}

// --- logging --------------------------------------------------------------------------------

/** Headers that carry a credential, wherever a serializer puts them (pino redaction paths). */
const credentialHeaders = ['authorization', 'proxy-authorization', 'cookie', 'x-shopify-hmac-sha256', 'x-api-key'];
export const logRedactPaths = ['req', 'request', ''].flatMap((owner) =>
  credentialHeaders.map((header) => `${owner ? `${owner}.` : ''}headers["${header}"]`),
);

/**
 * The request as the log shows it. A query parameter is shown only when some route declares
 * it (`limit`, `after`...): a token sent as `?access_token=` or any other undeclared parameter
 * is logged as `[redacted]`, whatever its name. Headers are not logged.
 */
export function requestSerializer(declaredQueryNames: ReadonlySet<string>) {
  return (request: FastifyRequest): Record<string, unknown> =>
    // Anything else logged under `req` is left to the redaction paths.
    typeof request?.url !== 'string'
      ? (request as unknown as Record<string, unknown>)
      : {
          method: request.method,
          url: logSafeUrl(request.url, declaredQueryNames),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        };
}

export function logSafeUrl(url: string, declaredQueryNames: ReadonlySet<string>): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const pairs = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals < 0 ? pair : pair.slice(0, equals);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        return '[redacted]';
      }
      // Undeclared: name and value both, since a token may be sent as a bare name too.
      return declaredQueryNames.has(name) ? pair : '[redacted]';
    });
  return `${url.slice(0, at)}?${pairs.join('&')}`;
}

/** Collect every query parameter name a route's schema declares (for requestSerializer). */
export function collectQueryNames(app: FastifyInstance, names: Set<string>): void {
  app.addHook('onRoute', (options) => {
    const querystring = (options.schema as { querystring?: { properties?: Record<string, unknown> } } | undefined)
      ?.querystring;
    for (const name of Object.keys(querystring?.properties ?? {})) names.add(name);
  });
}
