// Builds the browser side: the web app (web/src, plain TypeScript bundled by esbuild) and the /docs page
// (swagger-ui-dist from npm). Every file gets a content-hashed name, so the API can serve it as immutable.
// Used at bundle time by the esbuild plugin in esbuild.config.ts and, in tests, by test/support/static-assets.ts.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { StaticAsset, StaticAssets } from '../lib/web/static-assets';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function asset(name: string, bytes: Uint8Array): StaticAsset {
  const extension = path.extname(name);
  const hash = createHash('sha256').update(bytes).digest('base64url').replace(/[-_]/g, '').slice(0, 10);
  const gzip = gzipSync(bytes, { level: 9 });
  return {
    name: `${path.basename(name, extension)}-${hash}${extension}`,
    type: TYPES[extension] ?? 'application/octet-stream',
    gzip: gzip.toString('base64'),
    bytes: bytes.length,
    gzipBytes: gzip.length,
  };
}

export async function buildStaticAssets(): Promise<StaticAssets> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: 'web/src/main.ts', docs: 'web/src/docs.ts', app_styles: 'web/src/styles.css' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome120', 'firefox120', 'safari16'],
    write: false,
    outdir: 'out',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const built = Object.fromEntries(result.outputFiles.map((file) => [path.basename(file.path), file.contents]));
  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const files = {
    app: asset('app.js', built['app.js']!),
    styles: asset('app.css', built['app_styles.css']!),
    docs: asset('docs.js', built['docs.js']!),
    swaggerJs: asset('swagger-ui-bundle.js', await readFile(path.join(swaggerDir, 'swagger-ui-bundle.js'))),
    swaggerCss: asset('swagger-ui.css', await readFile(path.join(swaggerDir, 'swagger-ui.css'))),
    favicon: asset('favicon.png', await readFile(path.join(swaggerDir, 'favicon-32x32.png'))),
  };
  return { files };
}
