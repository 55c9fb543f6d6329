/**
 * Every object key of the bucket is named here, nowhere else:
 *
 *   pictures/{userId}/{pictureId}/{size}.webp   a stored picture, one object per size
 *   incoming/{userId}/{uploadId}                 a raw direct upload waiting for its confirm (deleted after)
 *   defaults/avatar/{size}.webp                  the project's avatar for users without a picture
 *
 * Ids in keys are the stored (lower-case) ids, never the ones a request spelled. The per-function IAM roles
 * (scripts/iam-roles.cjs, plain CommonJS for serverless.yml) spell the same three roots as key patterns.
 */

export const PICTURES_ROOT = 'pictures/';
export const INCOMING_ROOT = 'incoming/';
export const DEFAULT_AVATAR_ROOT = 'defaults/avatar/';

/** Where a user's pictures live: `pictures/{userId}/` and, for one picture, `pictures/{userId}/{pictureId}/`. */
export const picturePrefix = (userId: string, pictureId?: string) => `${PICTURES_ROOT}${userId}/${pictureId ? `${pictureId}/` : ''}`;

export const variantKey = (userId: string, pictureId: string, size: number) => `${picturePrefix(userId, pictureId)}${size}.webp`;

/** The project's own avatar for users without a picture, stored at bucket set-up. */
export const defaultAvatarKey = (size: number) => `${DEFAULT_AVATAR_ROOT}${size}.webp`;

/** The object a profile links to at one size: the user's picture, or the default avatar. */
export function pictureKey(userId: string, pictureId: string | null, size: number): string {
  return pictureId ? variantKey(userId, pictureId, size) : defaultAvatarKey(size);
}

/** Raw direct uploads of one user, before their confirm. */
export const incomingPrefix = (userId: string) => `${INCOMING_ROOT}${userId}/`;
