/**
 * Picture bookkeeping that needs no image decoder (so the functions importing it stay small):
 * who may change whose picture, committing and removing pictures, direct-upload grants.
 */
import { randomUUID } from 'node:crypto';
import { config } from '../platform/config';
import { transaction, type Queryable } from '../platform/db';
import { HttpError, forbidden, notFound } from '../errors';
import { logEvent } from '../platform/log';
import { incomingPrefix, picturePrefix } from './keys';
import type { ObjectStore } from '../platform/storage';
import { isUuid, type AccessClaims } from '../accounts/tokens';
import { setPictureId, type UserRow } from '../accounts/users';

export const fileTooLarge = (maxBytes: number) =>
  new HttpError(413, 'file_too_large', `The picture is larger than ${formatBytes(maxBytes)}.`);

const formatBytes = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`);

/** Whose picture the viewer may change: their own, or anyone's for managers and admins. */
export function pictureOwnerFor(viewer: AccessClaims, pathUserId: string | undefined): string {
  if (pathUserId === undefined || pathUserId === 'me' || pathUserId === viewer.userId) return viewer.userId;
  if (viewer.role !== 'manager' && viewer.role !== 'admin') throw forbidden("Only managers and admins may change another user's picture.");
  if (!isUuid(pathUserId)) throw notFound('No user with this id.');
  return pathUserId;
}


/**
 * Deletes a picture's objects (listed here unless the caller already has their keys); a failure is logged,
 * not thrown, because the user row is already right.
 */
export async function deletePictureObjects(objects: ObjectStore, userId: string, pictureId: string, knownKeys?: string[]) {
  try {
    const keys = knownKeys ?? (await objects.list(picturePrefix(userId, pictureId))).map((object) => object.key);
    if (keys.length) await objects.deleteMany(keys);
  } catch (error) {
    logEvent('could not delete replaced picture objects', { userId, pictureId, error: (error as Error).name });
  }
}

/** Back to the default avatar; the picture's objects are deleted after the row no longer points at them. */
export async function removePicture(
  userId: string,
  objects: ObjectStore,
  /** Runs first in the transaction that removes the picture (the admin route's checks and audit entry). */
  within?: (db: Queryable) => Promise<void>,
): Promise<UserRow> {
  // The store must answer before the row changes: otherwise the objects would stay behind, pointed at by nothing.
  // The listing also gives the keys to delete, unless a parallel upload replaced the picture meanwhile.
  const listed = (await objects.list(picturePrefix(userId))).map((object) => object.key);
  const user = await transaction(async (db) => {
    await within?.(db);
    return setPictureId(db, userId, null);
  });
  if (!user) throw notFound('No user with this id.');
  const previous = user.previous_picture_id;
  if (previous) {
    const keys = listed.filter((key) => key.startsWith(picturePrefix(userId, previous)));
    await deletePictureObjects(objects, userId, previous, keys.length ? keys : undefined);
  }
  return user;
}

// ---- direct uploads (presigned POST) ----

export const DIRECT_UPLOAD_TTL_SECONDS = 300;

export async function createDirectUpload(userId: string, objects: ObjectStore) {
  const maxBytes = config().pictures.directMaxBytes;
  const key = `${incomingPrefix(userId)}${randomUUID()}`;
  const { url, fields } = await objects.presignPost(key, maxBytes, DIRECT_UPLOAD_TTL_SECONDS);
  return { url, fields, key, expiresIn: DIRECT_UPLOAD_TTL_SECONDS, maxBytes };
}

