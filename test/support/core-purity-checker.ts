/**
 * The checker behind test/style/core-purity.test.ts (docs/ARCHITECTURE.md, Layers; TigerBeetle's tidy.zig idea:
 * style is checked by a test). A file under src/core may import only relative paths that stay
 * inside src/core, and `node:assert`; it may not read the clock, draw random numbers, touch the
 * process, crypto, timers or `performance`.
 *
 * Method: a small tokenizer blanks comments (and, for the usage rules, the contents of string
 * and template literals) while keeping every offset, so a comment that says "Date.now" or a
 * message that says "process." does not trip it, and the line numbers reported are right.
 * Regex literals are recognised by the usual "previous significant token" heuristic.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface PurityViolation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

const allowedModules = new Set(['node:assert']);

const forbiddenUsages: { rule: string; pattern: RegExp }[] = [
  { rule: 'Date.now', pattern: /\bDate\s*\.\s*now\b/g },
  { rule: 'Date() / new Date() without arguments', pattern: /\bDate\s*\(\s*\)/g },
  { rule: 'Math.random', pattern: /\bMath\s*\.\s*random\b/g },
  { rule: 'process', pattern: /\bprocess\s*(?:\.|\[|\?\.)/g },
  { rule: 'crypto', pattern: /\bcrypto\b/g },
  { rule: 'setTimeout', pattern: /\bsetTimeout\b/g },
  { rule: 'setInterval', pattern: /\bsetInterval\b/g },
  { rule: 'setImmediate', pattern: /\bsetImmediate\b/g },
  { rule: 'performance', pattern: /\bperformance\b/g },
  { rule: 'globalThis (indirect access to globals)', pattern: /\bglobalThis\b/g },
  { rule: 'require()', pattern: /\brequire\s*\(/g },
  { rule: 'dynamic import()', pattern: /\bimport\s*\(/g },
];

/**
 * Returns two copies of `source`, same length and line breaks: comments blanked in both; string
 * and template contents kept in `withStrings` and blanked in `code` (template `${...}`
 * expressions stay code).
 */
export function blankSource(source: string): { code: string; withStrings: string } {
  const code = source.split('');
  const withStrings = source.split('');
  const blank = (index: number, alsoStrings: boolean) => {
    if (code[index] !== '\n') code[index] = ' ';
    if (alsoStrings && withStrings[index] !== '\n') withStrings[index] = ' ';
  };
  // Stack of open template literals: each entry counts the braces opened inside its current ${...}.
  const templates: number[] = [];
  let inTemplateText = false;
  let lastSignificant = '';
  let index = 0;
  const n = source.length;
  while (index < n) {
    const char = source[index]!;
    const next = source[index + 1];
    if (inTemplateText) {
      if (char === '\\') {
        blank(index, false);
        if (index + 1 < n) blank(index + 1, false);
        index += 2;
        continue;
      }
      if (char === '`') {
        inTemplateText = false;
        templates.pop();
        lastSignificant = '`';
        index += 1;
        continue;
      }
      if (char === '$' && next === '{') {
        inTemplateText = false;
        templates[templates.length - 1] = 0;
        index += 2;
        lastSignificant = '{';
        continue;
      }
      blank(index, false);
      index += 1;
      continue;
    }
    if (char === '/' && next === '/') {
      while (index < n && source[index] !== '\n') blank(index++, true);
      continue;
    }
    if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2);
      const stop = end === -1 ? n : end + 2;
      while (index < stop) blank(index++, true);
      continue;
    }
    if (char === "'" || char === '"') {
      index += 1;
      while (index < n && source[index] !== char && source[index] !== '\n') {
        if (source[index] === '\\') blank(index++, false);
        if (index < n) blank(index++, false);
      }
      index += 1;
      lastSignificant = char;
      continue;
    }
    if (char === '`') {
      templates.push(0);
      inTemplateText = true;
      index += 1;
      continue;
    }
    if (templates.length > 0 && (char === '{' || char === '}')) {
      const depth = templates[templates.length - 1]!;
      if (char === '{') templates[templates.length - 1] = depth + 1;
      else if (depth === 0) {
        inTemplateText = true; // the `}` that closes `${`
        index += 1;
        continue;
      } else templates[templates.length - 1] = depth - 1;
    }
    if (
      char === '/' &&
      (lastSignificant === '' ||
        '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant) ||
        /\breturn\s*$/.test(source.slice(Math.max(0, index - 8), index)))
    ) {
      // A regex literal: blank its body in `code` (it is data, like a string).
      index += 1;
      let inClass = false;
      while (index < n && source[index] !== '\n') {
        const current = source[index]!;
        if (current === '\\') {
          blank(index++, false);
          if (index < n) blank(index++, false);
          continue;
        }
        if (current === '[') inClass = true;
        else if (current === ']') inClass = false;
        else if (current === '/' && !inClass) break;
        blank(index++, false);
      }
      index += 1;
      lastSignificant = '/';
      continue;
    }
    if (!/\s/.test(char)) lastSignificant = char;
    index += 1;
  }
  return { code: code.join(''), withStrings: withStrings.join('') };
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let index = 0; index < offset; index += 1) if (source[index] === '\n') line += 1;
  return line;
}

const importPatterns: RegExp[] = [
  /\bimport\s+(?:type\s+)?[\w*{}\s,$]*?\bfrom\s*(['"])([^'"]*)\1/g,
  /\bimport\s*(['"])([^'"]*)\1/g,
  /\bexport\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])([^'"]*)\1/g,
];

/**
 * Violations in one file. `file` is the path of the file (absolute, or relative to the working
 * directory); `coreRoot` the absolute path of src/core.
 */
export function checkCoreSource(file: string, source: string, coreRoot: string): PurityViolation[] {
  const { code, withStrings } = blankSource(source);
  const violations: PurityViolation[] = [];
  const at = (offset: number, rule: string, length: number) =>
    violations.push({
      file,
      line: lineAt(source, offset),
      rule,
      text: source
        .slice(offset, offset + length)
        .replace(/\s+/g, ' ')
        .slice(0, 120),
    });

  for (const pattern of importPatterns) {
    for (const match of withStrings.matchAll(pattern)) {
      const specifier = match[2]!;
      if (allowedModules.has(specifier)) continue;
      if (specifier.startsWith('./') || specifier.startsWith('../')) {
        const target = resolve(dirname(resolve(file)), specifier);
        const inside = target === coreRoot || target.startsWith(coreRoot + sep);
        if (inside) continue;
        at(match.index!, `import outside src/core: ${specifier}`, match[0].length);
        continue;
      }
      at(match.index!, `import of a module other than node:assert: ${specifier}`, match[0].length);
    }
  }
  for (const { rule, pattern } of forbiddenUsages) {
    for (const match of code.matchAll(pattern)) at(match.index!, rule, match[0].length);
  }
  return violations.sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

/** Every .ts file under `directory`, sorted. */
export function typeScriptFiles(directory: string): string[] {
  return readdirSync(directory)
    .flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? typeScriptFiles(path) : path.endsWith('.ts') ? [path] : [];
    })
    .sort();
}

export function describeViolation(violation: PurityViolation, root: string): string {
  return `${relative(root, violation.file)}:${violation.line}: ${violation.rule} (${violation.text})`;
}
