// The process behind test/support/container.ts: loads handlers on demand and invokes them.
import type { EventOptions } from '../../scripts/support/events';
import { invoke } from './events';

type Handler = Parameters<typeof invoke>[0];
const handlers = new Map<string, Handler>();

process.on('message', async (message: { id: number; functionName: string; options: EventOptions }) => {
  try {
    if (!/^[a-z-]+$/.test(message.functionName)) throw new Error(`bad function name ${message.functionName}`);
    let handler = handlers.get(message.functionName);
    if (!handler) {
      handler = ((await import(`../../functions/${message.functionName}.ts`)) as { handler: Handler }).handler;
      handlers.set(message.functionName, handler);
    }
    process.send!({ id: message.id, result: await invoke(handler, message.options) });
  } catch (error) {
    process.send!({ id: message.id, error: (error as Error).stack ?? String(error) });
  }
});
process.send!({ ready: true });
