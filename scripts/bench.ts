// `npm run bench [section ...]`: performance figures of Portrait's handlers,
// measured in process against the local stack (embedded Postgres, s3rver,
// SMTP catcher) that this script starts and stops. Not a test: targets are
// printed as PASS or MISS and never fail the run.
//
// Each section is one function of BenchContext, listed in SECTIONS; add a new
// figure (cold start, bundle sizes, ...) as another section. Measurements run
// in worker processes (scripts/bench-worker.ts, via runWorker) so that the
// services of this process do not share their event loop or their RSS.
import { availableParallelism, cpus } from 'node:os';
import { benchBundles } from './bench-bundles';
import { createBenchUser, startBenchStack, type BenchStack, type BenchUser } from './bench-stack';
import { killWorkers, median, ms, percentile, runWorker, table } from './bench-support';
import pg from 'pg';
import type { AdminSearchResult, PictureInput, PictureUploadResult, WarmHandlersResult } from './bench-worker';

export interface Target {
  name: string;
  limit: string;
  actual: string;
  met: boolean;
}

export interface BenchContext {
  stack: BenchStack;
  /** Creates a verified account (each section makes its own, so sections stay independent). */
  newUser(label: string): Promise<BenchUser>;
  /** Runs a task of scripts/bench-worker.ts in a fresh process, printing its progress lines. */
  worker<Result>(task: string, options: unknown, label: string): Promise<Result>;
  log(line: string): void;
  target(target: Target): void;
}

const PICTURE_RUNS = 15;
const PICTURE_WARMUPS = 2;
const UPLOAD_OVERHEAD_LIMIT = 1.3;
const PROFILE_RUNS = 200;
const LOGIN_RUNS = 20;
const HANDLER_WARMUPS = 5;
const PROFILE_LIMIT_MS = 5;

/** upload-picture against sharp alone (lib/images renderVariants) on the same bytes, one process per input. */
export async function benchPictures(context: BenchContext) {
  const inputs: { input: PictureInput; label: string }[] = [
    { input: 'jpeg-12mp', label: '12 MP JPEG (EXIF 6)' },
    { input: 'png-2000', label: '2000×2000 PNG' },
    { input: 'gif-animated', label: 'animated GIF' },
  ];
  const user = await context.newUser('bench-pictures');
  const rows: string[][] = [];
  for (const { input, label } of inputs) {
    const result = await context.worker<PictureUploadResult>(
      'picture-upload',
      { input, user, runs: PICTURE_RUNS, warmups: PICTURE_WARMUPS },
      label,
    );
    const upload = median(result.uploadMs);
    const sharp = median(result.sharpMs);
    const ratio = upload / sharp;
    context.log(`${label}: upload ${ms(upload)} ms, sharp alone ${ms(sharp)} ms (×${ratio.toFixed(2)}), peak RSS ${result.peakRssMiB.toFixed(0)} MiB`);
    rows.push([
      label,
      `${(result.bytes / 1024).toFixed(0)} KiB`,
      ms(upload),
      ms(percentile(result.uploadMs, 0.9)),
      ms(sharp),
      `×${ratio.toFixed(2)}`,
      ms(median(result.storageMs)),
      result.rssBeforeMiB.toFixed(0),
      result.peakRssMiB.toFixed(0),
    ]);
    if (input === 'jpeg-12mp') {
      context.target({
        name: 'upload-picture, 12 MP JPEG, vs sharp alone',
        limit: `≤ ×${UPLOAD_OVERHEAD_LIMIT}`,
        actual: `×${ratio.toFixed(2)}`,
        met: ratio <= UPLOAD_OVERHEAD_LIMIT,
      });
    }
  }
  console.log(`\nPictures: median of ${PICTURE_RUNS} runs after ${PICTURE_WARMUPS} warm-ups, milliseconds; RSS in MiB (one process per input)\n`);
  console.log(
    table(['input', 'size', 'upload', 'upload p90', 'sharp alone', 'ratio', 'storage I/O', 'RSS before', 'peak RSS'], rows),
  );
  console.log('\nupload = upload-picture handler on a multipart event (parse, sniff, render, 3 puts, commit, delete replaced)');
  console.log('sharp alone = renderVariants on the same bytes in the same process');
  console.log('storage I/O = the puts, list and delete of one upload on their own (s3rver here; S3 from Lambda differs)\n');
}

/** Warm medians of get-profile and login, invoked in process. */
export async function benchWarmHandlers(context: BenchContext) {
  const user = await context.newUser('bench-handlers');
  const result = await context.worker<WarmHandlersResult>(
    'warm-handlers',
    { user, profileRuns: PROFILE_RUNS, loginRuns: LOGIN_RUNS, warmups: HANDLER_WARMUPS },
    'warm handlers',
  );
  const profile = median(result.profileMs);
  const login = median(result.loginMs);
  console.log(`\nWarm handlers: after ${HANDLER_WARMUPS} warm-ups, milliseconds; peak RSS ${result.peakRssMiB.toFixed(0)} MiB\n`);
  console.log(
    table(
      ['handler', 'runs', 'median', 'p90', 'min'],
      [
        ['get-profile (GET /users/me)', String(PROFILE_RUNS), ms(profile), ms(percentile(result.profileMs, 0.9)), ms(Math.min(...result.profileMs))],
        ['login (POST /auth/login)', String(LOGIN_RUNS), ms(login), ms(percentile(result.loginMs, 0.9)), ms(Math.min(...result.loginMs))],
      ],
    ),
  );
  console.log('');
  context.target({ name: 'get-profile, warm median', limit: `≤ ${PROFILE_LIMIT_MS} ms`, actual: `${ms(profile)} ms`, met: profile <= PROFILE_LIMIT_MS });
}

const SEARCH_USERS = 100_000;
const SEARCH_RUNS = 30;
/** The statement's own time; the handler adds 60 presigned URLs per page, which no index changes. */
const SEARCH_LIMIT_MS = 5;

/** GET /admin/users over 100 000 seeded accounts (random hex names: a one-letter prefix matches ~25 %). */
export async function benchAdminSearch(context: BenchContext) {
  const admin = await context.newUser('bench-admin');
  const client = new pg.Client({ connectionString: context.stack.databaseUrl });
  await client.connect();
  try {
    await client.query(`update users set role = 'admin' where id = $1`, [admin.id]);
    await client.query(
      `insert into users (email, password_hash, nickname, first_name, last_name, email_verified_at, created_at)
       select md5(n::text) || '@bench.test', 'x', 'n' || md5((n + 1)::text), substr(md5((n + 2)::text), 1, 10),
              substr(md5((n + 3)::text), 1, 10), now(), now() - n * interval '1 second'
       from generate_series(1, $1) n`,
      [SEARCH_USERS],
    );
    await client.query('analyze users');
  } finally {
    await client.end();
  }
  context.log(`seeded ${SEARCH_USERS} users`);
  const result = await context.worker<AdminSearchResult>('admin-search', { user: admin, runs: SEARCH_RUNS, warmups: 3 }, 'admin search');
  console.log(`\nGET /admin/users at ${SEARCH_USERS.toLocaleString('en')} users, limit 20: median of ${SEARCH_RUNS} runs, milliseconds (handler in process)\n`);
  console.log(
    table(
      ['case', 'median', 'p90'],
      Object.entries(result).map(([name, times]) => [name, ms(median(times)), ms(percentile(times, 0.9))]),
    ),
  );
  console.log('');
  for (const [name, times] of Object.entries(result)) {
    if (!name.endsWith('SQL only')) continue;
    context.target({ name: `admin list, ${name}`, limit: `≤ ${SEARCH_LIMIT_MS} ms`, actual: `${ms(median(times))} ms`, met: median(times) <= SEARCH_LIMIT_MS });
  }
}

export const SECTIONS: Record<string, (context: BenchContext) => Promise<void>> = {
  pictures: benchPictures,
  'warm-handlers': benchWarmHandlers,
  'admin-search': benchAdminSearch,
  // Cold start: zip and bundle sizes and fresh-process import times of `serverless package --stage prod`.
  bundles: (context) => benchBundles({ log: context.log, target: context.target }),
};

async function main() {
  const requested = process.argv.slice(2).filter((arg) => arg !== '--');
  const unknown = requested.filter((name) => !(name in SECTIONS));
  if (unknown.length) {
    console.error(`unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const sections = requested.length ? requested : Object.keys(SECTIONS);
  const log = (line: string) => console.log(`· ${line}`);
  log(`Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), sections: ${sections.join(', ')}`);

  const started = performance.now();
  const stack = await startBenchStack(log);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    log('interrupted: stopping workers and services');
    killWorkers();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const targets: Target[] = [];
  const context: BenchContext = {
    stack,
    newUser: (label) => createBenchUser(stack.databaseUrl, label),
    worker: (task, options, label) => {
      log(`${label}: running`);
      return runWorker(task, options, stack.env, (line) => log(`${label}: ${line}`));
    },
    log,
    target: (target) => targets.push(target),
  };
  try {
    for (const name of sections) {
      if (interrupted) break;
      log(`section ${name}`);
      await SECTIONS[name]!(context);
    }
  } catch (error) {
    process.exitCode = 1;
    console.error(interrupted ? 'bench interrupted' : error);
  } finally {
    killWorkers();
    await stack.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    log(`services stopped; ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
  }

  if (targets.length) {
    console.log('\nTargets (informational, never fail the run)\n');
    console.log(table(['target', 'limit', 'actual', 'result'], targets.map((target) => [target.name, target.limit, target.actual, target.met ? 'PASS' : 'MISS'])));
  }
}

await main();
