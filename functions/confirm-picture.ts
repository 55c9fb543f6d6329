import * as z from 'zod';
import { endpoint, privateJson } from '../lib/http';
import { confirmDirectUpload, ensurePictureBucket } from '../lib/picture-uploads';
import { toProfile } from '../lib/profiles';
import { services } from '../lib/services';

const confirmBody = z.object({ key: z.string({ error: 'must be a string' }).min(1, 'is required').max(256, 'is too long') });

// POST /users/me/picture/confirm {key} — the uploaded object goes through the same pipeline as multipart.
export const handler = endpoint({ auth: true, body: confirmBody }, async ({ viewer, body }) => {
  await ensurePictureBucket();
  const user = await confirmDirectUpload(viewer.userId, body.key, services.objects);
  return privateJson(200, await toProfile(user, services.objects, { includeEmail: true }));
});
