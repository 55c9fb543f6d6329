import { beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { handler as getProfile } from '../functions/get-profile';
import { handler as uploadPicture } from '../functions/upload-picture';
import { config } from '../lib/platform/config';
import { s3Store } from '../lib/platform/storage';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fixtures from '../scripts/support/images';
import { fileUpload, formUpload, type FileFormOptions } from '../scripts/support/multipart';

const SIZES = ['64', '200', '512'];

type Form = { body: Buffer; headers: Record<string, string> };

/** POST /users/me/picture, or /users/{id}/picture when `forUserId` is given. */
const uploadForm = (bearer: string | undefined, form: Form, forUserId?: string) =>
  invoke(uploadPicture, {
    method: 'POST',
    route: forUserId ? '/users/{id}/picture' : '/users/me/picture',
    pathParameters: forUserId ? { id: forUserId } : undefined,
    bearer,
    ...form,
  });

const upload = (bearer: string | undefined, file: Buffer, options?: FileFormOptions & { forUserId?: string }) =>
  uploadForm(bearer, fileUpload(file, options), options?.forUserId);

const profileOf = async (user: TestUser) => (await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: user.accessToken })).json;

const keysUnder = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key).sort();

/** The bucket keys a profile's presigned variant URLs point at (path-style: /{bucket}/{key}). */
const keysLinkedFrom = (picture: { variants: Record<string, string> }) =>
  Object.values(picture.variants)
    .map((url) => decodeURIComponent(new URL(url).pathname).replace(`/${process.env.S3_BUCKET}/`, ''))
    .sort();

const pictureIdIn = (keys: string[]) => keys[0]?.split('/')[2];

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('image/webp');
  return Buffer.from(await response.arrayBuffer());
}

describe('POST /users/me/picture with a 12 MP camera photo (EXIF orientation 6, GPS)', () => {
  let user: TestUser;
  let response: Awaited<ReturnType<typeof upload>>;
  let variants: Map<string, Buffer>;

  beforeAll(async () => {
    user = await createVerifiedUser();
    response = await upload(user.accessToken, await fixtures.cameraPhoto12mp(), { filename: 'IMG_0001.JPG' });
    const urls: Record<string, string> = response.json?.picture?.variants ?? {};
    variants = new Map(await Promise.all(Object.entries(urls).map(async ([size, url]) => [size, await download(url)] as const)));
  });

  test('answers 200 with the profile naming a non-default picture in 64, 200 and 512', () => {
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json).toMatchObject({ id: user.id, email: user.email, picture: { default: false } });
    expect(Object.keys(response.json.picture.variants)).toEqual(SIZES);
    expect(response.json.picture.url).toBe(response.json.picture.variants['200']);
  });

  test('stores exactly pictures/{userId}/{pictureId}/{64,200,512}.webp, the keys the profile links to', async () => {
    const keys = await keysUnder(`pictures/${user.id}/`);
    const pictureId = pictureIdIn(keys)!;

    expect(pictureId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(keys).toEqual(['200', '512', '64'].map((size) => `pictures/${user.id}/${pictureId}/${size}.webp`));
    expect(keysLinkedFrom(response.json.picture)).toEqual(keys);
  });

  test('every variant URL serves a WebP of exactly its size, square', async () => {
    const shapes = await Promise.all(
      [...variants].map(async ([size, bytes]) => {
        const { format, width, height } = await sharp(bytes).metadata();
        return { size, format, width, height };
      }),
    );

    expect(shapes).toEqual(SIZES.map((size) => ({ size, format: 'webp', width: Number(size), height: Number(size) })));
  });

  test('no variant carries EXIF, GPS, ICC or XMP', async () => {
    expect(variants.size).toBe(3);
    for (const bytes of variants.values()) {
      const { exif, icc, xmp } = await sharp(bytes).metadata();

      expect({ exif, icc, xmp }).toEqual({ exif: undefined, icc: undefined, xmp: undefined });
      for (const marker of ['Exif', 'PortraitCam', 'GPS']) expect(bytes.includes(Buffer.from(marker))).toBe(false);
    }
  });

  test('the EXIF orientation is applied: the stored bottom red band is on the left, upright', async () => {
    const large = variants.get('512')!;

    expect(fixtures.isNear(await fixtures.pixelAt(large, 40, 256), fixtures.RED)).toBe(true);
    expect(fixtures.isNear(await fixtures.pixelAt(large, 470, 256), fixtures.BLUE)).toBe(true);
    expect(fixtures.isNear(await fixtures.pixelAt(large, 470, 500), fixtures.BLUE)).toBe(true);
  });
});

describe('POST /users/me/picture with the other accepted types', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createVerifiedUser();
  });

  test.each([
    ['a PNG with alpha', fixtures.transparentPng, 'image/png'],
    ['an animated GIF', () => fixtures.animatedGif(), 'image/gif'],
    ['a WebP', fixtures.blueWebp, 'image/webp'],
    ['an AVIF made by sharp', () => fixtures.photoAvif(), 'image/avif'],
  ])('%s becomes three square WebP variants', async (_name, build, contentType) => {
    const response = await upload(user.accessToken, await build(), { filename: 'upload', contentType });

    expect(response.status).toBe(200);
    expect(response.json.picture.default).toBe(false);
    const shapes = await Promise.all(
      SIZES.map(async (size) => {
        const { format, width, height } = await sharp(await download(response.json.picture.variants[size])).metadata();
        return { format, width, height };
      }),
    );
    expect(shapes).toEqual(SIZES.map((size) => ({ format: 'webp', width: Number(size), height: Number(size) })));
  });

  test('an animated GIF is stored as its first (red) frame, not animated', async () => {
    const response = await upload(user.accessToken, await fixtures.animatedGif(), { filename: 'wave.gif', contentType: 'image/gif' });

    const large = await download(response.json.picture.variants['512']);
    expect((await sharp(large).metadata()).pages).toBeUndefined();
    expect(fixtures.isNear(await fixtures.pixelAt(large, 256, 256), fixtures.RED)).toBe(true);
  });

  test('a JPEG named .png and declared image/png is taken for what its bytes are', async () => {
    const response = await upload(user.accessToken, await fixtures.smallJpeg(320, 240, fixtures.YELLOW), {
      filename: 'holiday.png',
      contentType: 'image/png',
    });

    expect(response.status).toBe(200);
    const small = await download(response.json.picture.variants['64']);
    expect(fixtures.isNear(await fixtures.pixelAt(small, 32, 32), fixtures.YELLOW)).toBe(true);
  });

  test('a file of exactly PICTURE_MAX_BYTES is accepted', async () => {
    const jpeg = await fixtures.smallJpeg(320, 240, fixtures.GREEN);
    // Bytes after the end-of-image marker are ignored by decoders: a valid JPEG of exactly the limit.
    const atLimit = Buffer.concat([jpeg, Buffer.alloc(config().pictures.maxBytes - jpeg.length)]);

    const response = await upload(user.accessToken, atLimit);

    expect(response.status).toBe(200);
    expect(response.json.picture.default).toBe(false);
  });

  test('a JPEG carrying PHP is re-encoded without the payload', async () => {
    const response = await upload(user.accessToken, await fixtures.phpPolyglotJpeg(), { filename: 'shell.php.jpg' });

    expect(response.status).toBe(200);
    for (const size of SIZES) {
      expect((await download(response.json.picture.variants[size])).includes(Buffer.from('<?php'))).toBe(false);
    }
  });
});

describe('replacing a picture', () => {
  test('leaves only the new picture’s three keys under pictures/{userId}/', async () => {
    const user = await createVerifiedUser();
    const first = await upload(user.accessToken, await fixtures.smallJpeg());
    const oldKeys = keysLinkedFrom(first.json.picture);

    const second = await upload(user.accessToken, await fixtures.blueWebp(), { contentType: 'image/webp' });

    expect(second.status).toBe(200);
    const newKeys = keysLinkedFrom(second.json.picture);
    expect(pictureIdIn(newKeys)).not.toBe(pictureIdIn(oldKeys));
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual(newKeys);
  });

  test('10 parallel uploads all succeed and exactly the profile’s picture is left in the bucket', async () => {
    const user = await createVerifiedUser();
    const picture = await fixtures.smallJpeg(160, 120);

    const responses = await Promise.all(Array.from({ length: 10 }, () => upload(user.accessToken, picture)));

    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const keys = await keysUnder(`pictures/${user.id}/`);
    expect(keys).toHaveLength(3);
    expect(keysLinkedFrom((await profileOf(user)).picture)).toEqual(keys);
  });
});

describe("another user's picture", () => {
  let owner: TestUser;
  let admin: TestUser;
  beforeAll(async () => {
    [owner, admin] = await Promise.all([createVerifiedUser(), createVerifiedUser({ role: 'admin' })]);
  });

  test.each([
    ['a manager', 'manager'],
    ['an admin', 'admin'],
  ] as const)('%s may upload it through POST /users/{id}/picture', async (_name, role) => {
    const staff = role === 'admin' ? admin : await createVerifiedUser({ role });

    const response = await upload(staff.accessToken, await fixtures.smallJpeg(), { forUserId: owner.id });

    expect(response.status).toBe(200);
    expect(response.json.id).toBe(owner.id);
    expect(response.json.picture.default).toBe(false);
    expect(keysLinkedFrom((await profileOf(owner)).picture)).toEqual(await keysUnder(`pictures/${owner.id}/`));
    expect(await keysUnder(`pictures/${staff.id}/`)).toEqual([]);
  });

  test('a plain user gets 403 forbidden and the owner keeps their picture', async () => {
    const intruder = await createVerifiedUser();
    const before = await keysUnder(`pictures/${owner.id}/`);

    const response = await upload(intruder.accessToken, await fixtures.smallJpeg(), { forUserId: owner.id });

    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('forbidden');
    expect(await keysUnder(`pictures/${owner.id}/`)).toEqual(before);
    expect(await keysUnder(`pictures/${intruder.id}/`)).toEqual([]);
  });

  test('a plain user is refused before the body is read: 403 even for a body that is not multipart at all', async () => {
    const intruder = await createVerifiedUser();

    const response = await uploadForm(intruder.accessToken, { body: Buffer.from('not a form'), headers: { 'content-type': 'text/plain' } }, owner.id);

    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('forbidden');
  });

  test('an unknown user id is 404 not_found and the rendered variants are removed again', async () => {
    const nobody = randomUUID();

    const response = await upload(admin.accessToken, await fixtures.smallJpeg(), { forUserId: nobody });

    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('not_found');
    expect(await keysUnder(`pictures/${nobody}/`)).toEqual([]);
  });
});

describe('refused uploads change neither the bucket nor the profile', () => {
  let user: TestUser;
  let keysBefore: string[];

  beforeAll(async () => {
    user = await createVerifiedUser();
    const first = await upload(user.accessToken, await fixtures.smallJpeg());
    expect(first.status).toBe(200);
    keysBefore = await keysUnder(`pictures/${user.id}/`);
  });

  /** The user still has exactly the picture of beforeAll, in the bucket and in the profile. */
  async function expectNothingChanged() {
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual(keysBefore);
    expect(keysLinkedFrom((await profileOf(user)).picture)).toEqual(keysBefore);
  }

  test.each([
    ['PICTURE_MAX_BYTES + 1 bytes (caught while parsing)', 1],
    ['PICTURE_MAX_BYTES + 100 KiB (caught before parsing)', 100 * 1024],
  ])('a file of %s is 413 file_too_large', async (_name, excess) => {
    const jpeg = await fixtures.smallJpeg();
    const tooLarge = Buffer.concat([jpeg, Buffer.alloc(config().pictures.maxBytes + excess - jpeg.length)]);

    const response = await upload(user.accessToken, tooLarge);

    expect(response.status).toBe(413);
    expect(response.json.error.code).toBe('file_too_large');
    await expectNothingChanged();
  });

  // Other formats under an image label (415) and pixel bombs (422 image_too_large): test/hostile-upload.test.ts.

  test('an iPhone HEIC is 415 unsupported_media_type saying how to send JPEG instead', async () => {
    const response = await upload(user.accessToken, fixtures.heicHeader(), { filename: 'IMG_0001.HEIC', contentType: 'image/heic' });

    expect(response.status).toBe(415);
    expect(response.json.error.code).toBe('unsupported_media_type');
    expect(response.json.error.message).toMatch(/^HEIC\/HEIF images are not accepted: send the picture as JPEG\. On an iPhone, Settings → Camera → Formats → Most Compatible/);
    await expectNothingChanged();
  });

  test('a truncated JPEG is 422 invalid_image', async () => {
    const response = await upload(user.accessToken, await fixtures.truncatedJpeg());

    expect(response.status).toBe(422);
    expect(response.json.error.code).toBe('invalid_image');
    await expectNothingChanged();
  });

  test.each([
    ['only a text field named file', [{ name: 'file', value: 'picture.jpg' }]],
    ['the file under another field name', [{ name: 'photo', filename: 'picture.jpg', contentType: 'image/jpeg', content: 'x' }]],
    ['no parts at all', []],
  ])('a form with %s is 400 missing_file', async (_name, parts) => {
    const response = await uploadForm(user.accessToken, formUpload(parts));

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('missing_file');
    await expectNothingChanged();
  });

  test('two files are 400 invalid_multipart, neither is used', async () => {
    const jpeg = await fixtures.smallJpeg();
    const form = formUpload([
      { name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', content: jpeg },
      { name: 'file', filename: 'b.jpg', contentType: 'image/jpeg', content: jpeg },
    ]);

    const response = await uploadForm(user.accessToken, form);

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_multipart');
    await expectNothingChanged();
  });

  test('a JSON body is 415 unsupported_media_type with an error body', async () => {
    const response = await invoke(uploadPicture, {
      method: 'POST',
      route: '/users/me/picture',
      bearer: user.accessToken,
      json: { file: 'data:image/jpeg;base64,/9j/' },
    });

    expect(response.status).toBe(415);
    expect(response.json).toEqual({ error: { code: 'unsupported_media_type', message: expect.stringMatching(/multipart\/form-data/) } });
    await expectNothingChanged();
  });

  test('a body whose boundary differs from the declared one is 400 invalid_multipart', async () => {
    const response = await upload(user.accessToken, await fixtures.smallJpeg(), { declaredBoundary: 'SomeOtherBoundary' });

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_multipart');
    await expectNothingChanged();
  });

  // Regression guard: @middy/http-multipart-body-parser 7.9.2 never listens for 'error' on a file stream, so a body
  // that ends inside the file part used to answer 400 and then crash the process with busboy's "Part terminated
  // early" (Jest: "Unhandled error"). lib/http/multipart.ts now refuses such bodies before parsing.
  test.each([
    ['cut off halfway', { truncateTo: 0.5 }],
    ['without its closing delimiter', { omitClosingDelimiter: true }],
  ])('a body %s is 400 invalid_multipart', async (_name, malformation) => {
    const response = await upload(user.accessToken, await fixtures.smallJpeg(), malformation);
    await new Promise((resolve) => setTimeout(resolve, 20)); // let a late stream 'error' surface inside this test

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_multipart');
    await expectNothingChanged();
  });

  test('without a token it is 401 unauthorized', async () => {
    const response = await upload(undefined, await fixtures.smallJpeg());

    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('unauthorized');
    await expectNothingChanged();
  });
});

describe('multipart framing of real clients', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createVerifiedUser();
  });

  // RFC 2046 boundaries that real clients send: .NET's MultipartFormDataContent quotes the boundary,
  // Dart/Flutter's http package uses `+_.` and more, some clients omit the space after the semicolon.
  test.each([
    ['a quoted boundary (.NET)', 'multipart/form-data; boundary="MyBoundary-1"', 'MyBoundary-1'],
    ["RFC 2046 punctuation (Dart's http)", 'multipart/form-data; boundary=dart-http-boundary-a+b_c.d', 'dart-http-boundary-a+b_c.d'],
    ['no space after the semicolon', 'multipart/form-data;boundary=NoSpace1', 'NoSpace1'],
  ])('a form with %s is accepted', async (_name, contentType, boundary) => {
    const form = fileUpload(await fixtures.smallJpeg(), { boundary });

    const response = await uploadForm(user.accessToken, { body: form.body, headers: { 'content-type': contentType } });

    expect(response.status).toBe(200);
  });
});
