// npm run dev: the whole API on http://localhost:3000 with nothing installed but node_modules.
// Embedded Postgres, S3 (s3rver) and an SMTP catcher (with an inbox page) start unless
// DATABASE_URL, S3_ENDPOINT or SMTP_URL point elsewhere (e.g. at `docker compose up -d --wait`,
// see .env.example).
//
// However it is stopped (Ctrl-C, SIGTERM, SIGHUP, the parent dying, kill -9 of any one of its
// processes) nothing stays behind: signals stop everything in order; the death of whoever started
// us is noticed by polling; our own SIGKILL is covered by watchdogs that see their pipe close.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { parseConfig, shownValue } from '../lib/platform/config';
import { startInbox } from './inbox';
import { runMigrations } from './migrations';
import { commandOf, describeHolder, portHolder } from './ports';
import { isGone, parentOf } from './processes';
import { formatMailForConsole, startMailCatcher } from './stack/mail';
import { startPostgres } from './stack/postgres';
import { startS3 } from './stack/s3';

const root = path.resolve(import.meta.dirname, '..');
const stops: (() => Promise<void>)[] = [];
const say = (line: string) => console.log(`[dev] ${line}`);
const warn = (line: string) => console.log(`[dev] ⚠  ${line}`);
// A closed terminal or a dead parent must not turn the next log line into a crash mid-shutdown.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

/** A problem the user can fix: printed as is, without a stack trace. */
class StartupError extends Error {}

const envFile = process.env.DEV_ENV_FILE ?? path.join(root, '.env');
if (envFile && existsSync(envFile)) {
  process.loadEnvFile(envFile);
  say(`loaded settings from ${path.relative(process.cwd(), envFile) || envFile}`);
}
const env = process.env;
const dataDir = path.resolve(root, env.DEV_DATA_DIR || '.data');

// ------------------------------------------------------------------ ports

function portSetting(name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65533) {
    throw new StartupError(`${name}=${JSON.stringify(raw)} must be a port number between 1 and 65533 (e.g. ${name}=${fallback})`);
  }
  return port;
}

function readPorts() {
  try {
    const api = portSetting('PORT', 3000);
    return {
      api,
      lambda: api + 2,
      postgres: portSetting('DEV_POSTGRES_PORT', 54329),
      s3: portSetting('DEV_S3_PORT', 4569),
      smtp: portSetting('DEV_SMTP_PORT', 1025),
      inbox: portSetting('DEV_INBOX_PORT', 1080),
    };
  } catch (error) {
    console.error(`[dev] ${(error as Error).message}`);
    process.exit(1);
  }
}
const ports = readPorts();
const embedded = { postgres: !env.DATABASE_URL, s3: !env.S3_ENDPOINT, smtp: !env.SMTP_URL };

interface WantedPort {
  port: number;
  what: string;
  setting: string;
}

function wantedPorts(): WantedPort[] {
  const wanted: WantedPort[] = [
    { port: ports.api, what: 'the API', setting: 'set PORT to another port' },
    { port: ports.lambda, what: "serverless-offline's Lambda port (PORT+2)", setting: 'set PORT to another port' },
  ];
  if (embedded.postgres) wanted.push({ port: ports.postgres, what: 'the embedded Postgres', setting: 'set DEV_POSTGRES_PORT to a free port' });
  if (embedded.s3) wanted.push({ port: ports.s3, what: 'the embedded S3', setting: 'set DEV_S3_PORT to a free port' });
  if (embedded.smtp) {
    wanted.push({ port: ports.smtp, what: 'the SMTP catcher', setting: 'set DEV_SMTP_PORT to a free port' });
    wanted.push({ port: ports.inbox, what: 'the inbox page', setting: 'set DEV_INBOX_PORT to a free port' });
  }
  return wanted;
}

/** Every port is checked before anything starts, so that a clash never leaves half a stack. */
async function checkPorts(): Promise<void> {
  const problems: string[] = [];
  const seen = new Map<number, WantedPort>();
  for (const wanted of wantedPorts()) {
    const twin = seen.get(wanted.port);
    if (twin) {
      problems.push(`port ${wanted.port} is set for both ${twin.what} and ${wanted.what}: ${wanted.setting}`);
      continue;
    }
    seen.set(wanted.port, wanted);
    const holder = await portHolder(wanted.port);
    if (!holder) continue;
    const earlierRun = holder.command && /serverless|scripts\/dev\.ts|postgres|tsx/.test(holder.command);
    const hint = earlierRun && holder.pid ? ` (left over from an earlier npm run dev? \`kill ${holder.pid}\`)` : '';
    problems.push(`port ${wanted.port} for ${wanted.what} is taken by ${describeHolder(holder)}${hint}: stop it, or ${wanted.setting}`);
  }
  if (problems.length) throw new StartupError(`cannot start:\n  - ${problems.join('\n  - ')}`);
}

// ------------------------------------------------------- services elsewhere

function endpointOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort}`;
  } catch {
    return url;
  }
}

function why(error: unknown): string {
  const message = String((error as Error).message ?? error);
  // nodemailer wraps socket errors (code ESOCKET) and keeps the errno only in the message.
  const code = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)\b/.exec(message)?.[1] ?? (error as NodeJS.ErrnoException).code ?? (error as { cause?: NodeJS.ErrnoException }).cause?.code;
  if (code === 'ECONNREFUSED') return 'refuses connections (nothing listens there)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'has a host name that does not resolve';
  if (code === 'ETIMEDOUT' || code === 'ETIMEOUT' || (error as Error).name === 'TimeoutError' || /timeout/i.test(String((error as Error).message))) {
    return 'does not answer within 5 s';
  }
  if (code === '28P01' || code === '28000') return `refused the login: ${(error as Error).message}`;
  if (code === '3D000') return `has no such database: ${(error as Error).message}`;
  if (code === 'EAUTH') return `refused the login: ${(error as Error).message}`;
  return (error as Error).message || String(error);
}

async function checkDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new StartupError(
      `DATABASE_URL (${shownValue('DATABASE_URL', url)}) points at ${endpointOf(url, 5432)}, which ${why(error)}.\n` +
        '  Start it (`docker compose up -d --wait`), fix DATABASE_URL, or leave it empty to use the embedded Postgres.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkS3(name: 'S3_ENDPOINT' | 'S3_PUBLIC_ENDPOINT', url: string): Promise<string | undefined> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5000) });
    return undefined;
  } catch (error) {
    return `${name} (${url}) points at ${endpointOf(url, url.startsWith('https:') ? 443 : 80)}, which ${why(error)}.`;
  }
}

async function checkSmtp(url: string): Promise<void> {
  const { protocol, hostname, port, username, password } = new URL(url);
  const transport = nodemailer.createTransport({
    host: hostname,
    port: Number(port) || (protocol === 'smtps:' ? 465 : 25),
    secure: protocol === 'smtps:',
    auth: username ? { user: decodeURIComponent(username), pass: decodeURIComponent(password) } : undefined,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 5000,
  });
  try {
    await transport.verify();
  } catch (error) {
    throw new StartupError(
      `SMTP_URL (${shownValue('SMTP_URL', url)}) points at ${endpointOf(url, 25)}, which ${why(error)}.\n` +
        '  Start it (`docker compose up -d --wait`), fix SMTP_URL, or leave it empty to use the built-in catcher.',
    );
  } finally {
    transport.close();
  }
}

async function checkServicesElsewhere(): Promise<void> {
  const checks: Promise<void>[] = [];
  if (!embedded.postgres) checks.push(checkDatabase(env.DATABASE_URL!));
  if (!embedded.s3) {
    checks.push(
      checkS3('S3_ENDPOINT', env.S3_ENDPOINT!).then((problem) => {
        if (problem) throw new StartupError(`${problem}\n  Start it (\`docker compose up -d --wait\`), fix S3_ENDPOINT, or leave it empty to use the embedded S3.`);
      }),
    );
  }
  if (!embedded.smtp) checks.push(checkSmtp(env.SMTP_URL!));
  const failures = (await Promise.allSettled(checks)).flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
  if (failures.length) throw new StartupError(failures.map((error) => error.message).join('\n'));
  if (!embedded.s3 && env.S3_PUBLIC_ENDPOINT) {
    const problem = await checkS3('S3_PUBLIC_ENDPOINT', env.S3_PUBLIC_ENDPOINT);
    if (problem) warn(`${problem} Picture URLs will not load from this machine.`);
  }
}

// ------------------------------------------------------------ embedded ones

const isLocalHost = (host: string) => ['localhost', '127.0.0.1', '[::1]', '::1', '0.0.0.0'].includes(host);

function portOfUrl(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/** A JWT secret kept in .data so that tokens survive restarts of the dev server. */
async function devJwtSecret(): Promise<string> {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Buckets that already hold objects in the embedded S3's directory (s3rver: one folder per bucket). */
function bucketsIn(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && readdirSync(path.join(dir, entry.name)).length > 0)
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

async function startEmbedded(): Promise<{ inboxUrl?: string }> {
  await mkdir(dataDir, { recursive: true });
  // Embedded Postgres runs as the postgres user under root and must reach .data/postgres.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755);
  let inboxUrl: string | undefined;

  if (embedded.postgres) {
    const started = performance.now();
    say(`starting embedded Postgres (data in ${path.relative(root, dataDir) || dataDir}/postgres; the first start initialises it)…`);
    const postgres = await startPostgres({ dataDir: path.join(dataDir, 'postgres'), persistent: true, port: ports.postgres });
    stops.push(postgres.stop);
    void postgres.exited.then(() => {
      if (!shuttingDown) {
        warn(`the embedded Postgres (pid ${postgres.pid}) stopped unexpectedly; stopping the rest`);
        void shutdown(1);
      }
    });
    env.DATABASE_URL = postgres.url;
    // `npm run users` finds this database here while dev runs.
    await writeFile(path.join(dataDir, 'database-url'), `${postgres.url}\n`, { mode: 0o600 });
    say(`Postgres ready in ${Math.round(performance.now() - started)} ms on 127.0.0.1:${postgres.port}`);
  } else say(`using DATABASE_URL ${shownValue('DATABASE_URL', env.DATABASE_URL!)}`);

  if (embedded.s3) {
    const s3Dir = path.join(dataDir, 's3');
    env.S3_BUCKET ||= 'portrait-local';
    // The web app uploads large pictures straight to the bucket: CORS like the deployed bucket's.
    const s3 = await startS3({ dir: s3Dir, port: ports.s3, browserBuckets: [env.S3_BUCKET] });
    stops.push(s3.stop);
    // Everything else about S3 follows the embedded one; keeping a compose value would break every picture URL.
    if (env.S3_PUBLIC_ENDPOINT) {
      const given = new URL(env.S3_PUBLIC_ENDPOINT);
      if (portOfUrl(given) !== s3.port) {
        warn(`S3_PUBLIC_ENDPOINT=${env.S3_PUBLIC_ENDPOINT} ignored: S3_ENDPOINT is empty, so the embedded S3 on port ${s3.port} serves the pictures (set DEV_S3_PORT to move it)`);
        env.S3_PUBLIC_ENDPOINT = s3.endpoint;
      }
    } else env.S3_PUBLIC_ENDPOINT = s3.endpoint;
    if (env.S3_ACCESS_KEY_ID || env.S3_SECRET_ACCESS_KEY) say('S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY ignored: the embedded S3 has its own keys');
    Object.assign(env, { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey });
    const others = bucketsIn(s3Dir).filter((bucket) => bucket !== env.S3_BUCKET);
    if (others.length && !bucketsIn(s3Dir).includes(env.S3_BUCKET)) {
      warn(`S3_BUCKET=${env.S3_BUCKET} is new in .data/s3, but the pictures of earlier runs are in ${others.join(', ')}: set S3_BUCKET=${others[0]} to keep seeing them`);
    }
    say(`embedded S3 (s3rver) at ${s3.endpoint}, bucket "${env.S3_BUCKET}", objects in .data/s3`);
  } else say(`using S3_ENDPOINT ${env.S3_ENDPOINT}`);

  if (embedded.smtp) {
    const mailDir = path.join(dataDir, 'mail');
    const mail = await startMailCatcher({
      dir: mailDir,
      port: ports.smtp,
      onMail: (caught) => console.log(`\n[mail] ${formatMailForConsole(caught).replace(/\n/g, '\n[mail] ')}\n`),
    });
    stops.push(mail.stop);
    const inbox = await startInbox({ dir: mailDir, port: ports.inbox });
    stops.push(inbox.stop);
    inboxUrl = `http://localhost:${inbox.port}`;
    env.SMTP_URL = mail.url;
    say(`SMTP catcher at ${mail.url}; mails kept in .data/mail, readable at ${inboxUrl}`);
  } else say(`using SMTP_URL ${shownValue('SMTP_URL', env.SMTP_URL!)}`);

  // Mailed links must reach this server: a localhost URL on another port is a leftover, not a choice.
  const ownBaseUrl = `http://localhost:${ports.api}`;
  if (env.PUBLIC_BASE_URL) {
    let given: URL | undefined;
    try {
      given = new URL(env.PUBLIC_BASE_URL);
    } catch {
      // lib/platform/config names it below.
    }
    if (given && isLocalHost(given.hostname) && portOfUrl(given) !== ports.api) {
      warn(`PUBLIC_BASE_URL=${env.PUBLIC_BASE_URL} ignored: this server listens on port ${ports.api} (PORT), so mailed links use ${ownBaseUrl}`);
      env.PUBLIC_BASE_URL = ownBaseUrl;
    }
  } else env.PUBLIC_BASE_URL = ownBaseUrl;

  if (env.JWT_SECRET) {
    if (existsSync(path.join(dataDir, 'jwt-secret'))) say('signing tokens with JWT_SECRET from the settings, not .data/jwt-secret: tokens from runs without it answer 401');
  } else env.JWT_SECRET = await devJwtSecret();
  env.S3_BUCKET ||= 'portrait';
  return { inboxUrl };
}

/**
 * Every setting is checked before anything starts or connects, so that a bad one stops dev with its
 * name and nothing half-started; what the embedded services fill in later gets a stand-in here.
 */
function checkSettings(): void {
  parseConfig({
    ...env,
    DATABASE_URL: env.DATABASE_URL || 'postgres://embedded@127.0.0.1/portrait',
    S3_BUCKET: env.S3_BUCKET || 'portrait',
    JWT_SECRET: env.JWT_SECRET || 'a stand-in for the secret kept in .data/jwt-secret',
    SMTP_URL: env.SMTP_URL || 'smtp://127.0.0.1:1025',
    PUBLIC_BASE_URL: env.PUBLIC_BASE_URL || 'http://localhost:3000',
  });
}

async function prepare(): Promise<void> {
  const { config } = await import('../lib/platform/config');
  config();
  const applied = await runMigrations(env.DATABASE_DIRECT_URL || env.DATABASE_URL!);
  say(applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
  const { ensurePictureBucket } = await import('../lib/pictures/pipeline');
  await ensurePictureBucket();
  say(`bucket "${env.S3_BUCKET}" ready with the default avatar`);
}

// ------------------------------------------------------------- supervision

let api: ChildProcess | undefined;
let apiWatchdog: ChildProcess | undefined;
let shuttingDown = false;

/** Kills serverless-offline's whole process group if we die by SIGKILL: `read` returns when our pipe end closes. */
function spawnGroupWatchdog(pgid: number): ChildProcess {
  const watchdog = spawn('sh', ['-c', `trap '' INT TERM HUP; read _ignored; kill -TERM -${pgid} 2>/dev/null; sleep 3; kill -KILL -${pgid} 2>/dev/null`], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void } | null)?.unref();
  watchdog.on('error', () => undefined);
  return watchdog;
}

function startApi(): ChildProcess {
  say(`bundling the functions and starting serverless-offline on port ${ports.api}…`);
  const serverless = path.join(root, 'node_modules', '.bin', 'serverless');
  // Its own process group: Ctrl-C reaches us only, we stop it in order, and its children go with it.
  const child = spawn(serverless, ['offline', 'start', '--stage', 'dev', '--httpPort', String(ports.api), '--lambdaPort', String(ports.lambda)], {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  apiWatchdog = spawnGroupWatchdog(child.pid!);
  child.once('exit', (code, signal) => {
    if (shuttingDown) return;
    warn(`serverless-offline exited (${signal ?? `code ${code}`}); stopping the rest`);
    void shutdown(1);
  });
  return child;
}

/** The hourly janitor of a deploy, every five minutes here; it logs a line only when it removed something. */
function startJanitor() {
  const run = async () => {
    try {
      const { runJanitor } = await import('../lib/ops/janitor');
      const { services } = await import('../lib/platform/services');
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

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

async function stopApi(): Promise<void> {
  if (!api?.pid) return;
  const pgid = api.pid;
  if (api.exitCode === null && api.signalCode === null) {
    const exited = new Promise((resolve) => api!.once('exit', resolve));
    killGroup(pgid, 'SIGINT');
    await Promise.race([exited, sleep(5000)]);
  }
  // Whatever it started and left (esbuild's service, a stuck worker) goes too.
  killGroup(pgid, 'SIGKILL');
  apiWatchdog?.kill('SIGKILL');
}

async function shutdown(code: number, reason?: string): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    say(reason ? `stopping (${reason})…` : 'stopping…');
    await stopApi();
    for (const stop of stops.reverse()) await stop().catch((error) => warn(`stop failed: ${(error as Error).message}`));
    say('stopped');
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}

/**
 * The processes between us and the `npm` that started us (tsx, sh, npm). When one of them dies
 * (kill -9 of npm, a closed IDE) nobody forwards a signal to us, so we look.
 */
function launchers(): number[] {
  const chain: number[] = [];
  for (let pid: number | undefined = process.ppid; pid && pid > 1 && chain.length < 5; pid = parentOf(pid)) {
    chain.push(pid);
    if (/(^|[/\s])npm(-cli\.js)?(\s|$)|npm-cli\.js/.test(commandOf(pid) ?? '')) return chain;
  }
  return [process.ppid];
}

function watchLaunchers(): void {
  const watched = launchers();
  const firstParent = process.ppid;
  const timer = setInterval(() => {
    const gone = watched.find(isGone);
    if (gone === undefined && process.ppid === firstParent) return;
    clearInterval(timer);
    void shutdown(0, `the process that started it (pid ${gone ?? firstParent}) is gone`);
  }, 300);
  timer.unref();
}

async function waitUntilServing(started: number): Promise<number> {
  let nextProgress = Date.now() + 5000;
  for (;;) {
    try {
      const response = await fetch(`http://localhost:${ports.api}/`, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      return response.status;
    } catch {
      // not listening yet
    }
    if (Date.now() >= nextProgress) {
      say(`still bundling the functions and starting serverless-offline (${Math.round((Date.now() - started) / 1000)} s)…`);
      nextProgress += 5000;
    }
    await sleep(300);
  }
}

function printReady(started: number, rootStatus: number, inboxUrl?: string): void {
  const base = `http://localhost:${ports.api}`;
  const lines = [
    `ready in ${Math.round((Date.now() - started) / 1000)} s: ${base}`,
    ...(rootStatus < 400 ? [`  web app:   open ${base}/ in a browser (API reference: ${base}/docs)`] : []),
    `  register:  curl -s -X POST ${base}/auth/register -H 'content-type: application/json' -d '{"email":"you@example.com","password":"correct horse battery staple"}'`,
    inboxUrl ? `  mails:     ${inboxUrl} (inbox page); each mail's links are printed here too` : `  mails:     go to ${shownValue('SMTP_URL', env.SMTP_URL!)} (compose: Mailpit's inbox at http://localhost:8025)`,
    '  stop:      Ctrl-C (stops everything it started)',
  ];
  for (const line of lines) say(line);
}

try {
  const started = Date.now();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0, signal));
  watchLaunchers();
  checkSettings();
  await checkPorts();
  await checkServicesElsewhere();
  const { inboxUrl } = await startEmbedded();
  await prepare();
  if (shuttingDown) await new Promise(() => undefined);
  api = startApi();
  startJanitor();
  const rootStatus = await waitUntilServing(started);
  if (!shuttingDown) printReady(started, rootStatus, inboxUrl);
} catch (error) {
  const message = error instanceof StartupError || (error as Error).name === 'ConfigError' ? (error as Error).message : String((error as Error).stack ?? error);
  console.error(`[dev] ${message.replace(/\n/g, '\n[dev] ')}`);
  await shutdown(1, 'start-up failed');
}
