/**
 * Goal: the documents point only at things that exist, inside the repository. Every relative
 * link in README.md and docs/ names a file of the repository (nothing outside it) and, when it
 * gives an anchor (`docs/api.md#post-v1movements`, `#two-commands`), a heading or an
 * `<a id>` of that file; no document links out of the repository over http(s) unless it is
 * one of the justified exceptions below; and every test that docs/RELIABILITY.md cites as
 * proof exists, with the title words quoted for it.
 * Method: read the markdown without its code (fenced blocks, inline code), resolve each link
 * from the document's folder, and derive the anchors of the target the way GitHub does (the
 * heading's text in lower case, punctuation dropped, spaces as hyphens, a repeated heading
 * numbered -1, -2...); for each list line of RELIABILITY.md that starts with a backticked test
 * path, look for each quoted title in that file's source. Planted references check that a
 * missing file, anchor or title, and a link out, are caught.
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

/** Markdown without fenced code blocks and inline code, where a link is only text. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1\s*$/gm, '').replace(/(`+)[^`\n][\s\S]*?\1/g, '');
}

/** The anchors GitHub gives a markdown text: one per heading, and every `<a id>` / `<a name>`. */
export function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1\s*$/gm, '');
  for (const match of text.matchAll(/^#{1,6}\s+(.*?)\s*#*\s*$/gm)) {
    const slug = match[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(match[1]!);
  return found;
}

/**
 * Relative links of one markdown file that do not resolve to a file inside the repository, or
 * to an anchor of it. Anchors are checked in markdown targets only.
 */
export function brokenLinks(
  file: string,
  markdown: string,
  exists: (path: string) => boolean = existsSync,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): string[] {
  const broken: string[] = [];
  for (const match of withoutCode(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1]!;
    if (/^(https?:|mailto:)/.test(target)) continue;
    const [pathPart, anchor] = target.split('#') as [string, string | undefined];
    const path = pathPart === '' ? file : resolve(dirname(file), pathPart);
    const inside = path === repositoryRoot || path.startsWith(repositoryRoot + sep);
    if (!inside || !exists(path)) {
      broken.push(`${relative(repositoryRoot, file)}: ${target}`);
      continue;
    }
    if (anchor === undefined) continue;
    const targetText = path === file ? markdown : path.endsWith('.md') ? read(path) : undefined;
    if (targetText === undefined || !anchors(targetText).has(decodeURIComponent(anchor)))
      broken.push(`${relative(repositoryRoot, file)}: ${target} (no such anchor)`);
  }
  return broken;
}

/**
 * http(s) addresses outside code that are not justified. The justified ones:
 * - loopback addresses (`127.0.0.1`, `localhost`, `[::1]`): the reader's own onhand;
 * - docs/channels/: each platform fact is cited with its source, the platform's own
 *   documentation, which cannot live in this repository (the OpenAPI specs that can are in
 *   specs/).
 */
export function externalLinks(file: string, markdown: string): string[] {
  const path = relative(repositoryRoot, file).split(sep).join('/');
  if (path.startsWith('docs/channels/')) return [];
  return [...withoutCode(markdown).matchAll(/https?:\/\/[^\s)>\]"'`]+/g)]
    .map((match) => match[0])
    .filter((address) => !/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])([:/]|$)/.test(address))
    .map((address) => `${path}: ${address}`);
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

  it('no document links out of the repository over http(s), except the justified sources', () => {
    assert.deepEqual(
      markdownFiles().flatMap((file) => externalLinks(file, readFileSync(file, 'utf8'))),
      [],
    );
  });

  it('every test docs/RELIABILITY.md cites exists, with the title it quotes', () => {
    const markdown = readFileSync(join(repositoryRoot, 'docs', 'RELIABILITY.md'), 'utf8');
    const cited = markdown.split('\n').filter((line) => line.startsWith('- `test/')).length;
    assert.ok(cited >= 30, `found ${cited} cited tests`);
    assert.deepEqual(missingProofs(markdown, readRepositoryFile), []);
  });

  it('catches a broken link, a link out of the repository, a missing anchor, an http(s) link, a missing test file and a missing title', () => {
    const readme = join(repositoryRoot, 'README.md');
    const planted = [
      '## Two `commands`, then more',
      '## Two `commands`, then more',
      '<a id="kept"></a>',
      '[a](docs/nothing-here.md) [b](../elsewhere/notes.md) [c](https://example.com) [d](#two-commands-then-more-1)',
      '[e](#nowhere) [f](#kept) [g](docs/ARCHITECTURE.md#no-such-heading) `[h](#in-code)` see http://127.0.0.1:7400',
      '```sh',
      'curl https://example.org/in-a-block [i](#in-a-block)',
      '```',
    ].join('\n');
    assert.deepEqual(brokenLinks(readme, planted), [
      'README.md: docs/nothing-here.md',
      'README.md: ../elsewhere/notes.md',
      'README.md: #nowhere (no such anchor)',
      'README.md: docs/ARCHITECTURE.md#no-such-heading (no such anchor)',
    ]);
    assert.deepEqual(externalLinks(readme, planted), ['README.md: https://example.com']);
    assert.deepEqual(externalLinks(join(repositoryRoot, 'docs', 'channels', 'bol.md'), planted), []);
    const read = (path: string) =>
      path === 'test/a.test.ts' ? "it('does a thing', () => {}); it('bol\\'s rule', () => {});" : undefined;
    assert.deepEqual(
      missingProofs('- `test/a.test.ts`: "does a thing"; "bol\'s rule"; "does another"\n- `test/b.test.ts`: "x"', read),
      ['test/a.test.ts: no test titled "does another"', 'test/b.test.ts: no such file'],
    );
  });
});
