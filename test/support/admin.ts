import { randomBytes } from 'node:crypto';
import { handler as adminAudit } from '../../functions/admin-audit';
import { handler as adminDeleteUser } from '../../functions/admin-delete-user';
import { handler as adminGetUser } from '../../functions/admin-get-user';
import { handler as adminListUsers } from '../../functions/admin-list-users';
import { handler as adminUnlockUser } from '../../functions/admin-unlock-user';
import { handler as adminUpdateUser } from '../../functions/admin-update-user';
import { handler as deletePicture } from '../../functions/delete-picture';
import { query } from '../../lib/db';
import { hashPassword } from '../../lib/passwords';
import type { Role } from '../../lib/tokens';
import { PASSWORD } from './accounts';
import { invoke } from './events';

let passwordHash: Promise<string> | undefined;

export interface SeededUser {
  id: string;
  email: string;
  nickname: string;
}

/** A verified account inserted straight into the database (PASSWORD works for it): fast targets for admin routes. */
export async function seedUser(fields: { role?: Role; email?: string; nickname?: string; firstName?: string; lastName?: string; disabled?: boolean } = {}, run = query): Promise<SeededUser> {
  passwordHash ??= hashPassword(PASSWORD);
  const tag = randomBytes(5).toString('hex');
  const { rows } = await run<SeededUser>(
    `insert into users (email, password_hash, nickname, first_name, last_name, role, email_verified_at, disabled_at)
     values ($1, $2, $3, $4, $5, $6, now(), case when $7 then now() end) returning id, email, nickname`,
    [
      fields.email ?? `seed-${tag}@example.test`,
      await passwordHash,
      fields.nickname ?? `seed_${tag}`,
      fields.firstName ?? null,
      fields.lastName ?? null,
      fields.role ?? 'user',
      fields.disabled ?? false,
    ],
  );
  return rows[0]!;
}

const user = (id: string) => ({ pathParameters: { id } });

export const adminRoutes = {
  list: (bearer: string | undefined, params: Record<string, string> = {}) =>
    invoke(adminListUsers, { method: 'GET', route: '/admin/users', query: params, bearer }),
  get: (bearer: string | undefined, id: string) => invoke(adminGetUser, { method: 'GET', route: '/admin/users/{id}', ...user(id), bearer }),
  patch: (bearer: string | undefined, id: string, json: unknown) =>
    invoke(adminUpdateUser, { method: 'PATCH', route: '/admin/users/{id}', ...user(id), json, bearer }),
  remove: (bearer: string | undefined, id: string) => invoke(adminDeleteUser, { method: 'DELETE', route: '/admin/users/{id}', ...user(id), bearer }),
  unlock: (bearer: string | undefined, id: string) =>
    invoke(adminUnlockUser, { method: 'POST', route: '/admin/users/{id}/unlock', ...user(id), bearer }),
  deletePicture: (bearer: string | undefined, id: string) =>
    invoke(deletePicture, { method: 'DELETE', route: '/users/{id}/picture', ...user(id), bearer }),
  audit: (bearer: string | undefined, params: Record<string, string> = {}) =>
    invoke(adminAudit, { method: 'GET', route: '/admin/audit', query: params, bearer }),
};
