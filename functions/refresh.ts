import { endpoint, privateJson } from '../lib/http/endpoint';
import { refreshBody } from '../lib/http/schemas';
import { refreshSession } from '../lib/accounts/sessions';

// POST /auth/refresh — rotates the refresh token within its session.
export const handler = endpoint({ body: refreshBody }, async ({ body }) => privateJson(200, await refreshSession(body.refreshToken)));
