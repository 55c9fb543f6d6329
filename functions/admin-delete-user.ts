import { deleteUser } from '../lib/admin';
import { forbidden } from '../lib/errors';
import { endpoint, noContent } from '../lib/http';
import { mayEnter } from '../lib/policy';
import { services } from '../lib/services';
import { delivery } from '../lib/smtp';

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
