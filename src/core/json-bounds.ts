/**
 * What text and JSON the ledger accepts, decided once for every store.
 *
 * - No U+0000 (NUL): PostgreSQL `text` and `jsonb` cannot hold it, SQLite can; refusing it
 *   everywhere keeps both engines answering the same.
 * - No lone surrogate (a UTF-16 half, e.g. `\ud800` alone): it has no UTF-8 form, so a driver
 *   writes U+FFFD instead and two different idempotency keys would become one.
 * - No deeper nesting than a bound: a document read back must never fail where it was written.
 *
 * Object keys are text too and are checked like values. Pure: the HTTP edge and the CLI both
 * call it.
 */

export interface JsonFault {
  /** JSON Pointer from the walked value's root, after `pathPrefix`. */
  path: string;
  message: string;
}

/** Why this text is refused, or undefined when it is accepted. */
export function textFault(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  // False exactly when a high half is not followed by a low half, or a low half not preceded by a high half.
  if (!text.isWellFormed()) return 'must be well-formed Unicode (a lone surrogate has no UTF-8 form)';
  return undefined;
}

function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Every refused string (value or key) and every place deeper than `depthMax`, at most
 * `faultsMax` of them. Iterative, so a hostile depth cannot exhaust the stack; it never
 * descends below `depthMax`, so its work is bounded by the value's size.
 */
export function jsonFaults(
  value: unknown,
  options: { depthMax: number; faultsMax: number; pathPrefix?: string },
): JsonFault[] {
  if (jsonClean(value, options.depthMax)) return [];
  const faults: JsonFault[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value, path: options.pathPrefix ?? '', depth: 0 },
  ];
  while (stack.length > 0 && faults.length < options.faultsMax) {
    const { value: node, path, depth } = stack.pop()!;
    if (typeof node === 'string') {
      const fault = textFault(node);
      if (fault) faults.push({ path, message: fault });
      continue;
    }
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) continue;
    if (depth >= options.depthMax) {
      faults.push({ path, message: `nests deeper than ${options.depthMax} levels` });
      continue;
    }
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.map((item, index) => [String(index), item])
      : Object.entries(node);
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [key, item] = entries[index]!;
      const itemPath = `${path}/${pointerToken(key)}`;
      if (!Array.isArray(node)) {
        const fault = textFault(key);
        if (fault) {
          faults.push({ path: itemPath, message: `its key ${fault}` });
          continue;
        }
      }
      stack.push({ value: item, path: itemPath, depth: depth + 1 });
    }
  }
  return faults;
}

/**
 * True when `jsonFaults` would find nothing: the same walk without the JSON Pointer of every
 * node, which only a refusal needs. Every request body, query and webhook event passes here, and
 * nearly all of them are clean: on a REST order body of two lines the walk with paths took 21 us,
 * this one 7 us (bench/README.md, Order to every channel, sixteenth session).
 */
function jsonClean(value: unknown, depthMax: number): boolean {
  const nodes: unknown[] = [value];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop()!;
    if (typeof node === 'string') {
      if (textFault(node) !== undefined) return false;
      continue;
    }
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) continue;
    if (depth >= depthMax) return false;
    if (Array.isArray(node)) {
      for (const item of node as unknown[]) {
        nodes.push(item);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key of Object.keys(node)) {
      if (textFault(key) !== undefined) return false;
      nodes.push((node as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return true;
}

/** How deep a JSON value nests (a scalar is 0), counting no further than `ceiling`. */
export function jsonDepth(value: unknown, ceiling: number): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > ceiling) return deepest;
    for (const item of Array.isArray(node) ? node : Object.values(node)) stack.push({ value: item, depth: depth + 1 });
  }
  return deepest;
}

/**
 * Why a free-form document is refused (too deep, too large as JSON), or undefined. Checked
 * at write time so that every stored document can be read back and shown.
 */
export function documentFault(value: unknown, bounds: { depthMax: number; bytesMax: number }): string | undefined {
  if (jsonDepth(value, bounds.depthMax) > bounds.depthMax) return `nests deeper than ${bounds.depthMax} levels`;
  // UTF-16 length is at most the UTF-8 byte count of JSON text only for ASCII; count bytes exactly.
  const bytes = new TextEncoder().encode(JSON.stringify(value) ?? '').length;
  if (bytes > bounds.bytesMax) return `is ${bytes} bytes as JSON; at most ${bounds.bytesMax}`;
  return undefined;
}
