/**
 * The abort signal of the request being served, where the work can find it without every call passing it down:
 * lib/http/endpoint.ts runs each request's steps inside the scope of Middy's signal, and the adapters (lib/platform/db.ts,
 * lib/platform/storage.ts) and long pipelines (lib/pictures/pipeline.ts) read it. Once the early timeout has answered 503,
 * the signal is aborted and whatever is still running stops instead of committing behind the client's back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { serviceUnavailable } from '../errors';

const scope = new AsyncLocalStorage<AbortSignal>();

export function withRequestSignal<T>(signal: AbortSignal, work: () => T): T {
  return scope.run(signal, work);
}

/** The signal of the request in progress; undefined outside a request (scripts, set-up, tests of lib/). */
export function requestSignal(): AbortSignal | undefined {
  return scope.getStore();
}

/** Between steps of long work: a request already answered with a 503 goes no further. */
export function stopIfAborted(signal: AbortSignal | undefined = requestSignal()): void {
  if (signal?.aborted) throw serviceUnavailable('service', signal.reason);
}
