import { endpoint, json } from '../lib/http/endpoint';
import { forgotPassword } from '../lib/accounts/lifecycle';
import { emailBody } from '../lib/http/schemas';
import { delivery } from '../lib/platform/smtp';

// POST /auth/forgot-password — the same 202 for every email; a known account gets a reset link.
export const handler = endpoint({ body: emailBody }, async ({ body }) => {
  await forgotPassword(body.email, delivery.mailer);
  return json(202, { message: 'If an account uses this address, a link to reset its password is on its way.' });
});
