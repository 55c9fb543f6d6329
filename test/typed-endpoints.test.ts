// endpoint()'s types: a viewer only for `auth: true`, body and query typed by their zod schemas. The lines marked
// as expected type errors are checked by `npm run typecheck` (tsc fails if one of them stops being an error); the
// tests check the same at run time on built handlers.
import { expect, test } from '@jest/globals';
import { z } from 'zod';
import { endpoint, json } from '../lib/http/endpoint';
import { httpEvent, lambdaContext } from '../scripts/support/events';

const countBody = z.object({ count: z.number().int() });
const pageQuery = z.object({ page: z.coerce.number().int().default(1) });

const publicEndpoint = endpoint({ body: countBody, query: pageQuery }, async (request) => {
  const doubled: number = request.body.count * 2;
  const page: number = request.query.page;
  // @ts-expect-error a public endpoint's request has no viewer
  void request.viewer;
  // @ts-expect-error the body is the schema's output, not any
  void request.body.missing;
  return json(200, { doubled, page, hasViewer: 'viewer' in request });
});

const noBodyEndpoint = endpoint({}, async (request) => {
  const nothing: undefined = request.body;
  return json(200, { body: nothing ?? null, signal: request.signal instanceof AbortSignal });
});

// An auth endpoint's run takes a viewer; no call is made here (it would need a session), the type is the point.
endpoint({ auth: true }, async ({ viewer }) => json(200, { userId: viewer.userId }));

test('a public endpoint gets the parsed body and query, and no viewer', async () => {
  const response = await publicEndpoint(
    httpEvent({ method: 'POST', route: '/typed', json: { count: 21 }, query: { page: '3' } }),
    lambdaContext(),
  );
  expect(JSON.parse(response.body ?? '')).toEqual({ doubled: 42, page: 3, hasViewer: false });
});

test('an endpoint without schemas gets an undefined body and the abort signal', async () => {
  const response = await noBodyEndpoint(httpEvent({ method: 'GET', route: '/typed' }), lambdaContext());
  expect(JSON.parse(response.body ?? '')).toEqual({ body: null, signal: true });
});
