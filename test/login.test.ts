import { describe, expect, test } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { handler as login } from '../functions/login';
import { handler as register } from '../functions/register';
import { query } from '../lib/platform/db';
import { PASSWORD, createVerifiedUser, uniqueEmail } from './support/accounts';
import { invoke } from './support/events';

const loginWith = (email: string, password: string) => invoke(login, { method: 'POST', route: '/auth/login', json: { email, password } });

describe('POST /auth/login', () => {
  test('a verified account gets an access token, a refresh token and their lifetime', async () => {
    const user = await createVerifiedUser();
    const response = await loginWith(user.email, PASSWORD);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json).toEqual({ accessToken: expect.any(String), refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), tokenType: 'Bearer', expiresIn: 900 });
    expect(decodeProtectedHeader(response.json.accessToken)).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
    const claims = decodeJwt(response.json.accessToken);
    expect(claims).toMatchObject({ sub: user.id, role: 'user', iss: 'portrait-test', aud: 'portrait-test-api', jti: expect.any(String) });
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  test('unknown email and wrong password answer the same 401 body', async () => {
    const user = await createVerifiedUser();
    const wrongPassword = await loginWith(user.email, 'not the password');
    const unknownEmail = await loginWith(uniqueEmail('ghost'), PASSWORD);
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.json).toEqual(unknownEmail.json);
    expect(wrongPassword.json.error.code).toBe('invalid_credentials');
  });

  test('an unverified account gets 403 email_not_verified only with the right password', async () => {
    const email = uniqueEmail();
    await invoke(register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } });
    const right = await loginWith(email, PASSWORD);
    expect(right.status).toBe(403);
    expect(right.json.error.code).toBe('email_not_verified');
    const wrong = await loginWith(email, 'not the password');
    expect(wrong.status).toBe(401);
  });

  test('after 5 failures in 15 minutes the account answers 429 with Retry-After, even to the right password', async () => {
    const user = await createVerifiedUser();
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await loginWith(user.email, `wrong ${attempt}`)).status).toBe(401);
    const locked = await loginWith(user.email, PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.json.error.code).toBe('too_many_attempts');
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
  });

  test('the lock lifts when the window has passed', async () => {
    const user = await createVerifiedUser();
    for (let attempt = 0; attempt < 5; attempt += 1) await loginWith(user.email, `wrong ${attempt}`);
    await query(`update login_failures set failed_at = failed_at - interval '16 minutes' where email = $1`, [user.email]);
    expect((await loginWith(user.email, PASSWORD)).status).toBe(200);
  });

  test('a missing password is 400 validation_failed', async () => {
    const response = await invoke(login, { method: 'POST', route: '/auth/login', json: { email: 'a@example.test' } });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'validation_failed', details: { password: expect.any(String) } });
  });
});
