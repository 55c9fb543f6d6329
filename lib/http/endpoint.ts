import { randomUUID } from 'node:crypto';
import middy, { type MiddlewareObj, type Request } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { config } from '../platform/config';
import { HttpError, serviceUnavailable } from '../errors';
import { logRequest } from '../platform/log';
import { stopIfAborted, withRequestSignal } from '../platform/request-scope';
import { authenticate, type AccessClaims, type VerifiedAccessToken } from '../accounts/tokens';

type SessionCheck = (token: VerifiedAccessToken) => Promise<AccessClaims>;
let sessionCheck: SessionCheck | undefined;

/**
 * lib/accounts/sessions.ts registers the session check here when it loads (lib/platform/db.ts loads it), so functions
 * that never touch Postgres carry no pg. An auth route without it refuses every request (fails closed).
 */
export function useSessionCheck(check: SessionCheck): void {
  sessionCheck = check;
}

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

/** Bodies this API accepts as JSON or forms are tiny; anything larger is refused before parsing. */
export const MAX_FORM_BODY_BYTES = 16 * 1024;

export interface ApiRequest<Body, Query> {
  event: ApiEvent;
  body: Body;
  query: Query;
  requestId: string;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  pathParameters: Record<string, string | undefined>;
  /** True when the body came as an HTML form post rather than JSON. */
  isFormPost: boolean;
  /** The client as API Gateway saw it, for the session list. */
  origin: { userAgent?: string; ip?: string };
  /**
   * Middy's abort signal: aborted when the early timeout has answered 503. lib/platform/db.ts and lib/platform/storage.ts read it from
   * the request scope (lib/platform/request-scope.ts) and stop; work of its own (loops, pipelines) checks it between steps.
   */
  signal: AbortSignal;
}

/** A request of an endpoint with `auth: true`: only these have a viewer. */
export interface AuthenticatedRequest<Body, Query> extends ApiRequest<Body, Query> {
  /** The caller, as its live session row says now. */
  viewer: AccessClaims;
}

type Middleware = MiddlewareObj<ApiEvent, ApiResponse, Error, Context>;

/** What a zod schema gives, or undefined when the endpoint has none. */
type Parsed<Schema> = Schema extends z.ZodType ? z.output<Schema> : undefined;

interface CommonOptions<BodySchema, QuerySchema> {
  /** json: JSON bodies only; json-or-form: JSON or application/x-www-form-urlencoded; none: no body read. */
  bodyType?: 'json' | 'json-or-form' | 'none';
  body?: BodySchema;
  query?: QuerySchema;
  /** Extra middlewares (e.g. multipart parsing) that read the body after the size limit, before validation. */
  middlewares?: Middleware[];
}

export interface PublicEndpointOptions<BodySchema, QuerySchema> extends CommonOptions<BodySchema, QuerySchema> {
  auth?: false;
}

export interface AuthenticatedEndpointOptions<BodySchema, QuerySchema> extends CommonOptions<BodySchema, QuerySchema> {
  /** Require `Authorization: Bearer <access token>`; checked before the body is read. */
  auth: true;
  /** May this viewer do this (path parameters known, body not yet read)? Throw to refuse. */
  authorize?: (viewer: AccessClaims, pathParameters: Record<string, string | undefined>) => void;
}

/** Kept by Middy per request (`request.internal`) for the boundary's log line. */
type RequestInternal = { startedAt?: number };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** A JSON response with personal data: never cached by browsers or proxies. */
export function privateJson(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return json(statusCode, body, { 'cache-control': 'no-store', ...headers });
}

export function noContent(): ApiResponse {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
}

export function html(statusCode: number, markup: string, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
      ...headers,
    },
    body: markup,
  };
}

export function redirect(statusCode: 302 | 303, location: string, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { location, ...headers } };
}

export function errorBody(error: HttpError) {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    },
  };
}

/** The shape of errors Middy's body parsers throw (`createError` of @middy/util). */
interface MiddyParserError {
  statusCode: number;
  cause: { package: string; data?: unknown };
}

const isMiddyParserError = (error: unknown): error is MiddyParserError =>
  error instanceof Error &&
  'statusCode' in error &&
  typeof error.statusCode === 'number' &&
  typeof error.cause === 'object' &&
  error.cause !== null &&
  'package' in error.cause &&
  typeof error.cause.package === 'string' &&
  error.cause.package.startsWith('@middy/');

/** Turns any thrown value into an HttpError a client may see; internals never leak. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isMiddyParserError(error)) return fromMiddyError(error);
  return new HttpError(500, 'internal_error', 'Something went wrong on our side. Please try again.', { cause: error });
}

/** Keys the JSON parser refuses (prototype pollution); it names the key in `cause.data`. */
const FORBIDDEN_JSON_KEYS = new Set(['__proto__', 'constructor']);

/** Decided by status and the error's cause, never by message text, which Middy may reword. */
function fromMiddyError(error: MiddyParserError): HttpError {
  const { statusCode, cause } = error;
  if (statusCode === 415) {
    return new HttpError(415, 'unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.', { cause: error });
  }
  if (statusCode === 422 && typeof cause.data === 'string' && FORBIDDEN_JSON_KEYS.has(cause.data)) {
    return new HttpError(400, 'invalid_json', 'The JSON body contains a forbidden key.', { cause: error });
  }
  // Only the JSON and form parsers are used (multipart is parsed by lib/http/multipart.ts, which throws HttpErrors).
  const what = cause.package === '@middy/http-urlencode-body-parser' ? 'a valid form' : 'valid JSON';
  return new HttpError(400, 'invalid_json', `The body is not ${what}.`, { cause: error });
}

/** Outermost middleware: request id, error rendering, one log line per request. */
const boundary = (): MiddlewareObj<ApiEvent, ApiResponse, Error, Context, RequestInternal> => ({
  before: (request) => {
    // Lambda's request id: unique on AWS and under serverless-offline (whose API request id is a constant). A host
    // that gives none gets one here, so the handler and the log line name the same id.
    request.context.awsRequestId ||= request.event.requestContext?.requestId || randomUUID();
    request.internal.startedAt = performance.now();
    canonicalisePathIds(request.event);
  },
  after: (request) => {
    finish(request, request.response);
  },
  onError: (request) => {
    const error = toHttpError(request.error);
    request.response = json(error.status, errorBody(error.status < 500 ? error : genericFor(error)), {
      'cache-control': 'no-store',
      ...error.headers,
    });
    finish(request, request.response, error);
  },
});

const UUID_ANY_CASE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The one place where ids in paths become canonical: a UUID in any case names the same user, and everything
 * behind the edge (authorisation, queries, storage keys) sees only the lower-case form.
 */
function canonicalisePathIds(event: ApiEvent) {
  if (!event.pathParameters) return;
  for (const [name, value] of Object.entries(event.pathParameters)) {
    if (value && UUID_ANY_CASE.test(value)) event.pathParameters[name] = value.toLowerCase();
  }
}

function genericFor(error: HttpError): HttpError {
  // Above 500 only our own, deliberately written messages (e.g. 503) are shown.
  return error.code === 'internal_error' || error.code === 'service_unavailable'
    ? error
    : new HttpError(500, 'internal_error', 'Something went wrong on our side. Please try again.');
}

function finish(request: Request<ApiEvent, ApiResponse, Error, Context, RequestInternal>, response: ApiResponse | null | undefined, error?: HttpError) {
  if (!response) return;
  const { event, context, internal } = request;
  // nosniff on every response: no browser may guess a type other than the one declared.
  response.headers = { ...response.headers, 'x-content-type-options': 'nosniff', 'x-request-id': context.awsRequestId };
  logRequest({
    requestId: context.awsRequestId,
    route: event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`,
    status: response.statusCode,
    durationMs: Math.round((performance.now() - (internal.startedAt ?? performance.now())) * 10) / 10,
    error,
  });
}

/** The caller of an `auth: true` endpoint. A valid signature is not enough: the session must still be live (one indexed lookup). */
async function viewerOf(headers: Record<string, string | undefined>): Promise<AccessClaims> {
  if (!sessionCheck) throw new HttpError(500, 'internal_error', 'Something went wrong on our side. Please try again.');
  return sessionCheck(await authenticate(headers));
}

/** Refuses bodies larger than the endpoint reads, before any parser or hash sees them. */
export const bodyLimit = (
  maxBytes: number,
  tooLarge: () => HttpError = () => new HttpError(413, 'payload_too_large', `The request body is larger than ${maxBytes} bytes.`),
): Middleware => ({
  before: ({ event }) => {
    if (event.body && bodyByteLength(event) > maxBytes) throw tooLarge();
  },
});

/** The size of the body once decoded, computed without decoding it (the one decode happens in the parser). */
export function bodyByteLength(event: ApiEvent): number {
  if (!event.body) return 0;
  if (!event.isBase64Encoded) return Buffer.byteLength(event.body);
  return Buffer.byteLength(event.body, 'base64');
}

/** Accepts JSON, or an HTML form when allowed; anything else is 415. Each parser decodes a base64 body itself, once. */
function useBodyParsers(reader: ReturnType<typeof bodyReader>, bodyType: 'json' | 'json-or-form'): void {
  reader.use(requireBody());
  if (bodyType === 'json') {
    reader.use(httpJsonBodyParser());
    return;
  }
  reader.use(httpJsonBodyParser({ disableContentTypeError: true }));
  reader.use(httpUrlencodeBodyParser({ disableContentTypeError: true }));
  reader.use({
    before: ({ event }) => {
      if (typeof event.body === 'string') {
        throw new HttpError(415, 'unsupported_media_type', 'Send the body as JSON or as an HTML form.');
      }
    },
  });
}

/**
 * The body-reading middlewares in a Middy stack of their own, which the endpoint's handler runs: Middy 7 applies
 * timeoutEarlyInMillis (and aborts its signal) only around the handler, so steps that were `before` middlewares of
 * the outer stack (auth lookup, body parsing) ran outside the early timeout. Its handler hands back the parsed body.
 */
const bodyReader = () => middy<ApiEvent, unknown, Error, Context>({ timeoutEarlyInMillis: 0 }).handler((event) => event.body);

const requireBody = (): MiddlewareObj<ApiEvent, unknown, Error, Context> => ({
  before: ({ event }) => {
    if (event.body === undefined || event.body === null || event.body === '') {
      throw new HttpError(400, 'validation_failed', 'A request body is required.', { details: { body: 'is required' } });
    }
  },
});

/** zod → 400 validation_failed with one message per field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  // No query string comes as null (API Gateway, serverless-offline) or undefined: no parameters. A JSON `null`
  // body, though, is a body that is not an object (400), not an empty one.
  const result = schema.safeParse(where === 'query' ? (value ?? {}) : value === undefined ? {} : value);
  if (result.success) return result.data;
  const details: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = issue.path.length ? issue.path.join('.') : where;
    details[field] ??= issue.message;
  }
  throw new HttpError(400, 'validation_failed', 'Some fields are missing or invalid.', { details });
}

function lowerCaseHeaders(headers: ApiEvent['headers'] | undefined): Record<string, string | undefined> {
  const lowered: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) lowered[name.toLowerCase()] = value;
  return lowered;
}

type AnySchema = z.ZodType | undefined;
type AuthenticatedEndpointArgs = [AuthenticatedEndpointOptions<AnySchema, AnySchema>, (request: AuthenticatedRequest<unknown, unknown>) => Promise<ApiResponse>];
type PublicEndpointArgs = [PublicEndpointOptions<AnySchema, AnySchema>, (request: ApiRequest<unknown, unknown>) => Promise<ApiResponse>];
const isAuthenticated = (args: AuthenticatedEndpointArgs | PublicEndpointArgs): args is AuthenticatedEndpointArgs => args[0].auth === true;

/** How long before Lambda's own timeout the 503 goes out, leaving time to render it and to stop the work. */
export const TIMEOUT_EARLY_MS = 500;

/**
 * Builds a Lambda handler from one shared middleware stack: the boundary (request id, errors, logs) around a handler
 * that runs, under Middy's early timeout and inside its abort signal's scope: bearer token → body size limit → body
 * parser → validation → `run`. `viewer` exists only for `auth: true`; body and query are typed by their schemas.
 */
export function endpoint<BodySchema extends z.ZodType | undefined = undefined, QuerySchema extends z.ZodType | undefined = undefined>(
  options: AuthenticatedEndpointOptions<BodySchema, QuerySchema>,
  run: (request: AuthenticatedRequest<Parsed<BodySchema>, Parsed<QuerySchema>>) => Promise<ApiResponse>,
): Handler;
export function endpoint<BodySchema extends z.ZodType | undefined = undefined, QuerySchema extends z.ZodType | undefined = undefined>(
  options: PublicEndpointOptions<BodySchema, QuerySchema>,
  run: (request: ApiRequest<Parsed<BodySchema>, Parsed<QuerySchema>>) => Promise<ApiResponse>,
): Handler;
export function endpoint(...args: AuthenticatedEndpointArgs | PublicEndpointArgs): Handler {
  // Every setting is checked while the function loads, so that a bad one fails the cold start
  // (Lambda reports it as an init error naming the variable) instead of its first request.
  config();
  const [options] = args;
  const bodyType = options.bodyType ?? (options.body ? 'json' : 'none');
  const middlewares = options.middlewares ?? [];
  let reader: ReturnType<typeof bodyReader> | undefined;
  if (bodyType !== 'none' || middlewares.length) {
    reader = bodyReader();
    if (bodyType !== 'none') {
      reader.use(bodyLimit(MAX_FORM_BODY_BYTES));
      useBodyParsers(reader, bodyType);
    }
    for (const middleware of middlewares) reader.use(middleware);
  }

  /** Reads the body (after the caller is known: an unauthorised caller's body is never parsed) and validates it. */
  const readRequest = async (event: ApiEvent, context: Context, signal: AbortSignal): Promise<ApiRequest<unknown, unknown>> => {
    stopIfAborted(signal);
    const parsed = reader ? await reader(event, context) : event.body;
    stopIfAborted(signal);
    const headers = lowerCaseHeaders(event.headers);
    return {
      event,
      body: options.body ? validate(options.body, parsed, 'body') : undefined,
      query: options.query ? validate(options.query, event.queryStringParameters, 'query') : undefined,
      requestId: context.awsRequestId,
      headers,
      pathParameters: event.pathParameters ?? {},
      isFormPost: /^application\/x-www-form-urlencoded/i.test(headers['content-type'] ?? ''),
      origin: { userAgent: headers['user-agent'], ip: event.requestContext?.http?.sourceIp },
      signal,
    };
  };

  // Only an auth endpoint's run gets a viewer; the caller is known before its body is read.
  let steps: (event: ApiEvent, context: Context, signal: AbortSignal) => Promise<ApiResponse>;
  if (isAuthenticated(args)) {
    const [{ authorize }, run] = args;
    steps = async (event, context, signal) => {
      const viewer = await viewerOf(lowerCaseHeaders(event.headers));
      authorize?.(viewer, event.pathParameters ?? {});
      return run({ ...(await readRequest(event, context, signal)), viewer });
    };
  } else {
    const [, run] = args;
    steps = async (event, context, signal) => run(await readRequest(event, context, signal));
  }

  return middy<ApiEvent, ApiResponse, Error, Context, RequestInternal>({
    // Shortly before Lambda's own timeout, answer a 503 with the error body rather than API Gateway's bare one; the
    // signal aborts at that moment, and the work still running (statements, S3 calls, image steps) stops on it.
    timeoutEarlyInMillis: TIMEOUT_EARLY_MS,
    timeoutEarlyResponse: () => {
      throw serviceUnavailable('service');
    },
  })
    .use(boundary())
    .handler((event, context, { signal }) => withRequestSignal(signal, () => steps(event, context, signal)));
}

export type Handler = (event: ApiEvent, context: Context) => Promise<ApiResponse>;
