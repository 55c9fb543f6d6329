import { login } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { loginBody } from '../lib/schemas';

// POST /auth/login — a new session.
export const handler = endpoint({ body: loginBody }, async ({ body, origin }) => privateJson(200, await login(body.email, body.password, undefined, origin)));
