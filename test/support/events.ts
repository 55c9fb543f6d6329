import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { httpEvent, lambdaContext, type EventOptions } from '../../scripts/support/events';
import { expectDocumented } from './contract';

export interface InvokeResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  json: any;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** Calls an exported handler with a built event and returns the response in an easy shape. */
export async function invoke(handler: Handler, options: EventOptions, context: Context = lambdaContext()): Promise<InvokeResult> {
  const response = (await handler(httpEvent(options), context)) as {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
  };
  const decoded = response as { isBase64Encoded?: boolean };
  const body = decoded.isBase64Encoded ? '' : (response.body ?? '');
  const headers = response.headers ?? {};
  // Every answer of every handler test is checked against the OpenAPI document (test/support/contract.ts).
  expectDocumented({ method: options.method, route: options.route, status: response.statusCode, contentType: headers['content-type'], body });
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers, body: response.body ?? '', json };
}
