// Build options for serverless-esbuild (`custom.esbuild.config` in serverless.yml).
//
// serverless-esbuild loads this file with `require()` and calls the result with the
// Serverless instance (node_modules/serverless-esbuild/dist/index.js, getBuildOptions).
// Node 24 strips the types and, because the package is `"type": "module"`, loads it as
// ESM; `require(esm)` returns the export named 'module.exports' as the module value.
// So run Serverless on Node 24 (`npx serverless …` or an npm script), never on Node 20.
import type { BuildOptions, Plugin } from 'esbuild';

interface ServerlessInstance {
  processedInput: { commands: string[] };
}

// serverless-esbuild's own options (stripped before esbuild sees the rest).
interface PluginOptions {
  plugins: Plugin[];
  exclude: string[];
  outputFileExtension: '.mjs';
  packager: 'npm';
  packagerOptions: { scripts: string[] };
  watch: { pattern: string[]; ignore: string[] };
}

// Native, so never bundled; installed into the zips of the functions that import it.
const NATIVE_MODULES = ['sharp'];

// Runs after the packager's `npm prune` in .esbuild/.build, so the Lambda binaries stay
// (an `installExtraArgs` platform switch would be pruned away again).
const INSTALL_LAMBDA_BINARIES = 'npm install --os=linux --libc=glibc --cpu=x64 sharp';

// ESM output cannot `require()`: give bundled CommonJS (pg, nodemailer, …) a real one.
const ESM_REQUIRE_SHIM = [
  "import { createRequire as __portraitCreateRequire } from 'node:module';",
  "import { fileURLToPath as __portraitFileURLToPath } from 'node:url';",
  "import { dirname as __portraitDirname } from 'node:path';",
  'const require = __portraitCreateRequire(import.meta.url);',
  'const __filename = __portraitFileURLToPath(import.meta.url);',
  'const __dirname = __portraitDirname(__filename);',
].join('\n');

// `portrait:static-assets`: the web app and the docs page, built by web/build.ts into the `web` bundle,
// so the function serves them from memory on AWS and offline alike (no files to ship beside the code).
const staticAssetsPlugin: Plugin = {
  name: 'portrait-static-assets',
  setup(build) {
    build.onResolve({ filter: /^portrait:static-assets$/ }, (args) => ({ path: args.path, namespace: 'portrait-static-assets' }));
    build.onLoad({ filter: /.*/, namespace: 'portrait-static-assets' }, async () => {
      // Node 24 strips the types of web/build.ts; a variable keeps tsc from resolving the .ts specifier.
      const builder = './web/build.ts';
      const { buildStaticAssets } = (await import(builder)) as typeof import('./web/build');
      return { contents: `export default ${JSON.stringify(await buildStaticAssets())};`, loader: 'js', watchFiles: [] };
    });
  },
};

/**
 * Replaces, in the deployed bundles only (tests, tsx and serverless-offline, whose bundles leave packages
 * external, load the real modules), a module that `importer` (a package folder) imports by a `specifier`
 * matching `filter`, with `contents`.
 */
function replaceImport(name: string, importer: string, filter: RegExp, contents: string): Plugin {
  const importedBy = new RegExp(`[\\\\/]${importer.replace('/', '[\\\\/]')}[\\\\/]`);
  return {
    name: `portrait-${name}`,
    setup(build) {
      build.onResolve({ filter }, (args) => (importedBy.test(args.importer) ? { path: name, namespace: `portrait-${name}` } : undefined));
      build.onLoad({ filter: /.*/, namespace: `portrait-${name}` }, () => ({ contents, loader: 'js' }));
    },
  };
}

// `nodemailer`'s MIME table (~76 kB, the largest part of nodemailer) maps file names to types for
// attachments. Our mails are a text and an HTML part with their types set and no attachments, so the
// table is replaced by its fallbacks.
const nodemailerMimeTable = replaceImport(
  'nodemailer-mime-types',
  'nodemailer',
  /mime-types\.js$/,
  ["export function detectMimeType() { return 'application/octet-stream'; }", "export function detectExtension() { return 'bin'; }"].join('\n'),
);

// Middy's util imports `STATUS_CODES` from `node:http` as ESM. Node 24 builds an ES module facade of a builtin
// by reading every export, and node:http's lazy getters then load undici (its fetch and WebSocket): ~28 ms of a
// ~75 ms import of the login bundle, for one table of status texts. Through require() only that property is read.
const middyStatusCodes = replaceImport('middy-status-codes', '@middy/util', /^(node:)?http$/, "export const STATUS_CODES = require('node:http').STATUS_CODES;");

// nodemailer's ESM build imports its own HTTP client (node:http, node:https, zlib) for `href` content and
// OAuth2 tokens. Our mails are strings sent over SMTP with a password, so the client is replaced by one that
// refuses; as with the status codes above, importing node:http would also load undici (~23 ms per cold start).
const nodemailerFetch = replaceImport(
  'nodemailer-fetch',
  'nodemailer',
  /(^|[\\/])fetch[\\/]index\.js$/,
  "export default function nmfetch() { throw new Error('nodemailer fetch is not bundled: Portrait mails carry no URL content'); }",
);

export default function esbuildConfig(serverless: ServerlessInstance): BuildOptions & PluginOptions {
  // Offline and local invokes load externals from the project's own node_modules:
  // skip the per-build `npm ci` + Linux install that packaging needs.
  const [command] = serverless.processedInput.commands;
  const runsLocally = command === 'offline' || command === 'invoke';

  return {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    outputFileExtension: '.mjs',
    // ESM builds of dual packages first (jose, middy, the AWS SDK), CommonJS otherwise.
    mainFields: ['module', 'main'],
    minify: true,
    treeShaking: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    banner: { js: ESM_REQUIRE_SHIM },
    external: NATIVE_MODULES,
    // Offline and local invokes run in the project, next to its node_modules: bundling only the project's own
    // code there (packages are loaded by Node as the tests load them) cuts the 33 builds of a start from ~25 s
    // of CPU to a few. Deployed bundles carry their packages, and the package stubs above apply to them only.
    ...(runsLocally
      ? { packages: 'external' as const, plugins: [staticAssetsPlugin] }
      : { plugins: [staticAssetsPlugin, nodemailerMimeTable, middyStatusCodes, nodemailerFetch] }),
    // `exclude` = external but never installed: pg's optional native binding.
    exclude: runsLocally ? ['pg-native', ...NATIVE_MODULES] : ['pg-native'],
    packager: 'npm',
    packagerOptions: { scripts: [INSTALL_LAMBDA_BINARIES] },
    watch: {
      pattern: ['functions/**/*.ts', 'lib/**/*.ts', 'web/**/*.ts', 'web/**/*.css'],
      ignore: ['.esbuild', '.serverless', '.data', 'node_modules', 'test'],
    },
  };
}

// What `require()` of this ES module returns (Node ≥ 22.12 / 23 require(esm) interop).
export { esbuildConfig as 'module.exports' };
