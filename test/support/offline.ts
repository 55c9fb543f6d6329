import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../scripts/stack/net';

export interface OfflineApi {
  baseUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

const root = path.resolve(import.meta.dirname, '..', '..');

/**
 * Starts `serverless offline` (the same command npm run dev uses) on free ports with the test stack's
 * settings, and resolves once it answers HTTP.
 */
export async function startOffline(timeoutMs = 120_000): Promise<OfflineApi> {
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  let output = '';
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules', '.bin', 'serverless'),
    ['offline', 'start', '--stage', 'dev', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    {
      cwd: root,
      env: { ...process.env, PUBLIC_BASE_URL: baseUrl, PATH: `${path.join(root, 'node_modules', '.bin')}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));

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
    if (child.exitCode !== null) throw new Error(`serverless offline exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${baseUrl}/users/me`);
      if (response.status === 401) return { baseUrl, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`serverless offline did not answer within ${timeoutMs} ms:\n${output}`);
}
