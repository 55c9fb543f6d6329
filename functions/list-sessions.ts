import { endpoint, privateJson } from '../lib/http/endpoint';
import { listSessions } from '../lib/accounts/sessions';

// GET /users/me/sessions — where the caller is signed in; `current` marks this token's session.
export const handler = endpoint({ auth: true }, async ({ viewer }) => privateJson(200, { sessions: await listSessions(viewer) }));
