/**
 * The error catalogue: every code the API answers with, the statuses it comes with and what it means.
 * A code outside this table does not type-check, and a status a code does not list does not either:
 * `new HttpError(409, 'invalid_json', …)` is a compile error. The OpenAPI document's error codes are
 * typed against the same table (lib/http/operations.ts).
 */
export const errorCatalogue = {
  validation_failed: { statuses: [400], meaning: 'A field of the body, query or path is missing or invalid.' },
  invalid_json: { statuses: [400], meaning: 'The body is not valid JSON (or not a valid form).' },
  invalid_multipart: { statuses: [400], meaning: 'The multipart body is malformed.' },
  missing_file: { statuses: [400], meaning: 'No file, or an empty one, was sent.' },
  password_required: { statuses: [400], meaning: 'This change needs the current password.' },
  // 400 for a token from a mailed link (a bad request), 401 for a bearer or refresh token (RFC 6750).
  invalid_token: { statuses: [400, 401], meaning: 'The token is unknown, used, expired or of another kind.' },
  unauthorized: { statuses: [401], meaning: 'No usable access token came.' },
  invalid_credentials: { statuses: [401], meaning: 'Email or password is wrong.' },
  forbidden: { statuses: [403], meaning: 'The caller may not do this.' },
  wrong_password: { statuses: [403], meaning: 'The current password is wrong.' },
  email_not_verified: { statuses: [403], meaning: 'The address is not confirmed yet.' },
  account_disabled: { statuses: [403], meaning: 'An administrator disabled the account.' },
  not_found: { statuses: [404], meaning: 'No such route or resource.' },
  method_not_allowed: { statuses: [405], meaning: 'The route exists but not with this method.' },
  nickname_taken: { statuses: [409], meaning: 'Another account has this nickname.' },
  last_admin: { statuses: [409], meaning: 'The last administrator cannot be demoted, disabled or deleted.' },
  payload_too_large: { statuses: [413], meaning: 'The body is larger than the route accepts.' },
  file_too_large: { statuses: [413], meaning: 'The picture is larger than the accepted size.' },
  unsupported_media_type: { statuses: [415], meaning: 'The body or file has a type this route does not take.' },
  invalid_image: { statuses: [422], meaning: 'The file could not be decoded as an image.' },
  image_too_large: { statuses: [422], meaning: 'The image has more pixels than accepted.' },
  too_many_attempts: { statuses: [429], meaning: 'Too many attempts; retry after the time given.' },
  internal_error: { statuses: [500], meaning: 'A failure on our side; the message never says more.' },
  service_unavailable: { statuses: [503], meaning: 'A backing service (database, storage, mail) is down; retry.' },
} as const satisfies Record<string, { statuses: readonly number[]; meaning: string }>;

export type ErrorCode = keyof typeof errorCatalogue;
/** The statuses a code may be answered with. */
export type StatusOf<Code extends ErrorCode> = (typeof errorCatalogue)[Code]['statuses'][number];

/**
 * The one error type of the API. Every failure that reaches a client is an
 * HttpError; anything else is rendered as a generic 500 (see lib/http/endpoint.ts).
 */
export class HttpError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly status: StatusOf<Code>;
  readonly code: Code;
  readonly details?: Record<string, string>;
  readonly headers?: Record<string, string>;

  constructor(
    status: StatusOf<Code>,
    code: Code,
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

export const lastAdmin = () => new HttpError(409, 'last_admin', 'This is the last active admin: make another admin first.');

export const serviceUnavailable = (what: string, cause?: unknown) =>
  new HttpError(503, 'service_unavailable', `The ${what} is unavailable right now. Please try again shortly.`, {
    cause,
    headers: { 'retry-after': '5' },
  });
