import { getUser } from '../lib/admin';
import { forbidden } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http';
import { mayEnter } from '../lib/policy';
import { services } from '../lib/services';

// GET /admin/users/{id} — managers and admins.
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'users.read')) throw forbidden('Only managers and admins may see the user list.');
    },
  },
  async ({ viewer, pathParameters }) => privateJson(200, await getUser(viewer, pathParameters.id, services.objects)),
);
