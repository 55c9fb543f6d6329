import { updateProfile } from '../lib/accounts/accounts';
import { HttpError } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { profileChangesBody } from '../lib/http/schemas';
import { urlSigner } from '../lib/platform/url-signer';

// Fields a caller may expect to change here but that have their own, guarded way; ignoring them
// silently would answer 200 for a change that did not happen. Other unknown fields stay ignored.
const CHANGED_ELSEWHERE: Record<string, string> = {
  email: 'cannot be changed here: use POST /users/me/email with your password',
  role: 'is not self-service: an admin changes roles with PATCH /admin/users/{id}',
};

// PATCH /users/me
export const handler = endpoint({ auth: true, body: profileChangesBody }, async ({ viewer, body, event }) => {
  const sent = event.body as unknown;
  const details = Object.fromEntries(
    Object.entries(CHANGED_ELSEWHERE).filter(([field]) => typeof sent === 'object' && sent !== null && field in sent),
  );
  if (Object.keys(details).length) throw new HttpError(400, 'validation_failed', 'Some fields cannot be changed with PATCH /users/me.', { details });
  return privateJson(200, await updateProfile(viewer, body, urlSigner));
});
