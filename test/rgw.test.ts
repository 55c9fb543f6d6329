import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { S3Client, PutObjectCommand, GetBucketPolicyStatusCommand } from '@aws-sdk/client-s3';
import { realPartAvailable } from './support/real-parts';
import { defaultAvatarKey } from '../lib/pictures/keys';
import { startRgw, type RunningRgw } from './support/rgw';
import * as fixtures from '../scripts/support/images';

// s3rver accepts any signature and ignores POST policies; Ceph RGW enforces both, as S3 does.
if (realPartAvailable('rgw')) {
  describe('S3 conformance against Ceph RGW', () => {
    let rgw: RunningRgw;
    let storage: typeof import('../lib/platform/storage');
    let started = 0;

    beforeAll(async () => {
      started = performance.now();
      rgw = await startRgw();
      process.stderr.write(`\nCeph RGW up in ${Math.round(performance.now() - started)} ms\n`);
      // Every module below reads these at load: the functions talk to RGW in this file only.
      Object.assign(process.env, {
        S3_ENDPOINT: rgw.endpoint,
        S3_PUBLIC_ENDPOINT: rgw.endpoint,
        S3_BUCKET: 'portrait-rgw',
        S3_ACCESS_KEY_ID: rgw.accessKeyId,
        S3_SECRET_ACCESS_KEY: rgw.secretAccessKey,
      });
      storage = await import('../lib/platform/storage');
      const { defaultAvatarSource } = await import('../lib/pictures/images');
      const { config } = await import('../lib/platform/config');
      await storage.ensureBucket(defaultAvatarSource(config().pictures.sizes));
    }, 120_000);

    afterAll(async () => {
      await rgw?.stop();
    });

    const url = (key: string) => `${rgw.endpoint}/portrait-rgw/${key}`;

    test('the storage adapter works unchanged: bucket creation, put, head, get, list, delete', async () => {
      const key = `pictures/${crypto.randomUUID()}/x/200.webp`;
      await storage.s3Store.put(key, Buffer.from('hello'), 'image/webp');
      expect(await storage.s3Store.head(key)).toEqual({ key, size: 5 });
      expect((await storage.s3Store.get(key, 100))?.toString()).toBe('hello');
      expect((await storage.s3Store.list(key)).map((object) => object.key)).toEqual([key]);
      await storage.s3Store.deleteMany([key]);
      expect(await storage.s3Store.head(key)).toBeUndefined();
      expect(await storage.s3Store.head(defaultAvatarKey(200))).toMatchObject({ key: defaultAvatarKey(200) });
    });

    test('a wrong secret is refused', async () => {
      const impostor = new S3Client({
        endpoint: rgw.endpoint, forcePathStyle: true, region: 'us-east-1', maxAttempts: 1,
        credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: 'not-the-secret-0123456789' },
      });
      await expect(impostor.send(new PutObjectCommand({ Bucket: 'portrait-rgw', Key: 'incoming/x', Body: 'x' }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 403 },
      });
    });

    test('unsigned access is refused: no anonymous PUT, GET or listing, and the bucket has no public policy', async () => {
      expect((await fetch(url('incoming/anonymous'), { method: 'PUT', body: 'x' })).status).toBe(403);
      expect((await fetch(url(defaultAvatarKey(200)))).status).toBe(403);
      expect((await fetch(`${rgw.endpoint}/portrait-rgw/`)).status).toBe(403);
      const { S3Client: Client } = await import('@aws-sdk/client-s3');
      const owner = new Client({ endpoint: rgw.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
      const status = await owner.send(new GetBucketPolicyStatusCommand({ Bucket: 'portrait-rgw' })).then((answer) => answer.PolicyStatus?.IsPublic ?? false, () => false);
      expect(status).toBe(false);
    });

    test('a presigned GET works as signed, and is refused when altered or expired', async () => {
      const key = defaultAvatarKey(200);
      const signed = await storage.s3Store.presignGet(key, 60);
      expect((await fetch(signed)).status).toBe(200);
      expect((await fetch(signed.replace('/200.webp', '/512.webp'))).status).toBe(403);
      const expired = await storage.s3Store.presignGet(key, 1, new Date(Date.now() - 10_000));
      expect((await fetch(expired)).status).toBe(403);
    });

    async function postForm(target: { url: string; fields: Record<string, string> }, body: Uint8Array, overrides: Record<string, string> = {}) {
      const form = new FormData();
      for (const [name, value] of Object.entries({ ...target.fields, ...overrides })) form.append(name, value);
      form.append('file', new Blob([body]), 'picture');
      const response = await fetch(target.url, { method: 'POST', body: form });
      return { status: response.status, text: await response.text() };
    }

    test('a presigned POST stores the file within its policy', async () => {
      const key = `incoming/${crypto.randomUUID()}/${crypto.randomUUID()}`;
      const post = await storage.s3Store.presignPost(key, 1000, 60);
      expect((await postForm(post, new Uint8Array(500))).status).toBeLessThan(300);
      expect(await storage.s3Store.head(key)).toEqual({ key, size: 500 });
    });

    test('a presigned POST over its content-length-range is refused by the store (EntityTooLarge)', async () => {
      const key = `incoming/${crypto.randomUUID()}/${crypto.randomUUID()}`;
      const post = await storage.s3Store.presignPost(key, 1000, 60);
      const answer = await postForm(post, new Uint8Array(2000));
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('EntityTooLarge');
      expect(await storage.s3Store.head(key)).toBeUndefined();
    });

    test('a presigned POST used for another key is refused', async () => {
      const key = `incoming/${crypto.randomUUID()}/${crypto.randomUUID()}`;
      const post = await storage.s3Store.presignPost(key, 1000, 60);
      const other = `incoming/${crypto.randomUUID()}/other`;
      expect((await postForm(post, new Uint8Array(10), { key: other })).status).toBe(403);
      expect(await storage.s3Store.head(other)).toBeUndefined();
    });

    test('an expired presigned POST is refused', async () => {
      const key = `incoming/${crypto.randomUUID()}/${crypto.randomUUID()}`;
      const post = await storage.s3Store.presignPost(key, 1000, 1);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await postForm(post, new Uint8Array(10))).status).toBe(403);
      expect(await storage.s3Store.head(key)).toBeUndefined();
    });

    test('the direct-upload route signs PICTURE_DIRECT_MAX_BYTES into its policy, and the store refuses a byte more', async () => {
      const { createVerifiedUser } = await import('./support/accounts');
      const { invoke } = await import('./support/events');
      const { handler: uploadUrl } = await import('../functions/upload-url');
      const { config } = await import('../lib/platform/config');
      const user = await createVerifiedUser();
      const direct = await invoke(uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: user.accessToken });
      expect(direct.status).toBe(200);
      const { url, fields, key, maxBytes } = direct.json as any;
      expect(maxBytes).toBe(config().pictures.directMaxBytes);
      const answer = await postForm({ url, fields }, new Uint8Array(maxBytes + 1));
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('EntityTooLarge');
      expect(await storage.s3Store.head(key)).toBeUndefined();
    }, 60_000);

    test('the picture flows: multipart upload, direct upload with the real presigned POST, confirm, redirect, delete', async () => {
      const { createVerifiedUser } = await import('./support/accounts');
      const { invoke } = await import('./support/events');
      const { fileUpload } = await import('../scripts/support/multipart');
      const { handler: uploadUrl } = await import('../functions/upload-url');
      const { handler: confirmPicture } = await import('../functions/confirm-picture');
      const { handler: uploadPicture } = await import('../functions/upload-picture');
      const { handler: pictureRedirect } = await import('../functions/picture-redirect');
      const { handler: deletePicture } = await import('../functions/delete-picture');
      const user = await createVerifiedUser();

      const multipart = await invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(await fixtures.smallJpeg(320, 240, fixtures.GREEN)) });
      expect(multipart.status).toBe(200);
      expect((await fetch((multipart.json as any).picture.url)).status).toBe(200);

      const direct = await invoke(uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: user.accessToken });
      expect(direct.status).toBe(200);
      const { url: postUrl, fields, key } = direct.json as any;
      expect((await postForm({ url: postUrl, fields }, await fixtures.smallJpeg(400, 300, fixtures.RED))).status).toBeLessThan(300);
      const confirmed = await invoke(confirmPicture, { method: 'POST', route: '/users/me/picture/confirm', bearer: user.accessToken, json: { key: key ?? fields.key } });
      expect(confirmed.status).toBe(200);
      const picture = (confirmed.json as any).picture;
      expect(picture.default).toBe(false);
      expect((await fetch(picture.variants['512'])).status).toBe(200);

      const redirect = await invoke(pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: user.id } });
      expect(redirect.status).toBe(302);
      const image = await fetch(redirect.headers.location!);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/webp');

      const deleted = await invoke(deletePicture, { method: 'DELETE', route: '/users/me/picture', bearer: user.accessToken });
      expect(deleted.status).toBe(200);
      expect((deleted.json as any).picture.default).toBe(true);
      expect((await fetch((deleted.json as any).picture.url)).status).toBe(200);
      expect(await storage.s3Store.list(`pictures/${user.id}/`)).toEqual([]);
    }, 60_000);
  });
}
