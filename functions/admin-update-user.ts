import { updateUser } from '../lib/admin/admin';
import { forbidden } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { mayEnter } from '../lib/admin/policy';
import { adminUserChangesBody } from '../lib/http/schemas';
import { services } from '../lib/platform/services';

// PATCH /admin/users/{id} {nickname?, firstName?, lastName?, bio?, githubUrl?, linkedinUrl?, websiteUrl?, role?, disabled?}
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'users.edit')) throw forbidden('Only managers and admins may edit other accounts.');
    },
    body: adminUserChangesBody,
  },
  async ({ viewer, requestId, pathParameters, body }) =>
    privateJson(200, await updateUser({ viewer, requestId }, pathParameters.id, body, services.objects)),
);
