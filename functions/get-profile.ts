import { getProfile } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { services } from '../lib/services';

// GET /users/me and GET /users/{id}
export const handler = endpoint({ auth: true }, async ({ viewer, pathParameters }) =>
  privateJson(200, await getProfile(viewer, pathParameters.id ?? 'me', services.objects)),
);
