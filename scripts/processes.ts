// Reading other processes' state: whether one is still running, and its parent.
import { readFileSync } from 'node:fs';

/** /proc/<pid>/stat's fields after the command name (which may hold spaces and parentheses): state, ppid, … */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Gone = no such process, or a zombie that nobody reaped yet. */
export function isGone(pid: number): boolean {
  if (process.platform === 'linux') {
    const fields = statFields(pid);
    return !fields || fields[0] === 'Z';
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

export const isRunning = (pid: number) => !isGone(pid);

/** The parent's pid, from /proc (Linux). */
export function parentOf(pid: number): number | undefined {
  const ppid = statFields(pid)?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}
