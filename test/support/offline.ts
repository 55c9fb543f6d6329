import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../scripts/stack/net';
import { notePath, oncePerRun } from './once-per-run';

export interface OfflineApi {
  baseUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

const root = path.resolve(import.meta.dirname, '..', '..');

const OFFLINE_TIMEOUT_MS = 120_000;

/**
 * Starts `serverless offline` (the same command npm run dev uses) on free ports with the test stack's
 * settings, and resolves once it answers HTTP. With `logFile`, its output goes to that file and the test
 * process holds no handle on it (see sharedOffline).
 */
export async function startOffline(timeoutMs = OFFLINE_TIMEOUT_MS, options: { logFile?: string; env?: NodeJS.ProcessEnv } = {}): Promise<OfflineApi & { pid: number }> {
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  let piped = '';
  const log = options.logFile ? openSync(options.logFile, 'a') : undefined;
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules', '.bin', 'serverless'),
    ['offline', 'start', '--stage', 'dev', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    {
      cwd: root,
      env: { ...process.env, ...options.env, PUBLIC_BASE_URL: baseUrl, PATH: `${path.join(root, 'node_modules', '.bin')}:${process.env.PATH}` },
      stdio: ['ignore', log ?? 'pipe', log ?? 'pipe'],
      detached: true,
    },
  );
  if (log !== undefined) {
    closeSync(log);
    child.unref();
  } else {
    child.stdout!.on('data', (chunk) => (piped += chunk));
    child.stderr!.on('data', (chunk) => (piped += chunk));
  }
  const output = () => (options.logFile ? readFileSync(options.logFile, 'utf8') : piped);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, 5000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serverless offline exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${baseUrl}/users/me`);
      if (response.status === 401) return { baseUrl, output, stop, pid: child.pid! };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`serverless offline did not answer within ${timeoutMs} ms:\n${output()}`);
}

/**
 * One `serverless offline` for every test file of the run that only calls the API (test/e2e.test.ts,
 * test/browser.test.ts): each start costs a few seconds of CPU, and each instance loads every function
 * again. The first file to ask starts it; it outlives that file's worker and is stopped by the global
 * teardown (stopSharedOffline). A watchdog preloaded into it stops it should the run's jest process die
 * first (Ctrl-C, kill). `stop` of the answer does nothing: another file may still be calling.
 */
export function sharedOffline(): Promise<OfflineApi> {
  const logFile = path.join(path.dirname(notePath('offline')), 'output.log');
  return oncePerRun(
    'offline',
    OFFLINE_TIMEOUT_MS,
    async () => {
      const watchdog = pathToFileURL(path.join(import.meta.dirname, 'offline-watchdog.mjs')).href;
      // The run's jest process: test/support/global-setup.ts notes its pid, and the workers inherit it.
      const jest = process.env.PORTRAIT_JEST_PID;
      if (!jest) throw new Error('PORTRAIT_JEST_PID is not set: run through jest (test/support/global-setup.ts)');
      const api = await startOffline(OFFLINE_TIMEOUT_MS, {
        logFile,
        // Quoted as a URL, so that a checkout path with a space still loads it.
        env: { PORTRAIT_WATCH_PID: jest, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import="${watchdog}"`.trim() },
      });
      return { value: { ...api, stop: async () => {} }, note: { baseUrl: api.baseUrl, pid: api.pid } };
    },
    (note: { baseUrl: string; pid: number }) => {
      const output = () => readFileSync(logFile, 'utf8');
      if (!isRunning(note.pid)) throw new Error(`the run's serverless offline (pid ${note.pid}) has stopped:\n${output().slice(-4000)}`);
      return { baseUrl: note.baseUrl, output, stop: async () => {} };
    },
  );
}

/** Alive and not a zombie (an orphan whose reaper has not come yet counts as gone). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Stops the shared serverless offline of the run whose scratch folder is `root`, if a file started one. */
export async function stopSharedOffline(root: string): Promise<void> {
  const text = await readFile(notePath('offline', root), 'utf8').catch(() => undefined);
  const pid = text ? (JSON.parse(text) as { pid?: number }).pid : undefined;
  if (!pid) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  if (!signal('SIGINT')) return;
  for (let waited = 0; waited < 5000; waited += 100) {
    await sleep(100);
    if (!isRunning(pid)) return;
  }
  signal('SIGKILL');
}
