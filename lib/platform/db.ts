import { connect } from 'node:net';
import pg from 'pg';
import { config } from './config';
import { HttpError, serviceUnavailable } from '../errors';
import { logEvent } from './log';
import { requestSignal } from './request-scope';
// Wherever there is a database there are authenticated routes: load their session check with it.
import '../accounts/sessions';

/** Anything that runs a statement: the pool wrapper below or a client inside a transaction. */
export interface Queryable {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

/**
 * Server-side time limit per statement. Not a connection startup parameter: transaction poolers
 * (PgBouncer, RDS Proxy) refuse those. Each transaction sets it with SET LOCAL; single statements get it
 * from the role's default (migration 1700000000401) and are bounded on the client by query_timeout.
 */
export const STATEMENT_TIMEOUT_MS = 4000;

/** One small pool per container: Lambda runs one request at a time per sandbox. */
export const pool = new pg.Pool({
  connectionString: config().databaseUrl,
  max: 2,
  // Connect attempt + one retry must stay within the few seconds a 503 may take.
  connectionTimeoutMillis: 2500,
  idleTimeoutMillis: 60_000,
  query_timeout: 4500,
  application_name: 'portrait',
  // Idle connections must not keep a process (a test worker, a script) alive.
  allowExitOnIdle: true,
});

// An idle client whose socket died (server restart, frozen sandbox) must not crash the process.
pool.on('error', (error) => logEvent('postgres idle client error', { code: (error as { code?: string }).code }));

const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** True for failures of the connection itself, as opposed to a query the server rejected. */
export function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && (connectionErrorCodes.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|Connection ended/i.test(message ?? '');
}

/**
 * A unique constraint that refused a row (pg 23505), as domain code sees it: which constraint, never the
 * driver's error. Thrown by every statement of this module, inside transactions too.
 */
export class UniqueViolation extends Error {
  readonly constraint: string | undefined;
  constructor(constraint: string | undefined, cause: unknown) {
    super(`unique constraint ${constraint ?? '(unnamed)'} refused the row`, { cause });
    this.name = 'UniqueViolation';
    this.constraint = constraint;
  }
}

const pgErrorCode = (error: unknown) =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

/** The driver's errors as the rest of the code knows them; anything unexpected passes through (a 500). */
function translate(error: unknown): unknown {
  if (error instanceof HttpError || error instanceof UniqueViolation) return error;
  if (isConnectionError(error)) return serviceUnavailable('database', error);
  switch (pgErrorCode(error)) {
    case '23505': {
      const constraint = error instanceof Error && 'constraint' in error && typeof error.constraint === 'string' ? error.constraint : undefined;
      return new UniqueViolation(constraint, error);
    }
    case '57014': // statement timeout
    case '40P01': // deadlock: Postgres rolled one side back; the client's retry runs on its own
    case '40001': // serialization failure, likewise
    case '55P03': // lock not available
      return serviceUnavailable('database', error);
    default:
      return error;
  }
}

/**
 * A connect or a query that timed out would time out again: retrying only doubles the wait for the 503
 * (and a query that timed out may have run).
 */
const isConnectTimeout = (error: unknown) =>
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout|Query read timeout/i.test(
    (error as { message?: string })?.message ?? '',
  );

/** May a connect that failed so be tried once more? Nothing was sent yet, so any statement may. */
const mayRetryConnect = (error: unknown) => isConnectionError(error) && !isConnectTimeout(error);

/**
 * A client goes back to the pool only after an answer the server gave (a constraint, a syntax error): after a
 * dropped or timed-out connection, or a cancelled statement, it is destroyed, so no request inherits its state.
 */
const isReusableAfter = (error: unknown) =>
  error instanceof pg.DatabaseError && !isConnectionError(error) && error.code !== '57014';

export interface StatementOptions {
  /**
   * True for a statement that may run twice with the same outcome (a read). Only such a statement is sent again
   * when the connection drops after it was sent: the server may have run it already, and a write run twice (an
   * INSERT, a counter) would do its work twice. Any other statement answers 503 then, and the client retries.
   */
  idempotent?: boolean;
}

/**
 * Sends a CancelRequest for the statement running on `client` (the protocol's own, on a new connection: it needs no
 * login and passes PgBouncer, where pg_cancel_backend would name the wrong backend). Resolves false when it could
 * not be delivered.
 */
function cancelBackend(client: pg.PoolClient): Promise<boolean> {
  if (!('processID' in client && typeof client.processID === 'number' && 'secretKey' in client && typeof client.secretKey === 'number')) {
    return Promise.resolve(false);
  }
  const host = 'host' in client && typeof client.host === 'string' ? client.host : 'localhost';
  const port = 'port' in client && typeof client.port === 'number' ? client.port : 5432;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4); // CancelRequest code
  packet.writeInt32BE(client.processID, 8);
  packet.writeInt32BE(client.secretKey, 12);
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('connect', () => socket.end(packet));
    socket.once('error', () => resolve(false));
    socket.once('close', (hadError) => resolve(!hadError));
  });
}

/**
 * While `client` works for a request, an abort of the request's signal (the 503 went out) cancels the statement in
 * flight; if the cancel cannot be delivered the connection is closed, which at least rolls back an open
 * transaction. A cancel that reaches the backend between two statements (the next one not yet arrived) is lost, so
 * it is sent again every 250 ms until the work stops; the caller then destroys the client, so no later statement of
 * another request can be hit by a cancel still under way. Returns the function that stops listening.
 */
function cancelOnAbort(client: pg.PoolClient, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const cancel = (attemptsLeft: number) => {
    void cancelBackend(client).then((delivered) => {
      if (stopped) return;
      if (!delivered) return void client.end().catch(() => {});
      if (attemptsLeft > 0) timer = setTimeout(() => cancel(attemptsLeft - 1), 250);
    });
  };
  const onAbort = () => cancel(40);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    stopped = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  };
}

/**
 * A client of the pool for one statement or transaction. While checked out its connection may fail between or
 * during statements; pg then emits `error` on the client, which without a listener would crash the process (the
 * statement in flight rejects on its own, and the client is destroyed on release).
 */
async function checkOut(target: pg.Pool): Promise<pg.PoolClient & { giveBack(destroy: boolean): void }> {
  const client = await target.connect();
  const onError = (error: Error) => logEvent('postgres client error', { code: 'code' in error ? String(error.code) : undefined });
  client.on('error', onError);
  return Object.assign(client, {
    giveBack(destroy: boolean) {
      client.off('error', onError);
      client.release(destroy);
    },
  });
}

const aborted = (cause: unknown) => serviceUnavailable('database', cause);

/**
 * Runs one statement on a client of its own. A connect that fails is retried once (nothing was sent); a connection
 * that drops after the statement was sent is retried only for an idempotent statement.
 */
async function queryOn<Row extends pg.QueryResultRow>(target: pg.Pool, text: string, values: unknown[], options: StatementOptions = {}) {
  const signal = requestSignal();
  for (let attempt = 0; ; attempt += 1) {
    if (signal?.aborted) throw aborted(signal.reason);
    let client: Awaited<ReturnType<typeof checkOut>>;
    try {
      client = await checkOut(target);
    } catch (error) {
      if (attempt === 0 && mayRetryConnect(error)) continue;
      throw translate(error);
    }
    // Aborted while waiting for a connection (a busy machine): nothing is sent.
    if (signal?.aborted) {
      client.giveBack(false);
      throw aborted(signal.reason);
    }
    const stopListening = cancelOnAbort(client, signal);
    try {
      const result = await client.query<Row>(text, values);
      stopListening();
      // After an abort a cancel may still be on its way to this backend: the connection is not reused.
      client.giveBack(Boolean(signal?.aborted));
      return result;
    } catch (error) {
      stopListening();
      client.giveBack(Boolean(signal?.aborted) || !isReusableAfter(error));
      if (signal?.aborted) throw aborted(error);
      if (attempt === 0 && options.idempotent && isConnectionError(error) && !isConnectTimeout(error)) continue;
      throw translate(error);
    }
  }
}

/** A client with an open transaction; an idle socket that died while the sandbox was frozen is replaced once. */
async function begin(target: pg.Pool): Promise<Awaited<ReturnType<typeof checkOut>>> {
  for (let attempt = 0; ; attempt += 1) {
    let client: Awaited<ReturnType<typeof checkOut>> | undefined;
    try {
      client = await checkOut(target);
      // One round trip; SET LOCAL ends with the transaction, so no session state outlives it. Running it twice is
      // harmless (a transaction that never began has nothing to lose), so a dropped connection here is retried.
      await client.query(`begin; set local statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
      return client;
    } catch (error) {
      client?.giveBack(true);
      if (attempt > 0 || !mayRetryConnect(error)) throw translate(error);
    }
  }
}

/**
 * The transaction's client for `work`: its unique violations arrive as UniqueViolation like everywhere else
 * (a savepoint lets work go on after one); connection errors stay raw so transactionOn knows the client broke.
 */
function translating(client: pg.PoolClient): Queryable {
  return {
    query: <Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) =>
      client.query<Row>(text, values).catch((error: unknown) => {
        throw pgErrorCode(error) === '23505' ? translate(error) : error;
      }),
  };
}

/**
 * Runs `work` in one transaction; rolls back on any error and always releases the client. After the request's
 * abort (its 503 went out) the statement in flight is cancelled and the commit is never sent.
 */
async function transactionOn<T>(target: pg.Pool, work: (client: Queryable) => Promise<T>): Promise<T> {
  const signal = requestSignal();
  if (signal?.aborted) throw aborted(signal.reason);
  const client = await begin(target);
  if (signal?.aborted) {
    // Aborted while the transaction began: it ends with the connection, nothing of the work was sent.
    client.giveBack(true);
    throw aborted(signal.reason);
  }
  const stopListening = cancelOnAbort(client, signal);
  let broken = false;
  try {
    const result = await work(translating(client));
    if (signal?.aborted) throw aborted(signal.reason);
    await client.query('commit');
    return result;
  } catch (error) {
    broken = Boolean(signal?.aborted) || isConnectionError(error);
    // A broken connection rolls back on its own when it closes; the others are rolled back here.
    if (!broken) await client.query('rollback').catch(() => (broken = true));
    throw signal?.aborted ? aborted(error) : translate(error);
  } finally {
    stopListening();
    client.giveBack(broken);
  }
}

/** Statements and transactions on one pool: the container's own below; tests of races build one per "container". */
export interface Database extends Queryable {
  /** A statement that may safely run twice (a read): retried once when the connection drops. */
  read<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
  transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T>;
}

export function databaseOn(target: pg.Pool): Database {
  return {
    query: <Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []) => queryOn<Row>(target, text, values),
    read: <Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []) =>
      queryOn<Row>(target, text, values, { idempotent: true }),
    transaction: (work) => transactionOn(target, work),
  };
}

/** This container's database. */
export const database: Database = databaseOn(pool);

export async function query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []) {
  return queryOn<Row>(pool, text, values);
}

/** A statement that may safely run twice (a read), so it is retried once when the connection drops after it was sent. */
export async function read<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []) {
  return queryOn<Row>(pool, text, values, { idempotent: true });
}

export function transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
  return transactionOn(pool, work);
}

export const isUniqueViolation = (error: unknown, constraint?: string) =>
  error instanceof UniqueViolation && (constraint === undefined || error.constraint === constraint);

/** The pool as a Queryable, for code that can run inside or outside a transaction. */
export const db: Queryable = { query };
