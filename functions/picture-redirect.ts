import { config } from '../lib/platform/config';
import { notFound } from '../lib/errors';
import { endpoint, redirect } from '../lib/http/endpoint';
import { isShownTo, urlSigningWindow } from '../lib/accounts/profiles';
import { pictureKey } from '../lib/pictures/keys';
import { pictureSizeQuery } from '../lib/http/schemas';
import { services } from '../lib/platform/services';
import { authenticate, isUuid } from '../lib/accounts/tokens';
import { findUserById } from '../lib/accounts/users';

const { sizes, urlTtl } = config().pictures;
const sizeQuery = pictureSizeQuery(sizes);

// GET /users/{id}/picture?size=200 — 302 to a presigned URL (the default avatar when there is no picture).
// GET /users/me/picture — the same for the caller of the Bearer token (401 without one).
export const handler = endpoint({ query: sizeQuery }, async ({ pathParameters, query, headers }) => {
  const viewerId = pathParameters.id === undefined ? (await authenticate(headers)).userId : undefined;
  const id = pathParameters.id ?? viewerId!;
  const user = isUuid(id) ? await findUserById(id) : undefined;
  if (!user || !isShownTo(user, viewerId)) throw notFound('No user with this id.');
  const { signedAt, expiresAt } = urlSigningWindow(urlTtl);
  const url = await services.objects.presignGet(pictureKey(user.id, user.picture_id, query.size), urlTtl, signedAt);
  // A cached redirect must never outlive the URL it points to: at most until it expires, at most half the TTL.
  const left = Math.floor((expiresAt.getTime() - Date.now()) / 1000);
  return redirect(302, url, { 'cache-control': `private, max-age=${Math.max(0, Math.min(Math.floor(urlTtl / 2), left))}` });
});
