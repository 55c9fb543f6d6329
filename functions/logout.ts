import { endpoint, noContent } from '../lib/http/endpoint';
import { logoutBody } from '../lib/http/schemas';
import { endSessionOf } from '../lib/accounts/sessions';

// POST /auth/logout — revokes the session of the refresh token; 204 whatever token was sent.
export const handler = endpoint({ body: logoutBody }, async ({ body }) => {
  if (body.refreshToken) await endSessionOf(body.refreshToken);
  return noContent();
});
