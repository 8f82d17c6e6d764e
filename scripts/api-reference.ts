/**
 * docs/api.md, the HTTP API reference, written from the OpenAPI document the server itself
 * serves at /openapi.json: every operation with its scope, parameters, the shape of its body
 * and of each answer, and the error codes it may answer. Usage: `npm run docs:api`.
 * test/integration/api-reference.test.ts fails while docs/api.md differs from what this writes,
 * so a route, a field or a code that changes in a schema cannot leave the reference behind.
 *
 * Shapes are written as TypeScript-like types (`?` optional, `|` one of, `T[]` a list, `"a"`
 * that exact value, `integer` a whole number), with each field's description and bounds as a
 * comment: readable in a terminal and in a diff, unlike the JSON Schema they come from.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Clock, IdSource } from '../src/core/clock.js';
import { Metrics } from '../src/http/metrics.js';
import { buildServer } from '../src/http/server.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

export interface Schema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  default?: unknown;
}

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface Operation {
  summary?: string;
  description?: string | null;
  tags?: string[];
  security?: unknown[] | null;
  parameters?: Parameter[] | null;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

export interface OpenApiDocument {
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
}

export const apiReferencePath = 'docs/api.md';
const methods = ['get', 'put', 'post', 'patch', 'delete'];

/** Every operation of the document as `METHOD /path`, in the document's order. */
export function operations(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, byMethod]) =>
    methods.filter((method) => byMethod[method]).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** Bounds of a schema, as words: `1-100 characters`, `at most 1000 items`, `>= 0`. */
function bounds(schema: Schema): string[] {
  const range = (low: number | undefined, high: number | undefined, unit: string) => {
    if (low !== undefined && high !== undefined) return [`${low}-${high}${unit}`];
    if (low !== undefined) return [`>= ${low}${unit}`];
    if (high !== undefined) return [`<= ${high}${unit}`];
    return [];
  };
  return [
    ...range(schema.minLength, schema.maxLength, ' characters'),
    ...range(schema.minItems, schema.maxItems, ' items'),
    ...range(schema.minimum, schema.maximum, ''),
    ...(schema.format ? [schema.format] : []),
    ...(schema.default !== undefined ? [`default ${JSON.stringify(schema.default)}`] : []),
  ];
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function comment(schema: Schema): string {
  const parts = [...(schema.description ? [oneLine(schema.description)] : []), ...bounds(schema)];
  return parts.length > 0 ? ` // ${parts.join('; ')}` : '';
}

/** A schema as a TypeScript-like type, indented by `indent`; multi-line for objects. */
export function shape(schema: Schema, indent = ''): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  const members = schema.anyOf ?? schema.oneOf;
  if (members) {
    const parts = members.map((member) => shape(member, `${indent}  `));
    return parts.some((part) => part.includes('\n'))
      ? `\n${parts.map((part) => `${indent}  | ${part}`).join('\n')}`
      : parts.join(' | ');
  }
  if (schema.allOf) return schema.allOf.map((member) => shape(member, indent)).join(' & ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return types.map((type) => shape({ ...schema, type }, indent)).join(' | ');
  switch (types[0]) {
    case 'array': {
      const item = shape(schema.items ?? {}, indent);
      if (item.startsWith('\n')) return `(${item}\n${indent})[]`;
      return /^[\w"]+$/.test(item) || item.endsWith('}') ? `${item}[]` : `(${item})[]`;
    }
    case 'object':
      return objectShape(schema, indent);
    case undefined:
      return schema.properties ? objectShape(schema, indent) : 'unknown';
    default:
      return types[0]!;
  }
}

function objectShape(schema: Schema, indent: string): string {
  const entries = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (entries.length === 0) {
    if (extra && typeof extra === 'object') return `{ [key: string]: ${shape(extra, indent)} }`;
    return extra === false ? '{}' : '{ [key: string]: unknown }';
  }
  const required = new Set(schema.required ?? []);
  const inner = `${indent}  `;
  const lines = entries.map(([name, property]) => {
    const type = shape(property, inner);
    const optional = required.has(name) ? '' : '?';
    return `${inner}${name}${optional}:${type.startsWith('\n') ? '' : ' '}${type},${comment(property)}`;
  });
  if (extra && typeof extra === 'object') lines.push(`${inner}[key: string]: ${shape(extra, inner)},`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function codeBlock(text: string): string {
  return ['```ts', text.trim(), '```'].join('\n');
}

function renderParameters(parameters: Parameter[]): string[] {
  if (parameters.length === 0) return [];
  const lines = parameters.map((parameter) => {
    const schema = parameter.schema ?? {};
    const notes = [...(parameter.description ? [oneLine(parameter.description)] : []), ...bounds(schema)];
    // A parameter with a default need not be sent, whatever `required` says.
    const name = `${parameter.name}${parameter.required && schema.default === undefined ? '' : '?'}`;
    return `- ${parameter.in} \`${name}\`: ${shape(schema).replace(/\s+/g, ' ')}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  });
  return ['Parameters:', '', ...lines, ''];
}

function renderOperation(method: string, path: string, operation: Operation): string {
  const out: string[] = [`### \`${method.toUpperCase()} ${path}\``, ''];
  if (operation.summary) out.push(`${oneLine(operation.summary)}.`.replace(/\.\.$/, '.'), '');
  if (operation.description) out.push(oneLine(operation.description), '');
  if (!operation.security || operation.security.length === 0) out.push('No bearer token.', '');
  out.push(...renderParameters(operation.parameters ?? []));
  const body = operation.requestBody?.content;
  if (body) {
    for (const [type, media] of Object.entries(body)) {
      out.push(`Body (\`${type}\`):`, '', codeBlock(shape(media.schema ?? {})), '');
    }
  } else if (method !== 'get') {
    out.push('Body: not described by a schema (see above).', '');
  }
  const responses = Object.entries(operation.responses ?? {});
  const answers = responses.filter(([status]) => status.startsWith('2'));
  if (answers.length === 0) out.push('Answer: not described by a schema.', '');
  for (const [status, response] of answers) {
    const media = Object.entries(response.content ?? {});
    if (media.length === 0) out.push(`Answer ${status}: no body.`, '');
    for (const [type, content] of media)
      out.push(`Answer ${status} (\`${type}\`):`, '', codeBlock(shape(content.schema ?? {})), '');
  }
  // The document lists under each status every code that status can carry anywhere, not this
  // route's: the statuses are the route's, the codes are in docs/errors.md.
  const errors = responses.filter(([status]) => !status.startsWith('2')).map(([status]) => status);
  if (errors.length > 0) out.push(`Errors: ${errors.join(', ')}.`, '');
  return out.join('\n');
}

/** docs/api.md for a document: operations grouped by tag, tags in the order the document declares them. */
export function renderApiReference(document: OpenApiDocument): string {
  const declared = document.tags ?? [];
  const groups = new Map<string, string[]>(declared.map((tag) => [tag.name, []]));
  for (const [path, byMethod] of Object.entries(document.paths)) {
    for (const method of methods) {
      const operation = byMethod[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] ?? 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push(renderOperation(method, path, operation));
    }
  }
  const descriptions = new Map(declared.map((tag) => [tag.name, tag.description]));
  const sections = [...groups]
    .filter(([, rendered]) => rendered.length > 0)
    .map(([tag, rendered]) => {
      const description = descriptions.get(tag);
      return [`## ${tag}`, '', ...(description ? [`${description}.`, ''] : []), ...rendered].join('\n');
    });
  const count = operations(document).length;
  return `${[
    '# HTTP API reference',
    '',
    `<!-- Written by \`npm run docs:api\` from the OpenAPI document; edit the route schemas, not this file. -->`,
    '',
    `The ${count} operations of onhand's HTTP API, as the OpenAPI document the server serves at`,
    '`/openapi.json` (browsable at `/docs`) describes them. `npm run docs:api` writes this file',
    'from that document, and `test/integration/api-reference.test.ts` fails while the two differ.',
    'The [README](../README.md#http-api) has the overview, the scopes and examples that run',
    'against the demo.',
    '',
    'Shapes are TypeScript-like: `name?` is optional, `a | b` one of, `T[]` a list, `"x"` that exact',
    'value, `integer` a whole number; a comment gives the description and bounds of a field. Every',
    '`/v1` route needs `Authorization: Bearer <token>` with the scope it names. Every error is an',
    'RFC 9457 problem (`application/problem+json`) with a `code` from',
    '[the error registry](errors.md).',
    '',
    ...sections,
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** The OpenAPI document of a server built as `onhand serve` builds it, over a scratch database. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-api-reference-'));
  const store = new SqliteStore({ filename: join(directory, 'onhand.db') });
  try {
    await store.migrate();
    const clock: Clock = { now: () => Date.parse('2026-01-01T00:00:00.000Z') };
    let n = 0;
    const ids: IdSource = { next: (prefix) => `${prefix}_${++n}` };
    const ledger = new GroupCommitter(store, clock, ids);
    const app = await buildServer({ store, ledger, clock, ids, metrics: new Metrics() });
    try {
      await app.ready();
      return JSON.parse(JSON.stringify(app.swagger())) as OpenApiDocument;
    } finally {
      await app.close();
      await ledger.close();
    }
  } finally {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = new URL('../', import.meta.url).pathname;
  const text = renderApiReference(await openApiDocument());
  writeFileSync(join(root, apiReferencePath), text);
  console.log(`${apiReferencePath}: ${text.split('\n').length} lines`);
}
