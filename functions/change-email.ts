import { endpoint, json } from '../lib/http/endpoint';
import { requestEmailChange } from '../lib/accounts/lifecycle';
import { changeEmailBody } from '../lib/http/schemas';
import { delivery } from '../lib/platform/smtp';

// POST /users/me/email — the new address gets a confirmation link; nothing changes until it is used.
export const handler = endpoint({ auth: true, body: changeEmailBody }, async ({ viewer, body }) => {
  await requestEmailChange(viewer, body.newEmail, body.password, delivery.mailer);
  return json(202, { message: 'Check the new inbox: the address changes once its link is confirmed.' }, { 'cache-control': 'no-store' });
});
