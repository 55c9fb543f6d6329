import { cleanUpObjectsOf, deleteAccountRows } from '../accounts/lifecycle';
import { revokeAllSessions, revokeRefreshTokensOf } from '../accounts/sessions';
/**
 * The admin routes' domain: listing and searching accounts, editing, roles, disabling, unlocking and
 * deleting them, each write checked by lib/admin/policy.ts against fresh rows and recorded in the audit log
 * in the same transaction. The actor's role is read from the database, not the token: a demoted admin's
 * 15-minute token must not keep its powers.
 */
import { clearFailuresOf } from '../accounts/login-failures';
import { recordAudit, type AuditChanges } from './audit';
import { encodeCursor } from './cursor';
import { logEvent } from '../platform/log';
import { goodbyeMail, type Mailer } from '../accounts/mail';
import { isUniqueViolation, read, transaction, type Queryable } from '../platform/db';
import { HttpError, notFound, unauthorized } from '../errors';
import { authorize, type Action, type Party } from './policy';
import { removePicture } from '../pictures/bookkeeping';
import { toProfile, type Profile } from '../accounts/profiles';
import type { ObjectStore } from '../platform/storage';
import { isUuid, type AccessClaims, type Role } from '../accounts/tokens';
import {
  activeAdminIds,
  activeAdminsAmong,
  findIdByEmail,
  findRole,
  findStanding,
  findUserForAdmin,
  keepAnAdmin,
  listUsersForAdmin,
  lockAdminsForWrite,
  lockTargetAndAdmins,
  profileColumns,
  setDisabled,
  setRole,
  updateUserProfile,
  type AdminUserRow,
  type ProfileChanges,
  type UserListFilter,
  type UserRow,
} from '../accounts/users';

// The list's SQL stays importable from here for scripts/users.ts, the bench and the index test.
export { userListQuery, type UserListFilter } from '../accounts/users';

export interface AdminUser extends Profile {
  email: string;
  disabled: boolean;
  lastLoginAt: string | null;
  lockedUntil: string | null;
}

export interface AdminChanges extends ProfileChanges {
  role?: Role;
  disabled?: boolean;
}

type AdminRow = AdminUserRow;

const nicknameTaken = () =>
  new HttpError(409, 'nickname_taken', 'This nickname is already taken.', { details: { nickname: 'is already taken' } });
const noSuchUser = () => notFound('No user with this id.');

export async function toAdminUser(row: UserRow & { locked_until?: Date | null }, objects: ObjectStore): Promise<AdminUser> {
  const profile = await toProfile(row, objects, { includeEmail: true });
  return {
    ...profile,
    email: row.email,
    disabled: row.disabled_at !== null,
    lastLoginAt: row.last_login_at?.toISOString() ?? null,
    lockedUntil: row.locked_until && row.locked_until.getTime() > Date.now() ? row.locked_until.toISOString() : null,
  };
}

/** The caller as an actor, with the role the database holds now; a gone or disabled account is 401. */
async function actorOf(viewer: AccessClaims, db: Queryable = { query: read }): Promise<Party> {
  const actor = await findStanding(db, viewer.userId);
  if (!actor || actor.disabled_at) throw unauthorized('The account of this token no longer exists or is disabled.');
  return { id: actor.id, role: actor.role };
}

const canonicalId = (id: string | undefined) => {
  if (!id || !isUuid(id)) throw noSuchUser();
  return id.toLowerCase();
};

// ---------------------------------------------------------------- list and read

export async function listUsers(viewer: AccessClaims, filter: UserListFilter, objects: ObjectStore) {
  authorize(await actorOf(viewer), 'users.list');
  const rows = await listUsersForAdmin({ query: read }, filter);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    users: await Promise.all(page.map((row) => toAdminUser(row, objects))),
    nextCursor: rows.length > filter.limit && last ? encodeCursor([last.created_micros, last.id]) : null,
  };
}

export async function getUser(viewer: AccessClaims, id: string | undefined, objects: ObjectStore): Promise<AdminUser> {
  authorize(await actorOf(viewer), 'users.read');
  const row = await findUserForAdmin({ query: read }, canonicalId(id));
  if (!row) throw noSuchUser();
  return toAdminUser(row, objects);
}

// ---------------------------------------------------------------- writes

interface Locked {
  actor: Party;
  target: AdminRow;
}

/**
 * Opens the write: locks, in id order (so parallel writes cannot deadlock), the actor, the target and
 * every active admin, then reads them fresh. Two admins demoting each other therefore run one after the
 * other, and the second sees that the first left it the last admin.
 */
async function lockForWrite(db: Queryable, viewer: AccessClaims, targetId: string): Promise<Locked & { activeAdmins: string[] }> {
  const rows = await lockAdminsForWrite(db, [viewer.userId, targetId]);
  const actorRow = rows.find((row) => row.id === viewer.userId);
  if (!actorRow || actorRow.disabled_at) throw unauthorized('The account of this token no longer exists or is disabled.');
  const target = await findUserForAdmin(db, targetId);
  if (!target) throw noSuchUser();
  return {
    actor: { id: actorRow.id, role: actorRow.role },
    target,
    activeAdmins: activeAdminIds(rows),
  };
}


/**
 * Revokes every session of the account. The account row is locked by the caller's transaction, so a
 * login or refresh racing this commits its session before (and is revoked here) or waits and is refused.
 */
async function revokeSessions(db: Queryable, userId: string) {
  await revokeRefreshTokensOf(db, userId);
  await revokeAllSessions(userId, {}, db);
}

const fieldOf: Record<keyof typeof profileColumns, (row: UserRow) => unknown> = {
  nickname: (row) => row.nickname,
  firstName: (row) => row.first_name,
  lastName: (row) => row.last_name,
  bio: (row) => row.bio,
  githubUrl: (row) => row.github_url,
  linkedinUrl: (row) => row.linkedin_url,
  websiteUrl: (row) => row.website_url,
};

export interface WriteContext {
  viewer: AccessClaims;
  requestId: string | null;
}

/**
 * Applies a change to a locked account. `actor` null is the operator's CLI (npm run users): no role
 * rules, but the last active admin stays all the same. Returns nothing when nothing changed.
 */
async function applyChanges(
  db: Queryable,
  write: { actor: Party | null; target: AdminRow; activeAdmins: string[]; requestId: string | null; tokenRole?: Role },
  changes: AdminChanges,
): Promise<AuditChanges> {
  const { actor, target, activeAdmins } = write;
  const targetParty: Party = { id: target.id, role: target.role };
  const audit: AuditChanges = {};
  const profileChanges: ProfileChanges = {};
  for (const field of Object.keys(profileColumns) as (keyof typeof profileColumns)[]) {
    const value = changes[field];
    if (value === undefined) continue;
    const before = fieldOf[field](target);
    if (value === before) continue;
    (profileChanges as Record<string, unknown>)[field] = value;
    audit[field] = { from: before, to: value };
  }
  const roleChanges = changes.role !== undefined && changes.role !== target.role;
  const disabledChanges = changes.disabled !== undefined && changes.disabled !== (target.disabled_at !== null);
  const removesAnAdmin = (roleChanges && changes.role !== 'admin') || (disabledChanges && changes.disabled === true);

  // Every rule first, then the writes: a refused part refuses the whole request. For an admin caller the
  // last-admin rule comes first: after a parallel demotion it is what the request ran into.
  if (removesAnAdmin && (actor === null || write.tokenRole === 'admin')) keepAnAdmin(activeAdmins, target.id);
  if (actor) {
    const actions: Action[] = [];
    if (Object.keys(profileChanges).length) actions.push('users.edit');
    if (roleChanges) actions.push('users.changeRole');
    if (disabledChanges) actions.push('users.disable');
    if (actions.length === 0) actions.push('users.read');
    for (const action of actions) authorize(actor, action, targetParty);
  }
  if (removesAnAdmin) keepAnAdmin(activeAdmins, target.id);

  if (Object.keys(profileChanges).length) await updateUserProfile(target.id, profileChanges, db);
  if (roleChanges && changes.role) {
    await setRole(db, target.id, changes.role);
    audit.role = { from: target.role, to: changes.role };
  }
  if (disabledChanges) {
    await setDisabled(db, target.id, changes.disabled === true);
    if (changes.disabled) await revokeSessions(db, target.id);
    audit.disabled = { from: !changes.disabled, to: changes.disabled };
  }
  if (Object.keys(audit).length) {
    await recordAudit(db, { actorId: actor?.id ?? null, action: 'user.update', targetId: target.id, changes: audit, requestId: write.requestId });
  }
  return audit;
}

/** PATCH /admin/users/{id}: profile fields, role and disabled, under the rules of lib/admin/policy.ts. */
export async function updateUser(context: WriteContext, id: string | undefined, changes: AdminChanges, objects: ObjectStore): Promise<AdminUser> {
  const targetId = canonicalId(id);
  try {
    const row = await transaction(async (db) => {
      const { actor, target, activeAdmins } = await lockForWrite(db, context.viewer, targetId);
      await applyChanges(db, { actor, target, activeAdmins, requestId: context.requestId, tokenRole: context.viewer.role }, changes);
      return findUserForAdmin(db, target.id);
    });
    return toAdminUser(row!, objects);
  } catch (error) {
    if (isUniqueViolation(error, 'users_nickname_key')) throw nicknameTaken();
    throw error;
  }
}

/**
 * `npm run users -- role|disable|enable`: the same change, rules of the last admin and audit entry
 * (actor null, request id "cli") as the admin route, for the operator with database access.
 */
export async function changeAccountByEmail(email: string, changes: Pick<AdminChanges, 'role' | 'disabled'>) {
  return transaction(async (db) => {
    const targetId = await findIdByEmail(db, email.trim().toLowerCase());
    if (!targetId) throw notFound(`No account with the email ${email}.`);
    const locked = await lockTargetAndAdmins(db, targetId);
    const target = (await findUserForAdmin(db, targetId))!;
    const activeAdmins = await activeAdminsAmong(db, locked);
    const applied = await applyChanges(db, { actor: null, target, activeAdmins, requestId: 'cli' }, changes);
    return { before: target, applied };
  });
}

/** POST /admin/users/{id}/unlock: clears the login throttle of the account. */
export async function unlockUser(context: WriteContext, id: string | undefined): Promise<void> {
  const targetId = canonicalId(id);
  await transaction(async (db) => {
    const { actor, target } = await lockForWrite(db, context.viewer, targetId);
    authorize(actor, 'users.unlock', { id: target.id, role: target.role });
    await clearFailuresOf(db, target.email);
    await recordAudit(db, {
      actorId: actor.id,
      action: 'user.unlock',
      targetId: target.id,
      changes: { lockedUntil: { from: target.locked_until?.toISOString() ?? null, to: null } },
      requestId: context.requestId,
    });
  });
}

/** Checks and audits a deletion inside the transaction that deletes the account (deleteUser below). */
export async function authorizeDeletion(db: Queryable, context: WriteContext, targetId: string): Promise<UserRow> {
  const { actor, target, activeAdmins } = await lockForWrite(db, context.viewer, targetId);
  authorize(actor, 'users.delete', { id: target.id, role: target.role });
  keepAnAdmin(activeAdmins, target.id);
  await recordAudit(db, { actorId: actor.id, action: 'user.delete', targetId: target.id, requestId: context.requestId });
  return target;
}

export { canonicalId as adminTargetId, actorOf };

/**
 * DELETE /users/{id}/picture by a manager or admin (their own goes through DELETE /users/me/picture):
 * the rules and the audit entry run inside the transaction that removes the picture.
 */
export async function removePictureOf(context: WriteContext, id: string | undefined, objects: ObjectStore): Promise<UserRow> {
  const targetId = id === 'me' ? context.viewer.userId : canonicalId(id);
  return removePicture(targetId, objects, (db) => checkPictureChange(db, context, targetId, 'user.picture_delete', null));
}

/**
 * Inside the transaction that changes a picture: the rules on the locked rows, and the audit entry when someone
 * changes another account's picture (nothing to record when the picture stays what it was).
 */
async function checkPictureChange(
  db: Queryable,
  context: WriteContext,
  targetId: string,
  action: 'user.picture_change' | 'user.picture_delete',
  to: string | null,
): Promise<void> {
  const { actor, target } = await lockForWrite(db, context.viewer, targetId);
  authorize(actor, 'users.changePicture', { id: target.id, role: target.role });
  if (actor.id === target.id || target.picture_id === to) return;
  await recordAudit(db, { actorId: actor.id, action, targetId: target.id, changes: { pictureId: { from: target.picture_id, to } }, requestId: context.requestId });
}

/**
 * DELETE /admin/users/{id}: the same clean-up as DELETE /users/me, the rows inside the audited transaction,
 * and the same goodbye mail, to a confirmed address only (an unconfirmed one may be someone else's mailbox,
 * registered by a stranger). The deletion stands when the mail cannot go out.
 */
export async function deleteUser(context: WriteContext, id: string | undefined, objects: ObjectStore, mailer: Mailer): Promise<void> {
  const targetId = canonicalId(id);
  const deleted = await transaction(async (db) => {
    await authorizeDeletion(db, context, targetId);
    return deleteAccountRows(db, targetId);
  });
  if (!deleted) return;
  await cleanUpObjectsOf(targetId, objects);
  if (deleted.email_verified_at) {
    await mailer.send(goodbyeMail(deleted.email, { byAdmin: true })).catch((error) => {
      logEvent('could not send the goodbye mail', { error: (error as Error).name });
    });
  }
}

/** A manager's or admin's upload for another account: checked on fresh rows before the (costly) decode. */
export async function authorizePictureChange(viewer: AccessClaims, targetId: string): Promise<void> {
  const actor = await actorOf(viewer);
  const target = await findRole({ query: read }, targetId.toLowerCase());
  if (!target) throw noSuchUser();
  authorize(actor, 'users.changePicture', target);
}

/** The same check again under the commit's locks, and the audit entry, inside the transaction that sets the picture. */
export function auditedPictureChange(context: WriteContext, targetId: string) {
  return (db: Queryable, pictureId: string) => checkPictureChange(db, context, targetId.toLowerCase(), 'user.picture_change', pictureId);
}
