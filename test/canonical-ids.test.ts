/**
 * Upper-case ids (issue 8, item 7): POST /users/{ID}/picture with the id in upper case answered 200, stored
 * objects under the upper-case key, the picture URL was a 404 and the owner's delete left all objects behind.
 * Ids are canonicalised at the edge (lib/http/endpoint.ts) and storage keys derive from the stored id.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { handler as deletePicture } from '../functions/delete-picture';
import { handler as getProfile } from '../functions/get-profile';
import { handler as pictureRedirect } from '../functions/picture-redirect';
import { handler as uploadPicture } from '../functions/upload-picture';
import { s3Store } from '../lib/platform/storage';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fx from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

let owner: TestUser;
let manager: TestUser;
let jpeg: Buffer;
beforeAll(async () => {
  [owner, manager, jpeg] = await Promise.all([createVerifiedUser(), createVerifiedUser({ role: 'manager' }), fx.smallJpeg(64, 48)]);
});

const keysOf = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key);
const uploadAs = (user: TestUser, id: string) =>
  invoke(uploadPicture, { method: 'POST', route: '/users/{id}/picture', pathParameters: { id }, bearer: user.accessToken, ...fileUpload(jpeg) });
const storedKeyOf = (url: string) => decodeURIComponent(new URL(url).pathname).replace(`/${process.env.S3_BUCKET}/`, '');

describe('a user id in upper case names the same user', () => {
  test("the owner's upload stores under the lower-case id, its URLs resolve, and the delete leaves nothing", async () => {
    const response = await uploadAs(owner, owner.id.toUpperCase());
    expect(response.status).toBe(200);
    expect(response.json.id).toBe(owner.id);
    expect(await keysOf(`pictures/${owner.id.toUpperCase()}/`)).toEqual([]);
    const keys = await keysOf(`pictures/${owner.id}/`);
    expect(keys).toHaveLength(3);
    for (const url of Object.values(response.json.picture.variants as Record<string, string>)) expect(keys).toContain(storedKeyOf(url));

    expect((await invoke(deletePicture, { method: 'DELETE', route: '/users/me/picture', bearer: owner.accessToken })).status).toBe(200);
    expect(await keysOf(`pictures/${owner.id}/`)).toEqual([]);
    expect(await keysOf(`pictures/${owner.id.toUpperCase()}/`)).toEqual([]);
  });

  test("a manager's upload for another user in upper case stores under the lower-case id", async () => {
    const response = await uploadAs(manager, owner.id.toUpperCase());
    expect(response.status).toBe(200);
    expect(await keysOf(`pictures/${owner.id}/`)).toHaveLength(3);
    expect(await keysOf(`pictures/${owner.id.toUpperCase()}/`)).toEqual([]);
  });

  test('GET /users/{ID} and GET /users/{ID}/picture answer as for the lower-case id', async () => {
    const upper = owner.id.toUpperCase();
    const profile = await invoke(getProfile, { method: 'GET', route: '/users/{id}', pathParameters: { id: upper }, bearer: owner.accessToken });
    expect(profile.status).toBe(200);
    expect(profile.json).toMatchObject({ id: owner.id, email: owner.email });
    const redirect = await invoke(pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: upper } });
    expect(redirect.status).toBe(302);
  });
});
