// API Gateway HTTP API (payload v2.0) events and Lambda contexts built in code, as API Gateway and the
// Lambda runtime hand them to a handler: for the handler tests and for the bench's measuring processes.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

export interface EventOptions {
  method: string;
  /** The route key's path, e.g. /users/{id}; the raw path is built from it and pathParameters. */
  route: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** Sent as JSON with Content-Type application/json. */
  json?: unknown;
  /** Sent as-is (string or bytes); set the content type in headers. */
  body?: string | Buffer;
  /** Encode a string or Buffer body as base64, as API Gateway does for binary media. */
  base64?: boolean;
  bearer?: string;
}

/** An API Gateway HTTP API (payload v2.0) event, as API Gateway hands it to Lambda. */
export function httpEvent(options: EventOptions): APIGatewayProxyEventV2 {
  const rawPath = options.route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(options.pathParameters?.[name] ?? ''));
  const headers: Record<string, string> = { host: 'api.test', 'user-agent': 'jest', ...lowerCase(options.headers ?? {}) };
  let body: string | undefined;
  let isBase64Encoded = false;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : options.body.toString('base64');
    isBase64Encoded = typeof options.body !== 'string';
  }
  if (options.base64 && body !== undefined && !isBase64Encoded) {
    body = Buffer.from(body).toString('base64');
    isBase64Encoded = true;
  }
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: `${options.method} ${options.route}`,
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters: options.query,
    pathParameters: options.pathParameters,
    body,
    isBase64Encoded,
    requestContext: {
      accountId: '123456789012',
      apiId: 'portrait-test',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method: options.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId,
      routeKey: `${options.method} ${options.route}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
  };
}

function lowerCase(headers: Record<string, string>) {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** A Lambda context with the fields handlers and Middy read. */
export function lambdaContext(functionName = 'portrait-test', remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/21/[$LATEST]test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
