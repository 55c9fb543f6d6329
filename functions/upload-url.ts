import { endpoint, privateJson } from '../lib/http';
import { createDirectUpload } from '../lib/pictures';
import { services } from '../lib/services';
import { ensureBucket } from '../lib/storage';

// POST /users/me/picture/upload-url — a presigned POST straight to the bucket, for files past Lambda's request cap.
export const handler = endpoint({ auth: true }, async ({ viewer }) => {
  await ensureBucket();
  return privateJson(200, await createDirectUpload(viewer.userId, services.objects));
});
