import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { epochMs } from '../../api/iso-time.js';
import { ImportApplyError, importCsv } from '../../api/csv-import.js';
import { movementsCsv, stockCsv } from '../../api/csv-export.js';
import {
  CsvBody,
  CsvExport,
  ImportParams,
  ImportQuery,
  ImportReport,
  MovementsExportQuery,
} from '../../api/csv-schemas.js';
import type { GroupCommitter } from '../../store/group-commit.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { route } from './api.js';

export interface CsvDeps {
  store: LedgerStore;
  ledger: GroupCommitter;
  clock: Clock;
}

const csvContentType = 'text/csv; charset=utf-8';

function streamCsv(reply: FastifyReply, filename: string, chunks: AsyncGenerator<string>): FastifyReply {
  return reply
    .type(csvContentType)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(Readable.from(chunks));
}

/**
 * CSV import and export (docs/csv.md). The import body is taken as raw bytes under its own
 * size bound (limits.csvImportBytesMax: 100,000 rows and more), so the shared text guard of
 * request-guards.ts does not refuse a whole file for one NUL: the rows are judged one by one,
 * each bad row answered with its line and column.
 */
export async function csvPlugin(app: FastifyInstance, { store, ledger, clock }: CsvDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'buffer', bodyLimit: limits.csvImportBytesMax },
    (_request, body, done) => done(null, body),
  );

  app.post<{ Params: ImportParams; Querystring: ImportQuery }>(
    '/imports/:kind',
    {
      ...route(
        'write',
        'catalogue',
        'Import a CSV file: variants, locations, stock counts, purchase orders, listings or mappings',
        {
          description:
            'Every row is checked and resolved before any is applied. With mode=all (the default) a bad row means nothing ' +
            'is applied: 422 with the same body, every bad row with its line and column. Importing the same file twice ' +
            'changes nothing (`unchanged`). Stock rows are counts: they set on_hand through the ledger.',
          params: ImportParams,
          querystring: ImportQuery,
          body: { content: { 'text/csv': { schema: CsvBody } } },
          response: { 200: ImportReport },
        },
        [413, 415, 422],
      ),
      config: { scope: 'write', deadlineMs: limits.csvImportTimeoutMs },
      bodyLimit: limits.csvImportBytesMax,
    },
    async (request) => {
      if (!Buffer.isBuffer(request.body) || request.body.length === 0)
        throw new ProblemError('ONH_ERR_VALIDATION', 'the body must be a CSV file (content-type text/csv)', {
          errors: [{ path: '/', message: 'is empty' }],
        });
      // Invalid UTF-8 becomes U+FFFD, which the row check refuses in the field that holds it.
      const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(request.body);
      const { kind } = request.params;
      const { dry_run: dryRun, mode } = request.query;
      try {
        const report = await importCsv({ store, ledger, clock }, kind, text, { dryRun, mode });
        const answer = { ...report, errors: report.errors.slice(0, limits.csvImportErrorsMax) };
        if (report.errors.length > 0 && mode === 'all')
          throw new ProblemError(
            'ONH_ERR_IMPORT_ROWS',
            `${report.errors.length} of ${report.rows} rows are bad; ${report.applied ? 'the rows before the refusal were applied' : 'nothing was applied'}`,
            { members: answer },
          );
        return answer;
      } catch (error) {
        if (!(error instanceof ImportApplyError)) throw error;
        request.log.error({ err: error.cause }, 'csv import stopped part way');
        throw new ProblemError('ONH_ERR_IMPORT_INCOMPLETE', error.message, {
          members: { ...error.report, errors: error.report.errors.slice(0, limits.csvImportErrorsMax) },
        });
      }
    },
  );

  app.get(
    '/exports/stock.csv',
    route('read', 'stock', 'Every level as CSV (sku, location, on_hand, reserved...), importable as stock counts', {
      produces: ['text/csv'],
      response: { 200: { content: { 'text/csv': { schema: CsvExport } } } },
    }),
    async (_request, reply) => streamCsv(reply, 'stock.csv', stockCsv(store)),
  );

  app.get<{ Querystring: MovementsExportQuery }>(
    '/exports/movements.csv',
    route('read', 'stock', 'Movements recorded in [since, until) as CSV, oldest first', {
      querystring: MovementsExportQuery,
      produces: ['text/csv'],
      response: { 200: { content: { 'text/csv': { schema: CsvExport } } } },
    }),
    async (request, reply) => {
      const since = request.query.since === undefined ? undefined : epochMs(request.query.since);
      const until = request.query.until === undefined ? undefined : epochMs(request.query.until);
      return streamCsv(reply, 'movements.csv', movementsCsv(store, { since, until }));
    },
  );
}
