import { endpoint, noContent } from '../lib/http';
import { logoutBody } from '../lib/schemas';
import { endSessionOf } from '../lib/sessions';

// POST /auth/logout — revokes the session of the refresh token; 204 whatever token was sent.
export const handler = endpoint({ body: logoutBody }, async ({ body }) => {
  if (body.refreshToken) await endSessionOf(body.refreshToken);
  return noContent();
});
