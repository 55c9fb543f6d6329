// npm run dev: the whole API on http://localhost:3000 with nothing installed but node_modules.
// Embedded Postgres, S3 (s3rver) and an SMTP catcher start unless DATABASE_URL, S3_ENDPOINT or
// SMTP_URL point elsewhere (e.g. at `docker compose up -d`, see .env.example). Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runMigrations } from './migrations';
import { formatMailForConsole, freePort, startMailCatcher, startPostgres, startS3 } from './stack';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = path.join(root, '.data');
const stops: (() => Promise<void>)[] = [];
const say = (line: string) => console.log(`[dev] ${line}`);

if (existsSync(path.join(root, '.env'))) {
  process.loadEnvFile(path.join(root, '.env'));
  say('loaded settings from .env');
}

/** The preferred port when it is free, so URLs stay the same between runs; any free port otherwise. */
async function portNear(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

/** A JWT secret kept in .data so that tokens survive restarts of the dev server. */
async function devJwtSecret(): Promise<string> {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

async function startServices() {
  await mkdir(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // Embedded Postgres runs as the postgres user under root and must reach .data/postgres.
    const { chmod } = await import('node:fs/promises');
    await chmod(dataDir, 0o755);
  }
  const env = process.env;

  if (!env.DATABASE_URL) {
    const started = performance.now();
    say('starting embedded Postgres (data in .data/postgres; the first start initialises it)…');
    const postgres = await startPostgres({ dataDir: path.join(dataDir, 'postgres'), persistent: true, port: await portNear(54329) });
    stops.push(postgres.stop);
    env.DATABASE_URL = postgres.url;
    // `npm run users` finds this database here while dev runs.
    await writeFile(path.join(dataDir, 'database-url'), `${postgres.url}\n`, { mode: 0o600 });
    say(`Postgres ready in ${Math.round(performance.now() - started)} ms: ${postgres.url}`);
  } else say(`using DATABASE_URL from the environment`);

  if (!env.S3_ENDPOINT) {
    // The web app uploads large pictures straight to the bucket: CORS like the deployed bucket's.
    const s3 = await startS3({ dir: path.join(dataDir, 's3'), port: await portNear(4569), browserBuckets: [env.S3_BUCKET || 'portrait-local'] });
    stops.push(s3.stop);
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_PUBLIC_ENDPOINT: env.S3_PUBLIC_ENDPOINT || s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    say(`embedded S3 (s3rver) at ${s3.endpoint}, objects in .data/s3`);
  } else say(`using S3_ENDPOINT ${env.S3_ENDPOINT}`);

  if (!env.SMTP_URL) {
    const mail = await startMailCatcher({
      dir: path.join(dataDir, 'mail'),
      port: await portNear(1025),
      onMail: (caught) => console.log(`\n[mail] ${formatMailForConsole(caught).replace(/\n/g, '\n[mail] ')}\n`),
    });
    stops.push(mail.stop);
    env.SMTP_URL = mail.url;
    say(`SMTP catcher at ${mail.url}: each mail's link is printed here and the mail kept in .data/mail`);
  } else say(`using SMTP_URL from the environment`);

  env.S3_BUCKET ||= 'portrait-local';
  env.JWT_SECRET ||= await devJwtSecret();
  env.PUBLIC_BASE_URL ||= `http://localhost:${env.PORT || 3000}`;
}

async function prepare() {
  const applied = await runMigrations(process.env.DATABASE_DIRECT_URL || process.env.DATABASE_URL!);
  say(applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
  // Settings are validated here first, so a bad one stops dev with its name before serverless starts.
  const { config } = await import('../lib/config');
  const { ensurePictureBucket } = await import('../lib/picture-uploads');
  config();
  await ensurePictureBucket();
  say(`bucket "${process.env.S3_BUCKET}" ready with the default avatar`);
}

function startApi(): ChildProcess {
  const port = process.env.PORT || '3000';
  say(`starting serverless-offline on http://localhost:${port} (bundling the functions)…`);
  const serverless = path.join(root, 'node_modules', '.bin', 'serverless');
  return spawn(serverless, ['offline', 'start', '--stage', 'dev', '--httpPort', port, '--lambdaPort', String(Number(port) + 2)], {
    cwd: root,
    env: process.env,
    stdio: 'inherit',
  });
}

/** The hourly janitor of a deploy, every five minutes here; it logs a line only when it removed something. */
function startJanitor() {
  const run = async () => {
    try {
      const { runJanitor } = await import('../lib/janitor');
      const { services } = await import('../lib/services');
      const counts = await runJanitor({ objects: services.objects });
      const removed = Object.entries(counts).filter(([, count]) => count > 0);
      if (removed.length) say(`janitor removed ${removed.map(([kind, count]) => `${count} ${kind}`).join(', ')}`);
    } catch (error) {
      say(`janitor failed: ${(error as Error).message}`);
    }
  };
  const timer = setInterval(run, 5 * 60_000);
  timer.unref();
}

let shuttingDown = false;
async function shutdown(code: number, api?: ChildProcess) {
  if (shuttingDown) return;
  shuttingDown = true;
  say('stopping…');
  if (api && api.exitCode === null) {
    api.kill('SIGINT');
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        api.kill('SIGKILL');
        resolve(undefined);
      }, 5000);
      api.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  for (const stop of stops.reverse()) await stop().catch((error) => say(`stop failed: ${(error as Error).message}`));
  say('stopped');
  process.exit(code);
}

try {
  const started = performance.now();
  await startServices();
  await prepare();
  const api = startApi();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0, api));
  api.once('exit', (code) => void shutdown(code ?? 1));
  startJanitor();
  const base = `http://localhost:${process.env.PORT || 3000}`;
  say(`services up in ${Math.round(performance.now() - started)} ms; open ${base}/ (the web app) or ${base}/docs (the API reference)`);
} catch (error) {
  console.error(`[dev] could not start: ${(error as Error).message}`);
  await shutdown(1);
}
