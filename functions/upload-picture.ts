import { config } from '../lib/config';
import { endpoint, privateJson } from '../lib/http';
import { multipartFile, singleFile } from '../lib/multipart';
import { ensurePictureBucket, replacePicture } from '../lib/picture-uploads';
import { fileTooLarge, pictureOwnerFor } from '../lib/pictures';
import { toProfile } from '../lib/profiles';
import { services } from '../lib/services';

const { maxBytes } = config().pictures;

// POST /users/me/picture and POST /users/{id}/picture (managers and admins), multipart field `file`.
export const handler = endpoint(
  { auth: true, middlewares: multipartFile(maxBytes, () => fileTooLarge(maxBytes)) },
  async ({ viewer, pathParameters, event }) => {
    const ownerId = pictureOwnerFor(viewer, pathParameters.id);
    const file = singleFile(event.body);
    await ensurePictureBucket();
    const user = await replacePicture(ownerId, file.content, services.objects);
    return privateJson(200, await toProfile(user, services.objects, { includeEmail: user.id === viewer.userId || viewer.role === 'admin' }));
  },
);
