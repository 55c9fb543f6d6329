import { describe, expect, test } from '@jest/globals';
import { handler as getProfile } from '../functions/get-profile';
import { handler as health } from '../functions/health';
import { handler as login } from '../functions/login';
import { handler as notFound } from '../functions/not-found';
import { handler as pictureRedirect } from '../functions/picture-redirect';
import { handler as uploadPicture } from '../functions/upload-picture';
import { handler as verifyEmail } from '../functions/verify-email';
import { createVerifiedUser } from './support/accounts';
import { invoke } from './support/events';

// Issue 8, item 12: every response, success, error or redirect, carries x-content-type-options: nosniff.
describe('x-content-type-options: nosniff on every response', () => {
  test.each([
    ['a 200 JSON', async () => invoke(health, { method: 'GET', route: '/health' })],
    ['a 401 error', async () => invoke(getProfile, { method: 'GET', route: '/users/me' })],
    ['a 400 validation error', async () => invoke(login, { method: 'POST', route: '/auth/login', json: {} })],
    ['an HTML page', async () => invoke(verifyEmail, { method: 'GET', route: '/auth/verify-email', query: { token: 'x' } })],
    ['a 302 redirect', async () => invoke(pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: (await createVerifiedUser()).id } })],
    ['a 404 of an unknown route', async () => invoke(notFound, { method: 'GET', route: '/nowhere' })],
    ['a 415 upload refusal', async () => {
      const user = await createVerifiedUser();
      return invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, json: { file: 'x' } });
    }],
  ])('%s', async (_name, call) => {
    const response = await call();
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });
});
