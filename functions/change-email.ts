import { endpoint, json } from '../lib/http';
import { requestEmailChange } from '../lib/lifecycle';
import { changeEmailBody } from '../lib/schemas';
import { delivery } from '../lib/smtp';

// POST /users/me/email — the new address gets a confirmation link; nothing changes until it is used.
export const handler = endpoint({ auth: true, body: changeEmailBody }, async ({ viewer, body }) => {
  await requestEmailChange(viewer, body.newEmail, body.password, delivery.mailer);
  return json(202, { message: 'Check the new inbox: the address changes once its link is confirmed.' }, { 'cache-control': 'no-store' });
});
