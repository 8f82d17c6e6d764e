import type { SwaggerOptions } from '@fastify/swagger';

/**
 * The OpenAPI document (served at /openapi.json, browsable at /docs). @fastify/swagger builds
 * it from the route schemas as routes register, so a route without a schema cannot hide:
 * test/integration/http-server.test.ts compares the document with Fastify's route table.
 * OpenAPI 3.1, because its schemas are JSON Schema 2020-12: `const`, `type: null` and
 * `oneOf` + `discriminator` pass through from TypeBox unchanged.
 */
export const openApiOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'onhand',
      version: '1.0.0',
      description:
        'One stock ledger per variant and location. Errors are RFC 9457 problems (application/problem+json) with a stable `code`; see docs/errors.md.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token `onh_<scope>_<secret>`; scopes read < write < admin',
        },
      },
    },
    tags: [
      { name: 'catalogue', description: 'Variants, bundles and locations' },
      { name: 'purchase orders', description: 'Stock on its way (incoming)' },
      { name: 'movements', description: 'Facts and requests that change stock' },
      { name: 'reservations', description: 'Two-phase holds: pending -> committed | released | expired' },
      { name: 'stock', description: 'Levels, history and oversells' },
      { name: 'channels', description: 'Sales accounts and the locations that feed them' },
      { name: 'listings', description: 'Variants as channels sell them, and the items that match no variant' },
      { name: 'rule sets', description: 'Versioned availability rules: create, dry run, activate, roll back' },
      { name: 'availability', description: 'What each listing may show, and why' },
      { name: 'sync', description: 'Propagation to channels: status per connection, dead letters and redrive' },
      { name: 'health', description: 'Liveness and readiness probes' },
    ],
  },
};
