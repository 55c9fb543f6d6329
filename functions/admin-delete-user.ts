import { deleteUser } from '../lib/admin';
import { forbidden } from '../lib/errors';
import { endpoint, noContent } from '../lib/http';
import { mayEnter } from '../lib/policy';
import { services } from '../lib/services';

// DELETE /admin/users/{id} — admins; the same clean-up as DELETE /users/me.
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'users.delete')) throw forbidden('Only admins may delete accounts.');
    },
  },
  async ({ viewer, requestId, pathParameters }) => {
    await deleteUser({ viewer, requestId }, pathParameters.id, services.objects);
    return noContent();
  },
);
