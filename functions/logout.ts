import { logout } from '../lib/accounts';
import { endpoint, noContent } from '../lib/http';
import { logoutBody } from '../lib/schemas';

// POST /auth/logout — revokes the session of the refresh token; 204 whatever token was sent.
export const handler = endpoint({ body: logoutBody }, async ({ body }) => {
  if (body.refreshToken) await logout(body.refreshToken);
  return noContent();
});
