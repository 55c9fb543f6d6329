import { describe, expect, test } from '@jest/globals';
import { handler as getProfile } from '../functions/get-profile';
import { handler as updateProfile } from '../functions/update-profile';
import { createVerifiedUser } from './support/accounts';
import { invoke } from './support/events';

const me = (bearer: string) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer });
const byId = (bearer: string, id: string) => invoke(getProfile, { method: 'GET', route: '/users/{id}', pathParameters: { id }, bearer });
const patch = (bearer: string | undefined, json: unknown) => invoke(updateProfile, { method: 'PATCH', route: '/users/me', json, bearer });

describe('GET /users/me and /users/{id}', () => {
  test('returns the profile with the default avatar as presigned URLs for every size', async () => {
    const user = await createVerifiedUser();
    const response = await me(user.accessToken);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const profile = response.json;
    expect(profile).toMatchObject({ id: user.id, email: user.email, emailVerified: true, role: 'user', firstName: null, lastName: null, bio: null });
    expect(profile.picture.default).toBe(true);
    expect(Object.keys(profile.picture.variants)).toEqual(['64', '200', '512']);
    expect(profile.picture.url).toBe(profile.picture.variants['200']);
    expect(profile.picture.url).toContain('/defaults/avatar/200.webp');
    expect(profile.picture.url).toContain('X-Amz-Signature=');
    const expiresIn = Date.parse(profile.picture.expiresAt) - Date.now();
    // Signed at the start of a quarter-TTL window (cacheable URLs): at least 3/4 of the 15 min are left.
    expect(expiresIn).toBeGreaterThan(670_000);
    expect(expiresIn).toBeLessThanOrEqual(900_000);
  });

  test('the default avatar URL serves a WebP image', async () => {
    const user = await createVerifiedUser();
    const { picture } = (await me(user.accessToken)).json;
    const image = await fetch(picture.variants['64']);
    expect(image.status).toBe(200);
    const bytes = Buffer.from(await image.arrayBuffer());
    expect(bytes.subarray(0, 4).toString()).toBe('RIFF');
    expect(bytes.subarray(8, 12).toString()).toBe('WEBP');
  });

  test("another user's profile has no email; an admin sees it", async () => {
    const owner = await createVerifiedUser();
    const stranger = await createVerifiedUser();
    const admin = await createVerifiedUser({ role: 'admin' });
    const seenByStranger = await byId(stranger.accessToken, owner.id);
    expect(seenByStranger.status).toBe(200);
    expect(seenByStranger.json.id).toBe(owner.id);
    expect(seenByStranger.json).not.toHaveProperty('email');
    expect((await byId(admin.accessToken, owner.id)).json.email).toBe(owner.email);
    expect((await byId(owner.accessToken, owner.id)).json.email).toBe(owner.email);
  });

  test('an unknown or malformed id is 404 not_found', async () => {
    const user = await createVerifiedUser();
    for (const id of ['2b1a3f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f', 'not-a-uuid']) {
      const response = await byId(user.accessToken, id);
      expect(response.status).toBe(404);
      expect(response.json.error.code).toBe('not_found');
    }
  });

  test('without a token it is 401', async () => {
    const response = await invoke(getProfile, { method: 'GET', route: '/users/{id}', pathParameters: { id: 'me' } });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });
});

describe('PATCH /users/me', () => {
  test('changes the given fields and leaves the others', async () => {
    const user = await createVerifiedUser();
    const before = (await me(user.accessToken)).json;
    const response = await patch(user.accessToken, { firstName: ' Grace ', bio: 'Compilers.\nNavy.' });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ firstName: 'Grace', bio: 'Compilers.\nNavy.', lastName: null, nickname: before.nickname });
    expect(Date.parse(response.json.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    expect((await me(user.accessToken)).json.firstName).toBe('Grace');
  });

  test('an empty string clears a field', async () => {
    const user = await createVerifiedUser();
    await patch(user.accessToken, { lastName: 'Hopper' });
    expect((await patch(user.accessToken, { lastName: '' })).json.lastName).toBeNull();
  });

  test('a taken nickname is 409 nickname_taken and changes nothing', async () => {
    const first = await createVerifiedUser();
    const second = await createVerifiedUser();
    const taken = (await me(first.accessToken)).json.nickname;
    const response = await patch(second.accessToken, { nickname: taken, bio: 'should not stick' });
    expect(response.status).toBe(409);
    expect(response.json.error.code).toBe('nickname_taken');
    expect((await me(second.accessToken)).json.bio).toBeNull();
  });

  test('role and email cannot be changed through the profile: 400 naming both, nothing changes', async () => {
    const user = await createVerifiedUser();
    const response = await patch(user.accessToken, { role: 'admin', email: 'x@example.test', emailVerified: false, bio: 'ok' });
    expect(response.status).toBe(400);
    expect(Object.keys(response.json.error.details).sort()).toEqual(['email', 'role']);
    expect((await me(user.accessToken)).json).toMatchObject({ role: 'user', email: user.email, emailVerified: true, bio: null });
  });

  test('verification state is not a profile field and stays ignored', async () => {
    const user = await createVerifiedUser();
    const response = await patch(user.accessToken, { emailVerified: false, bio: 'ok' });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ emailVerified: true, bio: 'ok' });
  });

  test('invalid fields are 400 validation_failed with details', async () => {
    const user = await createVerifiedUser();
    const response = await patch(user.accessToken, { nickname: 'a', bio: 'x'.repeat(501), firstName: ['array'] });
    expect(response.status).toBe(400);
    expect(Object.keys(response.json.error.details).sort()).toEqual(['bio', 'firstName', 'nickname']);
  });

  test('without a token it is 401, before the body is looked at', async () => {
    const response = await patch(undefined, { nickname: 'a' });
    expect(response.status).toBe(401);
  });
});
