/**
 * Just enough GraphQL reading for the simulator: split ONE operation into its top-level fields
 * (alias, name, argument text, directives, selection text), so the simulator can recognise the
 * operations it models by field name and read their arguments from the variables. It is not a
 * GraphQL parser: no fragments at the top level, no validation of selections - the simulator
 * answers with a fixed superset of fields (the client reads what it selected).
 */

export interface OperationField {
  alias: string | null;
  name: string;
  /** Text between the field's parentheses, '' when none. */
  args: string;
  directives: { name: string; args: string }[];
  /** Text between the field's braces, '' when none. */
  selection: string;
}

export interface ParsedOperation {
  type: 'query' | 'mutation' | 'subscription';
  name: string | null;
  fields: OperationField[];
}

const identifier = /[_A-Za-z][_0-9A-Za-z]*/y;

/** Remove `#` comments outside strings (GraphQL comments run to the end of the line). */
function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (inString) {
      out += char;
      if (char === '\\') {
        out += text[i + 1] ?? '';
        i += 1;
      } else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (char === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
      out += '\n';
    } else out += char;
  }
  return out;
}

/** Index just past the bracket that closes the one at `start` (strings skipped); -1 if unbalanced. */
function closeOf(text: string, start: number): number {
  const open = text[start];
  const close = open === '(' ? ')' : open === '{' ? '}' : ']';
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i += 1) {
    const char = text[i]!;
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === open) depth += 1;
    else if (char === close) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function skipIgnored(text: string, i: number): number {
  while (i < text.length && /[\s,]/.test(text[i]!)) i += 1;
  return i;
}

function readName(text: string, i: number): { name: string; end: number } | null {
  identifier.lastIndex = i;
  const match = identifier.exec(text);
  return match ? { name: match[0], end: identifier.lastIndex } : null;
}

/** Parse one operation, or return an error message. */
export function parseOperation(source: string): ParsedOperation | string {
  if (source.length > 100_000) return 'Query is too long';
  const text = stripComments(source);
  let i = skipIgnored(text, 0);
  let type: ParsedOperation['type'] = 'query';
  let name: string | null = null;
  if (text[i] !== '{') {
    const keyword = readName(text, i);
    if (!keyword || !['query', 'mutation', 'subscription'].includes(keyword.name))
      return `Parse error on "${text.slice(i, i + 20)}"`;
    type = keyword.name as ParsedOperation['type'];
    i = skipIgnored(text, keyword.end);
    const operationName = readName(text, i);
    if (operationName) {
      name = operationName.name;
      i = skipIgnored(text, operationName.end);
    }
    if (text[i] === '(') {
      const end = closeOf(text, i);
      if (end < 0) return 'Parse error: unbalanced variable definitions';
      i = skipIgnored(text, end);
    }
    while (text[i] === '@') {
      const directive = readName(text, i + 1);
      if (!directive) return 'Parse error in directive';
      i = skipIgnored(text, directive.end);
      if (text[i] === '(') {
        const end = closeOf(text, i);
        if (end < 0) return 'Parse error: unbalanced directive arguments';
        i = skipIgnored(text, end);
      }
    }
    if (text[i] !== '{') return `Parse error: expected "{" after the operation header`;
  }
  const bodyEnd = closeOf(text, i);
  if (bodyEnd < 0) return 'Parse error: unbalanced braces';
  if (skipIgnored(text, bodyEnd) !== text.length)
    return 'simulator: one operation per document, without fragment definitions';

  const fields: OperationField[] = [];
  i = skipIgnored(text, i + 1);
  while (i < bodyEnd - 1) {
    if (text.startsWith('...', i)) return 'simulator: fragments at the top level are not supported';
    const first = readName(text, i);
    if (!first) return `Parse error on "${text.slice(i, i + 20)}"`;
    let alias: string | null = null;
    let fieldName = first.name;
    i = skipIgnored(text, first.end);
    if (text[i] === ':') {
      const second = readName(text, skipIgnored(text, i + 1));
      if (!second) return 'Parse error after alias';
      alias = first.name;
      fieldName = second.name;
      i = skipIgnored(text, second.end);
    }
    let args = '';
    if (text[i] === '(') {
      const end = closeOf(text, i);
      if (end < 0) return 'Parse error: unbalanced arguments';
      args = text.slice(i + 1, end - 1);
      i = skipIgnored(text, end);
    }
    const directives: OperationField['directives'] = [];
    while (text[i] === '@') {
      const directive = readName(text, i + 1);
      if (!directive) return 'Parse error in directive';
      i = skipIgnored(text, directive.end);
      let directiveArgs = '';
      if (text[i] === '(') {
        const end = closeOf(text, i);
        if (end < 0) return 'Parse error: unbalanced directive arguments';
        directiveArgs = text.slice(i + 1, end - 1);
        i = skipIgnored(text, end);
      }
      directives.push({ name: directive.name, args: directiveArgs });
    }
    let selection = '';
    if (text[i] === '{') {
      const end = closeOf(text, i);
      if (end < 0) return 'Parse error: unbalanced selection';
      selection = text.slice(i + 1, end - 1);
      i = skipIgnored(text, end);
    }
    fields.push({ alias, name: fieldName, args, directives, selection });
  }
  if (fields.length === 0) return 'Parse error: empty selection';
  return { type, name, fields };
}

export type ArgumentValue = { found: false } | { found: true; value: unknown } | { found: true; unsupported: string };

/**
 * The value of argument `name` in `args`: a `$variable` (read from `variables`), a string, number,
 * boolean, null, or a list of those. Inline input objects are not read (the connector sends
 * variables, as Shopify's examples do); they come back as `unsupported`.
 */
export function argumentValue(args: string, name: string, variables: Record<string, unknown>): ArgumentValue {
  const pattern = new RegExp(`(?:^|[\\s,(])${name}\\s*:\\s*`, 'y');
  for (let start = 0; start < args.length; start += 1) {
    pattern.lastIndex = start;
    if (!pattern.exec(args)) continue;
    const rest = args.slice(pattern.lastIndex);
    const variable = /^\$([_A-Za-z][_0-9A-Za-z]*)/.exec(rest);
    if (variable) return { found: true, value: variables[variable[1]!] };
    const literal = /^("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)/.exec(rest);
    if (literal) return { found: true, value: JSON.parse(literal[1]!) as unknown };
    if (rest.startsWith('[')) {
      const end = closeOf(rest, 0);
      try {
        if (end > 0) return { found: true, value: JSON.parse(rest.slice(0, end)) as unknown };
      } catch {
        // fall through
      }
      return { found: true, unsupported: `list literal for ${name}` };
    }
    return { found: true, unsupported: `inline value for ${name}` };
  }
  return { found: false };
}
