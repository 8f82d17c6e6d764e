import { randomBytes } from 'node:crypto';
import { cost } from './cost-bucket.js';
import type { GraphqlError, OperationPlan } from './graphql-error.js';
import { argumentValue, type OperationField } from './graphql-operation.js';
import { gid, numericId, type ShopState } from './shop-state.js';

/**
 * Bulk operations, the subset a full audit uses (docs/channels/shopify.md, Full audit: a bulk
 * operation):
 * - `bulkOperationRunQuery(query:)` -> `{ bulkOperation { id status }, userErrors }`; one bulk
 *   query runs per shop and app at a time (another is refused with a userError) [doc]. Cost 10
 *   like any mutation.
 * - The inner query understood: `inventoryItems { edges { node { id inventoryLevel(locationId: "<gid>")
 *   { quantities(names: ["available"]) { name quantity } } } } }`; anything else is refused as a
 *   userError (the real platform runs any query with a connection; the simulator models this one).
 * - Status through `node(id:)` or `currentBulkOperation` (each cost 1): CREATED, RUNNING, then
 *   COMPLETED after `durationMs` (a fixed part plus a part per object), with `objectCount`,
 *   `fileSize` and `url`; the result file is JSONL, one line per inventory item, written when the
 *   operation completes (what the shop shows then), served at that URL without the API token
 *   (a signed link, as Shopify's are) and outside the cost bucket [doc].
 * Not modelled: bulk mutations, cancel, `partialDataUrl`, the finish webhook, the 10-day URL
 * expiry (the file stays until the simulator stops).
 */

export interface BulkOperationTiming {
  /** @default 300 */
  baseMs: number;
  /** Objects the operation writes per second. @default 50000 */
  objectsPerSecond: number;
}

interface BulkOperation {
  id: number;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
  createdAt: number;
  completesAt: number;
  query: string;
  locationId: number;
  token: string;
  objectCount: number;
  body: string | null;
  completedAt: number | null;
}

const innerQuery =
  /^\s*\{\s*inventoryItems\s*\{\s*edges\s*\{\s*node\s*\{\s*id\s+inventoryLevel\s*\(\s*locationId\s*:\s*"(gid:\/\/shopify\/Location\/\d+)"\s*\)\s*\{\s*quantities\s*\(\s*names\s*:\s*\[\s*"available"\s*\]\s*\)\s*\{\s*name\s+quantity\s*\}\s*\}\s*\}\s*\}\s*\}\s*\}\s*$/;

export class BulkOperations {
  readonly #operations = new Map<number, BulkOperation>();
  #nextId = 1;
  #current: BulkOperation | null = null;

  constructor(
    private readonly shop: ShopState,
    private readonly timing: BulkOperationTiming,
    private readonly now: () => number,
    private readonly wallNow: () => number,
    private readonly resultBaseUrl: () => string,
  ) {}

  /** Started operations (all kinds of query run by tests). */
  get started(): number {
    return this.#nextId - 1;
  }

  planRun(field: OperationField, variables: Record<string, unknown>): OperationPlan {
    const query = argumentValue(field.args, 'query', variables);
    if (!query.found || 'unsupported' in query || typeof query.value !== 'string')
      return {
        errors: [
          {
            message: "Argument 'query' on Field 'bulkOperationRunQuery' has an invalid value. Expected type 'String!'.",
            extensions: { code: 'argumentLiteralsIncompatible' },
          },
        ],
      };
    const text = query.value;
    const key = field.alias ?? field.name;
    return {
      requestedCost: cost.mutation,
      mutation: true,
      idempotency: null,
      run: () => ({ data: { [key]: this.#start(text) }, actualCost: cost.mutation }),
    };
  }

  #start(text: string): unknown {
    const userError = (message: string) => ({
      bulkOperation: null,
      userErrors: [{ field: ['query'], message, code: 'INVALID' }],
    });
    const current = this.#current === null ? null : this.#settle(this.#current);
    if (current !== null && (current.status === 'CREATED' || current.status === 'RUNNING'))
      return userError(
        `A bulk query operation for this app and shop is already in progress: ${gid('BulkOperation', current.id)}.`,
      );
    const match = innerQuery.exec(text);
    const locationId = match ? numericId(match[1], 'Location') : null;
    if (locationId === null) return userError('simulator: only the inventory levels audit query is modelled');
    const objectCount = this.shop.items.size;
    const operation: BulkOperation = {
      id: this.#nextId++,
      status: 'CREATED',
      createdAt: this.now(),
      completesAt: this.now() + this.timing.baseMs + (objectCount / this.timing.objectsPerSecond) * 1000,
      query: text,
      locationId,
      token: randomBytes(12).toString('hex'),
      objectCount: 0,
      body: null,
      completedAt: null,
    };
    this.#operations.set(operation.id, operation);
    this.#current = operation;
    return { bulkOperation: this.#view(operation), userErrors: [] };
  }

  /** `node(id:)` for a BulkOperation gid: its view, or undefined when the id is not one. */
  node(id: string): unknown {
    const number = numericId(id, 'BulkOperation');
    if (number === null) return undefined;
    const operation = this.#operations.get(number);
    return operation ? this.#view(this.#settle(operation)) : null;
  }

  current(): unknown {
    return this.#current === null ? null : this.#view(this.#settle(this.#current));
  }

  /** GET of a result URL: the JSONL, or null when the path or token is unknown. */
  result(path: string, search: URLSearchParams): string | null {
    const match = /^\/_bulk\/(\d+)\.jsonl$/.exec(path);
    const operation = match ? this.#operations.get(Number(match[1])) : undefined;
    if (!operation || operation.body === null || search.get('token') !== operation.token) return null;
    return operation.body;
  }

  #settle(operation: BulkOperation): BulkOperation {
    if (operation.status === 'CREATED' || operation.status === 'RUNNING') {
      const now = this.now();
      if (now >= operation.completesAt) {
        const lines: string[] = [];
        for (const item of this.shop.items.values()) {
          const level = item.levels.get(operation.locationId);
          lines.push(
            JSON.stringify({
              id: gid('InventoryItem', item.id),
              inventoryLevel: level ? { quantities: [{ name: 'available', quantity: level.available }] } : null,
            }),
          );
        }
        operation.body = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
        operation.objectCount = lines.length;
        operation.status = 'COMPLETED';
        operation.completedAt = this.wallNow();
      } else if (now > operation.createdAt) operation.status = 'RUNNING';
    }
    return operation;
  }

  #view(operation: BulkOperation) {
    const done = operation.status === 'COMPLETED';
    return {
      id: gid('BulkOperation', operation.id),
      status: operation.status,
      errorCode: null,
      createdAt: new Date(this.wallNow()).toISOString(),
      completedAt: operation.completedAt === null ? null : new Date(operation.completedAt).toISOString(),
      objectCount: String(operation.objectCount),
      fileSize: done ? String(Buffer.byteLength(operation.body ?? '')) : null,
      url:
        done && operation.objectCount > 0
          ? `${this.resultBaseUrl()}/_bulk/${operation.id}.jsonl?token=${operation.token}`
          : null,
      partialDataUrl: null,
      query: operation.query,
      type: 'QUERY',
    };
  }
}

/** The error for a `node(id:)` that names nothing the simulator knows. */
export const notBulkNode: GraphqlError = {
  message: 'simulator: node(id:) answers BulkOperation ids only',
  extensions: { code: 'simulatorLimit' },
};
