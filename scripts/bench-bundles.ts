// The Lambda packages as `npx serverless package --stage prod` builds them: per function the zip
// size, the unzipped bundle (.mjs and its source map apart), and the median time to import the
// bundle in a fresh Node 24 process, the way a cold Lambda sandbox loads it. Targets are printed
// as PASS or MISS and never fail the run.
//
//   npx tsx scripts/bench-bundles.ts      (or the `bundles` section of scripts/bench.ts)
//
// Packaging runs in a temporary copy of the project (node_modules symlinked), never in the
// repository: serverless-esbuild always builds in `<service>/.esbuild` and deletes that folder
// when it is done, which would pull the bundles out from under a running `serverless offline`
// (npm run dev, test/e2e.test.ts), and always copies its zips to `<service>/.serverless`.
// test/package.test.ts packages the same way.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, ms, table } from './bench-support';
import { runtimeClientInstalled, startFunction } from './lambda-runtime';
import { extractZip, readZip, type ZipArchive } from './zip';

export const ROOT = path.resolve(import.meta.dirname, '..');
/** The pinned Node 24 (the `node` devDependency), whatever runs this script. */
export const NODE_24 = path.join(ROOT, 'node_modules', '.bin', 'node');

/** Functions that decode or render images: their zips carry sharp; every other zip is its bundle alone. */
export const IMAGE_FUNCTIONS = ['uploadPicture', 'confirmPicture', 'setupStorage'];

const IMPORT_RUNS = 7;
/** Cold starts per function under aws-lambda-ric (each a new process and Runtime API). */
const INIT_RUNS = 3;
const BUNDLE_LIMIT_BYTES = 1_000_000; // 1 MB, the .mjs alone
const IMPORT_LIMIT_MS = 150;
/** The sign-up and sign-in functions (issue 9): no AWS SDK, small bundles, an import close to an empty one. */
export const AUTH_FUNCTIONS = ['register', 'verifyEmail', 'resendVerification', 'login', 'refresh', 'logout'];
const AUTH_BUNDLE_LIMIT_BYTES = 400_000;
const AUTH_IMPORT_OVER_BASELINE_MS = 60;

// ------------------------------------------------------------------ packaging

/** Never copied into the packaging copy: build output, local data, secrets, history. */
const NOT_COPIED = new Set(['node_modules', '.git', '.data', '.esbuild', '.serverless', 'coverage', '.env']);

export interface PackagedService {
  /** The temporary copy the package was built in. */
  copyDir: string;
  /** Its `.serverless/`: one zip per function and the CloudFormation templates. */
  outDir: string;
  template: CloudFormationTemplate;
  /** Zip file name without `.zip` (the function's name in serverless.yml) → archive. */
  zips: Map<string, ZipArchive>;
  /** Seconds `serverless package` took. */
  seconds: number;
  remove(): Promise<void>;
}

export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
}

/**
 * Copies the project (without node_modules, which is symlinked) to a temporary directory and runs
 * `serverless package --stage <stage>` there with the pinned Node 24 first on PATH, exactly the
 * command a user runs. The package step runs `npm ci` and the sharp install for linux-x64 inside
 * the copy's .esbuild/.build, so it needs the npm registry.
 */
export async function packageForDeploy(options: { stage?: string; timeoutMs?: number; sourceDir?: string; parentDir?: string } = {}): Promise<PackagedService> {
  const { stage = 'prod', timeoutMs = 240_000, sourceDir = ROOT, parentDir = tmpdir() } = options;
  const copyDir = await mkdtemp(path.join(parentDir, 'portrait-package-'));
  const remove = () => rm(copyDir, { recursive: true, force: true });
  try {
    for (const entry of await readdir(sourceDir)) {
      if (NOT_COPIED.has(entry)) continue;
      await cp(path.join(sourceDir, entry), path.join(copyDir, entry), { recursive: true });
    }
    await symlink(path.join(ROOT, 'node_modules'), path.join(copyDir, 'node_modules'), 'dir');

    const started = performance.now();
    const binDir = path.join(ROOT, 'node_modules', '.bin');
    await run(path.join(binDir, 'serverless'), ['package', '--stage', stage], {
      cwd: copyDir,
      env: { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` },
      timeoutMs,
    });
    return await loadPackage(copyDir, (performance.now() - started) / 1000);
  } catch (error) {
    await remove();
    throw error;
  }
}

/** The template and zips of a copy packaged by packageForDeploy (e.g. in another process). */
export async function loadPackage(copyDir: string, seconds: number): Promise<PackagedService> {
  const outDir = path.join(copyDir, '.serverless');
  const template = JSON.parse(await readFile(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as CloudFormationTemplate;
  const zips = new Map<string, ZipArchive>();
  for (const file of (await readdir(outDir)).filter((name) => name.endsWith('.zip')).sort()) {
    zips.set(file.slice(0, -'.zip'.length), readZip(await readFile(path.join(outDir, file))));
  }
  return { copyDir, outDir, template, zips, seconds, remove: () => rm(copyDir, { recursive: true, force: true }) };
}

/** Runs a command to completion; its output goes into the error when it fails or times out. */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(killed after ${options.timeoutMs} ms)`;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // its whole process group: npm and the installs it started
      } catch {}
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

// ------------------------------------------------------------------ the template

export interface PackagedFunction {
  /** The function's name in serverless.yml, and its zip's name. */
  name: string;
  logicalId: string;
  properties: Record<string, any>;
  /** `functions/login.handler` → `functions/login.mjs`, the file Lambda loads. */
  bundlePath: string;
}

/** The template's Lambda functions, each with the zip it deploys (from its S3 key). */
export function packagedFunctions(template: CloudFormationTemplate): PackagedFunction[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const properties = resource.Properties;
      const name = path.posix.basename(String(properties.Code.S3Key), '.zip');
      const handler = String(properties.Handler);
      return { name, logicalId, properties, bundlePath: `${handler.slice(0, handler.lastIndexOf('.'))}.mjs` };
    });
}

// ------------------------------------------------------------------ importing a bundle

/** Settings that pass lib/platform/config's validation at import, pointing at port 9 (discard), where nothing listens. */
export function importSettings(): Record<string, string> {
  return {
    DATABASE_URL: 'postgres://portrait:portrait@127.0.0.1:9/portrait',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
    SMTP_URL: 'smtp://127.0.0.1:9',
    S3_BUCKET: 'portrait-bench',
    S3_REGION: 'us-east-1',
    PUBLIC_BASE_URL: 'https://portrait.invalid',
    LOG_LEVEL: 'silent',
  };
}

const IMPORT_PROGRAM = `
const started = performance.now();
const bundle = await import(process.env.PORTRAIT_BUNDLE_URL);
const importMs = performance.now() - started;
if (typeof bundle.handler !== 'function') throw new Error('the bundle exports no handler function');
const lingerMs = Number(process.env.PORTRAIT_LINGER_MS ?? 0);
if (lingerMs) await new Promise((resolve) => setTimeout(resolve, lingerMs));
process.stdout.write(JSON.stringify({ importMs }));
process.exit(0);
`;

/**
 * Imports one bundle in a fresh Node 24 process whose environment holds `env` alone (plus PATH and
 * HOME), and answers how long the import took inside that process (start-up excluded).
 */
export async function importInFreshNode(bundleFile: string, env: Record<string, string>, lingerMs = 0): Promise<number> {
  const output = await run(NODE_24, ['--input-type=module', '-e', IMPORT_PROGRAM], {
    cwd: path.dirname(bundleFile),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      ...env,
      PORTRAIT_BUNDLE_URL: pathToFileURL(bundleFile).href,
      PORTRAIT_LINGER_MS: String(lingerMs),
    },
    timeoutMs: 30_000,
  });
  return (JSON.parse(output.trim().split('\n').pop()!) as { importMs: number }).importMs;
}

// ------------------------------------------------------------------ what fills a bundle

/** esbuild.config.ts's options for `serverless package`, without serverless-esbuild's own keys. */
async function packagingBuildOptions(sourceDir: string): Promise<Record<string, any>> {
  const configModule = (await import(pathToFileURL(path.join(sourceDir, 'esbuild.config.ts')).href)) as { default: (serverless: unknown) => Record<string, any> };
  const { exclude, outputFileExtension, packager, packagerOptions, watch, ...esbuildOptions } = configModule.default({
    processedInput: { commands: ['package'] },
  });
  return esbuildOptions;
}

/**
 * Rebuilds entries with the project's own esbuild.config.ts and a metafile, in one build (esbuild shares the
 * parsing across entries: 33 separate builds took 16 s here, one build of all of them a second or two), and
 * answers, per entry, the bytes each package contributes to its output (the bundle, not its map).
 */
export async function bundleCompositions(sourceDir: string, entries: string[]): Promise<Map<string, [string, number][]>> {
  const { build } = await import('esbuild');
  const esbuildOptions = await packagingBuildOptions(sourceDir);
  const result = await build({
    ...esbuildOptions,
    absWorkingDir: sourceDir,
    entryPoints: entries,
    write: false,
    outdir: path.join(tmpdir(), 'portrait-composition'),
    metafile: true,
    logLevel: 'silent',
  });
  const compositions = new Map<string, [string, number][]>();
  for (const output of Object.values(result.metafile.outputs)) {
    if (!output.entryPoint) continue; // source maps
    const byPackage = new Map<string, number>();
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const packageName = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
      // Translations are worth telling apart: zod's `z` namespace drags in every locale.
      const owner = packageName
        ? `${packageName}${/\/locales\//.test(file) ? ' (locales/)' : ''}`
        : file.startsWith('lib/') || file.startsWith('functions/')
          ? 'project (lib/, functions/)'
          : file;
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
    }
    compositions.set(output.entryPoint, [...byPackage].sort((a, b) => b[1] - a[1]));
  }
  const missing = entries.filter((entry) => !compositions.has(entry));
  if (missing.length) throw new Error(`esbuild's metafile has no output for ${missing.join(', ')}`);
  return compositions;
}

/** One entry's composition (see bundleCompositions). */
export async function bundleComposition(sourceDir: string, entry: string): Promise<[string, number][]> {
  return (await bundleCompositions(sourceDir, [entry])).get(entry)!;
}

// ------------------------------------------------------------------ the section

export interface BundleBenchReporter {
  log(line: string): void;
  target(target: { name: string; limit: string; actual: string; met: boolean }): void;
}

interface BundleFigures {
  name: string;
  image: boolean;
  zipBytes: number;
  mjsBytes: number;
  mapBytes: number;
  unzippedBytes: number;
  importMs: number;
  importNoMapsMs: number;
  /** Median init under aws-lambda-ric (process start to first poll), when the runtime client is built. */
  initMs?: number;
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;
const MB = (bytes: number) => `${(bytes / 1_000_000).toFixed(2)} MB`;

export async function benchBundles(reporter?: BundleBenchReporter, options: { sourceDir?: string } = {}): Promise<void> {
  const log = reporter?.log ?? ((line: string) => console.log(`· ${line}`));
  const targets: Parameters<BundleBenchReporter['target']>[0][] = [];
  const target = reporter?.target ?? ((entry: (typeof targets)[number]) => targets.push(entry));
  const sourceDir = options.sourceDir ?? ROOT;

  log('bundles: packaging a copy of the project (serverless package --stage prod)');
  const packaged = await packageForDeploy({ sourceDir });
  const unzipRoot = await mkdtemp(path.join(tmpdir(), 'portrait-bundles-'));
  try {
    log(`bundles: packaged in ${packaged.seconds.toFixed(0)} s; importing each bundle ${IMPORT_RUNS}× in fresh Node 24 processes`);
    const functions = packagedFunctions(packaged.template);
    const measured: { fn: PackagedFunction; archive: ZipArchive; bundleFile: string; env: Record<string, string>; withMaps: number[]; withoutMaps: number[] }[] = [];
    // The baseline: a handler that imports nothing, built with the same esbuild options (banner and all),
    // imported in the same rounds, so that Node's own module loading and the machine's load cancel out.
    const emptyBundle = await buildEmptyBundle(sourceDir, path.join(unzipRoot, 'empty'));
    const baseline: number[] = [];
    for (const fn of functions) {
      const archive = packaged.zips.get(fn.name);
      if (!archive) throw new Error(`no zip for ${fn.name}`);
      // Unzipped on its own, so that imports resolve from the zip's node_modules (sharp linux-x64) or nowhere.
      const dir = path.join(unzipRoot, fn.name);
      await extractZip(archive, dir);
      // The deployed environment's NODE_OPTIONS (--enable-source-maps), as Lambda starts Node.
      const env = { ...importSettings(), NODE_OPTIONS: String(fn.properties.Environment?.Variables?.NODE_OPTIONS ?? '') };
      measured.push({ fn, archive, bundleFile: path.join(dir, fn.bundlePath), env, withMaps: [], withoutMaps: [] });
    }
    // Round-robin over the functions, so that a burst of load elsewhere on the machine spreads over
    // all of them instead of skewing one.
    for (let runIndex = 0; runIndex < IMPORT_RUNS; runIndex++) {
      baseline.push(await importInFreshNode(emptyBundle, { ...importSettings(), NODE_OPTIONS: '--enable-source-maps' }));
      for (const entry of measured) {
        entry.withMaps.push(await importInFreshNode(entry.bundleFile, entry.env));
        entry.withoutMaps.push(await importInFreshNode(entry.bundleFile, { ...entry.env, NODE_OPTIONS: '' }));
      }
      log(`bundles: import round ${runIndex + 1} of ${IMPORT_RUNS} done`);
    }
    // Init as Lambda counts it: the runtime client starting in a new process, loading the bundle through its
    // handler string, and asking the Runtime API for the first event (scripts/lambda-runtime.ts).
    const initRuns = new Map<string, number[]>(measured.map(({ fn }) => [fn.name, []]));
    const emptyInit: number[] = [];
    if (runtimeClientInstalled()) {
      log(`bundles: starting each zip under aws-lambda-ric ${INIT_RUNS}× (process start to the first poll for an event)`);
      const initOnce = async (name: string, taskRoot: string, handler: string, environment: Record<string, string>) => {
        const started = await startFunction({ name, taskRoot, handler, environment });
        await started.stop();
        return started.initMs;
      };
      for (let runIndex = 0; runIndex < INIT_RUNS; runIndex++) {
        emptyInit.push(await initOnce('empty', path.dirname(emptyBundle), 'empty.handler', { ...importSettings(), NODE_OPTIONS: '--enable-source-maps' }));
        for (const entry of measured) {
          initRuns.get(entry.fn.name)!.push(await initOnce(entry.fn.name, path.join(unzipRoot, entry.fn.name), String(entry.fn.properties.Handler), entry.env));
        }
      }
    } else {
      log('bundles: init under aws-lambda-ric skipped: its native client is not built (npm ci runs its install script)');
    }
    const figures: BundleFigures[] = measured.map(({ fn, archive, withMaps, withoutMaps }) => {
      const sizeOf = (name: string) => archive.entries.find((entry) => entry.name === name)?.size ?? 0;
      return {
        name: fn.name,
        image: IMAGE_FUNCTIONS.includes(fn.name),
        zipBytes: archive.bytes,
        mjsBytes: sizeOf(fn.bundlePath),
        mapBytes: sizeOf(`${fn.bundlePath}.map`),
        unzippedBytes: archive.entries.reduce((sum, entry) => sum + entry.size, 0),
        importMs: median(withMaps),
        importNoMapsMs: median(withoutMaps),
        initMs: initRuns.get(fn.name)!.length ? median(initRuns.get(fn.name)!) : undefined,
      };
    });

    const load = loadavg().map((value) => value.toFixed(1)).join(' ');
    console.log(`\nLambda bundles (stage prod; import = median of ${IMPORT_RUNS} fresh Node ${await nodeVersion()} processes, start-up excluded;`);
    console.log(`${availableParallelism()} CPUs, load average ${load}: import times grow with the machine's load)\n`);
    console.log(
      table(
        ['function', 'zip', '.mjs', '.mjs.map', 'unzipped total', 'import (source maps on, as deployed)', 'import (maps off)', `init under aws-lambda-ric (median of ${INIT_RUNS})`],
        figures.map((row) => [
          row.image ? `${row.name} (sharp)` : row.name,
          kB(row.zipBytes),
          kB(row.mjsBytes),
          kB(row.mapBytes),
          row.image ? MB(row.unzippedBytes) : kB(row.unzippedBytes),
          `${ms(row.importMs)} ms`,
          `${ms(row.importNoMapsMs)} ms`,
          row.initMs === undefined ? 'not built' : `${ms(row.initMs)} ms`,
        ]),
      ),
    );
    console.log('');

    const baselineMs = median(baseline);
    console.log(`Baseline: an empty handler bundle imports in ${ms(baselineMs)} ms (median, source maps on).\n`);
    const inits = figures.filter((row) => row.initMs !== undefined);
    if (inits.length) {
      const slowestInit = inits.reduce((a, b) => (b.initMs! > a.initMs! ? b : a));
      console.log(
        `Init under aws-lambda-ric (new Node 24 process, runtime client, bundle import, first poll of the Runtime API): ` +
          `median over the functions ${ms(median(inits.map((row) => row.initMs!)))} ms, slowest ${ms(slowestInit.initMs!)} ms (${slowestInit.name}); ` +
          `the empty handler ${ms(median(emptyInit))} ms. Lambda adds the sandbox and the download of the zip.\n`,
      );
    }
    for (const name of AUTH_FUNCTIONS) {
      const row = figures.find((entry) => entry.name === name);
      if (!row) continue;
      target({
        name: `${name}: bundle (.mjs)`,
        limit: `≤ ${kB(AUTH_BUNDLE_LIMIT_BYTES)}`,
        actual: kB(row.mjsBytes),
        met: row.mjsBytes <= AUTH_BUNDLE_LIMIT_BYTES,
      });
      target({
        name: `${name}: import over the empty bundle`,
        limit: `≤ +${AUTH_IMPORT_OVER_BASELINE_MS} ms`,
        actual: `+${ms(row.importMs - baselineMs)} ms (${ms(row.importMs)} ms)`,
        met: row.importMs - baselineMs <= AUTH_IMPORT_OVER_BASELINE_MS,
      });
    }

    const plain = figures.filter((row) => !row.image);
    const biggest = plain.reduce((a, b) => (b.mjsBytes > a.mjsBytes ? b : a));
    const slowest = plain.reduce((a, b) => (b.importMs > a.importMs ? b : a));
    target({
      name: 'largest non-image bundle (.mjs only, map excluded)',
      limit: `≤ ${MB(BUNDLE_LIMIT_BYTES)}`,
      actual: `${MB(biggest.mjsBytes)} (${biggest.name})`,
      met: biggest.mjsBytes <= BUNDLE_LIMIT_BYTES,
    });
    target({
      name: 'slowest non-image import (median, source maps on)',
      limit: `≤ ${IMPORT_LIMIT_MS} ms`,
      actual: `${ms(slowest.importMs)} ms (${slowest.name})`,
      met: slowest.importMs <= IMPORT_LIMIT_MS,
    });

    if (biggest.mjsBytes > BUNDLE_LIMIT_BYTES || slowest.importMs > IMPORT_LIMIT_MS) {
      const entry = functions.find((fn) => fn.name === biggest.name)!.bundlePath.replace(/\.mjs$/, '.ts');
      console.log(`What fills ${biggest.name}'s bundle (esbuild metafile, bytes in the minified output):\n`);
      const composition = await bundleComposition(sourceDir, entry);
      console.log(table(['package', 'bytes', 'share'], composition.slice(0, 10).map(([owner, bytes]) => [owner, kB(bytes), `${((100 * bytes) / biggest.mjsBytes).toFixed(0)} %`])));
      console.log('');
    }
  } finally {
    await rm(unzipRoot, { recursive: true, force: true });
    await packaged.remove();
  }

  if (!reporter && targets.length) {
    console.log('Targets (informational, never fail the run)\n');
    console.log(table(['target', 'limit', 'actual', 'result'], targets.map((entry) => [entry.name, entry.limit, entry.actual, entry.met ? 'PASS' : 'MISS'])));
  }
}

/** A handler that imports nothing, bundled with the project's esbuild options, as `<dir>/empty.mjs`. */
async function buildEmptyBundle(sourceDir: string, dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const esbuildOptions = await packagingBuildOptions(sourceDir);
  const outfile = path.join(dir, 'empty.mjs');
  await build({
    ...esbuildOptions,
    absWorkingDir: sourceDir,
    stdin: { contents: 'export const handler = async () => ({ statusCode: 204 });', loader: 'js', resolveDir: sourceDir },
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

async function nodeVersion(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(NODE_24, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('close', () => resolve(output.trim()));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchBundles();
}
