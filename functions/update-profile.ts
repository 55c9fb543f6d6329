import { updateProfile } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { profileChangesBody } from '../lib/schemas';
import { services } from '../lib/services';

// PATCH /users/me
export const handler = endpoint({ auth: true, body: profileChangesBody }, async ({ viewer, body }) =>
  privateJson(200, await updateProfile(viewer, body, services.objects)),
);
