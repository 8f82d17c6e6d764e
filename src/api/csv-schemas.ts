import { Type, type Static } from '@sinclair/typebox';
import { importKinds } from '../csv/csv-kinds.js';
import { Closed } from './schema-primitives.js';

/** Schemas of the CSV routes (`POST /v1/imports/{kind}`, `GET /v1/exports/*.csv`); columns in docs/csv.md. */

export const ImportParams = Closed({
  kind: Type.Union(
    importKinds.map((kind) => Type.Literal(kind)),
    { description: 'What the file holds; its columns are in docs/csv.md' },
  ),
});
export type ImportParams = Static<typeof ImportParams>;

export const ImportQuery = Closed({
  dry_run: Type.Boolean({ default: false, description: 'Check and resolve every row, apply none' }),
  mode: Type.Union([Type.Literal('all'), Type.Literal('good')], {
    default: 'all',
    description:
      '`all`: nothing is applied when a row is bad (422); `good`: the good rows are applied, the bad reported',
  }),
});
export type ImportQuery = Static<typeof ImportQuery>;

export const ImportRowError = Type.Object({
  line: Type.Integer({ description: 'Line in the file; the header is line 1, a quoted line break counts' }),
  column: Type.String(),
  reason: Type.String(),
});

export const ImportReport = Type.Object({
  kind: Type.String(),
  rows: Type.Integer({ description: 'Data rows in the file' }),
  applied: Type.Boolean({ description: 'Whether rows were applied; when false the counts say what applying would do' }),
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer({ description: 'Rows equal to what is stored: importing a file twice changes nothing' }),
  errors: Type.Array(ImportRowError, { description: 'Bad rows in file order (the first 1,000)' }),
});

export const CsvBody = Type.Unsafe<Buffer>({
  description: 'The CSV file, UTF-8 (a byte-order mark is accepted), header on line 1; columns per kind in docs/csv.md',
});

export const MovementsExportQuery = Closed({
  since: Type.Optional(
    Type.String({ format: 'date-time', maxLength: 64, description: 'Recorded at or after (RFC 3339)' }),
  ),
  until: Type.Optional(Type.String({ format: 'date-time', maxLength: 64, description: 'Recorded before (RFC 3339)' })),
});
export type MovementsExportQuery = Static<typeof MovementsExportQuery>;

export const CsvExport = Type.String({ description: 'CSV text, header first, streamed page by page' });
