import { endpoint, noContent } from '../lib/http/endpoint';
import { revokeAllSessions, revokeSession } from '../lib/accounts/sessions';

// DELETE /users/me/sessions/{id} — one session; DELETE /users/me/sessions — every session ("sign out everywhere").
export const handler = endpoint({ auth: true }, async ({ viewer, pathParameters }) => {
  if (pathParameters.id === undefined) await revokeAllSessions(viewer.userId);
  else await revokeSession(viewer, pathParameters.id);
  return noContent();
});
