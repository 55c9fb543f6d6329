// Lifecycle races across containers: each side runs in its own process with its own module instances and
// pg pool (test/support/container.ts), or one side in this process and the other in a container, never
// through one shared pool that would serialise them. End states are asserted, not timings.
// Its own Postgres, s3rver and SMTP catcher (test/support/fault-stack.ts): the janitor runs here with a clock
// days ahead, which would sweep other test files' uploads in the shared bucket.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { PASSWORD, keysUnder, loadApp, startFaultStack, uniqueEmail, type App, type FaultStack } from './support/fault-stack';
import { startContainer, type Container } from './support/container';
import { invoke } from './support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

let stack: FaultStack;
let app: App;
let containers: Container[];
let runJanitor: (typeof import('../lib/ops/janitor'))['runJanitor'];
let passwordHash: string;

beforeAll(async () => {
  stack = await startFaultStack();
  app = await loadApp();
  runJanitor = (await import('../lib/ops/janitor')).runJanitor;
  passwordHash = await app.passwords.hashPassword(PASSWORD, { N: 1024, r: 8, p: 3 });
  // Forked after startFaultStack: they inherit its settings.
  containers = await Promise.all([startContainer(), startContainer()]);
}, 90_000);

afterAll(async () => {
  await Promise.all((containers ?? []).map((container) => container.stop()));
  await stack?.teardown();
}, 30_000);

interface Seeded {
  id: string;
  email: string;
  sessionId: string;
  accessToken: string;
}

async function seedUser(): Promise<Seeded> {
  const email = uniqueEmail('race');
  const { rows } = await app.db.query<{ id: string }>(
    `insert into users (email, password_hash, nickname, email_verified_at) values ($1, $2, $3, now()) returning id`,
    [email, passwordHash, `race_${randomUUID().slice(0, 8)}`],
  );
  const id = rows[0]!.id;
  const sessionId = randomUUID();
  await app.db.query(`insert into sessions (id, user_id, expires_at) values ($1, $2, now() + interval '1 day')`, [sessionId, id]);
  return { id, email, sessionId, accessToken: await app.tokens.signAccessToken({ userId: id, role: 'user', sessionId }) };
}

async function seedToken(table: 'password_reset_tokens' | 'email_change_tokens', user: Seeded, newEmail?: string): Promise<string> {
  const { token, hash } = app.tokens.newOpaqueToken();
  if (table === 'password_reset_tokens') {
    await app.db.query(`insert into password_reset_tokens (token_hash, user_id, expires_at) values ($1, $2, now() + interval '1 hour')`, [hash, user.id]);
  } else {
    await app.db.query(
      `insert into email_change_tokens (token_hash, user_id, new_email, session_id, expires_at) values ($1, $2, $3, $4, now() + interval '1 hour')`,
      [hash, user.id, newEmail, user.sessionId],
    );
  }
  return token;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const userRows = async (id: string) => (await app.db.query('select 1 from users where id = $1', [id])).rowCount;
const objectsOf = async (id: string) => [...(await keysUnder(app, `pictures/${id}/`)), ...(await keysUnder(app, `incoming/${id}/`))];
const deleteIn = (container: Container, user: Seeded) =>
  container.invoke('delete-account', { method: 'DELETE', route: '/users/me', bearer: user.accessToken, json: { password: PASSWORD } });
const loginAs = (email: string, password: string) => invoke(app.handlers.login, { method: 'POST', route: '/auth/login', json: { email, password } });

/** A presigned POST grant, and what a browser does with it: the JPEG straight into the bucket. */
async function grantFor(user: Seeded) {
  const grant = await invoke(app.handlers.uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: user.accessToken });
  if (grant.status !== 200) throw new Error(`upload-url answered ${grant.status}`);
  const jpeg = await smallJpeg(90, 90);
  return {
    key: grant.json.key as string,
    post: async () => {
      const form = new FormData();
      for (const [name, value] of Object.entries(grant.json.fields as Record<string, string>)) form.append(name, value);
      form.append('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'raw.jpg');
      return (await fetch(grant.json.url, { method: 'POST', body: form })).status;
    },
  };
}

/** The hourly janitor as it runs once a day has passed: stray picture objects and raw uploads are old enough to go. */
const janitorADayLater = () => runJanitor({ objects: app.objects, now: () => new Date(Date.now() + 2 * 86_400_000) });

describe('delete account during an upload', () => {
  // The delete starts at a range of moments into the upload: before its user lookup, during the render and
  // the puts, around the commit, after it.
  const delays = [0, 10, 30, 60, 100, 150, 250, 400];

  test(`a multipart upload here and the delete in a container, ${delays.length} moments: no user row, and no object left after the janitor`, async () => {
    const jpeg = await smallJpeg(640, 480);
    const users = await Promise.all(delays.map(() => seedUser()));
    const outcomes = await Promise.all(
      delays.map(async (delay, index) => {
        const user = users[index]!;
        const upload = invoke(app.handlers.uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(jpeg) });
        await sleep(delay);
        const deleted = await deleteIn(containers[index % 2]!, user);
        return { upload: (await upload).status, deleted: deleted.status };
      }),
    );
    for (const outcome of outcomes) {
      expect(outcome.deleted).toBe(204);
      // The upload either finished first (its objects then went with the account) or found the account gone;
      // on a loaded machine a storage call may pass the adapter's 2 s limit (503): what counts is the end state below.
      expect([200, 401, 404, 503]).toContain(outcome.upload);
    }
    for (const user of users) expect(await userRows(user.id)).toBe(0);
    await janitorADayLater();
    for (const user of users) expect({ user: user.id, keys: await objectsOf(user.id) }).toEqual({ user: user.id, keys: [] });
  }, 60_000);

  test('a direct upload: confirm here and delete in a container at once, and a grant used after the delete: nothing left after the janitor', async () => {
    const users = await Promise.all([0, 1, 2, 3].map(() => seedUser()));
    await Promise.all(
      users.map(async (user, index) => {
        const [confirmed, late] = [await grantFor(user), await grantFor(user)];
        expect(await confirmed.post()).toBeLessThan(300);
        const [confirm, deleted] = await Promise.all([
          invoke(app.handlers.confirmPicture, { method: 'POST', route: '/users/me/picture/confirm', bearer: user.accessToken, json: { key: confirmed.key } }),
          deleteIn(containers[index % 2]!, user),
        ]);
        expect(deleted.status).toBe(204);
        expect([200, 401, 404, 503]).toContain(confirm.status); // 503: a storage call past its limit under load
        // The grant outlives the account by its few minutes: the browser may still post with it.
        expect(await late.post()).toBeLessThan(300);
      }),
    );
    for (const user of users) expect(await userRows(user.id)).toBe(0);
    await janitorADayLater();
    for (const user of users) expect({ user: user.id, keys: await objectsOf(user.id) }).toEqual({ user: user.id, keys: [] });
  }, 60_000);
});

describe('resets', () => {
  test('two resets with one token in two containers, five rounds: exactly one wins and its password is the one that logs in', async () => {
    for (let round = 0; round < 5; round += 1) {
      const user = await seedUser();
      const token = await seedToken('password_reset_tokens', user);
      const passwords = [`first passphrase ${round}`, `second passphrase ${round}`];
      const responses = await Promise.all(
        containers.map((container, index) =>
          container.invoke('reset-password', { method: 'POST', route: '/auth/reset-password', json: { token, password: passwords[index] } }),
        ),
      );
      expect({ round, statuses: responses.map((response) => response.status).sort() }).toEqual({ round, statuses: [200, 400] });
      const winner = responses.findIndex((response) => response.status === 200);
      expect(responses[1 - winner]!.json.error.code).toBe('invalid_token');
      expect((await loginAs(user.email, passwords[winner]!)).status).toBe(200);
      expect((await loginAs(user.email, passwords[1 - winner]!)).status).toBe(401);
    }
  }, 60_000);

  // The sane outcome: a reset proves the current mailbox and ends every session, the one that asked for the
  // change too (it may be a thief's); so it also voids the pending change, and the address stays.
  test('a reset while a change of email is pending voids the change: its link is refused and the address stays', async () => {
    const user = await seedUser();
    const newEmail = uniqueEmail('pending');
    const changeToken = await seedToken('email_change_tokens', user, newEmail);
    const resetToken = await seedToken('password_reset_tokens', user);
    const reset = await containers[1]!.invoke('reset-password', {
      method: 'POST', route: '/auth/reset-password', json: { token: resetToken, password: 'the owner takes it back' },
    });
    expect(reset.status).toBe(200);
    const confirm = await containers[0]!.invoke('confirm-email', { method: 'POST', route: '/auth/confirm-email', json: { token: changeToken } });
    expect(confirm.status).toBe(400);
    expect(confirm.json.error.code).toBe('invalid_token');
    expect((await app.db.query('select email from users where id = $1', [user.id])).rows).toEqual([{ email: user.email }]);
    expect((await loginAs(user.email, 'the owner takes it back')).status).toBe(200);
    expect((await loginAs(newEmail, 'the owner takes it back')).status).toBe(401);
  });

  test('a reset and the confirmation of a pending change at once, in two containers, five rounds: exactly one takes effect, never both, never a 500', async () => {
    for (let round = 0; round < 5; round += 1) {
      const user = await seedUser();
      const newEmail = uniqueEmail(`both-${round}`);
      const changeToken = await seedToken('email_change_tokens', user, newEmail);
      const resetToken = await seedToken('password_reset_tokens', user);
      const newPassword = `reset during a change ${round}`;
      const [reset, confirm] = await Promise.all([
        containers[0]!.invoke('reset-password', { method: 'POST', route: '/auth/reset-password', json: { token: resetToken, password: newPassword } }),
        containers[1]!.invoke('confirm-email', { method: 'POST', route: '/auth/confirm-email', json: { token: changeToken } }),
      ]);
      expect({ round, statuses: [reset.status, confirm.status].sort() }).toEqual({ round, statuses: [200, 400] });
      const { rows } = await app.db.query<{ email: string }>('select email from users where id = $1', [user.id]);
      if (reset.status === 200) {
        // The reset won: the address stays, the new password logs in there.
        expect(rows).toEqual([{ email: user.email }]);
        expect((await loginAs(user.email, newPassword)).status).toBe(200);
      } else {
        // The change won: it voided the reset link; the old password logs in at the new address.
        expect(rows).toEqual([{ email: newEmail }]);
        expect((await loginAs(newEmail, PASSWORD)).status).toBe(200);
      }
    }
  }, 60_000);
});
