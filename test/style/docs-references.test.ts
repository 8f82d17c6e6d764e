/**
 * Goal: the documents point only at things that exist. Every relative link in README.md and
 * docs/ names a file of the repository (nothing outside it), and every test that
 * docs/RELIABILITY.md cites as proof exists, with the title words quoted for it.
 * Method: read the markdown, resolve each link from the document's folder; for each list line
 * of RELIABILITY.md that starts with a backticked test path, look for each quoted title in
 * that file's source. Planted references check that a missing file or title is caught.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function markdownFiles(): string[] {
  const walk = (directory: string): string[] =>
    readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
      const path = join(directory, entry.name);
      return entry.isDirectory() ? walk(path) : entry.name.endsWith('.md') ? [path] : [];
    });
  return [join(repositoryRoot, 'README.md'), ...walk(join(repositoryRoot, 'docs'))].sort();
}

/** Relative links of one markdown file that do not resolve to a file inside the repository. */
export function brokenLinks(file: string, markdown: string, exists: (path: string) => boolean = existsSync): string[] {
  const broken: string[] = [];
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  for (const match of withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1]!;
    if (/^(https?:|mailto:|#)/.test(target)) continue;
    const path = resolve(dirname(file), target.replace(/#.*$/, ''));
    const inside = path === repositoryRoot || path.startsWith(repositoryRoot + sep);
    if (!inside || !exists(path)) broken.push(`${relative(repositoryRoot, file)}: ${target}`);
  }
  return broken;
}

/** Cited tests of RELIABILITY.md that do not exist: a missing file, or a quoted title not in it. */
export function missingProofs(markdown: string, read: (path: string) => string | undefined): string[] {
  const missing: string[] = [];
  for (const line of markdown.split('\n')) {
    const match = /^- `(test\/[^`]+\.test\.ts)`:(.*)$/.exec(line);
    if (!match) continue;
    const [, path, rest] = match as unknown as [string, string, string];
    const source = read(path);
    if (source === undefined) {
      missing.push(`${path}: no such file`);
      continue;
    }
    // Titles are quoted in the source with ' or `, so an apostrophe may be escaped there.
    const text = source.replace(/\\'/g, "'");
    for (const title of rest.matchAll(/"([^"]+)"/g)) {
      if (!text.includes(title[1]!)) missing.push(`${path}: no test titled "${title[1]}"`);
    }
  }
  return missing;
}

const readRepositoryFile = (path: string) => {
  const full = join(repositoryRoot, path);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
};

describe('style: the documents reference what exists', () => {
  it('every relative link of README.md and docs/ names a file of the repository', () => {
    const files = markdownFiles();
    assert.ok(
      files.some((file) => file.endsWith(join('docs', 'ARCHITECTURE.md'))),
      files.join('\n'),
    );
    assert.deepEqual(
      files.flatMap((file) => brokenLinks(file, readFileSync(file, 'utf8'))),
      [],
    );
  });

  it('every test docs/RELIABILITY.md cites exists, with the title it quotes', () => {
    const markdown = readFileSync(join(repositoryRoot, 'docs', 'RELIABILITY.md'), 'utf8');
    const cited = markdown.split('\n').filter((line) => line.startsWith('- `test/')).length;
    assert.ok(cited >= 30, `found ${cited} cited tests`);
    assert.deepEqual(missingProofs(markdown, readRepositoryFile), []);
  });

  it('catches a broken link, a link out of the repository, a missing test file and a missing title', () => {
    const readme = join(repositoryRoot, 'README.md');
    assert.deepEqual(
      brokenLinks(readme, '[a](docs/nothing-here.md) [b](../elsewhere/notes.md) [c](https://example.com) [d](#top)'),
      ['README.md: docs/nothing-here.md', 'README.md: ../elsewhere/notes.md'],
    );
    const read = (path: string) =>
      path === 'test/a.test.ts' ? "it('does a thing', () => {}); it('bol\\'s rule', () => {});" : undefined;
    assert.deepEqual(
      missingProofs('- `test/a.test.ts`: "does a thing"; "bol\'s rule"; "does another"\n- `test/b.test.ts`: "x"', read),
      ['test/a.test.ts: no test titled "does another"', 'test/b.test.ts: no such file'],
    );
  });
});
