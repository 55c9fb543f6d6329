import { createHash } from 'node:crypto';
import * as z from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { errorBody } from '../http/response-schemas';
import { errorsOf, operations, type Operation, type Reply } from '../http/operations';

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is invalid.',
  401: 'No valid access token.',
  403: 'Not allowed.',
  404: 'Not found.',
  405: 'Method not allowed.',
  409: 'Conflict.',
  413: 'The body is too large.',
  415: 'Unsupported media type.',
  422: 'The content cannot be processed.',
  429: 'Too many attempts; see Retry-After.',
  500: 'An error on our side.',
  503: 'A database, storage or mail server is unreachable; see Retry-After.',
};

const requestIdHeader = { $ref: '#/components/headers/RequestId' } as const;

const htmlContent = { 'text/html': { schema: z.string() } };

function replyObject(status: number, reply: Reply): ZodOpenApiResponseObject {
  const content: NonNullable<ZodOpenApiResponseObject['content']> = {};
  if (reply.json) content['application/json'] = { schema: reply.json };
  if (reply.html) Object.assign(content, htmlContent);
  for (const media of reply.media ?? []) content[media] = { schema: z.string() };
  const headers: NonNullable<ZodOpenApiResponseObject['headers']> = { 'x-request-id': requestIdHeader };
  if (reply.redirect) headers.location = { description: 'Where to go.', schema: { type: 'string', format: 'uri-reference' } };
  for (const [name, description] of Object.entries(reply.headers ?? {})) headers[name] = { description, schema: { type: 'string' } };
  return { description: reply.description || `${status}`, headers, ...(Object.keys(content).length ? { content } : {}) };
}

function errorReply(status: number, codes: string[], operation: Operation): ZodOpenApiResponseObject {
  const headers: NonNullable<ZodOpenApiResponseObject['headers']> = { 'x-request-id': requestIdHeader };
  if (status === 429 || status === 503) headers['retry-after'] = { description: 'Seconds to wait.', schema: { type: 'string' } };
  return {
    description: `${STATUS_TEXT[status] ?? 'Error.'} Codes: ${codes.map((code) => `\`${code}\``).join(', ')}.`,
    headers,
    content: {
      'application/json': { schema: errorBody(codes as [string, ...string[]]) },
      ...(operation.htmlErrors && status < 500 ? htmlContent : {}),
    },
  };
}

function operationObject(operation: Operation): ZodOpenApiOperationObject {
  const pathNames = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, reply] of Object.entries(operation.replies)) responses[status] = replyObject(Number(status), reply);
  for (const [status, codes] of Object.entries(errorsOf(operation))) {
    // A status can be both a page and an error body (GET /auth/verify-email's 400 page): the page wins.
    responses[status] ??= errorReply(Number(status), codes, operation);
  }

  const object: ZodOpenApiOperationObject = {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    security: operation.auth ? [{ bearer: [] }] : [],
    responses,
  };
  if (pathNames.length || operation.query) {
    object.requestParams = {
      ...(pathNames.length
        ? { path: z.object(Object.fromEntries(pathNames.map((name) => [name, z.string().meta({ description: name === 'id' ? 'A user id (UUID, any case).' : undefined })]))) }
        : {}),
      ...(operation.query ? { query: operation.query } : {}),
    };
  }
  if (operation.body && 'multipart' in operation.body) {
    object.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: z.object({ file: z.string().meta({ contentMediaType: 'application/octet-stream', description: 'The image (JPEG, PNG, GIF, WebP or AVIF).' }) }),
        },
      },
    };
  } else if (operation.body) {
    object.requestBody = {
      required: operation.body.required ?? true,
      content: {
        'application/json': { schema: operation.body.schema },
        ...(operation.body.form ? { 'application/x-www-form-urlencoded': { schema: operation.body.schema } } : {}),
      },
    };
  }
  return object;
}

export function buildOpenApiDocument(options: { serverUrl?: string; list?: Operation[] } = {}) {
  const paths: ZodOpenApiPathsObject = {};
  for (const operation of options.list ?? operations) {
    const item = (paths[operation.path] ??= {});
    (item as Record<string, ZodOpenApiOperationObject>)[operation.method.toLowerCase()] = operationObject(operation);
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Portrait API',
      version: '0.1.0',
      summary: 'User accounts with profile pictures.',
      description: [
        'JSON in and out, camelCase. Every error is `{"error": {"code", "message"}}` (validation errors add `details`),',
        'every response carries `x-request-id`, and responses with personal data carry `Cache-Control: no-store`.',
        'Any other method or path answers 404 `not_found`, or 405 `method_not_allowed` where the path exists.',
      ].join(' '),
      license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: [
      { name: 'auth', description: 'Registration, confirmation, sign-in and tokens.' },
      { name: 'profile', description: 'Profiles.' },
      { name: 'pictures', description: 'Profile pictures.' },
      { name: 'sessions', description: 'Account lifecycle and sessions.' },
      { name: 'admin', description: 'For managers and admins.' },
      { name: 'service', description: 'Health, documents and the web app.' },
    ],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token of POST /auth/login.' } },
      headers: { RequestId: { description: 'The id of this request, also in the logs.', schema: { type: 'string' } } },
    },
  });
}

export interface SerializedDocument {
  body: string;
  etag: string;
}

/** The document as served: built once per container, with a strong ETag of its bytes. */
export function serializeDocument(document: object): SerializedDocument {
  const body = JSON.stringify(document);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}
