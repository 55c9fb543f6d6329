import { endpoint, noContent } from '../lib/http';
import { deleteOwnAccount } from '../lib/lifecycle';
import { deleteAccountBody } from '../lib/schemas';
import { services } from '../lib/services';
import { delivery } from '../lib/smtp';

// DELETE /users/me {password} — the account, its sessions and every object of it; a goodbye mail.
export const handler = endpoint({ auth: true, body: deleteAccountBody }, async ({ viewer, body }) => {
  await deleteOwnAccount(viewer, body.password, services.objects, delivery.mailer);
  return noContent();
});
