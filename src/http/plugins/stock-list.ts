import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { StockListPage, StockListQuery } from '../../api/stock-list-schemas.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { route } from './api.js';

export interface StockListDeps {
  store: Pick<LedgerStore, 'ledger' | 'tokens'>;
  clock: Clock;
}

/**
 * `GET /v1/stock`: the dashboard's stock grid, paged, filtered and sorted by the store (a page
 * stays one index walk at 250,000 variants; bench/README.md, Stock grid).
 */
export async function stockListPlugin(app: FastifyInstance, { store, clock }: StockListDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  app.get<{ Querystring: StockListQuery }>(
    '/stock',
    route(
      'read',
      'stock',
      'Plain variants with their levels by location and their listings by channel, searchable and keyset-paged',
      {
        description:
          `\`low_stock=true\` keeps variants with at most ${limits.stockLowAvailableMax} units available (at \`location\` ` +
          'when given, else in total). Bundles are left out: their stock is computed, see GET /v1/stock/{sku}. ' +
          '`drift` is what the channel was last seen showing minus the desired quantity (null when never read).',
        querystring: StockListQuery,
        response: { 200: StockListPage },
      },
      [404],
    ),
    async (request) => {
      const { location, sku_prefix, q, low_stock, sort, cursor, limit } = request.query;
      const page = await store.ledger.listStock(
        {
          location,
          skuPrefix: sku_prefix,
          q,
          lowStock: low_stock,
          lowStockAvailableMax: limits.stockLowAvailableMax,
          sort,
          cursor,
          limit,
        },
        clock.now(),
      );
      if (!page.location_found)
        throw new ProblemError('ONH_ERR_LOCATION_NOT_FOUND', `no location ${location}`, {
          errors: [{ path: 'querystring/location', message: 'names no location' }],
        });
      return { items: page.items, next_cursor: page.next_cursor };
    },
  );
}
