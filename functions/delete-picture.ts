import { removePictureOf } from '../lib/admin/admin';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { pictureOwnerFor, removePicture } from '../lib/pictures/bookkeeping';
import { mayReadEmail, toProfile } from '../lib/accounts/profiles';
import { services } from '../lib/platform/services';

// DELETE /users/me/picture — back to the default avatar; DELETE /users/{id}/picture — the same for managers and admins.
export const handler = endpoint(
  // Plain users are refused before anything is looked up.
  { auth: true, authorize: (viewer, pathParameters) => void pictureOwnerFor(viewer, pathParameters.id) },
  async ({ viewer, requestId, pathParameters }) => {
    const ownerId = pictureOwnerFor(viewer, pathParameters.id);
    const user =
      ownerId === viewer.userId
        ? await removePicture(viewer.userId, services.objects)
        : await removePictureOf({ viewer, requestId }, ownerId, services.objects);
    return privateJson(200, await toProfile(user, services.objects, { includeEmail: mayReadEmail(viewer, user.id) }));
  },
);
