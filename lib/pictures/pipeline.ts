/**
 * The upload pipeline: check, render (sharp), store, commit. Only the functions that decode images
 * import this module, so only their bundles carry sharp.
 */
import { randomUUID } from 'node:crypto';
import { config } from '../platform/config';
import { transaction, type Queryable } from '../platform/db';
import { HttpError, forbidden, notFound } from '../errors';
import { defaultAvatarSource, processPicture } from './images';
import { logEvent } from '../platform/log';
import { deletePictureObjects, fileTooLarge } from './bookkeeping';
import { incomingPrefix, variantKey } from './keys';
import { requestSignal, stopIfAborted } from '../platform/request-scope';
import { ObjectTooLargeError, ensureBucket, type ObjectStore } from '../platform/storage';
import { isUuid } from '../accounts/tokens';
import { findUserById, setPictureId, type UserRow } from '../accounts/users';

/** Bucket and default avatar, set up once per container by the functions that can render images. */
export const ensurePictureBucket = () => ensureBucket(defaultAvatarSource(config().pictures.sizes));

/**
 * Checks and renders the bytes, stores every variant under a new pictureId, commits it, and only then
 * deletes the replaced picture. If anything fails before the commit, the new objects are removed and the
 * user keeps the old picture.
 */
export async function replacePicture(
  userId: string,
  bytes: Uint8Array,
  objects: ObjectStore,
  /** Runs first in the commit's transaction (a manager's or admin's checks and audit entry). */
  within?: (db: Queryable, pictureId: string) => Promise<void>,
  /** The route's limit: PICTURE_MAX_BYTES through the API, PICTURE_DIRECT_MAX_BYTES for a direct upload. */
  maxBytes = config().pictures.maxBytes,
): Promise<UserRow> {
  const { maxPixels, sizes } = config().pictures;
  if (bytes.byteLength > maxBytes) throw fileTooLarge(maxBytes);
  // Keys derive from the id as stored, never from the caller's spelling of it; known before the first put starts.
  const signal = requestSignal();
  const owner = await findUserById(userId);
  if (!owner) throw notFound('No user with this id.');
  userId = owner.id;

  const pictureId = randomUUID();
  const keys = sizes.map((size) => variantKey(userId, pictureId, size));
  // Each put starts as soon as its variant is encoded, while the others still encode. A put's outcome is
  // kept (never a bare rejection) so that a put still in flight when another fails lands before the clean-up.
  const puts: Promise<{ error?: unknown }>[] = [];
  const store = (size: number, webp: Buffer) =>
    puts.push(objects.put(variantKey(userId, pictureId, size), webp, 'image/webp').then(() => ({}), (error: unknown) => ({ error })));
  let user: (UserRow & { previous_picture_id: string | null }) | undefined;
  try {
    await processPicture(bytes, { maxPixels, sizes, signal }, store);
    // Every put lands before the transaction begins: no reader sees the new id before its objects exist, and no
    // row lock (the user's, or every admin's for an admin's change) waits on the store, however slow it is.
    const failed = (await Promise.all(puts)).find((put) => 'error' in put);
    if (failed) throw failed.error;
    // A request answered 503 while its puts ran commits nothing (the transaction checks again before COMMIT).
    stopIfAborted(signal);
    user = await transaction(async (db) => {
      await within?.(db, pictureId);
      return setPictureId(db, userId, pictureId);
    });
    if (!user) throw notFound('No user with this id.');
  } catch (error) {
    await Promise.all(puts);
    // Nothing was stored when the image itself was refused (415, 422): no clean-up call then.
    if (puts.length) await objects.deleteMany(keys).catch(() => logEvent('could not delete objects of a failed upload', { userId, pictureId }));
    throw error;
  }
  // The replaced picture's keys are known (one per size), so no listing is needed to delete them.
  const previous = user.previous_picture_id;
  if (previous) await deletePictureObjects(objects, userId, previous, sizes.map((size) => variantKey(userId, previous, size)));
  return user;
}

/**
 * Runs a direct upload through the same pipeline; the raw upload is deleted whatever the outcome, except
 * a 503: that tells the client to try again, and the retry needs the upload.
 */
export async function confirmDirectUpload(userId: string, key: string, objects: ObjectStore): Promise<UserRow> {
  const prefix = incomingPrefix(userId);
  if (!key.startsWith(prefix) || !isUuid(key.slice(prefix.length))) {
    throw forbidden('This key is not one of your uploads. Use the key from POST /users/me/picture/upload-url.');
  }
  const { directMaxBytes } = config().pictures;
  let keepForRetry = false;
  try {
    // Checked here as well as by the POST policy: s3rver ignores policies, and a grant's policy is as old as the grant.
    const bytes = await objects.get(key, directMaxBytes).catch((error) => {
      throw error instanceof ObjectTooLargeError ? fileTooLarge(directMaxBytes) : error;
    });
    if (!bytes) throw new HttpError(400, 'missing_file', 'Nothing was uploaded under this key (or it was already used).');
    return await replacePicture(userId, bytes, objects, undefined, directMaxBytes);
  } catch (error) {
    keepForRetry = error instanceof HttpError && error.status === 503;
    throw error;
  } finally {
    // The client got a 503 (early timeout) even if the work went on to finish: its retry needs the upload.
    keepForRetry ||= Boolean(requestSignal()?.aborted);
    if (!keepForRetry) await objects.deleteMany([key]).catch(() => logEvent('could not delete a raw upload', { userId }));
  }
}
