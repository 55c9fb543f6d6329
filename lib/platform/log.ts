import type { HttpError } from '../errors';

/** LOG_LEVEL=silent mutes request logs (tests); anything else logs. */
const silent = () => process.env.LOG_LEVEL === 'silent';

export interface RequestLog {
  requestId: string;
  route: string;
  status: number;
  durationMs: number;
  error?: HttpError;
}

/**
 * One JSON line per request. Only the route key is logged, never the raw path
 * or query string, so verification tokens and presigned URLs cannot end up here.
 */
export function logRequest({ requestId, route, status, durationMs, error }: RequestLog) {
  const line: Record<string, unknown> = {
    level: status >= 500 ? 'error' : 'info',
    msg: 'request',
    time: new Date().toISOString(),
    requestId,
    route,
    status,
    durationMs,
  };
  if (error) {
    line.errorCode = error.code;
    if (status >= 500) line.cause = describeCause(error.cause);
  }
  if (!silent()) process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Name and code of the underlying failure: enough to debug, never values (pg's `detail` holds row data). */
function describeCause(cause: unknown): Record<string, unknown> | undefined {
  if (!cause || typeof cause !== 'object') return undefined;
  const { name, code } = cause as { name?: string; code?: string };
  return { name, code };
}

export function logEvent(msg: string, fields: Record<string, unknown> = {}) {
  if (!silent()) process.stdout.write(`${JSON.stringify({ level: 'info', msg, time: new Date().toISOString(), ...fields })}\n`);
}
