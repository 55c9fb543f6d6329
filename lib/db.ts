import pg from 'pg';
import { config } from './config';
import { HttpError, serviceUnavailable } from './errors';
import { logEvent } from './log';
// Wherever there is a database there are authenticated routes: load their session check with it.
import './sessions';

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
 * (and a query that timed out may have run). A socket that died while idle fails at once and is retried.
 */
const isConnectTimeout = (error: unknown) =>
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout|Query read timeout/i.test(
    (error as { message?: string })?.message ?? '',
  );

/** Runs one statement; a dropped connection is retried once on a fresh one. */
async function queryOn<Row extends pg.QueryResultRow>(target: pg.Pool, text: string, values: unknown[]) {
  try {
    return await target.query<Row>(text, values);
  } catch (error) {
    if (!isConnectionError(error) || isConnectTimeout(error)) throw translate(error);
    try {
      return await target.query<Row>(text, values);
    } catch (retryError) {
      throw translate(retryError);
    }
  }
}

/** A client with an open transaction; an idle socket that died while the sandbox was frozen is replaced once. */
async function begin(target: pg.Pool): Promise<pg.PoolClient> {
  for (let attempt = 0; ; attempt += 1) {
    let client: pg.PoolClient | undefined;
    try {
      client = await target.connect();
      // One round trip; SET LOCAL ends with the transaction, so no session state outlives it.
      await client.query(`begin; set local statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
      return client;
    } catch (error) {
      client?.release(true);
      if (attempt > 0 || !isConnectionError(error) || isConnectTimeout(error)) throw translate(error);
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

/** Runs `work` in one transaction; rolls back on any error and always releases the client. */
async function transactionOn<T>(target: pg.Pool, work: (client: Queryable) => Promise<T>): Promise<T> {
  const client = await begin(target);
  let broken = false;
  try {
    const result = await work(translating(client));
    await client.query('commit');
    return result;
  } catch (error) {
    broken = isConnectionError(error);
    if (!broken) await client.query('rollback').catch(() => (broken = true));
    throw translate(error);
  } finally {
    client.release(broken);
  }
}

/** Statements and transactions on one pool: the container's own below; tests of races build one per "container". */
export interface Database extends Queryable {
  transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T>;
}

export function databaseOn(target: pg.Pool): Database {
  return {
    query: <Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []) => queryOn<Row>(target, text, values),
    transaction: (work) => transactionOn(target, work),
  };
}

/** This container's database. */
export const database: Database = databaseOn(pool);

export async function query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []) {
  return queryOn<Row>(pool, text, values);
}

export function transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
  return transactionOn(pool, work);
}

export const isUniqueViolation = (error: unknown, constraint?: string) =>
  error instanceof UniqueViolation && (constraint === undefined || error.constraint === constraint);

/** The pool as a Queryable, for code that can run inside or outside a transaction. */
export const db: Queryable = { query };
