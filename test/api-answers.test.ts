// Answers that tell the caller what actually happened and what to do next (issue 12, item 7).
import { beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { handler as getProfile } from '../functions/get-profile';
import { handler as login } from '../functions/login';
import { handler as pictureRedirect } from '../functions/picture-redirect';
import { handler as resendVerification } from '../functions/resend-verification';
import { handler as verifyEmail } from '../functions/verify-email';
import { handler as updateProfile } from '../functions/update-profile';
import { handler as uploadPicture } from '../functions/upload-picture';
import { PASSWORD, createVerifiedUser, uniqueEmail } from './support/accounts';
import { invoke } from './support/events';
import { noisyJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

const me = (bearer?: string) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer });
const patch = (bearer: string, json: unknown) => invoke(updateProfile, { method: 'PATCH', route: '/users/me', json, bearer });
const loginWith = (email: string, password: string) => invoke(login, { method: 'POST', route: '/auth/login', json: { email, password } });

async function expiredTokenFor(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'user' })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setSubject(userId)
    .setIssuer(process.env.JWT_ISSUER!)
    .setAudience(process.env.JWT_AUDIENCE!)
    .setIssuedAt(now - 3600)
    .setExpirationTime(now - 60)
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(process.env.JWT_SECRET!));
}

describe('401 answers carry the Bearer challenge and say what is wrong', () => {
  test('without a token: a challenge without an error, and how to send one', async () => {
    const response = await me();

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="portrait"');
    expect(response.json.error.message).toMatch(/Authorization: Bearer/);
  });

  test('an expired token: error="invalid_token", and the message says it expired and how to renew', async () => {
    const user = await createVerifiedUser();

    const response = await me(await expiredTokenFor(user.id));

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="portrait", error="invalid_token", error_description="The access token expired"');
    expect(response.json.error).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/expired.*POST \/auth\/refresh/) });
  });

  test('a forged token: error="invalid_token", and the message does not claim it expired', async () => {
    const response = await me('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl');

    expect(response.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(response.json.error.message).not.toMatch(/expired/);
  });
});

describe('PATCH /users/me refuses what it cannot change instead of ignoring it', () => {
  test('email: 400 naming the route that changes an email, and nothing changes', async () => {
    const user = await createVerifiedUser();

    const response = await patch(user.accessToken, { email: 'new@example.com', bio: 'hello' });

    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'validation_failed', details: { email: expect.stringContaining('POST /users/me/email') } });
    expect((await me(user.accessToken)).json).toMatchObject({ email: user.email, bio: null });
  });

  test('role: 400 saying roles are not self-service', async () => {
    const user = await createVerifiedUser();

    const response = await patch(user.accessToken, { role: 'admin' });

    expect(response.status).toBe(400);
    expect(response.json.error.details.role).toMatch(/not self-service/);
    expect((await me(user.accessToken)).json.role).toBe('user');
  });

  test('other unknown fields stay ignored', async () => {
    const user = await createVerifiedUser();

    const response = await patch(user.accessToken, { bio: 'hi', favouriteColour: 'teal' });

    expect(response.status).toBe(200);
    expect(response.json.bio).toBe('hi');
  });
});

test('the 429 of the login throttle says in how many minutes to try again', async () => {
  const user = await createVerifiedUser();
  for (let attempt = 0; attempt < 5; attempt += 1) await loginWith(user.email, `wrong ${attempt}`);

  const locked = await loginWith(user.email, PASSWORD);

  expect(locked.status).toBe(429);
  const minutes = Math.ceil(Number(locked.headers['retry-after']) / 60);
  expect(locked.json.error.message).toBe(`Too many failed logins for this account. Try again in ${minutes} minutes.`);
});

describe('GET /users/me/picture', () => {
  const myPicture = (bearer?: string) => invoke(pictureRedirect, { method: 'GET', route: '/users/me/picture', bearer, query: { size: '64' } });

  test("redirects to the caller's picture, the same place as /users/{id}/picture", async () => {
    const user = await createVerifiedUser();

    const mine = await myPicture(user.accessToken);
    const byId = await invoke(pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: user.id }, query: { size: '64' } });

    expect(mine.status).toBe(302);
    expect(mine.headers.location).toContain('/defaults/avatar/64.webp');
    expect(mine.headers.location).toBe(byId.headers.location);
  });

  test('without a token it is 401 with the Bearer challenge, not "No user with this id"', async () => {
    const response = await myPicture();

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="portrait"');
  });
});

describe('the error pages of verify-email offer a resend form that works', () => {
  const form = (route: string, fields: Record<string, string>) =>
    invoke(route === '/auth/verify-email' ? verifyEmail : resendVerification, {
      method: 'POST',
      route,
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  test('an unusable link shows a form posting to resend-verification, without telling to "use the newest" mail', async () => {
    const response = await form('/auth/verify-email', { token: 'A'.repeat(43) });

    expect(response.status).toBe(400);
    expect(response.body).toContain(`action="${process.env.PUBLIC_BASE_URL}/auth/resend-verification"`);
    expect(response.body).toContain('name="email"');
    expect(response.body).not.toMatch(/newest/);
  });

  test('an incomplete link shows the form too', async () => {
    const response = await invoke(verifyEmail, { method: 'GET', route: '/auth/verify-email', query: {} });

    expect(response.status).toBe(400);
    expect(response.body).toContain('/auth/resend-verification');
  });

  test('the form post answers with a page (JSON callers still get JSON)', async () => {
    const email = uniqueEmail('resend');

    const page = await form('/auth/resend-verification', { email });
    const api = await invoke(resendVerification, { method: 'POST', route: '/auth/resend-verification', json: { email } });

    expect(page.status).toBe(202);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('Check your inbox');
    expect(api.status).toBe(202);
    expect(api.json.message).toMatch(/confirmation mail/);
  });
});

describe('POST /users/me/picture with a raw (non-multipart) body says to send multipart, whatever its size', () => {
  let photo: Buffer;
  let user: Awaited<ReturnType<typeof createVerifiedUser>>;
  beforeAll(async () => {
    [photo, user] = await Promise.all([noisyJpeg(), createVerifiedUser()]);
  });
  const upload = (body: string | Buffer, contentType: string) =>
    invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, body, headers: { 'content-type': contentType } });

  test.each([
    // serverless-offline hands a non-multipart body over text-decoded: each invalid byte becomes three.
    ['image/jpeg, text-decoded', () => photo.toString('utf8'), 'image/jpeg'],
    // API Gateway hands binary media over base64-encoded.
    ['image/jpeg, base64', () => photo, 'image/jpeg'],
    // What `curl --data-binary @photo.jpg` sends without -H.
    ['application/x-www-form-urlencoded', () => photo.toString('latin1'), 'application/x-www-form-urlencoded'],
  ])('a 3.3 MB JPEG sent as %s is 415 naming multipart/form-data and the field "file", not 413', async (_, body, contentType) => {
    expect(photo.byteLength).toBeGreaterThan(3 * 1024 * 1024);
    expect(photo.byteLength).toBeLessThan(5 * 1024 * 1024);

    const response = await upload(body(), contentType);

    expect(response.status).toBe(415);
    expect(response.json.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/multipart\/form-data.*"file"/) });
  });

  test('a multipart body over the limit is still 413 file_too_large', async () => {
    const form = fileUpload(Buffer.concat([photo, photo]));

    const response = await upload(form.body, form.headers['content-type']!);

    expect(response.status).toBe(413);
    expect(response.json.error).toMatchObject({ code: 'file_too_large', message: 'The picture is larger than 5 MiB.' });
  });
});
