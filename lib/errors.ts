/**
 * The one error type of the API. Every failure that reaches a client is an
 * HttpError; anything else is rendered as a generic 500 (see lib/http.ts).
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: Record<string, string>;
  readonly headers?: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: Record<string, string>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

/**
 * 401 for a Bearer-protected route, with the RFC 6750 challenge: no `error` when no token came,
 * `error="invalid_token"` when one came and cannot be used (its description says why, e.g. expired).
 */
export const unauthorized = (message = 'Authentication is required.', tokenProblem?: string) =>
  new HttpError(401, 'unauthorized', message, {
    headers: {
      'www-authenticate': tokenProblem
        ? `Bearer realm="portrait", error="invalid_token", error_description="${tokenProblem.replace(/["\\]/g, '')}"`
        : 'Bearer realm="portrait"',
    },
  });

export const forbidden = (message = 'You are not allowed to do this.') => new HttpError(403, 'forbidden', message);

export const notFound = (message = 'Not found.') => new HttpError(404, 'not_found', message);

export const serviceUnavailable = (what: string, cause?: unknown) =>
  new HttpError(503, 'service_unavailable', `The ${what} is unavailable right now. Please try again shortly.`, {
    cause,
    headers: { 'retry-after': '5' },
  });
