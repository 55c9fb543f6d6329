// The admin routes' behaviours (the who-may-what table is test/policy.test.ts): list and search,
// pagination invariants, edits and their audit entries, disable, unlock, delete, pictures of others.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { handler as login } from '../functions/login';
import { handler as refresh } from '../functions/refresh';
import { handler as deletePicture } from '../functions/delete-picture';
import { handler as uploadPicture } from '../functions/upload-picture';
import { query } from '../lib/platform/db';
import { createVerifiedUser, mailTo, PASSWORD, seedUser, type TestUser } from './support/accounts';
import { adminRoutes } from './support/admin';
import { invoke } from './support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

const loginAs = (email: string, password = PASSWORD) => invoke(login, { method: 'POST', route: '/auth/login', json: { email, password } });
const tag = () => randomBytes(4).toString('hex');

let admin: TestUser;
let manager: TestUser;
beforeAll(async () => {
  [admin, manager] = await Promise.all([createVerifiedUser({ role: 'admin' }), createVerifiedUser({ role: 'manager' })]);
});

describe('GET /admin/users', () => {
  test('finds by a case-insensitive prefix of email, nickname, first name, last name or full name', async () => {
    const t = tag();
    const grace = await seedUser({ email: `grace.${t}@example.test`, nickname: `Amazing_${t}`, firstName: `Gr${t}ce`, lastName: `Hop${t}per` });
    const other = await seedUser({ lastName: `Other${t}` });
    for (const q of [`GRACE.${t}`, `amazing_${t}`, `gr${t}`, `HOP${t}`, `gr${t}ce hop`]) {
      const response = await adminRoutes.list(manager.accessToken, { q });
      expect({ q, status: response.status, ids: response.json.users.map((user: { id: string }) => user.id) }).toEqual({ q, status: 200, ids: [grace.id] });
    }
    expect((await adminRoutes.list(manager.accessToken, { q: `other${t}` })).json.users.map((user: { id: string }) => user.id)).toEqual([other.id]);
  });

  test('a search is a prefix, and % and _ in it are plain characters', async () => {
    const t = tag();
    await seedUser({ nickname: `xx_${t}` });
    expect((await adminRoutes.list(admin.accessToken, { q: t })).json.users).toEqual([]);
    expect((await adminRoutes.list(admin.accessToken, { q: `x%_${t}` })).json.users).toEqual([]);
    expect((await adminRoutes.list(admin.accessToken, { q: `xx_${t}` })).json.users).toHaveLength(1);
  });

  test('answers AdminUsers with email, disabled, lastLoginAt and lockedUntil, and no-store', async () => {
    const response = await adminRoutes.list(admin.accessToken, { q: manager.email });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json.users).toEqual([
      expect.objectContaining({ id: manager.id, email: manager.email, role: 'manager', disabled: false, lockedUntil: null, lastLoginAt: expect.any(String) }),
    ]);
    expect(response.json.nextCursor).toBeNull();
  });

  test('filters by role and disabled', async () => {
    const t = tag();
    const [plain, staff, off] = await Promise.all([
      seedUser({ lastName: `Filter${t}` }),
      seedUser({ lastName: `Filter${t}`, role: 'manager' }),
      seedUser({ lastName: `Filter${t}`, disabled: true }),
    ]);
    const ids = async (params: Record<string, string>) =>
      (await adminRoutes.list(admin.accessToken, { q: `filter${t}`, ...params })).json.users.map((user: { id: string }) => user.id).sort();
    expect(await ids({ role: 'manager' })).toEqual([staff.id]);
    expect(await ids({ disabled: 'true' })).toEqual([off.id]);
    expect(await ids({ disabled: 'false', role: 'user' })).toEqual([plain.id]);
  });

  test('pages newest first with a cursor: no duplicates and no gaps while users register between pages', async () => {
    const t = tag();
    // Twelve at one instant (ties on created_at are ordered by id), then eight more.
    await query(
      `insert into users (email, password_hash, nickname, last_name, email_verified_at)
       select 'page-' || $1 || '-' || n || '@example.test', 'x', 'page_' || $1 || '_' || n, 'Page' || $1, now() from generate_series(1, 12) n`,
      [t],
    );
    for (let index = 0; index < 8; index += 1) await seedUser({ lastName: `Page${t}` });
    const { rows: expected } = await query<{ id: string }>(`select id from users where last_name = $1 order by created_at desc, id desc`, [`Page${t}`]);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const response = await adminRoutes.list(admin.accessToken, { q: `page${t}`, limit: '6', ...(cursor ? { cursor } : {}) });
      expect(response.status).toBe(200);
      seen.push(...response.json.users.map((user: { id: string }) => user.id));
      await seedUser({ lastName: `Page${t}` }); // newer than everything listed: must not shift the next page
      cursor = response.json.nextCursor ?? undefined;
      if (!cursor) break;
    }
    expect(seen).toEqual(expected.map((row) => row.id));
  });

  test.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    // Well-formed but forged: an instant Postgres cannot hold (it answered 500 before).
    [{ cursor: Buffer.from(JSON.stringify(['9223372036854775807', '00000000-0000-4000-8000-000000000000'])).toString('base64url') }, 'cursor'],
    [{ cursor: Buffer.from(JSON.stringify(['-250000000000000000', '00000000-0000-4000-8000-000000000000'])).toString('base64url') }, 'cursor'],
    [{ q: 'a\u0000b' }, 'q'],
    [{ q: '\u0000' }, 'q'],
    [{ role: 'root' }, 'role'],
    [{ disabled: 'yes' }, 'disabled'],
  ])('%j is 400 validation_failed naming %s', async (params, field) => {
    const response = await adminRoutes.list(admin.accessToken, params);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(Object.keys(response.json.error.details)).toEqual([field]);
  });
});

describe('GET /admin/users/{id}', () => {
  test('an unknown or malformed id is 404 not_found; an upper-case id names the same user', async () => {
    const target = await seedUser();
    expect((await adminRoutes.get(admin.accessToken, '2b1a3f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f')).status).toBe(404);
    expect((await adminRoutes.get(admin.accessToken, 'nope')).status).toBe(404);
    expect((await adminRoutes.get(admin.accessToken, target.id.toUpperCase())).json.id).toBe(target.id);
  });
});

describe('PATCH /admin/users/{id}', () => {
  test('edits profile fields and links, and records old → new with the request id of the response', async () => {
    const target = await seedUser({ firstName: 'Ada' });
    const response = await adminRoutes.patch(manager.accessToken, target.id, { firstName: 'Grace', githubUrl: 'https://github.com/grace' });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ firstName: 'Grace', githubUrl: 'https://github.com/grace', email: target.email });
    const audit = await adminRoutes.audit(admin.accessToken, { target: target.id });
    expect(audit.json.entries).toEqual([
      {
        id: expect.any(String),
        at: expect.any(String),
        actorId: manager.id,
        action: 'user.update',
        targetId: target.id,
        changes: { firstName: { from: 'Ada', to: 'Grace' }, githubUrl: { from: null, to: 'https://github.com/grace' } },
        requestId: response.headers['x-request-id'],
      },
    ]);
  });

  test('a refused request changes nothing and writes no audit entry', async () => {
    const target = await seedUser({ role: 'manager', firstName: 'Kept' });
    const response = await adminRoutes.patch(manager.accessToken, target.id, { firstName: 'Changed' });
    expect(response.status).toBe(403);
    expect((await adminRoutes.get(admin.accessToken, target.id)).json.firstName).toBe('Kept');
    expect((await adminRoutes.audit(admin.accessToken, { target: target.id })).json.entries).toEqual([]);
  });

  test('an admin changes a role; a taken nickname is 409; unknown fields are 400', async () => {
    const target = await seedUser();
    const taken = await seedUser();
    expect((await adminRoutes.patch(admin.accessToken, target.id, { role: 'manager' })).json.role).toBe('manager');
    const conflict = await adminRoutes.patch(admin.accessToken, target.id, { nickname: taken.nickname.toUpperCase() });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error.code).toBe('nickname_taken');
    const unknown = await adminRoutes.patch(admin.accessToken, target.id, { disable: true });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('validation_failed');
  });

  test('a demoted admin loses the powers of their still-valid token at once', async () => {
    const demoted = await createVerifiedUser({ role: 'admin' });
    expect((await adminRoutes.patch(admin.accessToken, demoted.id, { role: 'user' })).status).toBe(200);
    const target = await seedUser();
    const response = await adminRoutes.patch(demoted.accessToken, target.id, { role: 'manager' });
    expect([401, 403]).toContain(response.status);
    expect((await adminRoutes.get(admin.accessToken, target.id)).json.role).toBe('user');
  });
});

describe('disable and enable', () => {
  test('revokes the sessions; login answers 403 account_disabled only after a correct password; enable lets them back in', async () => {
    const target = await createVerifiedUser();
    expect((await adminRoutes.patch(manager.accessToken, target.id, { disabled: true })).json.disabled).toBe(true);
    const refreshed = await invoke(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken: target.refreshToken } });
    expect(refreshed.status).toBe(401);
    expect((await loginAs(target.email, 'a wrong password')).status).toBe(401);
    const refused = await loginAs(target.email);
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('account_disabled');
    expect((await adminRoutes.patch(manager.accessToken, target.id, { disabled: false })).json.disabled).toBe(false);
    expect((await loginAs(target.email)).status).toBe(200);
  });
});

describe('POST /admin/users/{id}/unlock', () => {
  test('clears the login throttle: lockedUntil goes back to null and the owner can log in', async () => {
    const target = await seedUser();
    for (let attempt = 0; attempt < 5; attempt += 1) await loginAs(target.email, 'a wrong password');
    expect((await loginAs(target.email)).status).toBe(429);
    expect(Date.parse((await adminRoutes.get(manager.accessToken, target.id)).json.lockedUntil)).toBeGreaterThan(Date.now());
    const unlocked = await adminRoutes.unlock(manager.accessToken, target.id);
    expect(unlocked.status).toBe(204);
    expect((await adminRoutes.get(manager.accessToken, target.id)).json.lockedUntil).toBeNull();
    expect((await loginAs(target.email)).status).toBe(200);
    const [entry] = (await adminRoutes.audit(admin.accessToken, { target: target.id })).json.entries;
    expect(entry).toMatchObject({ action: 'user.unlock', actorId: manager.id, requestId: unlocked.headers['x-request-id'] });
  });
});

describe('DELETE /admin/users/{id}', () => {
  test('deletes the account and frees its email; the audit entry outlives it', async () => {
    const target = await seedUser();
    const response = await adminRoutes.remove(admin.accessToken, target.id);
    expect(response.status).toBe(204);
    expect((await adminRoutes.get(admin.accessToken, target.id)).status).toBe(404);
    expect((await query('select 1 from users where email = $1', [target.email])).rowCount).toBe(0);
    const [entry] = (await adminRoutes.audit(admin.accessToken, { target: target.id })).json.entries;
    expect(entry).toMatchObject({ action: 'user.delete', actorId: admin.id, targetId: target.id, requestId: response.headers['x-request-id'] });
  });

  test('a confirmed account gets the goodbye mail, saying an administrator deleted it; an unconfirmed one gets none', async () => {
    const [confirmed, unconfirmed] = await Promise.all([seedUser(), seedUser({ verified: false })]);
    const since = Date.now();
    expect((await adminRoutes.remove(admin.accessToken, confirmed.id)).status).toBe(204);
    expect((await adminRoutes.remove(admin.accessToken, unconfirmed.id)).status).toBe(204);
    const goodbye = await mailTo(confirmed.email, { since, timeoutMs: 10_000 });
    expect(goodbye.subject).toMatch(/deleted/i);
    expect(goodbye.text).toMatch(/an administrator deleted/i);
    await expect(mailTo(unconfirmed.email, { since, timeoutMs: 1500 })).rejects.toThrow();
  });
});

describe('GET /admin/audit', () => {
  test('pages newest first with a cursor and filters by actor', async () => {
    const target = await seedUser();
    for (const bio of ['one', 'two', 'three']) await adminRoutes.patch(admin.accessToken, target.id, { bio });
    const first = await adminRoutes.audit(admin.accessToken, { target: target.id, limit: '2' });
    expect(first.json.entries.map((entry: { changes: { bio: { to: string } } }) => entry.changes.bio.to)).toEqual(['three', 'two']);
    const second = await adminRoutes.audit(admin.accessToken, { target: target.id, limit: '2', cursor: first.json.nextCursor });
    expect(second.json.entries.map((entry: { changes: { bio: { to: string } } }) => entry.changes.bio.to)).toEqual(['one']);
    expect(second.json.nextCursor).toBeNull();
    const byActor = await adminRoutes.audit(admin.accessToken, { actor: admin.id, target: target.id });
    expect(byActor.json.entries).toHaveLength(3);
    expect((await adminRoutes.audit(admin.accessToken, { actor: manager.id, target: target.id })).json.entries).toEqual([]);
    expect((await adminRoutes.audit(admin.accessToken, { actor: 'x' })).status).toBe(400);
    // A forged cursor past Postgres' bigint is no cursor of this list (it answered 500 before).
    const forged = await adminRoutes.audit(admin.accessToken, { cursor: Buffer.from(JSON.stringify(['9999999999999999999'])).toString('base64url') });
    expect({ status: forged.status, fields: Object.keys(forged.json.error?.details ?? {}) }).toEqual({ status: 400, fields: ['cursor'] });
  });
});

describe("another account's picture", () => {
  const upload = async (bearer: string, id: string) =>
    invoke(uploadPicture, { method: 'POST', route: '/users/{id}/picture', pathParameters: { id }, bearer, ...fileUpload(await smallJpeg(64, 64)) });
  const remove = (bearer: string, id: string) => invoke(deletePicture, { method: 'DELETE', route: '/users/{id}/picture', pathParameters: { id }, bearer });
  const pictureOf = async (id: string) => (await query<{ picture_id: string }>('select picture_id from users where id = $1', [id])).rows[0]!.picture_id;

  test("a manager's change and removal are audited old → new; the owner's own change and a removal of nothing are not", async () => {
    const target = await createVerifiedUser();
    const own = await upload(target.accessToken, target.id);
    expect(own.status).toBe(200);
    const ownPicture = await pictureOf(target.id);

    const changed = await upload(manager.accessToken, target.id);
    expect(changed.status).toBe(200);
    const managersPicture = await pictureOf(target.id);
    const removed = await remove(manager.accessToken, target.id);
    expect(removed.status).toBe(200);
    expect((await remove(manager.accessToken, target.id)).status).toBe(200);

    const { entries } = (await adminRoutes.audit(admin.accessToken, { target: target.id })).json;
    expect(entries).toEqual([
      expect.objectContaining({ actorId: manager.id, action: 'user.picture_delete', changes: { pictureId: { from: managersPicture, to: null } }, requestId: removed.headers['x-request-id'] }),
      expect.objectContaining({ actorId: manager.id, action: 'user.picture_change', changes: { pictureId: { from: ownPicture, to: managersPicture } }, requestId: changed.headers['x-request-id'] }),
    ]);
  });
});
