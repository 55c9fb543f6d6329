import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { EventOptions } from '../../scripts/support/events';
import type { InvokeResult } from './events';

/**
 * A separate Node process with its own module instances and its own pg pool: one Lambda container.
 * Race tests run their parallel requests in several of these, never through one shared pool.
 */
export interface Container {
  /** Invokes functions/<name>.ts's handler with a built API Gateway event. */
  invoke(functionName: string, options: EventOptions): Promise<InvokeResult>;
  stop(): Promise<void>;
}

const worker = path.join(import.meta.dirname, 'container-worker.ts');
const root = path.resolve(import.meta.dirname, '..', '..');

export async function startContainer(env: Record<string, string | undefined> = {}): Promise<Container> {
  const child: ChildProcess = fork(worker, [], {
    cwd: root,
    execArgv: ['--import', 'tsx', '--no-warnings'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (result: InvokeResult) => void; reject: (error: Error) => void }>();
  let next = 0;
  child.on('message', (message: { id: number; result?: InvokeResult; error?: string }) => {
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.error) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result!);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    for (const waiting of pending.values()) waiting.reject(new Error('container process exited'));
    resolve();
  }));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`container process exited with ${code}`)));
  });
  return {
    invoke: (functionName, options) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        child.send({ id, functionName, options });
      }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
