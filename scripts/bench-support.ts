// Shared pieces of `npm run bench`: timing statistics, the measuring worker
// processes, and plain-text tables. See scripts/bench.ts for the sections.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], share: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

/** Wall time of one call, in milliseconds. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** Peak resident set size of this process so far, in MiB (maxRSS is in KiB on Linux and macOS). */
export const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

export const ms = (value: number) => (value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0));

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

// ------------------------------------------------------------------ workers

/**
 * Every measurement runs in a fresh Node process (scripts/bench-worker.ts): the handlers are
 * measured the way a Lambda container runs them, without s3rver and the mail catcher of this
 * process on the same event loop, and its peak RSS is the task's alone.
 */
export interface WorkerMessage {
  progress?: string;
  result?: unknown;
  error?: string;
}

const workerPath = path.join(import.meta.dirname, 'bench-worker.ts');
const running = new Set<ChildProcess>();

export function runWorker<Result>(task: string, options: unknown, env: Record<string, string>, onProgress: (line: string) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(workerPath, [task, JSON.stringify(options)], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    let outcome: { result: Result } | { error: string } | undefined;
    child.on('message', (message: WorkerMessage) => {
      if (message.progress) onProgress(message.progress);
      if ('result' in message) outcome = { result: message.result as Result };
      if (message.error) outcome = { error: message.error };
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      running.delete(child);
      if (outcome && 'result' in outcome) resolve(outcome.result);
      else reject(new Error(`bench worker "${task}" failed: ${outcome?.error ?? `exit ${code ?? signal}`}`));
    });
  });
}

/** Kills the workers still running (on Ctrl-C or a failed section). */
export function killWorkers() {
  for (const child of running) child.kill('SIGKILL');
}
