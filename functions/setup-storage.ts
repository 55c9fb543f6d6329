import { config } from '../lib/platform/config';
import { defaultAvatarSource } from '../lib/pictures/images';
import { defaultAvatarKey } from '../lib/pictures/keys';
import { ensureBucket } from '../lib/platform/storage';

/**
 * Not an HTTP route: run once after a deploy (`npx serverless invoke --stage prod --function setupStorage`)
 * so that the default avatar exists before anyone has uploaded a picture. Safe to run again.
 */
export const handler = async () => {
  // Not through lib/pictures/pipeline: that pipeline needs Postgres, this function does not (no pg in its bundle).
  await ensureBucket(defaultAvatarSource(config().pictures.sizes));
  return { bucket: config().s3.bucket, defaultAvatar: config().pictures.sizes.map(defaultAvatarKey) };
};
