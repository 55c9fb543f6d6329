// Which process holds a TCP port, so that `npm run dev` can say "port 4569 is taken by pid 812
// (node …serverless offline)" instead of letting an EADDRINUSE trace out.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

export interface PortHolder {
  pid?: number;
  command?: string;
}

const LISTEN = '0A';

/** Socket inodes listening on `port` (any address, IPv4 and IPv6), from /proc/net. */
function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let readAny = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    readAny = true;
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== LISTEN) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9] ?? '');
    }
  }
  return readAny ? inodes : undefined;
}

export function commandOf(pid: number): string | undefined {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return command.length > 160 ? `${command.slice(0, 157)}…` : command;
  } catch {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

function pidOwningInode(inodes: Set<string>): number | undefined {
  const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function lsofPid(port: number): number | undefined {
  try {
    const pid = Number.parseInt(execFileSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-t'], { encoding: 'utf8' }), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** undefined when `port` is free on this machine; otherwise who holds it, as far as we may see. */
export async function portHolder(port: number): Promise<PortHolder | undefined> {
  const inodes = listeningInodes(port);
  if (inodes && inodes.size > 0) {
    const pid = pidOwningInode(inodes);
    return { pid, command: pid ? commandOf(pid) : undefined };
  }
  if (await canBind(port, '127.0.0.1')) return undefined;
  const pid = lsofPid(port);
  return { pid, command: pid ? commandOf(pid) : undefined };
}

export function describeHolder(holder: PortHolder): string {
  if (!holder.pid) return 'another process (run `ss -ltnp` or `lsof -i` to see which)';
  return `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`;
}
