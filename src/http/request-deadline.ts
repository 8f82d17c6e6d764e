import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { limits } from '../core/limits.js';
import { ProblemError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's whole-request deadline instead of limits.requestTimeoutMs (a CSV import). */
    deadlineMs?: number;
  }
  interface FastifyRequest {
    /** This request's entry among those the deadline sweep watches (request-deadline.ts). */
    deadlineEntry: object | null;
  }
}

interface Pending {
  request: FastifyRequest;
  reply: FastifyReply;
  expiresAt: number;
}

/**
 * The whole-request deadline (docs/RELIABILITY.md, section 13), kept by one sweep instead of
 * Fastify's `handlerTimeout`. That option gives every request an AbortController, a timer and a
 * `close` listener, and aborts the controller when the request ends, which builds a DOMException
 * with its stack: about 10% of the server's CPU per reservation in a profile, for a signal no
 * handler here reads. Here a request is an entry in a Set, removed when its response is done;
 * a sweep every `limits.requestDeadlineSweepMs` answers the ones past their deadline:
 * - the body still arriving: 408 ONH_ERR_REQUEST_TIMEOUT (nothing ran, the outcome is known);
 * - otherwise 503 ONH_ERR_TIMEOUT (a ledger command may still commit: the outcome is unknown,
 *   the client retries with the same key);
 * - a response already streaming is cut (its status is already sent).
 * A request whose socket is gone is dropped from the set at the next sweep.
 */
export function installRequestDeadlines(app: FastifyInstance): void {
  const pending = new Set<Pending>();
  app.decorateRequest('deadlineEntry', null);
  let sweeper: NodeJS.Timeout | undefined;

  function sweep(): void {
    const now = performance.now();
    for (const entry of pending) {
      const { request, reply } = entry;
      if (reply.sent || reply.raw.destroyed) {
        pending.delete(entry);
        continue;
      }
      if (now < entry.expiresAt) continue;
      pending.delete(entry);
      if (reply.raw.headersSent) {
        reply.raw.destroy();
        continue;
      }
      const receiving = !request.raw.complete;
      reply.send(
        receiving
          ? new ProblemError('ONH_ERR_REQUEST_TIMEOUT', 'the request body did not arrive in time')
          : new ProblemError('ONH_ERR_TIMEOUT', 'the request did not finish in time; retry it with the same key'),
      );
    }
  }

  app.addHook('onRequest', (request, reply, done) => {
    const deadlineMs = request.routeOptions.config?.deadlineMs ?? limits.requestTimeoutMs;
    const entry: Pending = { request, reply, expiresAt: performance.now() + deadlineMs };
    pending.add(entry);
    request.deadlineEntry = entry;
    sweeper ??= setInterval(sweep, limits.requestDeadlineSweepMs).unref();
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.deadlineEntry !== null) pending.delete(request.deadlineEntry as Pending);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    if (sweeper !== undefined) clearInterval(sweeper);
    pending.clear();
    done();
  });
}
