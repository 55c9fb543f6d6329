import { auditedPictureChange, authorizePictureChange } from '../lib/admin/admin';
import { config } from '../lib/platform/config';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { multipartFile, singleFile } from '../lib/http/multipart';
import { replacePicture } from '../lib/pictures/pipeline';
import { ensureBucket } from '../lib/platform/storage';
import { fileTooLarge, pictureOwnerFor } from '../lib/pictures/bookkeeping';
import { mayReadEmail, toProfile } from '../lib/accounts/profiles';
import { services } from '../lib/platform/services';

const { maxBytes } = config().pictures;

// POST /users/me/picture and POST /users/{id}/picture (managers and admins), multipart field `file`.
export const handler = endpoint(
  {
    auth: true,
    // Refused before the upload is parsed: another user's picture is for managers and admins only.
    authorize: (viewer, pathParameters) => void pictureOwnerFor(viewer, pathParameters.id),
    middlewares: multipartFile(maxBytes, () => fileTooLarge(maxBytes)),
  },
  async ({ viewer, requestId, pathParameters, event }) => {
    const ownerId = pictureOwnerFor(viewer, pathParameters.id);
    const forAnother = ownerId !== viewer.userId;
    // Another account's picture: the rules of lib/admin/policy.ts on fresh rows, then again with the audit entry at commit.
    if (forAnother) await authorizePictureChange(viewer, ownerId);
    const file = singleFile(event.body);
    // The bucket once per container; the default avatar is set-up work (setupStorage), not an upload's.
    await ensureBucket();
    const user = await replacePicture(ownerId, file.content, services.objects, forAnother ? auditedPictureChange({ viewer, requestId }, ownerId) : undefined);
    return privateJson(200, await toProfile(user, services.objects, { includeEmail: mayReadEmail(viewer, user.id) }));
  },
);
