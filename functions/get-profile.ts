import { getProfile } from '../lib/accounts/accounts';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { urlSigner } from '../lib/platform/url-signer';

// GET /users/me and GET /users/{id}
export const handler = endpoint({ auth: true }, async ({ viewer, pathParameters }) =>
  privateJson(200, await getProfile(viewer, pathParameters.id ?? 'me', urlSigner)),
);
