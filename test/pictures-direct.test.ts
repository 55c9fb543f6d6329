import { beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { handler as confirmPicture } from '../functions/confirm-picture';
import { handler as getProfile } from '../functions/get-profile';
import { handler as uploadUrl } from '../functions/upload-url';
import { config } from '../lib/platform/config';
import { s3Store } from '../lib/platform/storage';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fixtures from '../scripts/support/images';

interface DirectUpload {
  url: string;
  fields: Record<string, string>;
  key: string;
  expiresIn: number;
  maxBytes: number;
}

const keysUnder = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key).sort();
const exists = async (key: string) => (await s3Store.head(key)) !== undefined;

const requestUploadUrl = (bearer?: string) => invoke(uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer });

const confirm = (user: TestUser, key: unknown) =>
  invoke(confirmPicture, { method: 'POST', route: '/users/me/picture/confirm', bearer: user.accessToken, json: { key } });

const profileOf = async (user: TestUser) => (await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: user.accessToken })).json;

/** What a browser does with the answer of upload-url: a form POST of the fields, then the file, straight to the bucket. */
async function postToBucket(upload: DirectUpload, file: Buffer, contentType = 'image/jpeg') {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append('file', new Blob([file], { type: contentType }), 'picture');
  const response = await fetch(upload.url, { method: 'POST', body: form });
  expect(response.status).toBeLessThan(300);
}

/** Asks for an upload URL and posts `file` to it; returns the key to confirm. */
async function uploadDirectly(user: TestUser, file: Buffer, contentType?: string): Promise<string> {
  const response = await requestUploadUrl(user.accessToken);
  expect(response.status).toBe(200);
  await postToBucket(response.json, file, contentType);
  return response.json.key;
}

describe('POST /users/me/picture/upload-url', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createVerifiedUser();
  });

  test('answers a presigned POST for a key under incoming/{userId}/, with its lifetime and size limit', async () => {
    const response = await requestUploadUrl(user.accessToken);

    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json).toEqual({
      url: expect.stringMatching(/^http/),
      fields: expect.objectContaining({ key: response.json.key, Policy: expect.any(String), 'X-Amz-Signature': expect.any(String) }),
      key: expect.stringMatching(new RegExp(`^incoming/${user.id}/[0-9a-f-]{36}$`)),
      expiresIn: expect.any(Number),
      maxBytes: 20 * 1024 * 1024,
    });
    expect(response.json.expiresIn).toBeGreaterThan(0);
  });

  test('the policy limits the upload to PICTURE_DIRECT_MAX_BYTES (20 MiB by default) and to this key', async () => {
    const { fields, key } = (await requestUploadUrl(user.accessToken)).json as DirectUpload;

    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([['content-length-range', 1, config().pictures.directMaxBytes], { key }]),
    );
  });

  test('gives a new key every time', async () => {
    const [first, second] = await Promise.all([requestUploadUrl(user.accessToken), requestUploadUrl(user.accessToken)]);

    expect(first.json.key).not.toBe(second.json.key);
  });

  test('without a token it is 401', async () => {
    const response = await requestUploadUrl(undefined);

    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('unauthorized');
  });
});

describe('POST /users/me/picture/confirm', () => {
  let user: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    [user, other] = await Promise.all([createVerifiedUser(), createVerifiedUser()]);
  });

  test('turns the uploaded photo into the profile picture and deletes the raw upload', async () => {
    const key = await uploadDirectly(user, await fixtures.cameraPhoto12mp());

    const response = await confirm(user, key);

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ id: user.id, picture: { default: false } });
    expect(await exists(key)).toBe(false);
    const keys = await keysUnder(`pictures/${user.id}/`);
    expect(keys).toHaveLength(3);
    expect(response.json.picture.url).toContain(keys.find((stored) => stored.endsWith('/200.webp')));
    const large = await (await fetch(response.json.picture.variants['512'])).arrayBuffer();
    const { format, width, height, exif } = await sharp(Buffer.from(large)).metadata();
    expect({ format, width, height, exif }).toEqual({ format: 'webp', width: 512, height: 512, exif: undefined });
  });

  test('a key can be confirmed once: the second time is 400 missing_file', async () => {
    const key = await uploadDirectly(user, await fixtures.smallJpeg());
    expect((await confirm(user, key)).status).toBe(200);

    const again = await confirm(user, key);

    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe('missing_file');
  });

  test('a key with nothing uploaded is 400 missing_file', async () => {
    const { key } = (await requestUploadUrl(user.accessToken)).json as DirectUpload;

    const response = await confirm(user, key);

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('missing_file');
  });

  test("another user's upload is 403 forbidden and stays where it is", async () => {
    const key = await uploadDirectly(other, await fixtures.smallJpeg());
    const picturesBefore = await keysUnder(`pictures/${user.id}/`);

    const response = await confirm(user, key);

    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('forbidden');
    expect(await exists(key)).toBe(true);
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual(picturesBefore);
  });

  test.each([
    ['climbs out of the own prefix with ../', (mine: string, theirs: string) => `incoming/${mine}/../${theirs.slice('incoming/'.length)}`],
    ['climbs out after a uuid', (mine: string, theirs: string) => `incoming/${mine}/${randomUUID()}/../../${theirs.slice('incoming/'.length)}`],
    ['uses an encoded ../', (mine: string, theirs: string) => `incoming/${mine}/..%2F..%2F${theirs.slice('incoming/'.length)}`],
    ['starts with ../', (mine: string, theirs: string) => `../${mine}/${theirs}`],
    ['names a stored picture', (mine: string) => `pictures/${mine}/${randomUUID()}/200.webp`],
    ['names the default avatar', () => 'defaults/avatar/200.webp'],
  ])('a key that %s is 403 forbidden and nothing is deleted', async (_name, build) => {
    const theirs = await uploadDirectly(other, await fixtures.smallJpeg());

    const response = await confirm(user, build(user.id, theirs));

    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('forbidden');
    expect(await exists(theirs)).toBe(true);
    expect(await keysUnder('defaults/avatar/')).toHaveLength(3);
  });

  test('a 50 MP phone photo of about 9 MB (past the multipart limit) becomes the picture', async () => {
    const photo = await fixtures.photo50mp();
    expect(photo.byteLength).toBeGreaterThan(config().pictures.maxBytes);
    const key = await uploadDirectly(user, photo);

    const response = await confirm(user, key);

    expect(response.status).toBe(200);
    const large = await (await fetch(response.json.picture.variants['512'])).arrayBuffer();
    expect(await sharp(Buffer.from(large)).metadata()).toMatchObject({ format: 'webp', width: 512, height: 512 });
    expect(await exists(key)).toBe(false);
  });

  test('a JPEG just over 50 MP is 422 image_too_large naming the limit, and deleted', async () => {
    const key = await uploadDirectly(user, await fixtures.flatJpeg(8200, 6200));

    const response = await confirm(user, key);

    expect(response.status).toBe(422);
    expect(response.json.error).toMatchObject({ code: 'image_too_large', message: expect.stringContaining('at most 50 megapixels') });
    expect(await exists(key)).toBe(false);
  });

  test('an upload over PICTURE_DIRECT_MAX_BYTES (the store did not enforce the policy) is 413 and deleted', async () => {
    const jpeg = await fixtures.smallJpeg();
    const key = await uploadDirectly(user, Buffer.concat([jpeg, Buffer.alloc(config().pictures.directMaxBytes + 1 - jpeg.length)]));
    const before = (await profileOf(user)).picture.url;

    const response = await confirm(user, key);

    expect(response.status).toBe(413);
    expect(response.json.error).toMatchObject({ code: 'file_too_large', message: 'The picture is larger than 20 MiB.' });
    expect(await exists(key)).toBe(false);
    expect(new URL((await profileOf(user)).picture.url).pathname).toBe(new URL(before).pathname);
  });

  test('an uploaded SVG is 415 unsupported_media_type and deleted', async () => {
    const key = await uploadDirectly(user, fixtures.svgDocument(), 'image/svg+xml');
    const picturesBefore = await keysUnder(`pictures/${user.id}/`);

    const response = await confirm(user, key);

    expect(response.status).toBe(415);
    expect(response.json.error.code).toBe('unsupported_media_type');
    expect(response.json.error.message).toMatch(/JPEG, PNG, GIF, WebP and AVIF/);
    expect(await exists(key)).toBe(false);
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual(picturesBefore);
  });

  test('a truncated JPEG is 422 invalid_image and deleted', async () => {
    const key = await uploadDirectly(user, await fixtures.truncatedJpeg());

    const response = await confirm(user, key);

    expect(response.status).toBe(422);
    expect(response.json.error.code).toBe('invalid_image');
    expect(await exists(key)).toBe(false);
  });

  test('a body without a key is 400 validation_failed', async () => {
    const response = await confirm(user, undefined);

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(response.json.error.details).toHaveProperty('key');
  });
});
