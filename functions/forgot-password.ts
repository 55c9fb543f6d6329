import { endpoint, json } from '../lib/http';
import { forgotPassword } from '../lib/lifecycle';
import { emailBody } from '../lib/schemas';
import { delivery } from '../lib/smtp';

// POST /auth/forgot-password — the same 202 for every email; a known account gets a reset link.
export const handler = endpoint({ body: emailBody }, async ({ body }) => {
  await forgotPassword(body.email, delivery.mailer);
  return json(202, { message: 'If an account uses this address, a link to reset its password is on its way.' });
});
