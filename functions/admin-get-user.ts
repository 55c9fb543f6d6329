import { getUser } from '../lib/admin/admin';
import { forbidden } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { mayEnter } from '../lib/admin/policy';
import { services } from '../lib/platform/services';

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
