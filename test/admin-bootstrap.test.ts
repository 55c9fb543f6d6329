// ADMIN_EMAILS: a listed address becomes admin when its email is verified, and at login for accounts
// verified before the setting listed them. The setting is read at cold start, so it is set before the
// handlers load (dynamic imports below).
import { randomBytes } from 'node:crypto';
import { expect, test } from '@jest/globals';

const tag = randomBytes(4).toString('hex');
const boss = `boss-${tag}@example.test`;
const earlier = `earlier-${tag}@example.test`;
process.env.ADMIN_EMAILS = ` ${boss.toUpperCase()}, ${earlier} `;

const { registerVerifiedUser, PASSWORD, seedUser } = await import('./support/accounts');
const { invoke } = await import('./support/events');
const { handler: login } = await import('../functions/login');
const { handler: getProfile } = await import('../functions/get-profile');

test('a listed address is admin once verified; others are not', async () => {
  const [admin, plain] = await Promise.all([registerVerifiedUser({ email: boss }), registerVerifiedUser()]);
  expect((await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: admin.accessToken })).json.role).toBe('admin');
  expect((await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: plain.accessToken })).json.role).toBe('user');
});

test('an account verified before it was listed becomes admin at its next login', async () => {
  await seedUser({ email: earlier });
  const session = await invoke(login, { method: 'POST', route: '/auth/login', json: { email: earlier, password: PASSWORD } });
  expect(session.status).toBe(200);
  expect((await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: session.json.accessToken })).json.role).toBe('admin');
});

test('ADMIN_EMAILS is validated at start-up: a bad address stops it by name', async () => {
  const { parseConfig } = await import('../lib/platform/config');
  const valid = { DATABASE_URL: 'postgres://u:p@localhost/p', S3_BUCKET: 'portrait-x', JWT_SECRET: 'x'.repeat(32), SMTP_URL: 'smtp://localhost:1025', PUBLIC_BASE_URL: 'http://localhost:3000' };
  expect(parseConfig({ ...valid, ADMIN_EMAILS: 'A@Example.test,, b@example.test' }).adminEmails).toEqual(['a@example.test', 'b@example.test']);
  expect(parseConfig(valid).adminEmails).toEqual([]);
  expect(() => parseConfig({ ...valid, ADMIN_EMAILS: 'a@example.test, not-an-address' })).toThrow(/ADMIN_EMAILS/);
});
