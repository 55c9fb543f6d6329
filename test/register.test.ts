import { describe, expect, test } from '@jest/globals';
import { handler as register } from '../functions/register';
import { handler as login } from '../functions/login';
import { handler as resend } from '../functions/resend-verification';
import { handler as verifyEmail } from '../functions/verify-email';
import { query } from '../lib/platform/db';
import { readMails } from '../scripts/stack/mail';
import { PASSWORD, registerVerifiedUser, mailTo, uniqueEmail, verificationTokenIn } from './support/accounts';
import { invoke } from './support/events';

const registerWith = (json: unknown, headers?: Record<string, string>) =>
  invoke(register, { method: 'POST', route: '/auth/register', json, headers });

const mailsTo = async (email: string) => (await readMails(process.env.TEST_MAIL_DIR!)).filter((mail) => mail.to.includes(email));
const usersWith = async (email: string) => (await query('select * from users where email = $1', [email])).rows;
const userWith = async (email: string): Promise<any> => (await usersWith(email))[0];

describe('POST /auth/register', () => {
  test('a new email gets an account, a 202 and a verification mail with a link from PUBLIC_BASE_URL', async () => {
    const email = uniqueEmail();
    const response = await registerWith({ email, password: PASSWORD, firstName: 'Ada', lastName: 'Lovelace' });
    expect(response.status).toBe(202);
    expect(response.json).toEqual({ message: expect.any(String) });
    expect(response.headers['x-request-id']).toMatch(/\S+/);
    const mail = await mailTo(email);
    expect(mail.subject).toMatch(/confirm/i);
    expect(mail.text).toContain('http://localhost:3000/auth/verify-email?token=');
    expect(mail.html).toContain('http://localhost:3000/auth/verify-email?token=');
    expect(verificationTokenIn(mail)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const user = await userWith(email);
    expect(user).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', role: 'user', email_verified_at: null, picture_id: null });
    expect(user.password_hash).toMatch(/^scrypt\$v=1\$N=1024,r=8,p=3\$/);
    expect(user.password_hash).not.toContain(PASSWORD);
  });

  test('links ignore the Host and Forwarded headers of the request', async () => {
    const email = uniqueEmail();
    await registerWith({ email, password: PASSWORD }, { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    const mail = await mailTo(email);
    expect(mail.text).not.toContain('evil.example');
    expect(mail.links[0]).toMatch(/^http:\/\/localhost:3000\//);
  });

  test('the verification token is stored only as its SHA-256', async () => {
    const email = uniqueEmail();
    await registerWith({ email, password: PASSWORD });
    const token = verificationTokenIn(await mailTo(email));
    const { rows } = await query(
      `select encode(token_hash, 'hex') as hash, extract(epoch from t.expires_at - t.created_at)::int as ttl from verification_tokens t join users u on u.id = t.user_id where u.email = $1`,
      [email],
    );
    const { createHash } = await import('node:crypto');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(rows[0]!.ttl).toBe(86400);
  });

  test('email is trimmed and lower-cased; the nickname is generated when absent', async () => {
    const email = uniqueEmail();
    expect((await registerWith({ email: `  ${email.toUpperCase()}  `, password: PASSWORD })).status).toBe(202);
    const user = await userWith(email);
    expect(user.nickname).toMatch(/^[a-z]+_[a-z]+_\d{3}$/);
  });

  test('a known verified email answers the same 202 and gets an "account exists" mail, not a new account', async () => {
    const existing = await registerVerifiedUser();
    await query('delete from mail_throttle where email = $1', [existing.email]);
    const response = await registerWith({ email: existing.email, password: 'another password 123' });
    expect(response.status).toBe(202);
    expect(response.json).toEqual((await registerWith({ email: uniqueEmail(), password: PASSWORD })).json);
    const mail = await mailTo(existing.email, { count: 2 });
    expect(mail.subject).toMatch(/already have/i);
    expect(mail.text).toMatch(/log in/i);
    expect(mail.links.some((link) => link.includes('verify-email'))).toBe(false);
    expect(await usersWith(existing.email)).toHaveLength(1);
  });

  test('a known unverified email gets a fresh verification mail once the minute has passed', async () => {
    const email = uniqueEmail();
    await registerWith({ email, password: PASSWORD });
    const first = verificationTokenIn(await mailTo(email));
    await query(`update mail_throttle set last_sent_at = now() - interval '61 seconds' where email = $1`, [email]);
    expect((await registerWith({ email, password: PASSWORD })).status).toBe(202);
    const second = verificationTokenIn(await mailTo(email, { count: 2 }));
    expect(second).not.toBe(first);
    expect(await usersWith(email)).toHaveLength(1);
  });

  test('mails to one address go out at most once a minute', async () => {
    const email = uniqueEmail();
    await registerWith({ email, password: PASSWORD });
    await mailTo(email);
    expect((await registerWith({ email, password: PASSWORD })).status).toBe(202);
    expect((await invoke(resend, { method: 'POST', route: '/auth/resend-verification', json: { email } })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await mailsTo(email)).toHaveLength(1);
  });

  test('20 parallel registrations of one email make one account and one mail', async () => {
    const email = uniqueEmail('parallel');
    const responses = await Promise.all(Array.from({ length: 20 }, () => registerWith({ email, password: PASSWORD })));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(202));
    expect(await usersWith(email)).toHaveLength(1);
    await mailTo(email);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await mailsTo(email)).toHaveLength(1);
  });

  test('a taken nickname answers the same 202 as any registration; the new account gets a generated one', async () => {
    const nickname = `nick_${Date.now()}`;
    const first = await registerWith({ email: uniqueEmail(), password: PASSWORD, nickname });
    expect(first.status).toBe(202);
    const email = uniqueEmail();
    const response = await registerWith({ email, password: PASSWORD, nickname: nickname.toUpperCase() });
    expect(response.status).toBe(202);
    expect(response.json).toEqual(first.json);
    expect((await userWith(email)).nickname).toMatch(/^[a-z]+_[a-z]+_\d{6}$/);
  });

  test('unknown fields are ignored: no self-made admin or verified account', async () => {
    const email = uniqueEmail();
    const response = await registerWith({ email, password: PASSWORD, role: 'admin', emailVerified: true, email_verified_at: '2020-01-01', id: '00000000-0000-0000-0000-000000000000' });
    expect(response.status).toBe(202);
    const user = await userWith(email);
    expect(user.role).toBe('user');
    expect(user.email_verified_at).toBeNull();
    expect(user.id).not.toBe('00000000-0000-0000-0000-000000000000');
  });

  test.each([
    ['a missing email', { password: PASSWORD }, 'email'],
    ['an invalid email', { email: 'not-an-email', password: PASSWORD }, 'email'],
    ['a short password', { email: 'short@example.test', password: 'short' }, 'password'],
    ['a password over 128 characters', { email: 'long@example.test', password: 'x'.repeat(129) }, 'password'],
    ['the email as password', { email: 'same@example.test', password: 'SAME@example.test' }, 'password'],
    ['a number as email', { email: 42, password: PASSWORD }, 'email'],
    ['a bad nickname', { email: 'nick@example.test', password: PASSWORD, nickname: 'no spaces here' }, 'nickname'],
  ])('%s is 400 validation_failed naming the field', async (_, body, field) => {
    const response = await registerWith(body);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(response.json.error.details).toHaveProperty(field);
  });

  test('malformed JSON is 400 invalid_json and a non-JSON body is 415', async () => {
    const malformed = await invoke(register, { method: 'POST', route: '/auth/register', body: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('invalid_json');
    const form = await invoke(register, { method: 'POST', route: '/auth/register', body: 'email=a@b.co', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe('unsupported_media_type');
  });
});

describe('POST /auth/resend-verification', () => {
  test('an unverified account gets a new mail; unknown and verified emails get the same 202 and no mail', async () => {
    const email = uniqueEmail();
    await registerWith({ email, password: PASSWORD });
    await mailTo(email);
    await query(`update mail_throttle set last_sent_at = now() - interval '2 minutes' where email = $1`, [email]);
    const known = await invoke(resend, { method: 'POST', route: '/auth/resend-verification', json: { email } });
    expect(known.status).toBe(202);
    expect(verificationTokenIn(await mailTo(email, { count: 2 }))).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const unknownEmail = uniqueEmail('nobody');
    const unknown = await invoke(resend, { method: 'POST', route: '/auth/resend-verification', json: { email: unknownEmail } });
    expect(unknown.status).toBe(202);
    expect(unknown.json).toEqual(known.json);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await mailsTo(unknownEmail)).toHaveLength(0);
  });

  test('a bad email is 400 validation_failed', async () => {
    const response = await invoke(resend, { method: 'POST', route: '/auth/resend-verification', json: { email: 'nope' } });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'validation_failed', details: { email: expect.any(String) } });
  });
});

describe('registering an address someone else registered first (not yet confirmed)', () => {
  test("the owner's later registration and confirmation set the owner's password, not the first one's", async () => {
    const email = uniqueEmail('squatted');
    await registerWith({ email, password: 'attacker password 1' });
    await mailTo(email);
    await query(`update mail_throttle set last_sent_at = now() - interval '2 minutes' where email = $1`, [email]);
    await registerWith({ email, password: PASSWORD });
    const ownersToken = verificationTokenIn(await mailTo(email, { count: 2 }));
    expect((await invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token: ownersToken, password: PASSWORD } })).status).toBe(200);
    expect((await invoke(login, { method: 'POST', route: '/auth/login', json: { email, password: PASSWORD } })).status).toBe(200);
    expect((await invoke(login, { method: 'POST', route: '/auth/login', json: { email, password: 'attacker password 1' } })).status).toBe(401);
  });

  test('a known email with a taken nickname answers 202 like any known email, not 409', async () => {
    const owner = await registerVerifiedUser();
    const { rows } = await query<{ nickname: string }>('select nickname from users where email = $1', [owner.email]);
    const taken = rows[0]!.nickname;
    await query('delete from mail_throttle where email = $1', [owner.email]);
    const known = await registerWith({ email: owner.email, password: PASSWORD, nickname: taken });
    expect(known.status).toBe(202);
    const unknown = await registerWith({ email: uniqueEmail(), password: PASSWORD, nickname: taken });
    expect(unknown.status).toBe(202);
    expect(unknown.json).toEqual(known.json);
  });
});
