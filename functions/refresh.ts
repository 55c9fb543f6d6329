import { refresh } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { refreshBody } from '../lib/schemas';

// POST /auth/refresh — rotates the refresh token.
export const handler = endpoint({ body: refreshBody }, async ({ body }) => privateJson(200, await refresh(body.refreshToken)));
