import { endpoint, privateJson } from '../lib/http';
import { removePicture } from '../lib/pictures';
import { toProfile } from '../lib/profiles';
import { services } from '../lib/services';

// DELETE /users/me/picture — back to the default avatar.
export const handler = endpoint({ auth: true }, async ({ viewer }) => {
  const user = await removePicture(viewer.userId, services.objects);
  return privateJson(200, await toProfile(user, services.objects, { includeEmail: true }));
});
