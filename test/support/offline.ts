import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { isGone } from '../../scripts/processes';
import { freePort } from '../../scripts/stack/net';
import { notePath, oncePerRun } from './once-per-run';

export interface OfflineApi {
  baseUrl: string;
}

const root = path.resolve(import.meta.dirname, '..', '..');

const OFFLINE_TIMEOUT_MS = 120_000;

/**
 * One `serverless offline` (the same command npm run dev uses) for every test file of the run that only calls
 * the API (test/e2e.test.ts, test/browser.test.ts): each start costs a few seconds of CPU, and each instance
 * loads every function again. The first file to ask starts it on free ports with the test stack's settings;
 * it outlives that file's worker (its output goes to a file, and the worker holds no handle on it) and is
 * stopped by the global teardown (stopSharedOffline). A watchdog preloaded into it stops it should the run's
 * jest process die first (Ctrl-C, kill).
 */
export function sharedOffline(): Promise<OfflineApi> {
  const logFile = path.join(path.dirname(notePath('offline')), 'output.log');
  const output = () => readFileSync(logFile, 'utf8').slice(-4000);
  return oncePerRun(
    'offline',
    OFFLINE_TIMEOUT_MS,
    async () => {
      const { baseUrl, pid } = await startOffline(logFile);
      return { value: { baseUrl }, note: { baseUrl, pid } };
    },
    (note: { baseUrl: string; pid: number }) => {
      if (isGone(note.pid)) throw new Error(`the run's serverless offline (pid ${note.pid}) has stopped:\n${output()}`);
      return { baseUrl: note.baseUrl };
    },
  );
}

/** Starts serverless offline in a process group of its own, and resolves once it answers HTTP. */
async function startOffline(logFile: string): Promise<{ baseUrl: string; pid: number }> {
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  // The run's jest process: test/support/global-setup.ts notes its pid, and the workers inherit it.
  const jest = process.env.PORTRAIT_JEST_PID;
  if (!jest) throw new Error('PORTRAIT_JEST_PID is not set: run through jest (test/support/global-setup.ts)');
  // Quoted as a URL, so that a checkout path with a space still loads it.
  const watchdog = pathToFileURL(path.join(import.meta.dirname, 'offline-watchdog.mjs')).href;
  const log = openSync(logFile, 'a');
  const child = spawn(
    path.join(root, 'node_modules', '.bin', 'serverless'),
    ['offline', 'start', '--stage', 'dev', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    {
      cwd: root,
      env: {
        ...process.env,
        PUBLIC_BASE_URL: baseUrl,
        PATH: `${path.join(root, 'node_modules', '.bin')}:${process.env.PATH}`,
        PORTRAIT_WATCH_PID: jest,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import="${watchdog}"`.trim(),
      },
      stdio: ['ignore', log, log],
      detached: true,
    },
  );
  closeSync(log);
  child.unref();

  const deadline = Date.now() + OFFLINE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`serverless offline exited (${child.signalCode ?? child.exitCode}):\n${readFileSync(logFile, 'utf8')}`);
    }
    try {
      const response = await fetch(`${baseUrl}/users/me`);
      if (response.status === 401) return { baseUrl, pid: child.pid! };
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  await stopGroup(child.pid!);
  throw new Error(`serverless offline did not answer within ${OFFLINE_TIMEOUT_MS} ms:\n${readFileSync(logFile, 'utf8')}`);
}

/** Stops the shared serverless offline of the run whose scratch folder is `root`, if a file started one. */
export async function stopSharedOffline(root: string): Promise<void> {
  const text = await readFile(notePath('offline', root), 'utf8').catch(() => undefined);
  const pid = text ? (JSON.parse(text) as { pid?: number }).pid : undefined;
  if (pid) await stopGroup(pid);
}

/** Ctrl-C to the process group led by `pid` (serverless offline shuts down cleanly), then SIGKILL after 5 s. */
async function stopGroup(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  if (!signal('SIGINT')) return;
  for (let waited = 0; waited < 5000 && !isGone(pid); waited += 100) await sleep(100);
  if (!isGone(pid)) signal('SIGKILL');
}
