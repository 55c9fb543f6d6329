import { endpoint, privateJson } from '../lib/http/endpoint';
import { changePassword } from '../lib/accounts/lifecycle';
import { changePasswordBody } from '../lib/http/schemas';

// POST /users/me/password — needs the current password; a new session's tokens, every other session ends.
export const handler = endpoint({ auth: true, body: changePasswordBody }, async ({ viewer, body, origin }) =>
  privateJson(200, await changePassword(viewer, body.currentPassword, body.newPassword, origin)),
);
