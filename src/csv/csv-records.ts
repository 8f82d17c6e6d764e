import { parse } from 'csv-parse/sync';
import { limits } from '../core/limits.js';

/**
 * Reading a CSV file into rows keyed by column name, each with the line it starts on, and
 * every problem as a row error. Pure: text in, rows and errors out; nothing here throws on
 * what a file holds.
 *
 * Lines count as an editor shows them: the header is line 1, and a quoted field holding line
 * breaks makes its row span several lines; a row's line is the one it starts on. They are
 * counted from the byte offset where csv-parse's record info says each record ends (see
 * LineCounter for why not from its `lines` or `raw`). A byte-order mark is dropped, and both
 * CRLF and LF end a record, also mixed in one file.
 */

/** What is wrong with one row: `FILE:LINE: column <column>: <reason>` when printed. */
export interface RowError {
  line: number;
  column: string;
  reason: string;
}

export interface CsvRow {
  /** The line the row starts on (the header is line 1). */
  line: number;
  /** Field values by column name; a column the header lacks is absent. */
  fields: Record<string, string>;
}

/** The columns of a kind: those a file must have, may have, and may carry but are not read. */
export interface ColumnSpec {
  required: readonly string[];
  optional: readonly string[];
  /** Columns of the matching export that an import accepts and does not read (e.g. `reserved`). */
  ignored?: readonly string[] | undefined;
}

export interface CsvTable {
  columns: string[];
  rows: CsvRow[];
  /** Row errors, also of the header (line 1); a row with an error is not in `rows`. */
  errors: RowError[];
  /** Data rows seen, good and bad (what an import reports as `rows`). */
  rowCount: number;
}

// A surrogate half without its partner; never valid in UTF-8 or in a database's text.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a field's text is refused, or null when it is acceptable. */
export function textFault(value: string): string | null {
  if (value.length > limits.csvFieldLengthMax) return `is longer than ${limits.csvFieldLengthMax} characters`;
  if (value.includes('\u0000')) return 'holds a NUL character';
  if (loneSurrogate.test(value)) return 'holds a lone surrogate';
  // A byte sequence that is not UTF-8 decodes to U+FFFD: the file was saved in another encoding.
  if (value.includes('\uFFFD')) return 'is not valid UTF-8 (save the file as UTF-8)';
  return null;
}

/**
 * Line numbers by byte offset, scanning forward only (records arrive in file order). A line
 * break is CRLF, LF or a lone CR, each counted once, as editors count them. csv-parse's own
 * `info.lines` counts the CR and the LF of a CRLF inside a quoted field as two lines, and its
 * `raw` drops the LF of a CRLF record end, so the lines are counted here from `info.bytes`, the
 * offset where each record ends.
 */
class LineCounter {
  private at = 0;
  private line = 1;
  constructor(private readonly bytes: Uint8Array) {}

  /** The line of the first byte at or after `offset` that is not a line break (a record's start). */
  startAfter(offset: number): number {
    let start = offset;
    while (start < this.bytes.length && (this.bytes[start] === 0x0a || this.bytes[start] === 0x0d)) start += 1;
    return this.lineAt(start);
  }

  private lineAt(offset: number): number {
    const bytes = this.bytes;
    for (; this.at < offset && this.at < bytes.length; this.at += 1) {
      const byte = bytes[this.at];
      if (byte === 0x0a) this.line += 1;
      else if (byte === 0x0d && bytes[this.at + 1] !== 0x0a) this.line += 1;
    }
    return this.line;
  }
}

interface ParsedRecord {
  record: string[];
  /** The line the record starts on. */
  line: number;
}

/**
 * Parse `text` and check its header against `spec`. A header naming an unknown column, lacking
 * a required one or naming one twice makes the file unreadable: the errors are on line 1 and no
 * row is read. Rows with the wrong number of fields, broken quoting, or text that is refused
 * (NUL, lone surrogates, over-long fields) are errors of their own line; the other rows are read.
 */
export function readCsvTable(text: string, spec: ColumnSpec): CsvTable {
  const errors: RowError[] = [];
  const records: ParsedRecord[] = [];
  // The BOM is dropped here, not by csv-parse, so that its byte offsets are offsets into `bytes`.
  const bytes = Buffer.from(text.startsWith('\uFEFF') ? text.slice(1) : text, 'utf8');
  const lines = new LineCounter(bytes);
  let consumed = 0;
  let brokenAt: number | undefined;
  let parseFailed = false;
  try {
    parse(bytes, {
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // The context is the record's info (what the `info` option would attach to every record):
      // reading `bytes` from it here, instead of asking for `info` and `raw` on every record,
      // saved 2.2 s of a 5.5 s import of 100,000 variant rows (CPU profile of bench:import).
      on_record: (record: string[], context: { bytes: number }) => {
        // After broken quoting csv-parse resynchronises wherever the next quote falls: what it
        // reads after it is not what the file means, so nothing after it is kept.
        if (brokenAt === undefined) records.push({ record, line: lines.startAfter(consumed) });
        consumed = context.bytes;
        return null;
      },
      on_skip: (error: Error | undefined) => {
        if (!error || brokenAt !== undefined) return;
        const at = error as unknown as { index?: number; message: string };
        const header = records[0]?.record;
        const column = header && typeof at.index === 'number' ? (header[at.index] ?? `#${at.index + 1}`) : '(row)';
        brokenAt = lines.startAfter(consumed);
        errors.push({
          line: brokenAt,
          column,
          reason: `the row's quoting is broken (${at.message.split(':')[0]}); this row and the rest of the file are not read`,
        });
      },
    } as never);
  } catch (error) {
    // Only options errors throw with skip_records_with_error; kept total for safety.
    parseFailed = true;
    errors.push({ line: 1, column: '(file)', reason: `cannot be read as CSV: ${(error as Error).message}` });
  }
  const header = records[0];
  if (parseFailed || !header) {
    if (!parseFailed)
      errors.push({ line: 1, column: '(header)', reason: 'the file is empty: a header line is needed' });
    return { columns: [], rows: [], errors, rowCount: 0 };
  }
  const columns = header.record.map((name) => name.trim());
  const known = new Set([...spec.required, ...spec.optional, ...(spec.ignored ?? [])]);
  const seen = new Set<string>();
  const headerLine = header.line;
  for (const name of columns) {
    if (!known.has(name))
      errors.push({
        line: headerLine,
        column: name === '' ? '(empty)' : name,
        reason: `is not a known column (expected ${[...spec.required, ...spec.optional].join(', ')})`,
      });
    else if (seen.has(name)) errors.push({ line: headerLine, column: name, reason: 'is named twice in the header' });
    seen.add(name);
  }
  for (const name of spec.required)
    if (!seen.has(name)) errors.push({ line: headerLine, column: name, reason: 'is a required column and is missing' });
  const dataRecords = records.length - 1;
  if (dataRecords > limits.csvImportRowsMax)
    errors.push({
      line: headerLine,
      column: '(file)',
      reason: `has ${dataRecords} rows; at most ${limits.csvImportRowsMax} are imported at once (split the file)`,
    });
  if (errors.length > 0 && errors.some((error) => error.line === headerLine))
    return { columns, rows: [], errors, rowCount: dataRecords };

  const rows: CsvRow[] = [];
  for (let index = 1; index < records.length; index += 1) {
    const { record, line } = records[index]!;
    if (record.length !== columns.length) {
      const column =
        record.length < columns.length ? columns[record.length]! : `#${columns.length + 1} (beyond the header)`;
      errors.push({ line, column, reason: `the row has ${record.length} fields, the header ${columns.length}` });
      continue;
    }
    const fields: Record<string, string> = {};
    let bad = false;
    for (let at = 0; at < columns.length; at += 1) {
      const value = record[at]!;
      const fault = textFault(value);
      if (fault) {
        errors.push({ line, column: columns[at]!, reason: fault });
        bad = true;
      }
      fields[columns[at]!] = value;
    }
    if (!bad) rows.push({ line, fields });
  }
  return { columns, rows, errors, rowCount: dataRecords + (brokenAt !== undefined && brokenAt > headerLine ? 1 : 0) };
}

/** Errors in file order (line, then column), as the CLI prints them. */
export function sortedErrors(errors: readonly RowError[]): RowError[] {
  return [...errors].sort((a, b) => a.line - b.line || (a.column < b.column ? -1 : a.column > b.column ? 1 : 0));
}
