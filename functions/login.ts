import { login } from '../lib/accounts/accounts';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { loginBody } from '../lib/http/schemas';

// POST /auth/login — a new session.
export const handler = endpoint({ body: loginBody }, async ({ body, origin }) => privateJson(200, await login(body.email, body.password, undefined, origin)));
