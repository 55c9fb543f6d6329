import { resendVerification } from '../lib/accounts/accounts';
import { endpoint, html, json } from '../lib/http/endpoint';
import { resendRequestedPage } from '../lib/http/pages';
import { emailBody } from '../lib/http/schemas';
import { delivery } from '../lib/platform/smtp';

// POST /auth/resend-verification — always 202, so it cannot tell which emails have accounts.
// JSON, or the form of the verify-email error pages (answered with a page).
export const handler = endpoint({ bodyType: 'json-or-form', body: emailBody }, async ({ body, isFormPost }) => {
  await resendVerification(body.email, delivery.mailer);
  if (isFormPost) return html(202, resendRequestedPage());
  return json(202, { message: 'If this address has an unconfirmed account, a new confirmation mail is on its way.' });
});
