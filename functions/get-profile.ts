import { getProfile } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { urlSigner } from '../lib/url-signer';

// GET /users/me and GET /users/{id}
export const handler = endpoint({ auth: true }, async ({ viewer, pathParameters }) =>
  privateJson(200, await getProfile(viewer, pathParameters.id ?? 'me', urlSigner)),
);
