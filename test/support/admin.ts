import { handler as adminAudit } from '../../functions/admin-audit';
import { handler as adminDeleteUser } from '../../functions/admin-delete-user';
import { handler as adminGetUser } from '../../functions/admin-get-user';
import { handler as adminListUsers } from '../../functions/admin-list-users';
import { handler as adminUnlockUser } from '../../functions/admin-unlock-user';
import { handler as adminUpdateUser } from '../../functions/admin-update-user';
import { handler as deletePicture } from '../../functions/delete-picture';
import { invoke } from './events';

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
