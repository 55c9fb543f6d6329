import { beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { handler as deletePicture } from '../functions/delete-picture';
import { handler as getProfile } from '../functions/get-profile';
import { handler as pictureRedirect } from '../functions/picture-redirect';
import { handler as uploadPicture } from '../functions/upload-picture';
import { config } from '../lib/config';
import { s3Store } from '../lib/storage';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fixtures from './support/images';
import { fileUpload } from './support/multipart';

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
