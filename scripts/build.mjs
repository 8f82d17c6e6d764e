// Compiles src/ and sim/ to dist/ and copies the SQL migrations beside the compiled stores.
// Runs on `npm install` (prepare), so `npm install && npm start` works on a fresh clone.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });
// The package's bin: executable, so `npx onhand` runs it from the project itself too (tsc writes 0644).
chmodSync('dist/src/main.js', 0o755);
for (const engine of ['sqlite', 'postgres']) {
  const from = `src/store/${engine}/migrations`;
  const to = `dist/src/store/${engine}/migrations`;
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) cpSync(`${from}/${name}`, `${to}/${name}`);
}
if (existsSync('web')) cpSync('web', 'dist/web', { recursive: true });
