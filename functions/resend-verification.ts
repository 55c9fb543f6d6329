import { resendVerification } from '../lib/accounts';
import { endpoint, json } from '../lib/http';
import { emailBody } from '../lib/schemas';
import { delivery } from '../lib/smtp';

// POST /auth/resend-verification — always 202, so it cannot tell which emails have accounts.
export const handler = endpoint({ body: emailBody }, async ({ body }) => {
  await resendVerification(body.email, delivery.mailer);
  return json(202, { message: 'If this address has an unconfirmed account, a new confirmation mail is on its way.' });
});
