/**
 * Who may do what to whom: the one place the rules of the admin routes (and of changing another
 * user's picture) live. Pure functions of the actor's and the target's current roles, so a table
 * can test every cell (test/policy.test.ts). The rule that the last active admin stays needs the
 * database and is checked inside the transaction of the change (lib/admin/admin.ts).
 */
import { forbidden, type HttpError } from '../errors';
import type { Role } from '../accounts/tokens';

export type Action =
  | 'users.list'
  | 'users.read'
  | 'users.edit' // nickname, names, bio, links
  | 'users.changeRole'
  | 'users.disable' // and enable
  | 'users.delete'
  | 'users.unlock'
  | 'users.changePicture' // upload or delete another's picture
  | 'audit.read';

export interface Party {
  id: string;
  role: Role;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

const allow: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

const isStaff = (role: Role) => role === 'manager' || role === 'admin';

/** Managers act on `user` accounts only; admins on anyone. */
function staffOver(actor: Party, target: Party, what: string): Decision {
  if (actor.role === 'admin') return allow;
  if (actor.role === 'manager') return target.role === 'user' ? allow : deny(`Managers may ${what} only accounts with the role "user".`);
  return deny('Only managers and admins may do this.');
}

/** Decides one action; `target` is required for every action on one account. */
export function decide(actor: Party, action: Action, target?: Party): Decision {
  const self = target !== undefined && target.id === actor.id;
  switch (action) {
    case 'users.list':
    case 'users.read':
      return isStaff(actor.role) ? allow : deny('Only managers and admins may see the user list.');
    case 'audit.read':
      return actor.role === 'admin' ? allow : deny('Only admins may read the audit log.');
    case 'users.edit':
      if (!isStaff(actor.role)) return deny('Only managers and admins may edit other accounts.');
      return self ? allow : staffOver(actor, target!, 'edit');
    case 'users.changeRole':
      if (actor.role !== 'admin') return deny('Only admins may change roles.');
      return self ? deny('You cannot change your own role.') : allow;
    case 'users.disable':
      if (!isStaff(actor.role)) return deny('Only managers and admins may disable accounts.');
      return self ? deny('You cannot disable or enable your own account.') : staffOver(actor, target!, 'disable or enable');
    case 'users.delete':
      if (actor.role !== 'admin') return deny('Only admins may delete accounts.');
      return self ? deny('Delete your own account with DELETE /users/me and your password.') : allow;
    case 'users.unlock':
      if (!isStaff(actor.role)) return deny('Only managers and admins may unlock accounts.');
      return self ? allow : staffOver(actor, target!, 'unlock');
    case 'users.changePicture':
      if (self) return allow;
      if (!isStaff(actor.role)) return deny("Only managers and admins may change another user's picture.");
      return staffOver(actor, target!, "change the picture of");
  }
}

/** Throws 403 forbidden, with the rule's reason, unless the action is allowed. */
export function authorize(actor: Party, action: Action, target?: Party): void {
  const decision = decide(actor, action, target);
  if (!decision.allowed) throw forbidden(decision.reason) as HttpError;
}

/** A check on the token's role alone, before any lookup (the route's first gate; the rules run again on fresh rows). */
export const mayEnter = (role: Role, action: 'users.list' | 'users.read' | 'users.edit' | 'users.unlock' | 'users.delete' | 'audit.read') =>
  decide({ id: '', role }, action, { id: '-', role: 'user' }).allowed;
