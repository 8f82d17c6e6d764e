/**
 * The checker behind test/style/layering.test.ts. The rooms of the tree and the imports each
 * may make are written once, as the layer table of docs/ARCHITECTURE.md; this file reads that
 * table, reads every import of every file with TypeScript's own parser (so a comment or a
 * string that looks like an import is not one, and a multi-line import is), and names each
 * import that runs from one room to a room its row does not list.
 *
 * Four kinds of edge are told apart, because the rule differs for one of them: `import`
 * (values), `import type` (types only, still a dependency of the design), `export ... from`
 * and `import()`. A room listed under "only through import()" may be reached by a dynamic
 * import (or a type-only import, which the compiler erases) and by nothing else: that is how
 * `serve --demo` loads the demo without every other command paying for it. An import with a
 * type-only clause is `import type`; `import { type X }` stays a value import, as it may be
 * kept in the output as a bare `import '...'`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

export type EdgeKind = 'import' | 'import type' | 'export from' | 'import()';

export interface Room {
  name: string;
  /** Repository-relative paths: a folder ends with `/`, anything else is one file. */
  paths: string[];
  mayImport: string[];
  /** Rooms this one may load only with a dynamic `import()`. */
  dynamicOnly: string[];
}

export interface ImportEdge {
  /** Repository-relative path of the importing file, with `/`. */
  file: string;
  line: number;
  specifier: string;
  kind: EdgeKind;
  /** Repository-relative path the specifier resolves to (`.js` read as `.ts`), or undefined for a package. */
  target: string | undefined;
}

export interface LayerViolation {
  edge: ImportEdge;
  fromRoom: string | undefined;
  toRoom: string | undefined;
  reason: string;
}

/** Backticked words of a table cell: "`core`, `store`" -> ['core', 'store']. */
function codeWords(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!.trim());
}

/**
 * The layer table: the first markdown table after a heading whose text is `heading`, with the
 * columns room, files, may import, only through import() (found by their header words, so
 * the table may carry other columns, such as what a room holds).
 */
export function parseLayerTable(markdown: string, heading = 'Layers'): Room[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{1,6}\s/.test(line) && line.replace(/^#+\s*/, '').trim() === heading);
  if (start === -1) throw new Error(`no heading "${heading}" in the document`);
  let index = start + 1;
  while (index < lines.length && !lines[index]!.trimStart().startsWith('|')) {
    if (/^#{1,6}\s/.test(lines[index]!)) throw new Error(`no table under the heading "${heading}"`);
    index += 1;
  }
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((cell) => cell.trim());
  const header = cells(lines[index] ?? '').map((cell) => cell.toLowerCase());
  const column = (pattern: RegExp) => {
    const found = header.findIndex((cell) => pattern.test(cell));
    if (found === -1) throw new Error(`the layer table has no column matching ${pattern}: ${header.join(' | ')}`);
    return found;
  };
  const roomColumn = column(/^room$/);
  const filesColumn = column(/^files$/);
  const mayColumn = column(/^may import/);
  const dynamicColumn = column(/import\(\)/);
  const rooms: Room[] = [];
  for (index += 2; index < lines.length && lines[index]!.trimStart().startsWith('|'); index += 1) {
    const row = cells(lines[index]!);
    const [name] = codeWords(row[roomColumn] ?? '');
    if (name === undefined) throw new Error(`a layer table row without a room name: ${lines[index]}`);
    rooms.push({
      name,
      paths: codeWords(row[filesColumn] ?? ''),
      mayImport: codeWords(row[mayColumn] ?? ''),
      dynamicOnly: codeWords(row[dynamicColumn] ?? ''),
    });
  }
  const names = new Set(rooms.map((room) => room.name));
  if (names.size !== rooms.length) throw new Error('a room appears twice in the layer table');
  for (const room of rooms) {
    if (room.paths.length === 0) throw new Error(`room ${room.name} lists no files`);
    for (const other of [...room.mayImport, ...room.dynamicOnly]) {
      if (!names.has(other)) throw new Error(`room ${room.name} names an unknown room: ${other}`);
    }
  }
  return rooms;
}

/** The room a repository-relative path belongs to: the longest matching path wins. */
export function roomOf(path: string, rooms: Room[]): string | undefined {
  let best: { name: string; length: number } | undefined;
  for (const room of rooms) {
    for (const prefix of room.paths) {
      const matches = prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix;
      if (matches && (best === undefined || prefix.length > best.length))
        best = { name: room.name, length: prefix.length };
    }
  }
  return best?.name;
}

function resolveTarget(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const joined = posix.normalize(posix.join(posix.dirname(file), specifier));
  return joined.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
}

/** Every import of one file, parsed by TypeScript; `file` is repository-relative with `/`. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (node: ts.Node, specifierNode: ts.Node | undefined, kind: EdgeKind) => {
    const line = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
    if (specifierNode === undefined || !ts.isStringLiteralLike(specifierNode)) {
      // A computed specifier cannot be checked; it is reported rather than trusted.
      edges.push({ file, line, specifier: specifierNode?.getText(sourceFile) ?? '', kind, target: '(computed)' });
      return;
    }
    edges.push({ file, line, specifier: specifierNode.text, kind, target: resolveTarget(file, specifierNode.text) });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.importClause?.isTypeOnly ? 'import type' : 'import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add(node, node.moduleSpecifier, 'export from');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, 'import');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], 'import()');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, 'import type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return edges;
}

/** Every edge of `files` (repository-relative path -> source) that breaks the table. */
export function checkLayering(files: Map<string, string>, rooms: Room[]): LayerViolation[] {
  const byName = new Map(rooms.map((room) => [room.name, room]));
  const violations: LayerViolation[] = [];
  for (const [file, source] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const fromRoom = roomOf(file, rooms);
    for (const edge of importsOf(file, source)) {
      if (edge.target === undefined) continue; // a package or node:*: src/core's own test polices those
      if (fromRoom === undefined) {
        violations.push({ edge, fromRoom, toRoom: undefined, reason: 'file in no room' });
        continue;
      }
      if (edge.target === '(computed)') {
        violations.push({ edge, fromRoom, toRoom: undefined, reason: 'computed specifier' });
        continue;
      }
      const toRoom = roomOf(edge.target, rooms);
      if (toRoom === fromRoom) continue;
      const room = byName.get(fromRoom)!;
      if (toRoom !== undefined && room.mayImport.includes(toRoom)) continue;
      if (toRoom !== undefined && room.dynamicOnly.includes(toRoom)) {
        // `import type` is erased by the compiler, so it loads nothing; everything else would.
        if (edge.kind === 'import()' || edge.kind === 'import type') continue;
        violations.push({ edge, fromRoom, toRoom, reason: `${edge.kind} where only import() is allowed` });
        continue;
      }
      violations.push({
        edge,
        fromRoom,
        toRoom,
        reason: toRoom === undefined ? 'target in no room' : 'backward import',
      });
    }
  }
  return violations;
}

/** `src/store/a.ts -> src/sync/b.ts (store -> sync)`: the form the test reports and allowlists. */
export function describeEdge(violation: LayerViolation): string {
  const { edge, fromRoom, toRoom } = violation;
  return `${edge.file} -> ${edge.target ?? edge.specifier} (${fromRoom ?? 'no room'} -> ${toRoom ?? 'no room'})`;
}

/** The same with the line, the kind and the reason, for a failure message. */
export function describeViolation(violation: LayerViolation): string {
  return `${describeEdge(violation)} [${violation.edge.kind} at line ${violation.edge.line}: ${violation.reason}]`;
}

/** Every .ts file under the given repository-relative folders, as repository-relative paths with `/`. */
export function sourceFiles(root: string, folders: string[]): string[] {
  const walk = (directory: string): string[] =>
    readdirSync(directory).flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
    });
  return folders
    .flatMap((folder) => walk(join(root, folder)))
    .map((path) => relative(root, path).split(sep).join('/'))
    .sort();
}
