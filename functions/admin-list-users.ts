import { listUsers } from '../lib/admin';
import { forbidden } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http';
import { mayEnter } from '../lib/policy';
import { listUsersQuery } from '../lib/schemas';
import { services } from '../lib/services';

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
