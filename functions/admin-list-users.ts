import { listUsers } from '../lib/admin/admin';
import { forbidden } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { mayEnter } from '../lib/admin/policy';
import { listUsersQuery } from '../lib/http/schemas';
import { services } from '../lib/platform/services';

// GET /admin/users?q=&role=&disabled=&limit=&cursor= — managers and admins; newest first, keyset pages.
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'users.list')) throw forbidden('Only managers and admins may see the user list.');
    },
    query: listUsersQuery,
  },
  async ({ viewer, query }) => privateJson(200, await listUsers(viewer, query, services.objects)),
);
