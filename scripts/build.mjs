// Compiles src/ and sim/ to dist/, copies the SQL migrations beside the compiled stores and
// bundles the dashboard into dist/web/.
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
// The dashboard (src/http/plugins/dashboard.ts serves dist/web/): web/src bundled with esbuild,
// the same options the server uses when it runs from source, plus the page and its style sheet.
const { dashboardBuildOptions } = await import('../dist/src/http/plugins/dashboard.js');
const { build } = await import('esbuild');
mkdirSync('dist/web', { recursive: true });
await build({ ...dashboardBuildOptions(process.cwd()), outfile: 'dist/web/app.js', logLevel: 'warning' });
for (const name of ['index.html', 'app.css']) cpSync(`web/${name}`, `dist/web/${name}`);
if (!existsSync('dist/web/app.js')) throw new Error('the dashboard bundle was not written');
