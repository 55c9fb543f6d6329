import { config } from '../lib/config';
import { renderDefaultAvatar } from '../lib/images';
import { defaultAvatarKey } from '../lib/profiles';
import { ensureBucket } from '../lib/storage';

/**
 * Not an HTTP route: run once after a deploy (`npx serverless invoke --stage prod --function setupStorage`)
 * so that the default avatar exists before anyone has uploaded a picture. Safe to run again.
 */
export const handler = async () => {
  // Not through lib/picture-uploads: that pipeline needs Postgres, this function does not (no pg in its bundle).
  await ensureBucket({ sizes: config().pictures.sizes, render: renderDefaultAvatar });
  return { bucket: config().s3.bucket, defaultAvatar: config().pictures.sizes.map(defaultAvatarKey) };
};
