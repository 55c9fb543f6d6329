// `npm run dev` as a user runs it, stopped every way a user stops it: Ctrl-C, SIGTERM (an IDE's stop
// button), SIGHUP (a closed terminal), the parent dying, kill -9 of any one of its processes. After
// each, no process of it may run and none of its ports may be bound. Also: a taken port is named with
// its holder and the setting that moves it, unreachable or placeholder settings stop start-up by name.
//
// Runs in a temporary copy of the project on free ports (never 3000, 1025, …), so that neither a dev
// server of the developer nor the serverless offline of test/e2e.test.ts (both use `.esbuild` in
// their project folder) is disturbed.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { portHolder } from '../scripts/ports';
import { isRunning, parentOf } from '../scripts/processes';
import { freePort } from '../scripts/stack/net';

// A start takes a few seconds on an idle 2-core machine and can take a minute on a loaded one.
jest.setTimeout(400_000);

const ROOT = path.resolve(import.meta.dirname, '..');
const NOT_COPIED = new Set(['node_modules', '.data', '.esbuild', '.serverless', '.git', '.env', 'coverage']);
const SETTINGS = /^(DATABASE_URL|S3_|SMTP_URL|JWT_|PUBLIC_BASE_URL|MAIL_FROM|PICTURE_|VERIFY|ACCESS_TOKEN|REFRESH_TOKEN|VERIFICATION|PORT$|DEV_|npm_)/;

let project: string;
let dataDir: string;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'portrait-dev-'));
  // Under root, embedded Postgres runs as the postgres user and must reach the data dir.
  await chmod(project, 0o755);
  for (const entry of await readdir(ROOT)) {
    if (!NOT_COPIED.has(entry)) await cp(path.join(ROOT, entry), path.join(project, entry), { recursive: true });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  // One data dir for every run, so that Postgres is initialised once.
  dataDir = path.join(project, '.data');
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

interface DevPorts {
  PORT: number;
  DEV_POSTGRES_PORT: number;
  DEV_S3_PORT: number;
  DEV_SMTP_PORT: number;
  DEV_INBOX_PORT: number;
}

async function portIsFree(port: number): Promise<boolean> {
  return (await portHolder(port)) === undefined;
}

async function devPorts(): Promise<DevPorts> {
  for (;;) {
    const api = await freePort();
    if (api > 65000 || !(await portIsFree(api + 2))) continue;
    return { PORT: api, DEV_POSTGRES_PORT: await freePort(), DEV_S3_PORT: await freePort(), DEV_SMTP_PORT: await freePort(), DEV_INBOX_PORT: await freePort() };
  }
}

const allPorts = (ports: DevPorts) => [ports.PORT, ports.PORT + 2, ports.DEV_POSTGRES_PORT, ports.DEV_S3_PORT, ports.DEV_SMTP_PORT, ports.DEV_INBOX_PORT];

interface Dev {
  npm: ChildProcess;
  ports: DevPorts;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm run dev` in its own process group (as a terminal starts it), with no settings but `extra`. */
function startDev(ports: DevPorts, extra: Record<string, string> = {}): Dev {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SETTINGS.test(name)));
  const env = { ...inherited, ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), DEV_DATA_DIR: dataDir, DEV_ENV_FILE: '', ...extra };
  const npm = spawn('npm', ['run', 'dev'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  npm.stdout!.on('data', (chunk) => (output += chunk));
  npm.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, ports, output: () => output, exited };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Every live descendant of `pid`, with its command line. */
function tree(pid: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found = new Map<number, string>();
  const walk = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      if (!isRunning(child)) continue;
      found.set(child, cmdline(child));
      walk(child);
    }
  };
  found.set(pid, cmdline(pid));
  walk(pid);
  return found;
}

async function waitFor<T>(what: string, dev: Dev, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${dev.output()}`);
    await sleep(200);
  }
}

/** The processes of the stack once serverless-offline runs: npm, sh, tsx, dev, postgres, serverless, watchdogs. */
async function stackProcesses(dev: Dev): Promise<Map<number, string>> {
  return waitFor(
    'serverless-offline to be started',
    dev,
    () => {
      const processes = tree(dev.npm.pid!);
      const commands = [...processes.values()];
      const complete = commands.some((command) => command.includes('serverless offline')) && commands.some((command) => /bin\/postgres /.test(command));
      return complete && processes;
    },
    120_000,
  );
}

const pidOf = (processes: Map<number, string>, pattern: RegExp) => {
  const found = [...processes].find(([, command]) => pattern.test(command));
  if (!found) throw new Error(`no process matching ${pattern} in:\n${[...processes.values()].join('\n')}`);
  return found[0];
};

async function expectNothingLeft(dev: Dev, processes: Map<number, string>): Promise<void> {
  const deadline = Date.now() + 30_000;
  let running: string[] = [];
  let bound: number[] = [];
  for (;;) {
    // Anything started after the snapshot (a late esbuild) counts too, as long as npm's tree still has it.
    const all = new Map([...processes, ...tree(dev.npm.pid!)]);
    running = [...all].filter(([pid]) => isRunning(pid)).map(([pid, command]) => `${pid} ${command}`);
    bound = [];
    for (const port of allPorts(dev.ports)) if (!(await portIsFree(port))) bound.push(port);
    if ((running.length === 0 && bound.length === 0) || Date.now() > deadline) break;
    await sleep(250);
  }
  if (running.length || bound.length) {
    for (const pid of processes.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  expect({ running, bound }).toEqual({ running: [], bound: [] });
}

describe('npm run dev stops whole', () => {
  test('Ctrl-C once it is ready: the ready line comes when HTTP answers, with the inbox page; then nothing is left', async () => {
    const dev = startDev(await devPorts());
    await waitFor('the ready line', dev, () => /\[dev\] ready in/.test(dev.output()), 360_000);
    const processes = tree(dev.npm.pid!);

    const [api, inbox] = await Promise.all([fetch(`http://localhost:${dev.ports.PORT}/users/me`), fetch(`http://localhost:${dev.ports.DEV_INBOX_PORT}/`)]);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toMatch(/json/);
    expect(inbox.status).toBe(200);
    expect(await inbox.text()).toContain('Inbox');
    expect(dev.output()).toContain(`mails:     http://localhost:${dev.ports.DEV_INBOX_PORT}`);
    expect(dev.output().indexOf('[dev] ready in')).toBeGreaterThan(dev.output().indexOf('bundling the functions'));

    process.kill(-dev.npm.pid!, 'SIGINT');

    await dev.exited;
    await expectNothingLeft(dev, processes);
  });

  const whileStarting: [string, (dev: Dev, processes: Map<number, string>) => void][] = [
    ['SIGTERM to npm (an IDE stop button)', (dev) => process.kill(dev.npm.pid!, 'SIGTERM')],
    ['SIGHUP to npm (a closed terminal)', (dev) => process.kill(dev.npm.pid!, 'SIGHUP')],
    ['kill -9 of npm (the parent dying)', (dev) => process.kill(dev.npm.pid!, 'SIGKILL')],
    ['kill -9 of the dev script', (_dev, processes) => process.kill(pidOf(processes, /loader\.mjs scripts\/dev\.ts/), 'SIGKILL')],
    ['kill -9 of serverless-offline', (_dev, processes) => process.kill(pidOf(processes, /serverless offline start/), 'SIGKILL')],
    ['kill -9 of the Postgres postmaster', (_dev, processes) => process.kill(pidOf(processes, /bin\/postgres -D/), 'SIGKILL')],
  ];

  test.each(whileStarting)('%s while the stack starts leaves nothing', async (_name, stop) => {
    const dev = startDev(await devPorts());
    const processes = await stackProcesses(dev);

    stop(dev, processes);

    await expectNothingLeft(dev, processes);
  });
});

describe('npm run dev refuses to start, by name, and starts nothing', () => {
  const refusal = async (extra: Record<string, string>, ports?: DevPorts) => {
    const dev = startDev(ports ?? (await devPorts()), extra);
    const code = await dev.exited;
    await expectNothingLeft(dev, new Map());
    return { code, output: dev.output() };
  };

  test('a taken port is reported with the process that holds it and the setting that moves it', async () => {
    const ports = await devPorts();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.DEV_S3_PORT, '127.0.0.1', resolve));
    try {
      const dev = startDev(ports);
      const code = await dev.exited;

      expect(code).toBe(1);
      expect(dev.output()).toContain(`port ${ports.DEV_S3_PORT} for the embedded S3 is taken by pid ${process.pid}`);
      expect(dev.output()).toContain('set DEV_S3_PORT to a free port');
      expect(dev.output()).not.toMatch(/EADDRINUSE|\n\s+at /);
      expect(dev.output()).not.toContain('starting embedded Postgres');
    } finally {
      squatter.close();
    }
  });

  test('an unreachable DATABASE_URL names the setting and the address, and hides the password', async () => {
    const port = await freePort();
    const { code, output } = await refusal({ DATABASE_URL: `postgres://portrait:hunter2-secret@127.0.0.1:${port}/portrait` });

    expect(code).toBe(1);
    expect(output).toContain(`DATABASE_URL (postgres://portrait:****@127.0.0.1:${port}/portrait) points at 127.0.0.1:${port}, which refuses connections`);
    expect(output).not.toContain('hunter2-secret');
  });

  test('an unreachable SMTP_URL names the setting and the address', async () => {
    const port = await freePort();
    const { code, output } = await refusal({ SMTP_URL: `smtp://127.0.0.1:${port}` });

    expect(code).toBe(1);
    expect(output).toContain(`SMTP_URL (smtp://127.0.0.1:${port}) points at 127.0.0.1:${port}, which refuses connections`);
  });

  test('the placeholder JWT secret of .env.example is refused by name before anything starts', async () => {
    const { code, output } = await refusal({ JWT_SECRET: 'change-me-to-32-or-more-random-bytes-please' });

    expect(code).toBe(1);
    expect(output).toMatch(/JWT_SECRET="\*\*\*\* \(43 bytes\)" is the public placeholder/);
    expect(output).not.toContain('starting embedded Postgres');
  });
});
