import { describe, expect, test } from '@jest/globals';
import { handler as verifyEmail } from '../functions/verify-email';
import { query } from '../lib/platform/db';
import { registerAndReadToken } from './support/accounts';
import { invoke } from './support/events';

const page = (token?: string) =>
  invoke(verifyEmail, { method: 'GET', route: '/auth/verify-email', query: token === undefined ? {} : { token } });
const confirmJson = (token: unknown) => invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token } });
const confirmForm = (token: string) =>
  invoke(verifyEmail, {
    method: 'POST',
    route: '/auth/verify-email',
    body: new URLSearchParams({ token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
const verifiedAt = async (email: string) => (await query('select email_verified_at from users where email = $1', [email])).rows[0]!.email_verified_at;

describe('GET /auth/verify-email', () => {
  test('shows a page whose form posts the token, and consumes nothing', async () => {
    const { email, token } = await registerAndReadToken();
    const response = await page(token);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toContain('<form method="post" action="http://localhost:3000/auth/verify-email">');
    expect(response.body).toContain(`name="token" value="${token}"`);
    expect(await verifiedAt(email)).toBeNull();
    expect((await page(token)).status).toBe(200);
    expect((await confirmJson(token)).status).toBe(200);
  });

  test('a link without a token shows a page saying so', async () => {
    const response = await page();
    expect(response.status).toBe(400);
    expect(response.body).toMatch(/incomplete/i);
  });

  test('markup in the token cannot reach the page unescaped', async () => {
    const response = await page('"><script>alert(1)</script>');
    expect(response.body).not.toContain('<script>');
  });
});

describe('POST /auth/verify-email', () => {
  test('JSON with a valid token verifies the email and answers the profile', async () => {
    const { email, token } = await registerAndReadToken();
    const response = await confirmJson(token);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json.user).toMatchObject({ email, emailVerified: true, role: 'user', picture: { default: true } });
    expect(await verifiedAt(email)).not.toBeNull();
  });

  test('a token works once: the second use is 400 invalid_token', async () => {
    const { token } = await registerAndReadToken();
    expect((await confirmJson(token)).status).toBe(200);
    const again = await confirmJson(token);
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe('invalid_token');
  });

  test('an expired token is 400 invalid_token and verifies nothing', async () => {
    const { email, token } = await registerAndReadToken();
    await query(`update verification_tokens set expires_at = now() - interval '1 second' where user_id = (select id from users where email = $1)`, [email]);
    const response = await confirmJson(token);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_token');
    expect(await verifiedAt(email)).toBeNull();
  });

  test.each([['unknown', 'A'.repeat(43)], ['garbage', '../../etc/passwd'], ['over-long', 'x'.repeat(500)]])(
    'an %s token is 400 invalid_token',
    async (_, token) => {
      const response = await confirmJson(token);
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('invalid_token');
    },
  );

  test('a missing token is 400 validation_failed', async () => {
    const response = await invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: {} });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
  });

  test("the page's form post verifies and shows a success page", async () => {
    const { email, token } = await registerAndReadToken();
    const response = await confirmForm(token);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toMatch(/confirmed/i);
    expect(await verifiedAt(email)).not.toBeNull();
  });

  test('a form post with a used token shows an error page with 400', async () => {
    const { token } = await registerAndReadToken();
    await confirmForm(token);
    const response = await confirmForm(token);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toMatch(/cannot be used/i);
  });

  test('a body that is neither JSON nor a form is 415', async () => {
    const response = await invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', body: 'token', headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(415);
    expect(response.json.error.code).toBe('unsupported_media_type');
  });
});
