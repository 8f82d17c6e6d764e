import type { FastifyInstance } from 'fastify';
import type { LedgerStore } from '../../store/ledger-store.js';
import { ProblemError } from '../errors.js';
import { HealthStatus, problemResponses } from '../schemas.js';

/**
 * Liveness and readiness, unauthenticated (orchestrators probe them without credentials).
 * - GET /healthz: the process answers (restart it if not).
 * - GET /readyz: the store answers a query (take it out of the load balancer if not).
 */
export async function healthPlugin(app: FastifyInstance, options: { store: LedgerStore }): Promise<void> {
  const tags = ['health'];
  app.get(
    '/healthz',
    { schema: { tags, summary: 'Liveness: the process answers', response: { 200: HealthStatus } } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'Readiness: the store answers',
        response: { 200: HealthStatus, ...problemResponses([503]) },
      },
    },
    async (request) => {
      try {
        await options.store.tokens.countTokens();
      } catch (error) {
        // A database that is down is an operating condition, not a bug: the reason, no stack.
        const reason = (error as Error).message?.replace(/\s*\n\s*/g, ' ') ?? String(error);
        request.log.warn({ reason }, `readiness check failed: ${reason}`);
        throw new ProblemError('ONH_ERR_UNAVAILABLE', 'the store does not answer');
      }
      return { status: 'ready' };
    },
  );
}
