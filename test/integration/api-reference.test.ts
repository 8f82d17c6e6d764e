/**
 * Goal: the HTTP API documentation cannot drift from the API. docs/api.md is exactly what
 * `npm run docs:api` writes from the OpenAPI document the server serves (every operation with
 * its body and answer shapes), and the route table of README.md names every operation of that
 * document, and nothing else.
 * Method: build the server as `serve` does over a scratch database, take its /openapi.json
 * document, render the reference and compare it with docs/api.md; read the backticked
 * `METHOD /path` routes of the first column of README.md's HTTP API table (a query string
 * dropped) and compare them with the document's operations both ways. A planted table checks
 * the reading of the first column.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  apiReferencePath,
  type OpenApiDocument,
  openApiDocument,
  operations,
  renderApiReference,
} from '../../scripts/api-reference.js';

const repositoryRoot = new URL('../../', import.meta.url).pathname;

/** The routes of the first column of the table in the `## HTTP API` section of a README. */
export function readmeRoutes(markdown: string): string[] {
  const start = markdown.indexOf('\n## HTTP API\n');
  assert.ok(start >= 0, 'README.md has a "## HTTP API" section');
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const routes: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split(/(?<!\\)\|/)[1] ?? '';
    for (const match of firstCell.matchAll(/`(GET|PUT|POST|PATCH|DELETE) ([^`\s?]+)[^`]*`/g))
      routes.push(`${match[1]} ${match[2]}`);
  }
  return routes;
}

describe('docs: the HTTP API reference and the README table follow /openapi.json', () => {
  let document: OpenApiDocument;
  before(async () => {
    document = await openApiDocument();
  });

  it('docs/api.md is what `npm run docs:api` writes from /openapi.json', () => {
    const written = readFileSync(join(repositoryRoot, apiReferencePath), 'utf8');
    assert.ok(
      written === renderApiReference(document),
      `${apiReferencePath} is out of date with the route schemas: run npm run docs:api and commit it`,
    );
  });

  it("README.md's HTTP API table names every operation of /openapi.json, and nothing else", () => {
    const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
    const inTable = readmeRoutes(readme);
    const documented = operations(document);
    assert.ok(documented.length >= 40, `found ${documented.length} operations`);
    assert.deepEqual(
      documented.filter((operation) => !inTable.includes(operation)),
      [],
      'operations of /openapi.json missing from the README table',
    );
    assert.deepEqual(
      inTable.filter((route) => !documented.includes(route)),
      [],
      'README table routes that /openapi.json does not have',
    );
    assert.match(readme, /\]\(docs\/api\.md/, 'the README links to docs/api.md');
  });

  it('reads the routes of the first column only, without their query strings', () => {
    const planted = [
      '# x',
      '## HTTP API',
      '| route | scope | what |',
      '|---|---|---|',
      '| [`GET /v1/kpis?window=24h`](docs/api.md#get-v1kpis), `POST /v1/a/{id}` | read | see `GET /v1/other` |',
      '| `GET /v1/alerts?status=open\\|all` | read | x |',
      '## CLI',
      '| `PUT /v1/not-here` | | |',
    ].join('\n');
    assert.deepEqual(readmeRoutes(planted), ['GET /v1/kpis', 'POST /v1/a/{id}', 'GET /v1/alerts']);
  });
});
