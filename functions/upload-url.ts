import { endpoint, privateJson } from '../lib/http/endpoint';
import { createDirectUpload } from '../lib/pictures/bookkeeping';
import { services } from '../lib/platform/services';
import { ensureBucket } from '../lib/platform/storage';

// POST /users/me/picture/upload-url — a presigned POST straight to the bucket, for files past Lambda's request cap.
export const handler = endpoint({ auth: true }, async ({ viewer }) => {
  await ensureBucket();
  return privateJson(200, await createDirectUpload(viewer.userId, services.objects));
});
