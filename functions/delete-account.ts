import { endpoint, noContent } from '../lib/http/endpoint';
import { deleteOwnAccount } from '../lib/accounts/lifecycle';
import { deleteAccountBody } from '../lib/http/schemas';
import { services } from '../lib/platform/services';
import { delivery } from '../lib/platform/smtp';

// DELETE /users/me {password} — the account, its sessions and every object of it; a goodbye mail.
export const handler = endpoint({ auth: true, body: deleteAccountBody }, async ({ viewer, body }) => {
  await deleteOwnAccount(viewer, body.password, services.objects, delivery.mailer);
  return noContent();
});
