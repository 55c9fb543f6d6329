import { randomUUID } from 'node:crypto';
import middy, { type MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { config } from './config';
import { HttpError, serviceUnavailable } from './errors';
import { logRequest } from './log';
import { authenticate, type AccessClaims, type VerifiedAccessToken } from './tokens';

type SessionCheck = (token: VerifiedAccessToken) => Promise<AccessClaims>;
let sessionCheck: SessionCheck | undefined;

/**
 * lib/sessions.ts registers the session check here when it loads (lib/db.ts loads it), so functions
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
  /** The caller, when the endpoint requires a Bearer token (auth: true). */
  viewer: AccessClaims;
  /** The client as API Gateway saw it, for the session list. */
  origin: { userAgent?: string; ip?: string };
}

export interface EndpointOptions<Body, Query> {
  /** json: JSON bodies only; json-or-form: JSON or application/x-www-form-urlencoded; none: no body read. */
  bodyType?: 'json' | 'json-or-form' | 'none';
  body?: z.ZodType<Body>;
  query?: z.ZodType<Query>;
  /** Require `Authorization: Bearer <access token>`; checked before the body is read. */
  auth?: boolean;
  /** With auth: may this viewer do this (path parameters known, body not yet read)? Throw to refuse. */
  authorize?: (viewer: AccessClaims, pathParameters: Record<string, string | undefined>) => void;
  /** Extra middlewares (e.g. multipart parsing) run after the boundary and before validation. */
  middlewares?: MiddlewareObj<ApiEvent, ApiResponse, Error, Context>[];
}

type RequestState = { requestId: string; startedAt: number; viewer?: AccessClaims };
const requestState = new WeakMap<object, RequestState>();

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
  // Only the JSON and form parsers are used (multipart is parsed by lib/multipart.ts, which throws HttpErrors).
  const what = cause.package === '@middy/http-urlencode-body-parser' ? 'a valid form' : 'valid JSON';
  return new HttpError(400, 'invalid_json', `The body is not ${what}.`, { cause: error });
}

/** Outermost middleware: request id, error rendering, one log line per request. */
const boundary = (): MiddlewareObj<ApiEvent, ApiResponse, Error, Context> => ({
  before: (request) => {
    // Lambda's request id: unique on AWS and under serverless-offline (whose API request id is a constant).
    const requestId = request.context?.awsRequestId || request.event.requestContext?.requestId || randomUUID();
    requestState.set(request.event, { requestId, startedAt: performance.now() });
    canonicalisePathIds(request.event);
  },
  after: (request) => {
    finish(request.event, request.response);
  },
  onError: (request) => {
    const error = toHttpError(request.error);
    request.response = json(error.status, errorBody(error.status < 500 ? error : genericFor(error)), {
      'cache-control': 'no-store',
      ...error.headers,
    });
    finish(request.event, request.response, error);
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

function finish(event: ApiEvent, response: ApiResponse | null | undefined, error?: HttpError) {
  const state = requestState.get(event) ?? { requestId: randomUUID(), startedAt: performance.now() };
  if (!response) return;
  // nosniff on every response: no browser may guess a type other than the one declared.
  response.headers = { ...response.headers, 'x-content-type-options': 'nosniff', 'x-request-id': state.requestId };
  logRequest({
    requestId: state.requestId,
    route: event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`,
    status: response.statusCode,
    durationMs: Math.round((performance.now() - state.startedAt) * 10) / 10,
    error,
  });
}

const requireViewer = (
  authorize?: EndpointOptions<unknown, unknown>['authorize'],
): MiddlewareObj<ApiEvent, ApiResponse, Error, Context> => ({
  before: async ({ event }) => {
    // A valid signature is not enough: the session must still be live (one indexed lookup).
    if (!sessionCheck) throw new HttpError(500, 'internal_error', 'Something went wrong on our side. Please try again.');
    const viewer = await sessionCheck(await authenticate(lowerCaseHeaders(event.headers)));
    const state = requestState.get(event);
    if (state) state.viewer = viewer;
    authorize?.(viewer, event.pathParameters ?? {});
  },
});

/** Refuses bodies larger than the endpoint reads, before any parser or hash sees them. */
export const bodyLimit = (
  maxBytes: number,
  tooLarge: () => HttpError = () => new HttpError(413, 'payload_too_large', `The request body is larger than ${maxBytes} bytes.`),
): MiddlewareObj<ApiEvent, ApiResponse, Error, Context> => ({
  before: ({ event }) => {
    if (!event.body) return;
    const bytes = event.isBase64Encoded ? Math.floor((event.body.length * 3) / 4) : Buffer.byteLength(event.body);
    if (bytes > maxBytes) throw tooLarge();
  },
});

/** Accepts JSON, or an HTML form when allowed; anything else is 415. */
const bodyParsers = (bodyType: 'json' | 'json-or-form'): MiddlewareObj<ApiEvent, ApiResponse, Error, Context>[] => {
  if (bodyType === 'json') return [requireBody(), httpJsonBodyParser() as MiddlewareObj<ApiEvent, ApiResponse, Error, Context>];
  return [
    requireBody(),
    httpJsonBodyParser({ disableContentTypeError: true }) as MiddlewareObj<ApiEvent, ApiResponse, Error, Context>,
    httpUrlencodeBodyParser({ disableContentTypeError: true }) as MiddlewareObj<ApiEvent, ApiResponse, Error, Context>,
    {
      before: ({ event }) => {
        if (typeof event.body === 'string') {
          throw new HttpError(415, 'unsupported_media_type', 'Send the body as JSON or as an HTML form.');
        }
      },
    },
  ];
};

const requireBody = (): MiddlewareObj<ApiEvent, ApiResponse, Error, Context> => ({
  before: ({ event }) => {
    if (event.body === undefined || event.body === null || event.body === '') {
      throw new HttpError(400, 'validation_failed', 'A request body is required.', { details: { body: 'is required' } });
    }
  },
});

/** zod → 400 validation_failed with one message per field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(value ?? {});
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

/**
 * Builds a Lambda handler from one shared middleware stack:
 * boundary (request id, errors, logs) → bearer token → body size limit → body parser → validation → handler.
 */
export function endpoint<Body = undefined, Query = undefined>(
  options: EndpointOptions<Body, Query>,
  run: (request: ApiRequest<Body, Query>) => Promise<ApiResponse>,
) {
  // Every setting is checked while the function loads, so that a bad one fails the cold start
  // (Lambda reports it as an init error naming the variable) instead of its first request.
  config();
  const bodyType = options.bodyType ?? (options.body ? 'json' : 'none');
  const stack: MiddlewareObj<ApiEvent, ApiResponse, Error, Context>[] = [boundary()];
  if (options.auth) stack.push(requireViewer(options.authorize));
  if (bodyType !== 'none') stack.push(bodyLimit(MAX_FORM_BODY_BYTES), ...bodyParsers(bodyType));
  stack.push(...(options.middlewares ?? []));

  return middy<ApiEvent, ApiResponse, Error, Context>({
    // Shortly before Lambda's own timeout, answer a 503 with the error body rather than API Gateway's bare one.
    timeoutEarlyInMillis: 500,
    timeoutEarlyResponse: () => {
      throw serviceUnavailable('service');
    },
  })
    .use(stack)
    .handler(async (event) => {
      const headers = lowerCaseHeaders(event.headers);
      const isFormPost = /^application\/x-www-form-urlencoded/i.test(headers['content-type'] ?? '');
      return run({
        event,
        body: options.body ? validate(options.body, event.body, 'body') : (undefined as Body),
        query: options.query ? validate(options.query, event.queryStringParameters, 'query') : (undefined as Query),
        requestId: requestState.get(event)?.requestId ?? randomUUID(),
        headers,
        pathParameters: event.pathParameters ?? {},
        isFormPost,
        viewer: requestState.get(event)?.viewer as AccessClaims,
        origin: { userAgent: headers['user-agent'], ip: event.requestContext?.http?.sourceIp },
      });
    });
}
