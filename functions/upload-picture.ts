import { config } from '../lib/config';
import { endpoint, privateJson } from '../lib/http';
import { multipartFile, singleFile } from '../lib/multipart';
import { ensurePictureBucket, replacePicture } from '../lib/picture-uploads';
import { fileTooLarge, pictureOwnerFor } from '../lib/pictures';
import { mayReadEmail, toProfile } from '../lib/profiles';
import { services } from '../lib/services';

const { maxBytes } = config().pictures;

// POST /users/me/picture and POST /users/{id}/picture (managers and admins), multipart field `file`.
export const handler = endpoint(
  {
    auth: true,
    // Refused before the upload is parsed: another user's picture is for managers and admins only.
    authorize: (viewer, pathParameters) => void pictureOwnerFor(viewer, pathParameters.id),
    middlewares: multipartFile(maxBytes, () => fileTooLarge(maxBytes)),
  },
  async ({ viewer, pathParameters, event }) => {
    const ownerId = pictureOwnerFor(viewer, pathParameters.id);
    const file = singleFile(event.body);
    await ensurePictureBucket();
    const user = await replacePicture(ownerId, file.content, services.objects);
    return privateJson(200, await toProfile(user, services.objects, { includeEmail: mayReadEmail(viewer, user.id) }));
  },
);
