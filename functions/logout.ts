import { logout } from '../lib/accounts';
import { endpoint, noContent } from '../lib/http';
import { refreshBody } from '../lib/schemas';

// POST /auth/logout — revokes the session of the refresh token.
export const handler = endpoint({ body: refreshBody }, async ({ body }) => {
  await logout(body.refreshToken);
  return noContent();
});
