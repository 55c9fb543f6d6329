import { endpoint, privateJson } from '../lib/http';
import { refreshBody } from '../lib/schemas';
import { refreshSession } from '../lib/sessions';

// POST /auth/refresh — rotates the refresh token within its session.
export const handler = endpoint({ body: refreshBody }, async ({ body }) => privateJson(200, await refreshSession(body.refreshToken)));
