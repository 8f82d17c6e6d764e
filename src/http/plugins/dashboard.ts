import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ProblemError } from '../errors.js';

/**
 * The operator's dashboard at `/`: one HTML page, one script and one style sheet, served from
 * this package (nothing is fetched from elsewhere at run time; the page's CSP forbids it).
 *
 * The script is built from `web/src/` with esbuild: by `npm run build` (scripts/build.mjs) into
 * `dist/web/` for an installed package; when onhand runs from its TypeScript source (tests, a
 * development checkout), in memory on the first request instead, so the page is never older than
 * its source. When neither works the page answers 503 with the reason, never an empty page.
 */

interface Asset {
  body: Buffer;
  type: string;
}

const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The package root: the nearest folder above this file holding onhand's package.json. */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'onhand') return directory;
    directory = dirname(directory);
  }
  throw new Error('onhand package root not found');
}

/** The esbuild options of the dashboard bundle; scripts/build.mjs uses the same. */
export function dashboardBuildOptions(root: string) {
  return {
    entryPoints: [join(root, 'web/src/main.js')],
    bundle: true,
    format: 'esm' as const,
    target: 'es2022',
    minify: true,
    legalComments: 'none' as const,
    logLevel: 'silent' as const,
  };
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const root = packageRoot();
  const fromSource = import.meta.url.endsWith('.ts');
  const assets = new Map<string, Asset>();
  const html = { type: 'text/html; charset=utf-8' };
  const css = { type: 'text/css; charset=utf-8' };
  const js = { type: 'text/javascript; charset=utf-8' };
  if (fromSource) {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({ ...dashboardBuildOptions(root), write: false, outfile: 'app.js' });
    const script = result.outputFiles[0];
    if (!script) throw new Error('esbuild produced no bundle');
    assets.set('/', { ...html, body: readFileSync(join(root, 'web/index.html')) });
    assets.set('/assets/app.css', { ...css, body: readFileSync(join(root, 'web/app.css')) });
    assets.set('/assets/app.js', { ...js, body: Buffer.from(script.contents) });
    return assets;
  }
  const built = join(root, 'dist/web');
  assets.set('/', { ...html, body: readFileSync(join(built, 'index.html')) });
  assets.set('/assets/app.css', { ...css, body: readFileSync(join(built, 'app.css')) });
  assets.set('/assets/app.js', { ...js, body: readFileSync(join(built, 'app.js')) });
  return assets;
}

export async function dashboardPlugin(app: FastifyInstance): Promise<void> {
  let loading: Promise<Map<string, Asset>> | undefined;
  async function serve(path: string, reply: FastifyReply) {
    loading ??= loadAssets();
    let assets: Map<string, Asset>;
    try {
      assets = await loading;
    } catch (error) {
      loading = undefined;
      throw new ProblemError(
        'ONH_ERR_UNAVAILABLE',
        `the dashboard is not built (${(error as Error).message.split('\n')[0]}); run npm run build`,
      );
    }
    const asset = assets.get(path)!;
    return reply
      .header('content-type', asset.type)
      .header('cache-control', 'no-cache')
      .header('content-security-policy', contentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(asset.body);
  }
  const hidden = { schema: { hide: true } };
  app.get('/', hidden, async (_request, reply) => serve('/', reply));
  app.get('/assets/app.js', hidden, async (_request, reply) => serve('/assets/app.js', reply));
  app.get('/assets/app.css', hidden, async (_request, reply) => serve('/assets/app.css', reply));
}
