import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary } from './binaries';

export interface RunningPgBouncer {
  /** DATABASE_URL through the pooler. */
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * A stock PgBouncer in transaction mode in front of `directUrl`: no ignore_startup_parameters, so a
 * client that sends one (as pg's `statement_timeout` option does) is refused, as on a default install.
 */
export async function startPgBouncer(directUrl: string): Promise<RunningPgBouncer> {
  const binary = findBinary('pgbouncer');
  if (!binary) throw new Error('pgbouncer is not installed: apt-get install -y --no-install-recommends pgbouncer');
  const target = new URL(directUrl);
  const database = target.pathname.slice(1) || 'postgres';
  const dir = await mkdtemp(path.join(tmpdir(), 'portrait-pgbouncer-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const server = [
    `host=${target.hostname}`,
    `port=${target.port || 5432}`,
    `dbname=${database}`,
    `user=${decodeURIComponent(target.username)}`,
    target.password ? `password=${decodeURIComponent(target.password)}` : '',
  ].join(' ');
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = ${server}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      // The server login is in [databases]; clients are not checked (loopback, test only).
      'auth_type = any',
      'pool_mode = transaction',
      'default_pool_size = 10',
      'max_client_conn = 200',
      // PgBouncer refuses to run as root; Debian's package makes the postgres user.
      ...(process.getuid?.() === 0 ? ['user = postgres'] : []),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const child = spawn(binary, [path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  for (let waited = 0; !(await canConnect(port)); waited += 50) {
    if (child.exitCode !== null || waited > 10_000) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start: ${stderr.slice(-2000)}`);
    }
    await sleep(50);
  }
  const url = new URL(directUrl);
  url.port = String(port);
  url.hostname = '127.0.0.1';
  return {
    url: url.toString(),
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
