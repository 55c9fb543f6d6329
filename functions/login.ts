import { login } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { loginBody } from '../lib/schemas';

// POST /auth/login
export const handler = endpoint({ body: loginBody }, async ({ body }) => privateJson(200, await login(body.email, body.password)));
