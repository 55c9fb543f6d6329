import { endpoint, privateJson } from '../lib/http/endpoint';
import { confirmDirectUpload } from '../lib/pictures/pipeline';
import { ensureBucket } from '../lib/platform/storage';
import { toProfile } from '../lib/accounts/profiles';
import { pictureKeyBody } from '../lib/http/schemas';
import { services } from '../lib/platform/services';

// POST /users/me/picture/confirm {key} — the uploaded object goes through the same pipeline as multipart.
export const handler = endpoint({ auth: true, body: pictureKeyBody }, async ({ viewer, body }) => {
  // The bucket once per container; the default avatar is set-up work (setupStorage), not an upload's.
  await ensureBucket();
  const user = await confirmDirectUpload(viewer.userId, body.key, services.objects);
  return privateJson(200, await toProfile(user, services.objects, { includeEmail: true }));
});
