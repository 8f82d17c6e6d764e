import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The built `onhand` binary (dist/src/main.js), rebuilt first when any file under src/ or
 * sim/ is newer than it (`npm ci` builds it through `prepare`, so CI starts up to date). Only
 * test/cli/onhand-binary.test.ts calls this, so two builds never race.
 */
const root = new URL('../../', import.meta.url).pathname;
export const binary = join(root, 'dist/src/main.js');

function newestMs(directory: string): number {
  return Math.max(
    0,
    ...readdirSync(directory, { withFileTypes: true }).map((entry) => {
      const path = join(directory, entry.name);
      return entry.isDirectory() ? newestMs(path) : statSync(path).mtimeMs;
    }),
  );
}

export function ensureBuilt(): string {
  const stale =
    !existsSync(binary) ||
    statSync(binary).mtimeMs < Math.max(newestMs(join(root, 'src')), newestMs(join(root, 'sim')));
  if (stale) execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  return binary;
}
