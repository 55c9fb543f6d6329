import { beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import sharp from 'sharp';
import { query } from '../lib/platform/db';
import { services } from '../lib/platform/services';
import { PASSWORD, createVerifiedUser, mailTo, uniqueEmail, verificationTokenIn, type TestUser } from './support/accounts';
import { cameraPhoto12mp, smallJpeg, transparentPng } from '../scripts/support/images';
import { expectDocumented } from './support/contract';
import { sharedOffline, type OfflineApi } from './support/offline';

let api: OfflineApi;

beforeAll(async () => {
  api = await sharedOffline();
}, 150_000);

async function call(method: string, path: string, options: { json?: unknown; bearer?: string; form?: FormData; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  let body: string | FormData | undefined = options.body ?? options.form;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${api.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  // Every answer over HTTP is checked against the OpenAPI document too.
  expectDocumented({ method, rawPath: path.split('?')[0]!, status: response.status, contentType: response.headers.get('content-type') ?? '', body: text });
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

describe('over HTTP through serverless-offline', () => {
  test('register → mail → verify page → confirm → login → /users/me → refresh → logout', async () => {
    const email = uniqueEmail('e2e');
    const registered = await call('POST', '/auth/register', { json: { email, password: PASSWORD, firstName: 'Eve' } });
    expect(registered.status).toBe(202);
    expect(registered.headers.get('x-request-id')).toBeTruthy();

    const mail = await mailTo(email, { timeoutMs: 10_000 });
    const link = mail.links.find((url) => url.includes('/auth/verify-email?token='))!;
    expect(link.startsWith(`${api.baseUrl}/auth/verify-email?token=`)).toBe(true);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post"');

    const notYet = await call('POST', '/auth/login', { json: { email, password: PASSWORD } });
    expect(notYet.status).toBe(403);
    expect(notYet.json.error.code).toBe('email_not_verified');

    const token = new URL(link).searchParams.get('token')!;
    const confirmed = await call('POST', '/auth/verify-email', {
      body: new URLSearchParams({ token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.text).toMatch(/confirmed/i);

    const session = await call('POST', '/auth/login', { json: { email, password: PASSWORD } });
    expect(session.status).toBe(200);
    expect(session.json.tokenType).toBe('Bearer');

    const me = await call('GET', '/users/me', { bearer: session.json.accessToken });
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(me.json).toMatchObject({ email, firstName: 'Eve', emailVerified: true, picture: { default: true } });
    const avatar = await fetch(me.json.picture.url);
    expect(avatar.status).toBe(200);
    expect((await sharp(Buffer.from(await avatar.arrayBuffer())).metadata()).width).toBe(200);

    const refreshed = await call('POST', '/auth/refresh', { json: { refreshToken: session.json.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refreshToken).not.toBe(session.json.refreshToken);

    const loggedOut = await call('POST', '/auth/logout', { json: { refreshToken: refreshed.json.refreshToken } });
    expect(loggedOut.status).toBe(204);
    const afterLogout = await call('POST', '/auth/refresh', { json: { refreshToken: refreshed.json.refreshToken } });
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.json.error.code).toBe('invalid_token');
  });

  test('errors keep their body over HTTP: bad JSON, unknown route id, missing token', async () => {
    const malformed = await call('POST', '/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('invalid_json');
    const anonymous = await call('GET', '/users/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  test('picture: upload → profile → presigned download → replace → redirect → delete, and a direct upload', async () => {
    const email = uniqueEmail('e2e-pic');
    await call('POST', '/auth/register', { json: { email, password: PASSWORD } });
    const token = new URL((await mailTo(email, { timeoutMs: 10_000 })).links[0]!).searchParams.get('token')!;
    expect((await call('POST', '/auth/verify-email', { json: { token } })).status).toBe(200);
    const { accessToken } = (await call('POST', '/auth/login', { json: { email, password: PASSWORD } })).json;

    const upload = async (bytes: Buffer, name: string) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)]), name);
      return call('POST', '/users/me/picture', { bearer: accessToken, form });
    };

    const first = await upload(await smallJpeg(), 'me.jpg');
    expect(first.status).toBe(200);
    expect(first.json.picture.default).toBe(false);
    const downloaded = await fetch(first.json.picture.url);
    expect(downloaded.status).toBe(200);
    const image = Buffer.from(await downloaded.arrayBuffer());
    const metadata = await sharp(image).metadata();
    expect(metadata).toMatchObject({ format: 'webp', width: 200, height: 200 });
    expect(metadata.exif).toBeUndefined();

    const second = await upload(await transparentPng(), 'me.png');
    expect(second.status).toBe(200);
    expect(second.json.picture.url).not.toBe(first.json.picture.url);
    expect((await fetch(first.json.picture.url)).status).toBe(404);

    const redirected = await call('GET', `/users/${second.json.id}/picture?size=64`);
    expect(redirected.status).toBe(302);
    const small = await fetch(redirected.headers.get('location')!);
    expect((await sharp(Buffer.from(await small.arrayBuffer())).metadata()).width).toBe(64);

    const deleted = await call('DELETE', '/users/me/picture', { bearer: accessToken });
    expect(deleted.status).toBe(200);
    expect(deleted.json.picture.default).toBe(true);
    expect((await fetch(second.json.picture.url)).status).toBe(404);

    const grant = await call('POST', '/users/me/picture/upload-url', { bearer: accessToken });
    expect(grant.status).toBe(200);
    const direct = new FormData();
    for (const [name, value] of Object.entries(grant.json.fields as Record<string, string>)) direct.append(name, value);
    direct.append('file', new Blob([new Uint8Array(await cameraPhoto12mp())]), 'big.jpg');
    const posted = await fetch(grant.json.url, { method: 'POST', body: direct });
    expect(posted.status).toBeLessThan(300);
    const confirmed = await call('POST', '/users/me/picture/confirm', { bearer: accessToken, json: { key: grant.json.key } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.picture.default).toBe(false);
  });
});


// ---------------------------------------------------------------- the account lifecycle over HTTP

const NEW_PASSWORD = 'a brand new passphrase';

/** The first mail to `to` since `since` whose subject matches; other mails to the address are skipped. */
async function mailAbout(to: string, subject: RegExp, since: number) {
  const seen: string[] = [];
  for (let count = 1; count <= 6; count += 1) {
    const mail = await mailTo(to, { since, count, timeoutMs: 10_000 });
    if (subject.test(mail.subject)) return mail;
    seen.push(mail.subject);
  }
  throw new Error(`no mail to ${to} matching ${subject} (seen: ${seen.join('; ')})`);
}

function tokenOfLink(mail: { links: string[] }, route: string): string {
  const link = mail.links.find((url) => url.startsWith(`${api.baseUrl}${route}?token=`));
  if (!link) throw new Error(`no ${api.baseUrl}${route} link in the mail`);
  return new URL(link).searchParams.get('token')!;
}

/** Seeding mails the address once; the throttle (one mail a minute, tested in register.test.ts) would hold the next. */
const freeMailSlot = (email: string) => query('delete from mail_throttle where email = $1', [email]);
const formPost = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});
const loginOver = (email: string, password: string, headers?: Record<string, string>) =>
  call('POST', '/auth/login', { json: { email, password }, headers });
const meOver = (bearer: string) => call('GET', '/users/me', { bearer });
const refreshOver = (refreshToken: string) => call('POST', '/auth/refresh', { json: { refreshToken } });

async function resetTokenOver(email: string): Promise<string> {
  await freeMailSlot(email);
  const since = Date.now();
  expect((await call('POST', '/auth/forgot-password', { json: { email } })).status).toBe(202);
  return tokenOfLink(await mailAbout(email, /reset/i, since), '/auth/reset-password');
}

async function expectSignedOut(user: Pick<TestUser, 'accessToken' | 'refreshToken'>) {
  const me = await meOver(user.accessToken);
  expect(me.status).toBe(401);
  expect(me.json.error.code).toBe('unauthorized');
  expect((await refreshOver(user.refreshToken)).status).toBe(401);
}

describe('the account lifecycle over HTTP', () => {
  test('forgot → reset mail → GET page (changes nothing) → POST JSON: old tokens refused at once, new password logs in; then a form reset', async () => {
    const user = await createVerifiedUser();
    const phone = (await loginOver(user.email, PASSWORD)).json;
    await freeMailSlot(user.email);
    const since = Date.now();
    const known = await call('POST', '/auth/forgot-password', { json: { email: user.email } });
    const unknown = await call('POST', '/auth/forgot-password', { json: { email: uniqueEmail('ghost') } });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.json).toEqual(unknown.json);

    const mail = await mailAbout(user.email, /reset/i, since);
    const token = tokenOfLink(mail, '/auth/reset-password');
    const page = await call('GET', `/auth/reset-password?token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('name="password"');
    // Opening the link signed nobody out and set no password.
    expect((await meOver(phone.accessToken)).status).toBe(200);

    const done = await call('POST', '/auth/reset-password', { json: { token, password: NEW_PASSWORD } });
    expect(done.status).toBe(200);
    expect(done.json).toEqual({ message: expect.any(String) });
    await expectSignedOut(user);
    await expectSignedOut(phone);
    expect((await loginOver(user.email, PASSWORD)).status).toBe(401);
    expect((await loginOver(user.email, NEW_PASSWORD)).status).toBe(200);
    const reused = await call('POST', '/auth/reset-password', { json: { token, password: 'yet another passphrase' } });
    expect(reused.status).toBe(400);
    expect(reused.json.error.code).toBe('invalid_token');

    const formToken = await resetTokenOver(user.email);
    const formDone = await call('POST', '/auth/reset-password', formPost({ token: formToken, password: 'the form passphrase' }));
    expect(formDone.status).toBe(200);
    expect(formDone.headers.get('content-type')).toMatch(/text\/html/);
    expect(formDone.text).toMatch(/Password changed/);
    expect((await loginOver(user.email, 'the form passphrase')).status).toBe(200);
  });

  test('change password: a wrong current one is 403 wrong_password; the right one answers a fresh pair and every other session is refused', async () => {
    const user = await createVerifiedUser();
    const phone = (await loginOver(user.email, PASSWORD)).json;
    const wrong = await call('POST', '/users/me/password', { bearer: user.accessToken, json: { currentPassword: 'not my password', newPassword: NEW_PASSWORD } });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error.code).toBe('wrong_password');
    expect((await meOver(phone.accessToken)).status).toBe(200);

    const changed = await call('POST', '/users/me/password', { bearer: user.accessToken, json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('cache-control')).toBe('no-store');
    expect(changed.json).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(decodeJwt(changed.json.accessToken).sid).not.toBe(decodeJwt(user.accessToken).sid);
    expect((await meOver(changed.json.accessToken)).status).toBe(200);
    await expectSignedOut(user);
    await expectSignedOut(phone);
    expect((await loginOver(user.email, PASSWORD)).status).toBe(401);
    expect((await loginOver(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  test('change email: link to the new address, notice to the old; confirm page changes nothing; confirm → old address told, other sessions end, the new address logs in', async () => {
    const user = await createVerifiedUser();
    const phone = (await loginOver(user.email, PASSWORD)).json;
    const newEmail = uniqueEmail('moved');
    const since = Date.now();
    const asked = await call('POST', '/users/me/email', { bearer: user.accessToken, json: { newEmail, password: PASSWORD } });
    expect(asked.status).toBe(202);
    const token = tokenOfLink(await mailAbout(newEmail, /new email/i, since), '/auth/confirm-email');
    expect((await mailAbout(user.email, /about to change/i, since)).text).toContain(newEmail);

    const page = await call('GET', `/auth/confirm-email?token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<form method="post"');
    expect((await meOver(user.accessToken)).json.email).toBe(user.email);
    expect((await loginOver(user.email, PASSWORD)).status).toBe(200);

    const confirmed = await call('POST', '/auth/confirm-email', formPost({ token }));
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('content-type')).toMatch(/text\/html/);
    expect((await mailAbout(user.email, /was changed/i, since)).text).toContain(newEmail);
    // The session that asked lives on; the others end.
    expect((await meOver(user.accessToken)).json.email).toBe(newEmail);
    await expectSignedOut(phone);
    expect((await loginOver(user.email, PASSWORD)).status).toBe(401);
    expect((await loginOver(newEmail, PASSWORD)).status).toBe(200);
    const again = await call('POST', '/auth/confirm-email', { json: { token } });
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe('invalid_token');
  });

  test("sessions: the list marks the current one; revoking one refuses it at once; another user's id is 404; revoke all signs out everywhere", async () => {
    const [user, stranger] = await Promise.all([createVerifiedUser(), createVerifiedUser()]);
    const phone = (await loginOver(user.email, PASSWORD, { 'user-agent': 'e2e phone' })).json;
    const listed = await call('GET', '/users/me/sessions', { bearer: user.accessToken });
    expect(listed.status).toBe(200);
    const sessions = listed.json.sessions as { id: string; current: boolean; userAgent: string | null }[];
    expect(sessions.map((session) => session.id).sort()).toEqual([decodeJwt(user.accessToken).sid, decodeJwt(phone.accessToken).sid].sort());
    expect(sessions.filter((session) => session.current).map((session) => session.id)).toEqual([decodeJwt(user.accessToken).sid]);
    expect(sessions.find((session) => session.id === decodeJwt(phone.accessToken).sid)!.userAgent).toBe('e2e phone');

    const foreign = await call('DELETE', `/users/me/sessions/${decodeJwt(stranger.accessToken).sid}`, { bearer: user.accessToken });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.code).toBe('not_found');
    expect((await meOver(stranger.accessToken)).status).toBe(200);

    expect((await call('DELETE', `/users/me/sessions/${decodeJwt(phone.accessToken).sid}`, { bearer: user.accessToken })).status).toBe(204);
    await expectSignedOut(phone);
    expect((await meOver(user.accessToken)).status).toBe(200);

    const laptop = (await loginOver(user.email, PASSWORD)).json;
    expect((await call('DELETE', '/users/me/sessions', { bearer: user.accessToken })).status).toBe(204);
    await expectSignedOut(user);
    await expectSignedOut(laptop);
  });

  test('delete account: a wrong password is 403 and keeps it; with the password 204, a goodbye mail, tokens refused, no objects, the email registers again', async () => {
    const user = await createVerifiedUser();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await smallJpeg())]), 'me.jpg');
    const uploaded = await call('POST', '/users/me/picture', { bearer: user.accessToken, form });
    expect(uploaded.status).toBe(200);
    expect((await services.objects.list(`pictures/${user.id}/`)).length).toBeGreaterThan(0);

    const wrong = await call('DELETE', '/users/me', { bearer: user.accessToken, json: { password: 'not my password' } });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error.code).toBe('wrong_password');
    expect((await meOver(user.accessToken)).status).toBe(200);

    const since = Date.now();
    const deleted = await call('DELETE', '/users/me', { bearer: user.accessToken, json: { password: PASSWORD } });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    await mailAbout(user.email, /deleted/i, since);
    await expectSignedOut(user);
    expect((await loginOver(user.email, PASSWORD)).status).toBe(401);
    expect((await call('GET', `/users/${user.id}/picture`)).status).toBe(404);
    expect(await services.objects.list(`pictures/${user.id}/`)).toEqual([]);
    expect(await services.objects.list(`incoming/${user.id}/`)).toEqual([]);

    await freeMailSlot(user.email);
    const again = await call('POST', '/auth/register', { json: { email: user.email, password: NEW_PASSWORD, nickname: uploaded.json.nickname } });
    expect(again.status).toBe(202);
    const token = verificationTokenIn(await mailAbout(user.email, /confirm/i, since));
    const verified = await call('POST', '/auth/verify-email', { json: { token } });
    expect(verified.status).toBe(200);
    expect(verified.json.user).toMatchObject({ nickname: uploaded.json.nickname, emailVerified: true });
    expect(verified.json.user.id).not.toBe(user.id);
  });

  test('tokens cross no routes: a reset token on confirm-email, a verification token on reset, a change token on reset are refused and still work where they belong', async () => {
    const resetUser = await createVerifiedUser();
    const resetToken = await resetTokenOver(resetUser.email);

    const unverified = uniqueEmail('crossing');
    let since = Date.now();
    expect((await call('POST', '/auth/register', { json: { email: unverified, password: PASSWORD } })).status).toBe(202);
    const verificationToken = verificationTokenIn(await mailAbout(unverified, /confirm/i, since));

    const mover = await createVerifiedUser();
    const newEmail = uniqueEmail('crossing-new');
    since = Date.now();
    expect((await call('POST', '/users/me/email', { bearer: mover.accessToken, json: { newEmail, password: PASSWORD } })).status).toBe(202);
    const changeToken = tokenOfLink(await mailAbout(newEmail, /new email/i, since), '/auth/confirm-email');

    const refusals = [
      await call('POST', '/auth/confirm-email', { json: { token: resetToken } }),
      await call('POST', '/auth/confirm-email', { json: { token: verificationToken } }),
      await call('POST', '/auth/reset-password', { json: { token: verificationToken, password: NEW_PASSWORD } }),
      await call('POST', '/auth/reset-password', { json: { token: changeToken, password: NEW_PASSWORD } }),
      await call('POST', '/auth/verify-email', { json: { token: resetToken } }),
      await call('POST', '/auth/verify-email', { json: { token: changeToken } }),
    ];
    expect(refusals.map((response) => [response.status, response.json.error.code])).toEqual(Array(6).fill([400, 'invalid_token']));
    expect((await loginOver(unverified, NEW_PASSWORD)).status).toBe(401);

    expect((await call('POST', '/auth/reset-password', { json: { token: resetToken, password: NEW_PASSWORD } })).status).toBe(200);
    expect((await call('POST', '/auth/verify-email', { json: { token: verificationToken } })).status).toBe(200);
    expect((await call('POST', '/auth/confirm-email', { json: { token: changeToken } })).json.user.email).toBe(newEmail);
  });

  test('bodies over 16 KiB are 413 payload_too_large on the new routes, before any password is checked', async () => {
    const user = await createVerifiedUser();
    const big = 'x'.repeat(17 * 1024);
    const responses = [
      await call('POST', '/auth/forgot-password', { json: { email: `${big}@example.test` } }),
      await call('POST', '/auth/reset-password', { json: { token: 'A'.repeat(43), password: big } }),
      await call('POST', '/auth/reset-password', formPost({ token: 'A'.repeat(43), password: big })),
      await call('POST', '/auth/confirm-email', { json: { token: big } }),
      await call('POST', '/users/me/password', { bearer: user.accessToken, json: { currentPassword: big, newPassword: NEW_PASSWORD } }),
      await call('POST', '/users/me/email', { bearer: user.accessToken, json: { newEmail: uniqueEmail(), password: big } }),
      await call('DELETE', '/users/me', { bearer: user.accessToken, json: { password: big } }),
    ];
    for (const response of responses) {
      expect(response.status).toBe(413);
      expect(response.json.error.code).toBe('payload_too_large');
    }
    // None of them reached the password check: no failure counted, the account is intact.
    const { rows } = await query<{ n: number }>('select count(*)::int as n from login_failures where email = $1', [user.email]);
    expect(rows[0]!.n).toBe(0);
    expect((await meOver(user.accessToken)).status).toBe(200);
  });
});
