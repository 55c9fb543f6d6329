import { HttpError, notFound } from '../lib/errors';
import { endpoint } from '../lib/http/endpoint';
import { methodsFor } from '../lib/http/routes';

// Every request no other route takes ($default on AWS, `*` in serverless-offline): 404, or 405 where the path exists.
export const handler = endpoint({}, async ({ event }) => {
  const allowed = methodsFor(event.rawPath ?? '/');
  if (!allowed.length) throw notFound('There is no such path in this API. See /docs.');
  throw new HttpError(405, 'method_not_allowed', `Use ${allowed.join(', ')} on this path.`, { headers: { allow: allowed.join(', ') } });
});
