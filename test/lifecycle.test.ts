import { describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { handler as changeEmail } from '../functions/change-email';
import { handler as changePassword } from '../functions/change-password';
import { handler as confirmEmail } from '../functions/confirm-email';
import { handler as deleteAccountHandler } from '../functions/delete-account';
import { handler as forgotPassword } from '../functions/forgot-password';
import { handler as getProfile } from '../functions/get-profile';
import { handler as listSessions } from '../functions/list-sessions';
import { handler as login } from '../functions/login';
import { handler as refresh } from '../functions/refresh';
import { handler as register } from '../functions/register';
import { handler as resetPasswordHandler } from '../functions/reset-password';
import { handler as revokeSession } from '../functions/revoke-session';
import { handler as uploadPicture } from '../functions/upload-picture';
import { handler as verifyEmail } from '../functions/verify-email';
import { query } from '../lib/platform/db';
import { cleanUpObjectsOf, deleteAccount, purgeStorageLeftovers } from '../lib/accounts/lifecycle';
import { services } from '../lib/platform/services';
import type { ObjectStore } from '../lib/platform/storage';
import { PASSWORD, createVerifiedUser, mailTo, uniqueEmail, verificationTokenIn, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import { readMails } from '../scripts/stack/mail';
import { fileUpload } from '../scripts/support/multipart';
import { smallJpeg } from '../scripts/support/images';

const NEW_PASSWORD = 'a brand new passphrase';
const me = (bearer: string) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer });
const loginWith = (email: string, password: string) => invoke(login, { method: 'POST', route: '/auth/login', json: { email, password } });
const refreshWith = (refreshToken: string) => invoke(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken } });
const forgot = (email: string) => invoke(forgotPassword, { method: 'POST', route: '/auth/forgot-password', json: { email } });
const reset = (json: unknown) => invoke(resetPasswordHandler, { method: 'POST', route: '/auth/reset-password', json });
const tokenOfLink = (mail: { links: string[] }, path: string) => {
  const link = mail.links.find((url) => url.includes(`${path}?token=`));
  if (!link) throw new Error(`no ${path} link in the mail`);
  return new URL(link).searchParams.get('token')!;
};
/** The n-th mail to an address whose subject matches (registration mails come first). */
async function mailMatching(to: string, subject: RegExp) {
  const seen: string[] = [];
  for (let count = 1; count <= 6; count += 1) {
    const mail = await mailTo(to, { count, timeoutMs: 10_000 });
    if (subject.test(mail.subject)) return mail;
    seen.push(mail.subject);
  }
  throw new Error(`no mail to ${to} matching ${subject} (seen: ${seen.join('; ')})`);
}
/** Tests mail one address several times within a minute; the throttle is tested in register.test.ts. */
const freeMailSlot = (email: string) => query('delete from mail_throttle where email = $1', [email]);
const resetTokenFor = async (email: string) => {
  await freeMailSlot(email);
  expect((await forgot(email)).status).toBe(202);
  return tokenOfLink(await mailMatching(email, /reset/i), '/auth/reset-password');
};
const countRows = async (sql: string, values: unknown[]) => (await query<{ n: number }>(`select count(*)::int as n from (${sql}) rows`, values)).rows[0]!.n;

describe('sessions', () => {
  test('the list shows each login with its user agent and IP, and marks the current one', async () => {
    const user = await createVerifiedUser();
    const second = await invoke(login, { method: 'POST', route: '/auth/login', json: { email: user.email, password: PASSWORD }, headers: { 'user-agent': 'x'.repeat(400) } });
    const response = await invoke(listSessions, { method: 'GET', route: '/users/me/sessions', bearer: user.accessToken });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const sessions = response.json.sessions as { id: string; current: boolean; userAgent: string; ip: string }[];
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((session) => session.current).map((session) => session.id)).toEqual([decodeJwt(user.accessToken).sid]);
    const other = sessions.find((session) => session.id === decodeJwt(second.json.accessToken).sid)!;
    expect(other.userAgent).toHaveLength(256);
    expect(other.ip).toBe('127.0.0.1');
  });

  test('revoking one session refuses its access token at once and its refresh token; the others live', async () => {
    const user = await createVerifiedUser();
    const phone = (await loginWith(user.email, PASSWORD)).json;
    const sid = decodeJwt(phone.accessToken).sid as string;
    const revoked = await invoke(revokeSession, { method: 'DELETE', route: '/users/me/sessions/{id}', pathParameters: { id: sid.toUpperCase() }, bearer: user.accessToken });
    expect(revoked.status).toBe(204);
    expect((await me(phone.accessToken)).status).toBe(401);
    expect((await refreshWith(phone.refreshToken)).status).toBe(401);
    expect((await me(user.accessToken)).status).toBe(200);
  });

  test("another user's session id, an unknown one or garbage is 404 not_found, and nothing is revoked", async () => {
    const [alice, bob] = await Promise.all([createVerifiedUser(), createVerifiedUser()]);
    for (const id of [decodeJwt(bob.accessToken).sid as string, '00000000-0000-4000-8000-000000000000', 'garbage']) {
      const response = await invoke(revokeSession, { method: 'DELETE', route: '/users/me/sessions/{id}', pathParameters: { id }, bearer: alice.accessToken });
      expect(response.status).toBe(404);
      expect(response.json.error.code).toBe('not_found');
    }
    expect((await me(bob.accessToken)).status).toBe(200);
  });

  test('sign out everywhere ends every session, the caller\'s included', async () => {
    const user = await createVerifiedUser();
    const other = (await loginWith(user.email, PASSWORD)).json;
    expect((await invoke(revokeSession, { method: 'DELETE', route: '/users/me/sessions', bearer: user.accessToken })).status).toBe(204);
    for (const token of [user.accessToken, other.accessToken]) expect((await me(token)).status).toBe(401);
    for (const token of [user.refreshToken, other.refreshToken]) expect((await refreshWith(token)).status).toBe(401);
  });
});

describe('forgot and reset password', () => {
  test('known and unknown emails get the same 202 and body; only the known one gets a mail with the link', async () => {
    const user = await createVerifiedUser();
    await freeMailSlot(user.email);
    const known = await forgot(user.email);
    const unknown = await forgot(uniqueEmail('ghost'));
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.json).toEqual(unknown.json);
    const mail = await mailMatching(user.email, /reset/i);
    expect(mail.text).toContain('http://localhost:3000/auth/reset-password?token=');
    expect(mail.html).toContain('http://localhost:3000/auth/reset-password?token=');
  });

  test('the GET page shows a form and changes nothing; the token still works after it', async () => {
    const user = await createVerifiedUser();
    const token = await resetTokenFor(user.email);
    const page = await invoke(resetPasswordHandler, { method: 'GET', route: '/auth/reset-password', query: { token } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('name="password"');
    expect((await reset({ token, password: NEW_PASSWORD })).status).toBe(200);
  });

  test('a reset sets the password, ends every session, clears the throttle, and the token is single use', async () => {
    const user = await createVerifiedUser();
    for (let attempt = 0; attempt < 5; attempt += 1) await loginWith(user.email, `wrong ${attempt}`);
    expect((await loginWith(user.email, PASSWORD)).status).toBe(429);
    const token = await resetTokenFor(user.email);
    const done = await reset({ token, password: NEW_PASSWORD });
    expect(done.status).toBe(200);
    expect(done.json).toEqual({ message: expect.any(String) });
    expect((await me(user.accessToken)).status).toBe(401);
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
    expect((await loginWith(user.email, PASSWORD)).status).toBe(401);
    expect((await loginWith(user.email, NEW_PASSWORD)).status).toBe(200);
    const again = await reset({ token, password: 'yet another passphrase' });
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe('invalid_token');
  });

  test('a reset confirms an unverified address and voids its verification links', async () => {
    const email = uniqueEmail('unverified');
    await invoke(register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } });
    await mailMatching(email, /confirm/i);
    const { rows } = await query<{ id: string }>('select id from users where email = $1', [email]);
    await query(`delete from mail_throttle where email = $1`, [email]);
    const token = await resetTokenFor(email);
    expect((await reset({ token, password: NEW_PASSWORD })).status).toBe(200);
    expect((await loginWith(email, NEW_PASSWORD)).status).toBe(200);
    expect(await countRows('select 1 from verification_tokens where user_id = $1 and used_at is null', [rows[0]!.id])).toBe(0);
  });

  test('two resets with one token at once: exactly one wins', async () => {
    const user = await createVerifiedUser();
    const token = await resetTokenFor(user.email);
    const [first, second] = await Promise.all([reset({ token, password: 'first new passphrase' }), reset({ token, password: 'second new passphrase' })]);
    expect([first.status, second.status].sort()).toEqual([200, 400]);
    const winner = first.status === 200 ? 'first new passphrase' : 'second new passphrase';
    expect((await loginWith(user.email, winner)).status).toBe(200);
  });

  test('the form post answers HTML pages: success, a bad password with the form again, an unknown token', async () => {
    const user = await createVerifiedUser();
    const token = await resetTokenFor(user.email);
    const form = (body: string) => invoke(resetPasswordHandler, { method: 'POST', route: '/auth/reset-password', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const short = await form(`token=${token}&password=short`);
    expect(short.status).toBe(400);
    expect(short.body).toContain('at least 8 characters');
    expect(short.body).toContain('name="password"');
    const unknown = await form(`token=${'A'.repeat(43)}&password=${encodeURIComponent(NEW_PASSWORD)}`);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatch(/cannot be used/);
    const done = await form(`token=${token}&password=${encodeURIComponent(NEW_PASSWORD)}`);
    expect(done.status).toBe(200);
    expect(done.body).toMatch(/Password changed/);
  });

  test('tokens of another kind are refused: a verification or refresh token is not a reset token', async () => {
    const user = await createVerifiedUser();
    for (const token of [user.refreshToken, 'B'.repeat(43), 'short']) {
      const response = await reset({ token, password: NEW_PASSWORD });
      expect(response.status).toBe(400);
      expect(['invalid_token', 'validation_failed']).toContain(response.json.error.code);
    }
    expect((await loginWith(user.email, PASSWORD)).status).toBe(200);
  });
});

describe('change password', () => {
  const change = (bearer: string, json: unknown) => invoke(changePassword, { method: 'POST', route: '/users/me/password', bearer, json });

  test('with the current password: a new session answers, every other session ends, the new password logs in', async () => {
    const user = await createVerifiedUser();
    const other = (await loginWith(user.email, PASSWORD)).json;
    const response = await change(user.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect((await me(response.json.accessToken)).status).toBe(200);
    for (const token of [user.accessToken, other.accessToken]) expect((await me(token)).status).toBe(401);
    expect((await refreshWith(other.refreshToken)).status).toBe(401);
    expect((await loginWith(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  test('a wrong current password is 403 wrong_password and counts toward the login throttle', async () => {
    const user = await createVerifiedUser();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await change(user.accessToken, { currentPassword: `wrong ${attempt}`, newPassword: NEW_PASSWORD });
      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe('wrong_password');
    }
    const locked = await change(user.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toMatch(/^\d+$/);
    expect((await loginWith(user.email, PASSWORD)).status).toBe(429);
  });

  test('the own email address as the new password is 400 validation_failed naming newPassword, and the password stays', async () => {
    const user = await createVerifiedUser();
    const response = await change(user.accessToken, { currentPassword: PASSWORD, newPassword: user.email.toUpperCase() });
    expect({ status: response.status, details: response.json.error.details }).toEqual({ status: 400, details: { newPassword: 'must not be your email address' } });
    expect((await loginWith(user.email, PASSWORD)).status).toBe(200);
  });

  test('a too short new password is 400 validation_failed naming newPassword', async () => {
    const user = await createVerifiedUser();
    const response = await change(user.accessToken, { currentPassword: PASSWORD, newPassword: 'short' });
    expect(response.status).toBe(400);
    expect(response.json.error.details).toHaveProperty('newPassword');
  });
});

describe('change email', () => {
  const request = (bearer: string, json: unknown) => invoke(changeEmail, { method: 'POST', route: '/users/me/email', bearer, json });
  const confirm = (token: string) => invoke(confirmEmail, { method: 'POST', route: '/auth/confirm-email', json: { token } });

  test('verify before update: nothing changes until the new address confirms; then the old one is told and other sessions end', async () => {
    const user = await createVerifiedUser();
    const other = (await loginWith(user.email, PASSWORD)).json;
    const newEmail = uniqueEmail('moved');
    const asked = await request(user.accessToken, { newEmail, password: PASSWORD });
    expect(asked.status).toBe(202);
    const link = await mailMatching(newEmail, /new email/i);
    await mailMatching(user.email, /about to change/i);
    expect((await loginWith(user.email, PASSWORD)).status).toBe(200);
    const token = tokenOfLink(link, '/auth/confirm-email');
    const page = await invoke(confirmEmail, { method: 'GET', route: '/auth/confirm-email', query: { token } });
    expect(page.status).toBe(200);
    expect((await me(user.accessToken)).json.email).toBe(user.email);

    const confirmed = await confirm(token);
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.user.email).toBe(newEmail);
    await mailMatching(user.email, /was changed/i);
    expect((await loginWith(user.email, PASSWORD)).status).toBe(401);
    expect((await loginWith(newEmail, PASSWORD)).status).toBe(200);
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    expect((await confirm(token)).status).toBe(400);
  });

  test("an address that has an account answers the same 202; its owner gets the 'account exists' mail and nothing changes", async () => {
    const [alice, bob] = await Promise.all([createVerifiedUser(), createVerifiedUser()]);
    await freeMailSlot(bob.email);
    const taken = await request(alice.accessToken, { newEmail: bob.email, password: PASSWORD });
    const free = await request(alice.accessToken, { newEmail: uniqueEmail('free'), password: PASSWORD });
    expect([taken.status, free.status]).toEqual([202, 202]);
    expect(taken.json).toEqual(free.json);
    const mail = await mailMatching(bob.email, /already have/i);
    expect(mail.text).toContain('/auth/reset-password?token=');
    expect((await me(alice.accessToken)).json.email).toBe(alice.email);
    // Alice's own address hears of both requests: as many mails go out (and as long is taken) for a taken address as for a free one.
    const notices = async () =>
      (await readMails(process.env.TEST_MAIL_DIR!)).filter((notice) => notice.to.includes(alice.email) && /about to change/i.test(notice.subject));
    for (let waited = 0; (await notices()).length < 2 && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const seen = await notices();
    expect(seen).toHaveLength(2);
    expect(seen.some((notice) => notice.text.includes(bob.email))).toBe(true);
  });

  test('a wrong password is 403 wrong_password and sends nothing', async () => {
    const user = await createVerifiedUser();
    const response = await request(user.accessToken, { newEmail: uniqueEmail('nope'), password: 'not it at all' });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('wrong_password');
  });

  /** Someone else signed in to the account asks to move it to their own address: the link they would confirm. */
  const intruderAsksToMove = async (user: TestUser) => {
    const intruder = (await loginWith(user.email, PASSWORD)).json;
    const theirs = uniqueEmail('intruder');
    expect((await request(intruder.accessToken, { newEmail: theirs, password: PASSWORD })).status).toBe(202);
    return tokenOfLink(await mailMatching(theirs, /new email/i), '/auth/confirm-email');
  };

  test('a password change voids a pending change of address: an intruder who asked for one cannot confirm it after the owner locks them out', async () => {
    const user = await createVerifiedUser();
    const token = await intruderAsksToMove(user);
    const locked = await invoke(changePassword, { method: 'POST', route: '/users/me/password', bearer: user.accessToken, json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    expect(locked.status).toBe(200);
    const response = await confirm(token);
    expect({ status: response.status, code: response.json.error?.code }).toEqual({ status: 400, code: 'invalid_token' });
    expect((await me(locked.json.accessToken)).json.email).toBe(user.email);
  });

  test('signing out the session that asked voids its change of address: the owner ends an intruder\'s session, the link is refused', async () => {
    const user = await createVerifiedUser();
    const token = await intruderAsksToMove(user);
    const sessions = await invoke(listSessions, { method: 'GET', route: '/users/me/sessions', bearer: user.accessToken });
    const theirSession = sessions.json.sessions.find((session: { current: boolean }) => !session.current);
    const revoked = await invoke(revokeSession, { method: 'DELETE', route: '/users/me/sessions/{id}', pathParameters: { id: theirSession.id }, bearer: user.accessToken });
    expect(revoked.status).toBe(204);
    const response = await confirm(token);
    expect({ status: response.status, code: response.json.error?.code }).toEqual({ status: 400, code: 'invalid_token' });
    expect((await me(user.accessToken)).json.email).toBe(user.email);
  });

  test('a confirmed account that registers the address first keeps it: the change link is refused', async () => {
    const user = await createVerifiedUser();
    const newEmail = uniqueEmail('race');
    await request(user.accessToken, { newEmail, password: PASSWORD });
    const token = tokenOfLink(await mailMatching(newEmail, /new email/i), '/auth/confirm-email');
    // Someone else registers the address and confirms it from the mailbox before the link is used.
    await freeMailSlot(newEmail);
    await invoke(register, { method: 'POST', route: '/auth/register', json: { email: newEmail, password: PASSWORD } });
    const verification = verificationTokenIn(await mailTo(newEmail, { count: 2 }));
    expect((await invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token: verification } })).status).toBe(200);
    const response = await confirm(token);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_token');
    expect((await me(user.accessToken)).json.email).toBe(user.email);
  });
});

describe('delete account', () => {
  const remove = (bearer: string, json: unknown) => invoke(deleteAccountHandler, { method: 'DELETE', route: '/users/me', bearer, json });

  test('with the password: the row, sessions and every object are gone, email and nickname are free, a goodbye mail goes out', async () => {
    const user = await createVerifiedUser();
    const uploaded = await invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(await smallJpeg(96, 96)) });
    expect(uploaded.status).toBe(200);
    const nickname = uploaded.json.nickname as string;
    expect((await services.objects.list(`pictures/${user.id}/`)).length).toBeGreaterThan(0);

    expect((await remove(user.accessToken, { password: PASSWORD })).status).toBe(204);
    await mailMatching(user.email, /deleted/i);
    expect(await services.objects.list(`pictures/${user.id}/`)).toEqual([]);
    expect(await countRows('select 1 from users where id = $1', [user.id])).toBe(0);
    expect(await countRows('select 1 from sessions where user_id = $1', [user.id])).toBe(0);
    expect(await countRows('select 1 from storage_leftovers where prefix like $1', [`%${user.id}%`])).toBe(0);
    expect((await me(user.accessToken)).status).toBe(401);
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
    const again = await invoke(register, { method: 'POST', route: '/auth/register', json: { email: user.email, password: PASSWORD, nickname } });
    expect(again.status).toBe(202);
    expect(await countRows('select 1 from users where email = $1 and nickname = $2', [user.email, nickname])).toBe(1);
  });

  test('a wrong password is 403 wrong_password and deletes nothing', async () => {
    const user = await createVerifiedUser();
    const response = await remove(user.accessToken, { password: 'not my password' });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('wrong_password');
    expect((await me(user.accessToken)).status).toBe(200);
  });

  test('with a store whose deletes fail (a fake, wrapping the real one): the account is gone, the prefixes are recorded and purged once storage works', async () => {
    const user = await createVerifiedUser();
    await invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(await smallJpeg(96, 96)) });
    const failing: ObjectStore = { ...services.objects, deleteMany: async () => { throw new Error('storage down'); } };
    expect((await deleteAccount(user.id, failing))?.id).toBe(user.id);
    expect(await countRows('select 1 from users where id = $1', [user.id])).toBe(0);
    expect(await countRows('select 1 from storage_leftovers where prefix = $1', [`pictures/${user.id}/`])).toBe(1);
    expect((await services.objects.list(`pictures/${user.id}/`)).length).toBeGreaterThan(0);

    await purgeStorageLeftovers(services.objects, 100);
    expect(await services.objects.list(`pictures/${user.id}/`)).toEqual([]);
    expect(await countRows('select 1 from storage_leftovers where prefix like $1', [`%${user.id}%`])).toBe(0);
    // A second pass finds nothing to do, fails nothing and records nothing.
    await expect(cleanUpObjectsOf(user.id, services.objects)).resolves.toBeUndefined();
    expect(await countRows('select 1 from storage_leftovers where prefix like $1', [`%${user.id}%`])).toBe(0);
  });
});
