import { updateProfile } from '../lib/accounts';
import { endpoint, privateJson } from '../lib/http';
import { profileChangesBody } from '../lib/schemas';
import { urlSigner } from '../lib/url-signer';

// PATCH /users/me
export const handler = endpoint({ auth: true, body: profileChangesBody }, async ({ viewer, body }) =>
  privateJson(200, await updateProfile(viewer, body, urlSigner)),
);
