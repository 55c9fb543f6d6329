import { config } from '../platform/config';
import type { UrlSigner } from '../platform/url-signer';
import type { AccessClaims } from './tokens';
import type { UserRow } from './users';
import { pictureKey } from '../pictures/keys';

export interface Picture {
  default: boolean;
  url: string;
  variants: Record<string, string>;
  expiresAt: string;
}

export interface Profile {
  id: string;
  email?: string;
  emailVerified: boolean;
  nickname: string;
  firstName: string | null;
  lastName: string | null;
  bio: string | null;
  githubUrl: string | null;
  linkedinUrl: string | null;
  websiteUrl: string | null;
  role: UserRow['role'];
  picture: Picture;
  createdAt: string;
  updatedAt: string;
}

/** The size profiles link to as `picture.url`. */
export const PROFILE_PICTURE_SIZE = 200;

/** A profile's email is shown to the user themself and to admins only. */
export const mayReadEmail = (viewer: AccessClaims, userId: string) => viewer.userId === userId || viewer.role === 'admin';

/**
 * The signing time and expiry of picture URLs at `now`: the signing time is rounded down to a window of a
 * quarter of the TTL, so every request and container in one window signs the same URL for one object and a
 * browser's cache keeps hitting; a URL handed out late in its window still has at least 3/4 of the TTL left.
 */
export function urlSigningWindow(urlTtl: number, now = Date.now()): { signedAt: Date; expiresAt: Date } {
  const windowMs = Math.max(1, Math.floor(urlTtl / 4)) * 1000;
  const signedAtMs = Math.floor(now / windowMs) * windowMs;
  return { signedAt: new Date(signedAtMs), expiresAt: new Date(signedAtMs + urlTtl * 1000) };
}

/** An unconfirmed registration may be anyone's: nothing of it shows, not even that it exists, but to its own account. */
export const isShownTo = (user: Pick<UserRow, 'id' | 'email_verified_at'>, viewerId: string | undefined): boolean =>
  user.email_verified_at !== null || user.id === viewerId;

/** Presigned URLs of every variant (the default avatar when the user has no picture). */
export async function pictureOf(user: Pick<UserRow, 'id' | 'picture_id'>, objects: UrlSigner): Promise<Picture> {
  const { sizes, urlTtl } = config().pictures;
  const { signedAt, expiresAt } = urlSigningWindow(urlTtl);
  const urls = await Promise.all(sizes.map((size) => objects.presignGet(pictureKey(user.id, user.picture_id, size), urlTtl, signedAt)));
  const variants = Object.fromEntries(sizes.map((size, index) => [String(size), urls[index]!]));
  return { default: !user.picture_id, url: variants[String(PROFILE_PICTURE_SIZE)]!, variants, expiresAt: expiresAt.toISOString() };
}

export async function toProfile(user: UserRow, objects: UrlSigner, options: { includeEmail: boolean }): Promise<Profile> {
  return {
    id: user.id,
    ...(options.includeEmail ? { email: user.email } : {}),
    emailVerified: user.email_verified_at !== null,
    nickname: user.nickname,
    firstName: user.first_name,
    lastName: user.last_name,
    bio: user.bio,
    githubUrl: user.github_url,
    linkedinUrl: user.linkedin_url,
    websiteUrl: user.website_url,
    role: user.role,
    picture: await pictureOf(user, objects),
    createdAt: user.created_at.toISOString(),
    updatedAt: user.updated_at.toISOString(),
  };
}
