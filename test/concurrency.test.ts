// Parallel requests that race for one row, one token or one address. Covered elsewhere, not repeated here:
// 20 parallel registrations of one email (test/register.test.ts), 10 parallel refreshes of one token
// (test/sessions.test.ts) and 10 parallel uploads by one user (test/pictures-upload.test.ts).
import { describe, expect, test } from '@jest/globals';
import { handler as deletePicture } from '../functions/delete-picture';
import { handler as getProfile } from '../functions/get-profile';
import { handler as login } from '../functions/login';
import { handler as logout } from '../functions/logout';
import { handler as refresh } from '../functions/refresh';
import { handler as register } from '../functions/register';
import { handler as resend } from '../functions/resend-verification';
import { handler as updateProfile } from '../functions/update-profile';
import { handler as uploadPicture } from '../functions/upload-picture';
import { handler as verifyEmail } from '../functions/verify-email';
import { query } from '../lib/platform/db';
import { s3Store } from '../lib/platform/storage';
import { newOpaqueToken } from '../lib/accounts/tokens';
import { readMails } from '../scripts/stack/mail';
import { PASSWORD, createVerifiedUser, mailTo, registerAndReadToken, uniqueEmail, type TestUser } from './support/accounts';
import { invoke, type InvokeResult } from './support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

const times = <T>(count: number, make: (index: number) => Promise<T>) => Promise.all(Array.from({ length: count }, (_, index) => make(index)));
const statusesOf = (responses: InvokeResult[]) => responses.map((response) => response.status).sort();
const codesOf = (responses: InvokeResult[]) => responses.filter((response) => response.status >= 400).map((response) => response.json?.error?.code);
const mailsTo = async (email: string) => (await readMails(process.env.TEST_MAIL_DIR!)).filter((mail) => mail.to.includes(email));
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

const loginWith = (email: string, password: string) => invoke(login, { method: 'POST', route: '/auth/login', json: { email, password } });
const profileOf = (user: TestUser) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer: user.accessToken });
const keysUnder = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key).sort();
const keysLinkedFrom = (picture: { variants: Record<string, string> }) =>
  Object.values(picture.variants)
    .map((url) => decodeURIComponent(new URL(url).pathname).replace(`/${process.env.S3_BUCKET}/`, ''))
    .sort();

describe('one verification token, posted 10 times at once', () => {
  test('exactly one POST verifies (200); the others are 400 invalid_token, none 5xx', async () => {
    const { token } = await registerAndReadToken();
    const responses = await times(10, () => invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token } }));
    expect(statusesOf(responses)).toEqual([200, ...Array(9).fill(400)]);
    expect(codesOf(responses)).toEqual(Array(9).fill('invalid_token'));
  });
});

describe('one nickname, claimed at once', () => {
  test('by five users in PATCH /users/me: one 200, four 409 nickname_taken, one owner', async () => {
    const users = await times(5, () => createVerifiedUser());
    const nickname = `race_${Date.now()}`;
    const responses = await Promise.all(
      users.map((user, index) =>
        invoke(updateProfile, { method: 'PATCH', route: '/users/me', bearer: user.accessToken, json: { nickname: index % 2 ? nickname : nickname.toUpperCase() } }),
      ),
    );
    expect(statusesOf(responses)).toEqual([200, 409, 409, 409, 409]);
    expect(codesOf(responses)).toEqual(Array(4).fill('nickname_taken'));
    const { rows } = await query('select id from users where lower(nickname) = lower($1)', [nickname]);
    expect(rows).toEqual([{ id: responses.find((response) => response.status === 200)!.json.id }]);
  });

  test('by five registrations with different emails: five 202, five accounts, one keeps the nickname', async () => {
    const nickname = `race_${Date.now()}`;
    const emails = Array.from({ length: 5 }, () => uniqueEmail('nickrace'));
    const responses = await Promise.all(
      emails.map((email) => invoke(register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD, nickname } })),
    );
    // A 409 only new emails could get would tell known emails apart: the losers get generated nicknames.
    expect(statusesOf(responses)).toEqual([202, 202, 202, 202, 202]);
    const { rows } = await query<{ nickname: string }>('select nickname from users where email = any($1)', [emails]);
    expect(rows).toHaveLength(5);
    expect(rows.filter((row) => row.nickname === nickname)).toHaveLength(1);
  });
});

describe('resend-verification for one address, 10 times at once', () => {
  test('answers 202 to all and sends exactly one mail', async () => {
    const { email } = await registerAndReadToken();
    await query(`update mail_throttle set last_sent_at = now() - interval '2 minutes' where email = $1`, [email]);
    const responses = await times(10, () => invoke(resend, { method: 'POST', route: '/auth/resend-verification', json: { email } }));
    expect(statusesOf(responses)).toEqual(Array(10).fill(202));
    await mailTo(email, { count: 2 });
    await settle();
    expect(await mailsTo(email)).toHaveLength(2);
  });
});

// Every attempt is recorded before the throttle is checked, so guesses that arrive together count against
// each other: a burst gets at most 5 password checks, the rest 429.
describe('wrong passwords for one account, 10 at once', () => {
  test('at most 5 are checked (401), the rest are 429, none 5xx, and exactly the 401s are recorded', async () => {
    const user = await createVerifiedUser();
    const responses = await times(10, (index) => loginWith(user.email, `wrong password ${index}`));
    expect(responses.every((response) => response.status === 401 || response.status === 429)).toBe(true);
    const checked = responses.filter((response) => response.status === 401).length;
    expect(checked).toBeLessThanOrEqual(5);
    const { rows } = await query<{ failures: number }>('select count(*)::int as failures from login_failures where email = $1', [user.email]);
    expect(rows[0]!.failures).toBe(checked);
  });

  test('after the burst the account is locked: the right password is 429', async () => {
    const user = await createVerifiedUser();
    await times(10, (index) => loginWith(user.email, `wrong password ${index}`));
    const locked = await loginWith(user.email, PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
  });

  test('a second burst on a locked account is 429 throughout, the right password included', async () => {
    const user = await createVerifiedUser();
    for (let attempt = 0; attempt < 5; attempt += 1) await loginWith(user.email, `wrong password ${attempt}`);
    const responses = await times(10, (index) => loginWith(user.email, index === 0 ? PASSWORD : `wrong password ${index}`));
    expect(statusesOf(responses)).toEqual(Array(10).fill(429));
  });
});

// The race is narrow (logout waits for the row a refresh holds, then cannot see the successor it committed),
// so it is run on 30 sessions, one after the other; without the repeat in revokeFamilyOf about 1 in 6 survived.
describe('refresh and logout of one session at once', () => {
  const refreshWith = (refreshToken: string) => invoke(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken } });
  const logoutWith = (refreshToken: string) => invoke(logout, { method: 'POST', route: '/auth/logout', json: { refreshToken } });
  /** A session as login stores it (a family of one refresh token), without paying for a password check. */
  const seedSession = async (userId: string) => {
    const { token, hash } = newOpaqueToken();
    await query(
      `with session as (insert into sessions (id, user_id, expires_at) values (gen_random_uuid(), $2, now() + interval '1 day') returning id)
       insert into refresh_tokens (token_hash, user_id, family_id, expires_at) select $1, $2, id, now() + interval '1 day' from session`,
      [hash, userId],
    );
    return token;
  };

  test('never 5xx, and afterwards no token of the session refreshes (30 sessions)', async () => {
    const user = await createVerifiedUser();
    const sessions = await times(30, () => seedSession(user.id));
    const outcomes: { refresh: number; logout: number; tokensStillWorking: number }[] = [];
    for (const token of sessions) {
      const [refreshed, loggedOut] = await Promise.all([refreshWith(token), logoutWith(token)]);
      const tokens = [token, ...(refreshed.status === 200 ? [refreshed.json.refreshToken as string] : [])];
      const afterwards = await Promise.all(tokens.map((candidate) => refreshWith(candidate)));
      outcomes.push({
        refresh: refreshed.status === 200 || refreshed.status === 401 ? 0 : refreshed.status,
        logout: loggedOut.status,
        tokensStillWorking: afterwards.filter((response) => response.status !== 401).length,
      });
    }
    expect(outcomes).toEqual(Array(30).fill({ refresh: 0, logout: 204, tokensStillWorking: 0 }));
  });
});

describe('uploads and deletes of one picture at once', () => {
  test('all answer 200 and the bucket ends holding exactly what the profile links to', async () => {
    const user = await createVerifiedUser();
    const jpeg = await smallJpeg(120, 90);
    const upload = () => invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(jpeg) });
    const remove = () => invoke(deletePicture, { method: 'DELETE', route: '/users/me/picture', bearer: user.accessToken });
    expect((await upload()).status).toBe(200);

    const responses = await times(8, (index) => (index % 2 ? remove() : upload()));

    expect(statusesOf(responses)).toEqual(Array(8).fill(200));
    const { picture } = (await profileOf(user)).json;
    const stored = await keysUnder(`pictures/${user.id}/`);
    expect(stored).toEqual(picture.default ? [] : keysLinkedFrom(picture));
  });

  test('the profile after a race links only to objects that exist', async () => {
    const user = await createVerifiedUser();
    const jpeg = await smallJpeg(100, 100);
    const upload = () => invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(jpeg) });
    const remove = () => invoke(deletePicture, { method: 'DELETE', route: '/users/me/picture', bearer: user.accessToken });

    await Promise.all([upload(), remove(), upload(), upload(), remove()]);

    const { picture } = (await profileOf(user)).json;
    const linked = picture.default ? [] : keysLinkedFrom(picture);
    const present = await Promise.all(linked.map(async (key: string) => (await s3Store.head(key)) !== undefined));
    expect(present).toEqual(linked.map(() => true));
  });
});
