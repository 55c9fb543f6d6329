import { beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { handler as deletePicture } from '../functions/delete-picture';
import { handler as getProfile } from '../functions/get-profile';
import { handler as pictureRedirect } from '../functions/picture-redirect';
import { handler as uploadPicture } from '../functions/upload-picture';
import { config } from '../lib/platform/config';
import { urlSigningWindow } from '../lib/accounts/profiles';
import { s3Store } from '../lib/platform/storage';
import { createVerifiedUser, seedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import { httpEvent, lambdaContext } from '../scripts/support/events';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as fixtures from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

const keysUnder = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key).sort();

async function uploadJpeg(user: TestUser, colour: fixtures.Rgb = fixtures.GREEN) {
  const response = await invoke(uploadPicture, {
    method: 'POST',
    route: '/users/me/picture',
    bearer: user.accessToken,
    ...fileUpload(await fixtures.smallJpeg(320, 240, colour)),
  });
  if (response.status !== 200) throw new Error(`upload answered ${response.status}: ${response.body}`);
  return response.json;
}

const redirectFor = (id: string, query?: Record<string, string>) =>
  invoke(pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id }, query });

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('image/webp');
  return Buffer.from(await response.arrayBuffer());
}

describe('DELETE /users/me/picture', () => {
  test('puts the default avatar back in the profile and removes every object of the picture', async () => {
    const user = await createVerifiedUser();
    await uploadJpeg(user);
    expect(await keysUnder(`pictures/${user.id}/`)).toHaveLength(3);

    const response = await invoke(deletePicture, { method: 'DELETE', route: '/users/me/picture', bearer: user.accessToken });

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ id: user.id, picture: { default: true } });
    expect(response.json.picture.url).toContain('/defaults/avatar/200.webp');
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual([]);
    const profile = (await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: user.accessToken })).json;
    expect(profile.picture.default).toBe(true);
  });

  test('without a token it is 401', async () => {
    const response = await invoke(deletePicture, { method: 'DELETE', route: '/users/me/picture' });

    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('unauthorized');
  });
});

describe('GET /users/{id}/picture', () => {
  let withPicture: TestUser;
  let withoutPicture: TestUser;

  beforeAll(async () => {
    [withPicture, withoutPicture] = await Promise.all([createVerifiedUser(), createVerifiedUser()]);
    await uploadJpeg(withPicture, fixtures.GREEN);
  });

  test('?size=64 is a 302 to a presigned URL that downloads the 64×64 WebP of the picture', async () => {
    const response = await redirectFor(withPicture.id, { size: '64' });

    expect(response.status).toBe(302);
    expect(response.headers.location).toMatch(new RegExp(`/pictures/${withPicture.id}/[0-9a-f-]{36}/64\\.webp\\?.*X-Amz-Signature=`));
    const image = await download(response.headers.location!);
    const { format, width, height } = await sharp(image).metadata();
    expect({ format, width, height }).toEqual({ format: 'webp', width: 64, height: 64 });
    expect(fixtures.isNear(await fixtures.pixelAt(image, 32, 32), fixtures.GREEN)).toBe(true);
  });

  test('the redirect may be cached, but never longer than PICTURE_URL_TTL', async () => {
    const response = await redirectFor(withPicture.id, { size: '64' });

    const maxAge = Number(/(?:^|[\s,])max-age=(\d+)/.exec(response.headers['cache-control'] ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(config().pictures.urlTtl);
    expect(response.headers['cache-control']).toMatch(/\bprivate\b/);
  });

  test('an event whose query string is null (as serverless-offline sends it) redirects to the 200 px variant', async () => {
    const event = { ...httpEvent({ method: 'GET', route: '/users/{id}/picture', pathParameters: { id: withPicture.id } }), queryStringParameters: null };
    const response = (await pictureRedirect(event as unknown as APIGatewayProxyEventV2, lambdaContext())) as { statusCode: number; headers: Record<string, string> };

    expect(response.statusCode).toBe(302);
    expect(new URL(response.headers.location!).pathname).toMatch(/\/200\.webp$/);
  });

  test('without a size it redirects to the 200 px variant', async () => {
    const response = await redirectFor(withPicture.id);

    expect(response.status).toBe(302);
    expect(new URL(response.headers.location!).pathname).toMatch(/\/200\.webp$/);
  });

  test('a user without a picture is redirected to the default avatar', async () => {
    const response = await redirectFor(withoutPicture.id, { size: '64' });

    expect(response.status).toBe(302);
    expect(new URL(response.headers.location!).pathname).toBe(`/${process.env.S3_BUCKET}/defaults/avatar/64.webp`);
    const { format, width, height } = await sharp(await download(response.headers.location!)).metadata();
    expect({ format, width, height }).toEqual({ format: 'webp', width: 64, height: 64 });
  });

  test('an unconfirmed registration is 404 not_found, as for GET /users/{id}: nothing shows that it exists', async () => {
    const unconfirmed = await seedUser({ verified: false });
    const response = await redirectFor(unconfirmed.id, { size: '64' });

    expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status: 404, code: 'not_found' });
    expect(response.headers.location).toBeUndefined();
  });

  test.each(['999', '0', 'big', '64.5'])('?size=%s is 400 validation_failed', async (size) => {
    const response = await redirectFor(withPicture.id, { size });

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(response.json.error.details.size).toMatch(/64, 200, 512/);
  });

  test.each([
    ['an unknown id', randomUUID()],
    ['a malformed id', 'not-a-uuid'],
  ])('%s is 404 not_found', async (_name, id) => {
    const response = await redirectFor(id, { size: '64' });

    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('not_found');
  });
});

describe('picture URLs a browser can cache', () => {
  const readProfile = async (user: TestUser) =>
    (await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: user.accessToken })).json;

  /** Two reads in one signing window (read again if the clock crossed a window boundary in between). */
  async function twoReadsInOneWindow(user: TestUser) {
    for (;;) {
      const window = urlSigningWindow(config().pictures.urlTtl).signedAt.getTime();
      const [first, second] = [await readProfile(user), await readProfile(user)];
      if (urlSigningWindow(config().pictures.urlTtl).signedAt.getTime() === window) return [first, second];
    }
  }

  test('two profile reads within a signing window give identical URLs, and a new picture gives new ones', async () => {
    const user = await createVerifiedUser();
    await uploadJpeg(user, fixtures.GREEN);

    const [first, second] = await twoReadsInOneWindow(user);
    expect(second.picture).toEqual(first.picture);

    await uploadJpeg(user, fixtures.RED);
    const [afterUpload] = await twoReadsInOneWindow(user);
    for (const size of Object.keys(first.picture.variants)) {
      expect(afterUpload.picture.variants[size]).not.toBe(first.picture.variants[size]);
    }
    expect(fixtures.isNear(await fixtures.pixelAt(await download(afterUpload.picture.url), 100, 100), fixtures.RED)).toBe(true);
  });

  test('the redirect and the profile point at the same URL within a window', async () => {
    const user = await createVerifiedUser();
    await uploadJpeg(user);
    for (;;) {
      const window = urlSigningWindow(config().pictures.urlTtl).signedAt.getTime();
      const profile = await readProfile(user);
      const response = await redirectFor(user.id, { size: '200' });
      if (urlSigningWindow(config().pictures.urlTtl).signedAt.getTime() !== window) continue;
      expect(response.headers.location).toBe(profile.picture.url);
      return;
    }
  });

  test('stored variants tell the browser to keep them', async () => {
    const user = await createVerifiedUser();
    const profile = await uploadJpeg(user);

    const response = await fetch(profile.picture.variants['64']);

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
  });

  test('a URL is signed at the start of its quarter-TTL window and stays valid for at least half the TTL', () => {
    const ttl = 900;
    const windowStart = Date.UTC(2026, 0, 1, 12, 0, 0);
    for (const offset of [0, 1000, 224_999]) {
      const { signedAt, expiresAt } = urlSigningWindow(ttl, windowStart + offset);
      expect(signedAt.getTime()).toBe(windowStart);
      expect(expiresAt.getTime() - signedAt.getTime()).toBe(ttl * 1000);
      expect(expiresAt.getTime() - (windowStart + offset)).toBeGreaterThanOrEqual((ttl / 2) * 1000);
    }
    expect(urlSigningWindow(ttl, windowStart + 225_000).signedAt.getTime()).toBe(windowStart + 225_000);
  });
});
