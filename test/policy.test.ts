// Authorization in one table: every admin route (and DELETE /users/{id}/picture) run as anonymous, user,
// manager and admin, against user, manager and admin targets and the caller themself, through the real
// handlers. One row per route; the expected status of each cell is written out, not computed.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { decide, type Action } from '../lib/admin/policy';
import type { Role } from '../lib/accounts/tokens';
import { createVerifiedUser, seedUser, type TestUser } from './support/accounts';
import { adminRoutes } from './support/admin';
import type { InvokeResult } from './support/events';

type Caller = 'anonymous' | Role;
type Target = 'user' | 'manager' | 'admin' | 'self';
const callers: Caller[] = ['anonymous', 'user', 'manager', 'admin'];
const targets: Target[] = ['user', 'manager', 'admin', 'self'];

// Cells: [target user, target manager, target admin, self]. Anonymous is 401 everywhere.
const table: Record<string, { run: (bearer: string | undefined, id: string, target: Target) => Promise<InvokeResult>; expected: Record<Exclude<Caller, 'anonymous'>, number[]> }> = {
  'GET /admin/users': {
    run: (bearer) => adminRoutes.list(bearer, { limit: '1' }),
    expected: { user: [403, 403, 403, 403], manager: [200, 200, 200, 200], admin: [200, 200, 200, 200] },
  },
  'GET /admin/users/{id}': {
    run: (bearer, id) => adminRoutes.get(bearer, id),
    expected: { user: [403, 403, 403, 403], manager: [200, 200, 200, 200], admin: [200, 200, 200, 200] },
  },
  'PATCH /admin/users/{id} {bio}': {
    run: (bearer, id) => adminRoutes.patch(bearer, id, { bio: `edited ${Date.now()}` }),
    expected: { user: [403, 403, 403, 403], manager: [200, 403, 403, 200], admin: [200, 200, 200, 200] },
  },
  'PATCH /admin/users/{id} {role}': {
    run: (bearer, id, target) => adminRoutes.patch(bearer, id, { role: target === 'user' ? 'manager' : 'user' }),
    expected: { user: [403, 403, 403, 403], manager: [403, 403, 403, 403], admin: [200, 200, 200, 403] },
  },
  'PATCH /admin/users/{id} {disabled}': {
    run: (bearer, id) => adminRoutes.patch(bearer, id, { disabled: true }),
    expected: { user: [403, 403, 403, 403], manager: [200, 403, 403, 403], admin: [200, 200, 200, 403] },
  },
  'POST /admin/users/{id}/unlock': {
    run: (bearer, id) => adminRoutes.unlock(bearer, id),
    expected: { user: [403, 403, 403, 403], manager: [204, 403, 403, 204], admin: [204, 204, 204, 204] },
  },
  'DELETE /admin/users/{id}': {
    run: (bearer, id) => adminRoutes.remove(bearer, id),
    expected: { user: [403, 403, 403, 403], manager: [403, 403, 403, 403], admin: [204, 204, 204, 403] },
  },
  'DELETE /users/{id}/picture': {
    run: (bearer, id) => adminRoutes.deletePicture(bearer, id),
    expected: { user: [403, 403, 403, 200], manager: [200, 403, 403, 200], admin: [200, 200, 200, 200] },
  },
  'GET /admin/audit': {
    run: (bearer) => adminRoutes.audit(bearer, { limit: '1' }),
    expected: { user: [403, 403, 403, 403], manager: [403, 403, 403, 403], admin: [200, 200, 200, 200] },
  },
};

describe('authorization table (through the handlers)', () => {
  const actors = {} as Record<Role, TestUser>;
  beforeAll(async () => {
    const [user, manager, admin] = await Promise.all([
      createVerifiedUser(),
      createVerifiedUser({ role: 'manager' }),
      createVerifiedUser({ role: 'admin' }),
    ]);
    Object.assign(actors, { user, manager, admin });
  });

  const cells = Object.keys(table).flatMap((route) => callers.flatMap((caller) => targets.map((target) => [route, caller, target] as const)));

  test.each(cells)('%s as %s on %s', async (route, caller, target) => {
    const row = table[route]!;
    // Each cell gets a fresh target, so a cell that disables or deletes leaves the others untouched.
    const id = target === 'self' ? (caller === 'anonymous' ? (await seedUser()).id : actors[caller].id) : (await seedUser({ role: target })).id;
    const response = await row.run(caller === 'anonymous' ? undefined : actors[caller].accessToken, id, target);
    const expected = caller === 'anonymous' ? 401 : row.expected[caller][targets.indexOf(target)]!;
    expect({ route, caller, target, status: response.status, code: response.json?.error?.code }).toMatchObject({
      route,
      caller,
      target,
      status: expected,
      ...(expected === 403 ? { code: 'forbidden' } : expected === 401 ? { code: 'unauthorized' } : {}),
    });
  });
});

describe('decide (lib/admin/policy.ts) without the handlers', () => {
  const party = (role: Role, id: string = role) => ({ id, role });
  const actions: Action[] = ['users.list', 'users.read', 'users.edit', 'users.changeRole', 'users.disable', 'users.delete', 'users.unlock', 'users.changePicture', 'audit.read'];
  // actor role → action → [user, manager, admin, self] allowed?
  const expected: Record<Role, Record<Action, boolean[]>> = {
    user: {
      'users.list': [false, false, false, false], 'users.read': [false, false, false, false], 'users.edit': [false, false, false, false],
      'users.changeRole': [false, false, false, false], 'users.disable': [false, false, false, false], 'users.delete': [false, false, false, false],
      'users.unlock': [false, false, false, false], 'users.changePicture': [false, false, false, true], 'audit.read': [false, false, false, false],
    },
    manager: {
      'users.list': [true, true, true, true], 'users.read': [true, true, true, true], 'users.edit': [true, false, false, true],
      'users.changeRole': [false, false, false, false], 'users.disable': [true, false, false, false], 'users.delete': [false, false, false, false],
      'users.unlock': [true, false, false, true], 'users.changePicture': [true, false, false, true], 'audit.read': [false, false, false, false],
    },
    admin: {
      'users.list': [true, true, true, true], 'users.read': [true, true, true, true], 'users.edit': [true, true, true, true],
      'users.changeRole': [true, true, true, false], 'users.disable': [true, true, true, false], 'users.delete': [true, true, true, false],
      'users.unlock': [true, true, true, true], 'users.changePicture': [true, true, true, true], 'audit.read': [true, true, true, true],
    },
  };
  test.each((['user', 'manager', 'admin'] as Role[]).flatMap((role) => actions.map((action) => [role, action] as const)))('%s: %s', (role, action) => {
    const actor = party(role, 'actor');
    const results = [party('user'), party('manager'), party('admin'), actor].map((target) => decide(actor, action, target).allowed);
    expect(results).toEqual(expected[role][action]);
  });
});
