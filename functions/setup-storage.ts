import { config } from '../lib/config';
import { ensurePictureBucket } from '../lib/picture-uploads';
import { defaultAvatarKey } from '../lib/storage';

/**
 * Not an HTTP route: run once after a deploy (`npx serverless invoke --stage prod --function setupStorage`)
 * so that the default avatar exists before anyone has uploaded a picture. Safe to run again.
 */
export const handler = async () => {
  await ensurePictureBucket();
  return { bucket: config().s3.bucket, defaultAvatar: config().pictures.sizes.map(defaultAvatarKey) };
};
