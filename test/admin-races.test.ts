// Admin rules that need to know every row (the last active admin) or real parallelism: each test gets
// its own scratch database, and parallel requests run in separate processes with their own pools
// (test/support/container.ts), as Lambda containers would. Also npm run users and the search index's plan.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { userListQuery } from '../lib/admin/admin';
import { PASSWORD } from './support/accounts';
import { seedUser } from './support/accounts';
import { startContainer, type Container } from './support/container';
import { scratchDatabase, type ScratchDatabase } from './support/databases';

const root = path.resolve(import.meta.dirname, '..');
let database: ScratchDatabase;
let pool: pg.Pool;
let containers: Container[];
const run = (<Row extends pg.QueryResultRow>(text: string, values?: unknown[]) => pool.query<Row>(text, values)) as Parameters<typeof seedUser>[1];

beforeAll(async () => {
  database = await scratchDatabase('admin');
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  containers = await Promise.all([startContainer({ DATABASE_URL: database.url }), startContainer({ DATABASE_URL: database.url })]);
}, 60_000);

afterAll(async () => {
  await Promise.all(containers.map((container) => container.stop()));
  await pool.end();
  await database.drop();
});

async function loginIn(container: Container, email: string) {
  const response = await container.invoke('login', { method: 'POST', route: '/auth/login', json: { email, password: PASSWORD } });
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${response.body}`);
  return response.json as { accessToken: string; refreshToken: string };
}

const activeAdmins = async () =>
  (await pool.query(`select id from users where role = 'admin' and disabled_at is null`)).rows.map((row) => row.id as string);

describe('the last active admin', () => {
  test('two admins demoting each other at once (two containers): one wins, one active admin remains, five rounds', async () => {
    await pool.query(`update users set role = 'user' where role = 'admin'`);
    const [a, b] = await Promise.all([seedUser({ role: 'admin' }, run), seedUser({ role: 'admin' }, run)]);
    const [tokenA, tokenB] = await Promise.all([loginIn(containers[0]!, a.email), loginIn(containers[1]!, b.email)]);
    for (let round = 0; round < 5; round += 1) {
      await pool.query(`update users set role = 'admin' where id = any($1)`, [[a.id, b.id]]);
      const responses = await Promise.all([
        containers[0]!.invoke('admin-update-user', { method: 'PATCH', route: '/admin/users/{id}', pathParameters: { id: b.id }, json: { role: 'user' }, bearer: tokenA.accessToken }),
        containers[1]!.invoke('admin-update-user', { method: 'PATCH', route: '/admin/users/{id}', pathParameters: { id: a.id }, json: { role: 'user' }, bearer: tokenB.accessToken }),
      ]);
      const statuses = responses.map((response) => response.status).sort();
      const codes = responses.map((response) => response.json?.error?.code).filter(Boolean);
      // The loser is refused either by the last-admin rule (both checked as admins) or, when the winner's
      // demotion committed before the loser's session check, as the manager it has become.
      expect({ round, statuses: statuses[0], refusals: codes.length }).toEqual({ round, statuses: 200, refusals: 1 });
      expect([[403, 'forbidden'], [409, 'last_admin']]).toContainEqual([statuses[1], codes[0]]);
      expect(await activeAdmins()).toHaveLength(1);
    }
  });

  test('the last active admin cannot delete their own account (409, nothing deleted); of two admins deleting themselves at once (two containers), one goes and one stays', async () => {
    await pool.query(`update users set role = 'user' where role = 'admin'`);
    const only = await seedUser({ role: 'admin' }, run);
    const token = await loginIn(containers[0]!, only.email);
    const refused = await containers[0]!.invoke('delete-account', { method: 'DELETE', route: '/users/me', json: { password: PASSWORD }, bearer: token.accessToken });
    expect({ status: refused.status, code: refused.json?.error?.code }).toEqual({ status: 409, code: 'last_admin' });
    expect(await activeAdmins()).toEqual([only.id]);

    const [a, b] = await Promise.all([seedUser({ role: 'admin' }, run), seedUser({ role: 'admin' }, run)]);
    await pool.query(`update users set role = 'user' where id = $1`, [only.id]);
    const [tokenA, tokenB] = await Promise.all([loginIn(containers[0]!, a.email), loginIn(containers[1]!, b.email)]);
    // The two deletions are made to overlap: both wait on rows this test holds, and go on together when it lets go.
    const blocker = await pool.connect();
    await blocker.query('begin');
    await blocker.query('select id from users where id = any($1) for update', [[a.id, b.id]]);
    const pending = Promise.all([
      containers[0]!.invoke('delete-account', { method: 'DELETE', route: '/users/me', json: { password: PASSWORD }, bearer: tokenA.accessToken }),
      containers[1]!.invoke('delete-account', { method: 'DELETE', route: '/users/me', json: { password: PASSWORD }, bearer: tokenB.accessToken }),
    ]);
    try {
      for (let waited = 0; ; waited += 50) {
        const { rows } = await pool.query(`select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
        if (rows[0].waiting >= 2) break;
        if (waited > 30_000) throw new Error('the two deletions never both waited on the locked rows');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await blocker.query('commit');
      blocker.release();
    }
    const responses = await pending;
    expect(responses.map((response) => [response.status, response.json?.error?.code ?? null]).sort()).toEqual([
      [204, null],
      [409, 'last_admin'],
    ]);
    const remaining = await activeAdmins();
    expect(remaining).toHaveLength(1);
    expect([a.id, b.id]).toContain(remaining[0]);
  });

  test('npm run users refuses to demote or disable the last active admin, and promotes with clear output', async () => {
    await pool.query(`update users set role = 'user' where role = 'admin'`);
    const only = await seedUser({ role: 'admin' }, run);
    const other = await seedUser({}, run);
    const cli = (...args: string[]) =>
      promisify(execFile)(path.join(root, 'node_modules', '.bin', 'tsx'), ['scripts/users.ts', ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: database.url },
      }).then(
        (result) => ({ code: 0, ...result }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const demote = await cli('role', only.email, 'user');
    expect(demote.code).toBe(1);
    expect(demote.stderr).toMatch(/Refused: .*last active admin/);
    expect((await cli('disable', only.email)).code).toBe(1);
    const promote = await cli('role', other.email.toUpperCase(), 'admin');
    expect(promote).toMatchObject({ code: 0, stdout: `${other.email} is now admin (was user).\n` });
    expect((await cli('role', only.email, 'user')).code).toBe(0);
    expect(await activeAdmins()).toEqual([other.id]);
    const listed = await cli('list', other.email);
    expect(listed.stdout).toContain(other.email);
    expect((await cli('role', 'nobody@example.test', 'admin')).stderr).toMatch(/No account with the email/);
    const { rows } = await pool.query(`select actor_id, request_id, changes from admin_audit where target_id = $1`, [other.id]);
    expect(rows).toEqual([{ actor_id: null, request_id: 'cli', changes: { role: { from: 'user', to: 'admin' } } }]);
    // Seven cold tsx processes: ~1 s each on a quiet machine, over 8 s each while the whole suite loads 2 cores.
  }, 240_000);
});

describe('a disable during a refresh (two containers)', () => {
  test('whichever commits first, the account ends with no usable session', async () => {
    const admin = await seedUser({ role: 'admin' }, run);
    const adminTokens = await loginIn(containers[1]!, admin.email);
    for (let round = 0; round < 5; round += 1) {
      const target = await seedUser({}, run);
      const session = await loginIn(containers[0]!, target.email);
      const [refreshed, disabled] = await Promise.all([
        containers[0]!.invoke('refresh', { method: 'POST', route: '/auth/refresh', json: { refreshToken: session.refreshToken } }),
        containers[1]!.invoke('admin-update-user', { method: 'PATCH', route: '/admin/users/{id}', pathParameters: { id: target.id }, json: { disabled: true }, bearer: adminTokens.accessToken }),
      ]);
      expect(disabled.status).toBe(200);
      expect([200, 401]).toContain(refreshed.status);
      if (refreshed.status === 200) {
        const again = await containers[0]!.invoke('refresh', { method: 'POST', route: '/auth/refresh', json: { refreshToken: refreshed.json.refreshToken } });
        expect(again.status).toBe(401);
      }
      const { rows } = await pool.query(`select 1 from refresh_tokens where user_id = $1 and revoked_at is null and replaced_by is null`, [target.id]);
      expect(rows).toEqual([]);
    }
  });
});

describe('the search index', () => {
  test('at 30 000 users a selective search ORs the prefix indexes and a plain page walks users_created_idx', async () => {
    // Seeding 30 000 rows can outlast the app role's 4 s statement limit on a loaded machine.
    await pool.query(`
      begin; set local statement_timeout = 0;
      insert into users (email, password_hash, nickname, first_name, last_name, created_at)
      select md5(n::text) || '@example.test', 'x', 'n' || md5((n + 1)::text), substr(md5((n + 2)::text), 1, 10), substr(md5((n + 3)::text), 1, 10),
             now() - n * interval '1 second'
      from generate_series(1, 30000) n;
      commit`);
    await pool.query('begin; set local statement_timeout = 0; analyze users; commit');
    const plan = async (filter: Parameters<typeof userListQuery>[0]) => {
      const { text, values } = userListQuery(filter);
      const { rows } = await pool.query(`explain ${text}`, values);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    };
    // A selective prefix (a few matches in 30 000); a very common one is served by walking the newest-first index.
    const search = await plan({ q: 'c4ca4', limit: 20 });
    for (const index of ['users_email_prefix_idx', 'users_nickname_prefix_idx', 'users_first_name_prefix_idx', 'users_last_name_prefix_idx', 'users_full_name_prefix_idx']) {
      expect(search).toContain(index);
    }
    expect(search).not.toMatch(/Seq Scan on users/);
    const deep = await plan({ limit: 20, cursor: [String(BigInt(Date.now() - 20_000) * 1000n), '00000000-0000-4000-8000-000000000000'] });
    expect(deep).toContain('users_created_idx');
    expect(deep).not.toMatch(/Seq Scan on users/);
  });
});
