import { unlockUser } from '../lib/admin/admin';
import { forbidden } from '../lib/errors';
import { endpoint, noContent } from '../lib/http/endpoint';
import { mayEnter } from '../lib/admin/policy';

// POST /admin/users/{id}/unlock — managers and admins; clears the login throttle of the account.
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'users.unlock')) throw forbidden('Only managers and admins may unlock accounts.');
    },
  },
  async ({ viewer, requestId, pathParameters }) => {
    await unlockUser({ viewer, requestId }, pathParameters.id);
    return noContent();
  },
);
