import { removePictureOf } from '../lib/admin';
import { endpoint, privateJson } from '../lib/http';
import { pictureOwnerFor, removePicture } from '../lib/pictures';
import { mayReadEmail, toProfile } from '../lib/profiles';
import { services } from '../lib/services';

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
