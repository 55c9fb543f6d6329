import { randomUUID } from 'node:crypto';
import { config } from './config';
import { transaction, type Queryable } from './db';
import { HttpError, forbidden, notFound } from './errors';
import { renderDefaultAvatar, processPicture } from './images';
import { logEvent } from './log';
import { variantKey } from './profiles';
import { ensureBucket, type ObjectStore } from './storage';
import { isUuid, type AccessClaims } from './tokens';
import type { UserRow } from './users';

export const fileTooLarge = (maxBytes: number) =>
  new HttpError(413, 'file_too_large', `The picture is larger than ${formatBytes(maxBytes)}.`);

const formatBytes = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`);

/** Bucket and default avatar, set up once per container by the functions that can render images. */
export const ensurePictureBucket = () => ensureBucket({ sizes: config().pictures.sizes, render: renderDefaultAvatar });

/** Whose picture the viewer may change: their own, or anyone's for managers and admins. */
export function pictureOwnerFor(viewer: AccessClaims, pathUserId: string | undefined): string {
  if (pathUserId === undefined || pathUserId === 'me' || pathUserId === viewer.userId) return viewer.userId;
  if (viewer.role !== 'manager' && viewer.role !== 'admin') throw forbidden("Only managers and admins may change another user's picture.");
  if (!isUuid(pathUserId)) throw notFound('No user with this id.');
  return pathUserId;
}

const picturePrefix = (userId: string, pictureId: string) => `pictures/${userId}/${pictureId}/`;

/** Deletes a picture's objects; a failure is logged, not thrown, because the user row is already right. */
async function deletePictureObjects(objects: ObjectStore, userId: string, pictureId: string) {
  try {
    const keys = (await objects.list(picturePrefix(userId, pictureId))).map((object) => object.key);
    if (keys.length) await objects.deleteMany(keys);
  } catch (error) {
    logEvent('could not delete replaced picture objects', { userId, pictureId, error: (error as Error).name });
  }
}

/** Sets users.picture_id and returns the row with the id it replaced, read under the same row lock. */
async function commitPictureId(db: Queryable, userId: string, pictureId: string | null) {
  const { rows } = await db.query<UserRow & { previous_picture_id: string | null }>(
    `update users u set picture_id = $2, updated_at = now()
     from (select id, picture_id from users where id = $1 for update) previous
     where u.id = previous.id
     returning u.*, previous.picture_id as previous_picture_id`,
    [userId, pictureId],
  );
  return rows[0];
}

/**
 * Checks and renders the bytes, stores every variant under a new pictureId, commits it, and only then
 * deletes the replaced picture. If anything fails before the commit, the new objects are removed and the
 * user keeps the old picture.
 */
export async function replacePicture(userId: string, bytes: Uint8Array, objects: ObjectStore): Promise<UserRow> {
  const { maxBytes, maxPixels, sizes } = config().pictures;
  if (bytes.byteLength > maxBytes) throw fileTooLarge(maxBytes);
  const { variants } = await processPicture(bytes, { maxPixels, sizes });

  const pictureId = randomUUID();
  const keys = sizes.map((size) => variantKey(userId, pictureId, size));
  let user: (UserRow & { previous_picture_id: string | null }) | undefined;
  try {
    await Promise.all(sizes.map((size) => objects.put(variantKey(userId, pictureId, size), variants.get(size)!, 'image/webp')));
    user = await transaction((db) => commitPictureId(db, userId, pictureId));
    if (!user) throw notFound('No user with this id.');
  } catch (error) {
    await objects.deleteMany(keys).catch(() => logEvent('could not delete objects of a failed upload', { userId, pictureId }));
    throw error;
  }
  if (user.previous_picture_id) await deletePictureObjects(objects, userId, user.previous_picture_id);
  return user;
}

/** Back to the default avatar; the picture's objects are deleted after the row no longer points at them. */
export async function removePicture(userId: string, objects: ObjectStore): Promise<UserRow> {
  const user = await transaction((db) => commitPictureId(db, userId, null));
  if (!user) throw notFound('No user with this id.');
  if (user.previous_picture_id) await deletePictureObjects(objects, userId, user.previous_picture_id);
  return user;
}

// ---- direct uploads (presigned POST) ----

export const DIRECT_UPLOAD_TTL_SECONDS = 300;
const incomingPrefix = (userId: string) => `incoming/${userId}/`;

export async function createDirectUpload(userId: string, objects: ObjectStore) {
  const { maxBytes } = config().pictures;
  const key = `${incomingPrefix(userId)}${randomUUID()}`;
  const { url, fields } = await objects.presignPost(key, maxBytes, DIRECT_UPLOAD_TTL_SECONDS);
  return { url, fields, key, expiresIn: DIRECT_UPLOAD_TTL_SECONDS, maxBytes };
}

/** Runs a direct upload through the same pipeline; the raw upload is deleted whatever the outcome. */
export async function confirmDirectUpload(userId: string, key: string, objects: ObjectStore): Promise<UserRow> {
  const prefix = incomingPrefix(userId);
  if (!key.startsWith(prefix) || !isUuid(key.slice(prefix.length))) {
    throw forbidden('This key is not one of your uploads. Use the key from POST /users/me/picture/upload-url.');
  }
  const { maxBytes } = config().pictures;
  try {
    // s3rver ignores the POST policy, so the size is checked here as well as by S3.
    const bytes = await objects.get(key, maxBytes);
    if (!bytes) throw new HttpError(400, 'missing_file', 'Nothing was uploaded under this key (or it was already used).');
    return await replacePicture(userId, bytes, objects);
  } finally {
    await objects.deleteMany([key]).catch(() => logEvent('could not delete a raw upload', { userId }));
  }
}
