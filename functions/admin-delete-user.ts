import { deleteUser } from '../lib/admin/admin';
import { forbidden } from '../lib/errors';
import { endpoint, noContent } from '../lib/http/endpoint';
import { mayEnter } from '../lib/admin/policy';
import { services } from '../lib/platform/services';
import { delivery } from '../lib/platform/smtp';

// DELETE /admin/users/{id} — admins; the same clean-up and goodbye mail as DELETE /users/me.
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'users.delete')) throw forbidden('Only admins may delete accounts.');
    },
  },
  async ({ viewer, requestId, pathParameters }) => {
    await deleteUser({ viewer, requestId }, pathParameters.id, services.objects, delivery.mailer);
    return noContent();
  },
);
