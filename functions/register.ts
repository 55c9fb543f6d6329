import { register } from '../lib/accounts/accounts';
import { endpoint, json } from '../lib/http/endpoint';
import { registerBody } from '../lib/http/schemas';
import { delivery } from '../lib/platform/smtp';

// POST /auth/register — the same 202 whether or not the email is known.
export const handler = endpoint({ body: registerBody }, async ({ body }) => {
  await register(body, delivery.mailer);
  return json(202, { message: 'Thanks! Check your inbox for a mail to confirm your address.' });
});
