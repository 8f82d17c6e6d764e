import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The built `onhand` binary (dist/src/main.js), rebuilt first when any file under src/ or
 * sim/ is newer than it (`npm ci` builds it through `prepare`, so CI starts up to date).
 * test/cli/onhand-binary.test.ts and test/integration/readme-examples.test.ts call this, and
 * may run at once: a build holds the directory dist.build-lock (mkdir is atomic), and whoever
 * waited for it checks again, so two builds never race.
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

const lock = join(root, 'dist.build-lock');
/** A build takes ~15 s on two cores; a lock older than this was left by a killed run. */
const lockStaleMs = 180_000;

function stale(): boolean {
  return (
    !existsSync(binary) || statSync(binary).mtimeMs < Math.max(newestMs(join(root, 'src')), newestMs(join(root, 'sim')))
  );
}

function takeLock(): void {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > lockStaleMs) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

export function ensureBuilt(): string {
  if (!stale()) return binary;
  takeLock();
  try {
    if (stale()) execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return binary;
}
