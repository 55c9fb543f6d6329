// The lifecycle routes while the real SMTP server or the real object store is away. A route whose mail carries
// a new token answers 503 and changes nothing: no token row left, no change of address pending, the mail slot
// free for an immediate retry. A deletion is not held hostage by storage: the account goes at once, the
// objects it leaves are recorded, and the janitor removes them once the store is back.
// Runs on its own Postgres, s3rver and SMTP catcher (test/support/fault-stack.ts), never the shared ones.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { PASSWORD, keysUnder, mailTo, timed, uniqueEmail, unavailableShape, useFaultStack, type App, type FaultStack } from './support/fault-stack';
import { invoke, type InvokeResult } from './support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

type Handler = Parameters<typeof invoke>[0];
let stack: FaultStack;
let app: App;
let handlers: Record<'forgotPassword' | 'resetPassword' | 'changeEmail' | 'confirmEmail' | 'deleteAccount', Handler>;
let runJanitor: (typeof import('../lib/ops/janitor'))['runJanitor'];
let passwordHash: string;

useFaultStack(async (context) => {
  ({ stack, app } = context);
  // Loaded only now: lib/platform/config.ts reads process.env, which the fault stack has just pointed at its services.
  const [forgot, reset, change, confirm, remove, janitor] = await Promise.all([
    import('../functions/forgot-password'),
    import('../functions/reset-password'),
    import('../functions/change-email'),
    import('../functions/confirm-email'),
    import('../functions/delete-account'),
    import('../lib/ops/janitor'),
  ]);
  handlers = { forgotPassword: forgot.handler, resetPassword: reset.handler, changeEmail: change.handler, confirmEmail: confirm.handler, deleteAccount: remove.handler };
  runJanitor = janitor.runJanitor;
  passwordHash = await app.passwords.hashPassword(PASSWORD, { N: 1024, r: 8, p: 3 });
});

interface Seeded {
  id: string;
  email: string;
  accessToken: string;
}

/** A verified account with one live session, written straight to the stack's database. */
async function seedUser(): Promise<Seeded> {
  const email = uniqueEmail('life');
  const { rows } = await app.db.query<{ id: string }>(
    `insert into users (email, password_hash, nickname, email_verified_at) values ($1, $2, $3, now()) returning id`,
    [email, passwordHash, `life_${randomUUID().slice(0, 8)}`],
  );
  const id = rows[0]!.id;
  const sessionId = randomUUID();
  await app.db.query(`insert into sessions (id, user_id, expires_at) values ($1, $2, now() + interval '1 day')`, [sessionId, id]);
  return { id, email, accessToken: await app.tokens.signAccessToken({ userId: id, role: 'user', sessionId }) };
}

const count = async (sql: string, values: unknown[]) => (await app.db.query<{ n: number }>(`select count(*)::int as n from (${sql}) rows`, values)).rows[0]!.n;
const forgot = (email: string) => invoke(handlers.forgotPassword, { method: 'POST', route: '/auth/forgot-password', json: { email } });
const askChange = (user: Seeded, newEmail: string) =>
  invoke(handlers.changeEmail, { method: 'POST', route: '/users/me/email', bearer: user.accessToken, json: { newEmail, password: PASSWORD } });
const removeAccount = (user: Seeded) => invoke(handlers.deleteAccount, { method: 'DELETE', route: '/users/me', bearer: user.accessToken, json: { password: PASSWORD } });
const tokenOfLink = (links: string[], route: string) => new URL(links.find((link) => link.includes(`${route}?token=`))!).searchParams.get('token')!;

/** What a 503 from a mail route must have left: nothing an unsent link could use, and the slot free. */
async function expectNothingIssued(userId: string, addresses: string[]) {
  expect(await count('select 1 from password_reset_tokens where user_id = $1', [userId])).toBe(0);
  expect(await count('select 1 from email_change_tokens where user_id = $1', [userId])).toBe(0);
  expect(await count('select 1 from mail_throttle where email = any($1)', [addresses])).toBe(0);
}

function expectSame503(responses: InvokeResult[]) {
  for (const response of responses) expect(response).toMatchObject(unavailableShape);
  expect(new Set(responses.map((response) => response.body)).size).toBe(1);
}

// Accounts whose mail failed, for the retries once the server is back.
let forgetful: Seeded;
let mover: Seeded;
let moverTarget: string;

describe('with the SMTP server stopped', () => {
  beforeAll(() => stack.smtp.stop(), 30_000);
  afterAll(() => stack.smtp.restore(), 30_000);

  test('forgot-password answers the same 503 for a known and an unknown address within 5 s; no reset token is left, the slot is free', async () => {
    forgetful = await seedUser();
    const known = await timed(() => forgot(forgetful.email));
    const unknown = await timed(() => forgot(uniqueEmail('nobody')));
    expectSame503([known, unknown]);
    expect(Math.max(known.ms, unknown.ms)).toBeLessThan(5000);
    await expectNothingIssued(forgetful.id, [forgetful.email]);
  });

  test('change-email answers the same 503 for a free and a taken address; no change is pending and the owner of the taken one got no reset token', async () => {
    mover = await seedUser();
    const owner = await seedUser();
    moverTarget = uniqueEmail('moving');
    const free = await timed(() => askChange(mover, moverTarget));
    const taken = await timed(() => askChange(mover, owner.email));
    expectSame503([free, taken]);
    expect(Math.max(free.ms, taken.ms)).toBeLessThan(5000);
    await expectNothingIssued(mover.id, [moverTarget, owner.email, mover.email]);
    await expectNothingIssued(owner.id, [owner.email]);
    expect((await app.db.query('select email from users where id = $1', [mover.id])).rows).toEqual([{ email: mover.email }]);
  });

  test('a change link mailed before the outage still confirms: the mailbox is proven; only the "changed" notice is lost', async () => {
    const user = await seedUser();
    const newEmail = uniqueEmail('confirmed');
    const { token, hash } = app.tokens.newOpaqueToken();
    await app.db.query(
      `insert into email_change_tokens (token_hash, user_id, new_email, expires_at) values ($1, $2, $3, now() + interval '1 hour')`,
      [hash, user.id, newEmail],
    );
    const confirmed = await invoke(handlers.confirmEmail, { method: 'POST', route: '/auth/confirm-email', json: { token } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.user.email).toBe(newEmail);
  });

  test('delete-account still deletes (204): the account is gone, only the goodbye mail is lost', async () => {
    const user = await seedUser();
    expect((await removeAccount(user)).status).toBe(204);
    expect(await count('select 1 from users where id = $1', [user.id])).toBe(0);
  });
});

describe('with the SMTP server hanging (connections accepted, no greeting)', () => {
  beforeAll(() => stack.smtp.hang(), 30_000);
  afterAll(() => stack.smtp.restore(), 30_000);

  test('forgot-password and change-email answer 503 within 5 s and leave no token', async () => {
    const user = await seedUser();
    const newEmail = uniqueEmail('hanging');
    const forgotten = await timed(() => forgot(user.email));
    const changed = await timed(() => askChange(user, newEmail));
    for (const response of [forgotten, changed]) {
      expect(response).toMatchObject(unavailableShape);
      expect(response.ms).toBeLessThan(5000);
    }
    await expectNothingIssued(user.id, [user.email, newEmail]);
  });
});

describe('after the SMTP server works again', () => {
  beforeAll(() => stack.smtp.restore(), 30_000);

  // Within the minute of the failed attempt: only a slot given back lets these mails out.
  test('the forgot-password that failed is repeated at once: the mail goes out and its link resets the password', async () => {
    const since = Date.now();
    expect((await forgot(forgetful.email)).status).toBe(202);
    const token = tokenOfLink((await mailTo(stack, forgetful.email, { since, timeoutMs: 10_000 })).links, '/auth/reset-password');
    const reset = await invoke(handlers.resetPassword, { method: 'POST', route: '/auth/reset-password', json: { token, password: 'a passphrase after the outage' } });
    expect(reset.status).toBe(200);
    expect(await count('select 1 from sessions where user_id = $1 and revoked_at is null', [forgetful.id])).toBe(0);
  });

  test('the change of email that failed is asked again at once: the link arrives, the old address is told, and it confirms', async () => {
    const since = Date.now();
    expect((await askChange(mover, moverTarget)).status).toBe(202);
    const token = tokenOfLink((await mailTo(stack, moverTarget, { since, timeoutMs: 10_000 })).links, '/auth/confirm-email');
    expect((await mailTo(stack, mover.email, { since, timeoutMs: 10_000 })).subject).toMatch(/about to change/i);
    const confirmed = await invoke(handlers.confirmEmail, { method: 'POST', route: '/auth/confirm-email', json: { token } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.user.email).toBe(moverTarget);
  });
});

/** A verified account with a picture (pictures/{id}/…) and a raw direct upload (incoming/{id}/…), seeded while storage is up. */
async function seedUserWithObjects(): Promise<Seeded & { keys: string[] }> {
  const user = await seedUser();
  const uploaded = await invoke(app.handlers.uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(await smallJpeg(96, 96)) });
  if (uploaded.status !== 200) throw new Error(`seeding a picture answered ${uploaded.status}`);
  const grant = await invoke(app.handlers.uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: user.accessToken });
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.json.fields as Record<string, string>)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(await smallJpeg(90, 90))], { type: 'image/jpeg' }), 'raw.jpg');
  const posted = await fetch(grant.json.url, { method: 'POST', body: form });
  if (posted.status >= 300) throw new Error(`posting to the bucket answered ${posted.status}`);
  const keys = [...(await keysUnder(app, `pictures/${user.id}/`)), ...(await keysUnder(app, `incoming/${user.id}/`))];
  expect(keys).toHaveLength(4);
  return { ...user, keys };
}

const prefixesOf = (userId: string) => [`incoming/${userId}/`, `pictures/${userId}/`];
const leftoversOf = async (userId: string) =>
  (await app.db.query<{ prefix: string }>('select prefix from storage_leftovers where prefix = any($1) order by prefix', [prefixesOf(userId)])).rows.map((row) => row.prefix);

describe('delete account while the object store is away', () => {
  let stopped: Seeded & { keys: string[] };
  let hung: Seeded & { keys: string[] };

  beforeAll(async () => {
    [stopped, hung] = await Promise.all([seedUserWithObjects(), seedUserWithObjects()]);
  }, 30_000);

  describe('s3rver stopped', () => {
    beforeAll(() => stack.s3.stop(), 30_000);
    afterAll(() => stack.s3.restore(), 30_000);

    test('204 within 5 s: the account, its sessions and tokens are gone at once, both prefixes are recorded as leftovers', async () => {
      const response = await timed(() => removeAccount(stopped));
      expect(response.status).toBe(204);
      expect(response.ms).toBeLessThan(5000);
      expect(await count('select 1 from users where id = $1', [stopped.id])).toBe(0);
      expect(await count('select 1 from sessions where user_id = $1', [stopped.id])).toBe(0);
      expect(await leftoversOf(stopped.id)).toEqual(prefixesOf(stopped.id));
    });
  });

  describe('s3rver hanging (connections accepted, never answered)', () => {
    beforeAll(() => stack.s3.hang(), 30_000);
    afterAll(() => stack.s3.restore(), 30_000);

    // One store call times out (2 attempts of 2 s, lib/platform/storage.ts); the first failure ends the clean-up.
    test('204 within 8 s, the account gone and both prefixes recorded', async () => {
      const response = await timed(() => removeAccount(hung));
      expect(response.status).toBe(204);
      expect(response.ms).toBeLessThan(8000);
      expect(await count('select 1 from users where id = $1', [hung.id])).toBe(0);
      expect(await leftoversOf(hung.id)).toEqual(prefixesOf(hung.id));
    }, 30_000);
  });

  describe('once the store is back', () => {
    beforeAll(() => stack.s3.restore(), 30_000);

    test('the objects are still there until the janitor runs; then nothing remains under either prefix and the records are gone', async () => {
      for (const user of [stopped, hung]) {
        expect([...(await keysUnder(app, `pictures/${user.id}/`)), ...(await keysUnder(app, `incoming/${user.id}/`))]).toEqual(user.keys);
      }
      const counts = await runJanitor({ objects: app.objects });
      expect(counts['objects of deleted accounts']).toBeGreaterThanOrEqual(4);
      for (const user of [stopped, hung]) {
        for (const prefix of prefixesOf(user.id)) expect(await keysUnder(app, prefix)).toEqual([]);
        expect(await leftoversOf(user.id)).toEqual([]);
      }
      // A second run finds nothing of theirs to do.
      expect((await runJanitor({ objects: app.objects }))['objects of deleted accounts']).toBe(0);
    }, 30_000);
  });
});
