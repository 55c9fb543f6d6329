/**
 * Account lifecycle: forgotten and changed passwords, changed addresses, deleted accounts.
 * Every step that proves a mailbox or a password ends the sessions it must (lib/accounts/sessions.ts).
 * Repository of password_reset_tokens, email_change_tokens and storage_leftovers: every statement whose main table is one of them lives here.
 */
import { config } from '../platform/config';
import { db as pooled, query, transaction, isUniqueViolation, type Queryable } from '../platform/db';
import { HttpError, unauthorized } from '../errors';
import {
  emailChangeMail,
  emailChangeNoticeMail,
  emailChangedMail,
  goodbyeMail,
  passwordResetMail,
  accountExistsMail,
  type Mailer,
  type MailMessage,
} from './mail';
import { hashPassword, verifyPassword } from './passwords';
import { isSessionLive, revokeAllSessions, startSession, type SessionOrigin, type TokenPair } from './sessions';
import { incomingPrefix, picturePrefix } from '../pictures/keys';
import type { ObjectStore } from '../platform/storage';
import { hashOpaqueToken, newOpaqueToken, opaqueTokenPattern, type AccessClaims } from './tokens';
import {
  activeAdminIds,
  deleteUnverifiedByEmail,
  findStanding,
  keepAnAdmin,
  lockAdminsForWrite,
  deleteUserRow,
  findUserByEmail,
  findUserById,
  lockAccount,
  setPassword,
  setPasswordProvingMailbox,
  setVerifiedEmail,
  type UserRow,
} from './users';
import { logEvent } from '../platform/log';
import { claimMailSlot, mailOncePerInterval, voidVerificationTokensOf } from './accounts';
import { clearFailuresOf, insertFailure, LOGIN_MAX_FAILURES, recentFailuresOf } from './login-failures';

const invalidResetToken = () => new HttpError(400, 'invalid_token', 'This password reset link is invalid, already used or expired.');
const invalidEmailChangeToken = () => new HttpError(400, 'invalid_token', 'This email change link is invalid, already used or expired.');
const wrongPassword = () => new HttpError(403, 'wrong_password', 'The current password is wrong.');
const accountGone = () => unauthorized('The account of this token no longer exists.');

/** `field`: the body's name for the new password (reset: password, change: newPassword). */
const samePasswordAsEmail = (field: 'password' | 'newPassword') =>
  new HttpError(400, 'validation_failed', 'Some fields are missing or invalid.', { details: { [field]: 'must not be your email address' } });

// ---------------------------------------------------------------- the current password, throttled like login

/**
 * Checks a signed-in user's current password for a sensitive change. A wrong one counts toward the
 * account's login throttle, so a stolen access token cannot be used to guess the password.
 */
export async function checkCurrentPassword(user: UserRow, password: string): Promise<void> {
  const { failures, retry_after } = await recentFailuresOf(pooled, user.email);
  if (failures >= LOGIN_MAX_FAILURES) {
    const seconds = Math.max(1, retry_after ?? 1);
    throw new HttpError(429, 'too_many_attempts', `Too many wrong passwords. Try again in ${Math.ceil(seconds / 60)} minute(s).`, {
      headers: { 'retry-after': String(seconds) },
    });
  }
  if (!(await verifyPassword(password, user.password_hash))) {
    await insertFailure(pooled, user.email);
    throw wrongPassword();
  }
}

async function signedInUser(viewer: AccessClaims): Promise<UserRow> {
  const user = await findUserById(viewer.userId);
  if (!user) throw accountGone();
  return user;
}

type PendingTokenTable = 'password_reset_tokens' | 'email_change_tokens';

/**
 * Makes every unused token of these kinds of the account unusable (a proven mailbox or password supersedes them).
 * Verification tokens are voided by their repository (lib/accounts/accounts.ts voidVerificationTokensOf).
 */
async function voidPendingTokens(db: Queryable, userId: string, tables: PendingTokenTable[]) {
  for (const table of tables) await db.query(`update ${table} set used_at = now() where user_id = $1 and used_at is null`, [userId]);
}

// ---------------------------------------------------------------- forgot / reset password

/** A token row a mail is about to carry: deleted again if the mail cannot be sent. */
interface IssuedToken {
  table: 'password_reset_tokens' | 'email_change_tokens';
  hash: Buffer;
}

/** A reset link for the account (1 h by default); only the token's SHA-256 is stored. */
export async function createPasswordResetLink(userId: string, db: Queryable = { query }, issued: IssuedToken[] = []): Promise<string> {
  const { token, hash } = newOpaqueToken();
  await db.query(
    `insert into password_reset_tokens (token_hash, user_id, expires_at) values ($1, $2, now() + make_interval(secs => $3))`,
    [hash, userId, config().passwordResetTokenTtl],
  );
  issued.push({ table: 'password_reset_tokens', hash });
  return `${config().publicBaseUrl}/auth/reset-password?token=${encodeURIComponent(token)}`;
}

/**
 * mailOncePerInterval for a mail whose link is a new token. A failed send answers 503, and a 503 must mean
 * nothing changed: the token rows are deleted again (a server that failed after accepting the message may
 * still deliver it; that link then says "invalid" instead of resetting a password or moving an address
 * behind a request the caller was told had failed). The mail slot is given back by mailOncePerInterval.
 */
async function mailCarryingNewTokens(email: string, mailer: Mailer, compose: (issued: IssuedToken[]) => Promise<MailMessage>) {
  const issued: IssuedToken[] = [];
  try {
    await mailOncePerInterval(email, mailer, () => compose(issued));
  } catch (error) {
    for (const { table, hash } of issued) {
      await query(`delete from ${table} where token_hash = $1`, [hash]).catch((cleanUpError) => {
        logEvent('could not delete the token of an unsent mail', { table, error: (cleanUpError as Error).name });
      });
    }
    throw error;
  }
}

/** 202 for every email: a known account gets a reset link (at most one mail a minute), unknown gets nothing. */
export async function forgotPassword(email: string, mailer: Mailer): Promise<void> {
  const user = await findUserByEmail(email);
  if (!user) {
    // The same mail-server round trip as a send, so an outage is a 503 for every address alike.
    const release = await claimMailSlot(email);
    await release?.();
    return mailer.check();
  }
  await mailCarryingNewTokens(user.email, mailer, async (issued) =>
    passwordResetMail(user.email, await createPasswordResetLink(user.id, { query }, issued), config().passwordResetTokenTtl),
  );
}

/**
 * Sets a new password with a reset token. The mailbox is proven, so the email counts as verified; every
 * session ends, the login throttle is cleared (the owner gets in even while someone else locks the
 * account), and every other reset, verification and email-change token of the account is void.
 */
export async function resetPassword(token: string, newPassword: string): Promise<UserRow> {
  if (!opaqueTokenPattern.test(token)) throw invalidResetToken();
  const passwordHash = await hashPassword(newPassword, config().passwordHashing);
  const tokenHash = hashOpaqueToken(token);
  const user = await transaction(async (db) => {
    const { rows: found } = await db.query<{ user_id: string }>(
      'select user_id from password_reset_tokens where token_hash = $1 and used_at is null and expires_at > now()',
      [tokenHash],
    );
    if (!found[0]) return undefined;
    await lockAccount(db, found[0].user_id);
    // Taken only now, under the account's lock: of two resets with one token, the second finds it used.
    const { rows } = await db.query<{ user_id: string }>(
      `update password_reset_tokens set used_at = now()
       where token_hash = $1 and used_at is null and expires_at > now() returning user_id`,
      [tokenHash],
    );
    if (!rows[0]) return undefined;
    const userId = rows[0].user_id;
    const updated = await setPasswordProvingMailbox(db, userId, passwordHash);
    if (!updated) return undefined;
    if (newPassword.trim().toLowerCase() === updated.email) throw samePasswordAsEmail('password');
    await revokeAllSessions(userId, {}, db);
    await clearFailuresOf(db, updated.email);
    await voidPendingTokens(db, userId, ['password_reset_tokens']);
    await voidVerificationTokensOf(db, userId);
    await voidPendingTokens(db, userId, ['email_change_tokens']);
    return updated;
  });
  if (!user) throw invalidResetToken();
  return user;
}

// ---------------------------------------------------------------- change password

/** Needs the current password; answers a new session and ends every other one. */
export async function changePassword(viewer: AccessClaims, currentPassword: string, newPassword: string, origin: SessionOrigin): Promise<TokenPair> {
  const user = await signedInUser(viewer);
  await checkCurrentPassword(user, currentPassword);
  if (newPassword.trim().toLowerCase() === user.email) throw samePasswordAsEmail('newPassword');
  const passwordHash = await hashPassword(newPassword, config().passwordHashing);
  return transaction(async (db) => {
    if (!(await setPassword(db, user.id, passwordHash))) throw accountGone();
    // Ending the other sessions also voids their pending changes of address (confirmEmailChange needs the
    // session that asked): a password change is how an owner locks an intruder out.
    await revokeAllSessions(user.id, {}, db);
    await voidPendingTokens(db, user.id, ['password_reset_tokens']);
    return startSession(user, origin, db);
  });
}

// ---------------------------------------------------------------- change email (verify before update)

/**
 * Mails a confirmation link to the new address and a notice to the old one; nothing changes until the
 * link is confirmed. A new address that has an account gets the "account exists" mail instead, and the
 * caller the same 202, so the route tells nobody which addresses are taken.
 */
export async function requestEmailChange(viewer: AccessClaims, newEmail: string, password: string, mailer: Mailer): Promise<void> {
  const user = await signedInUser(viewer);
  await checkCurrentPassword(user, password);
  if (newEmail === user.email) {
    throw new HttpError(400, 'validation_failed', 'Some fields are missing or invalid.', { details: { newEmail: 'is already your address' } });
  }
  const owner = await findUserByEmail(newEmail);
  if (owner?.email_verified_at) {
    await mailCarryingNewTokens(owner.email, mailer, async (issued) => accountExistsMail(owner.email, await createPasswordResetLink(owner.id, { query }, issued)));
  } else {
    await mailEmailChangeLink(user.id, newEmail, viewer.sessionId, mailer);
  }
  // The old address hears of the request either way: its owner learns of it, and the answer takes as long for a
  // taken address as for a free one (one mail less told a signed-in caller which addresses have accounts).
  await mailer.send(emailChangeNoticeMail(user.email, newEmail)).catch((error) => {
    logEvent('could not send the email change notice', { userId: user.id, error: (error as Error).name });
  });
}

async function mailEmailChangeLink(userId: string, newEmail: string, sessionId: string, mailer: Mailer): Promise<void> {
  await mailCarryingNewTokens(newEmail, mailer, async (issued) => {
    const { token, hash } = newOpaqueToken();
    await query(
      `insert into email_change_tokens (token_hash, user_id, new_email, session_id, expires_at)
       values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [hash, userId, newEmail, sessionId, config().verificationTokenTtl],
    );
    issued.push({ table: 'email_change_tokens', hash });
    return emailChangeMail(newEmail, `${config().publicBaseUrl}/auth/confirm-email?token=${encodeURIComponent(token)}`, config().verificationTokenTtl);
  });
}

/**
 * Confirms an email change: only now the address changes. An unconfirmed registration of the same address
 * (someone who never proved the mailbox) gives way; a confirmed account keeps it and the link is refused.
 * Every session but the one that asked ends, and the old address is told.
 */
export async function confirmEmailChange(token: string, mailer: Mailer): Promise<UserRow> {
  if (!opaqueTokenPattern.test(token)) throw invalidEmailChangeToken();
  const tokenHash = hashOpaqueToken(token);
  const outcome = await transaction(async (db) => {
    const { rows: found } = await db.query<{ user_id: string }>(
      'select user_id from email_change_tokens where token_hash = $1 and used_at is null and expires_at > now()',
      [tokenHash],
    );
    if (!found[0]) return undefined;
    const before = await lockAccount(db, found[0].user_id);
    if (!before) return undefined;
    const { rows } = await db.query<{ user_id: string; new_email: string; session_id: string | null }>(
      `update email_change_tokens set used_at = now()
       where token_hash = $1 and used_at is null and expires_at > now() returning user_id, new_email, session_id`,
      [tokenHash],
    );
    const change = rows[0];
    if (!change) return undefined;
    // The session that asked must still be signed in: signing it out (the owner ending an intruder's session,
    // a password change, a reset) voids its change of address, even one whose request was still in flight then.
    // The link is used up either way.
    if (change.session_id && !(await isSessionLive(db, change.session_id))) return undefined;
    await deleteUnverifiedByEmail(db, change.new_email);
    try {
      await db.query('savepoint change_email');
      const after = await setVerifiedEmail(db, change.user_id, change.new_email);
      await db.query('release savepoint change_email');
      await revokeAllSessions(change.user_id, { keep: change.session_id ?? undefined }, db);
      await voidPendingTokens(db, change.user_id, ['email_change_tokens', 'password_reset_tokens']);
      return { user: after!, oldEmail: before.email };
    } catch (error) {
      if (!isUniqueViolation(error, 'users_email_key')) throw error;
      // A confirmed account took the address meanwhile: it stays theirs.
      await db.query('rollback to savepoint change_email');
      return 'taken' as const;
    }
  });
  if (!outcome || outcome === 'taken') throw invalidEmailChangeToken();
  await mailer.send(emailChangedMail(outcome.oldEmail, outcome.user.email)).catch((error) => {
    logEvent('could not send the email changed notice', { userId: outcome.user.id, error: (error as Error).name });
  });
  return outcome.user;
}

// ---------------------------------------------------------------- delete account

const userPrefixes = (userId: string) => [picturePrefix(userId), incomingPrefix(userId)];

async function deletePrefix(objects: ObjectStore, prefix: string): Promise<void> {
  for (let round = 0; round < 20; round += 1) {
    const keys = (await objects.list(prefix)).map((object) => object.key);
    if (!keys.length) return;
    await objects.deleteMany(keys);
  }
}

/**
 * Removes the object prefixes of deleted accounts that storage could not remove at once.
 * Bounded, and safe to run in parallel (each prefix row is taken with skip locked).
 */
export async function purgeStorageLeftovers(objects: ObjectStore, limit = 10): Promise<number> {
  let purged = 0;
  for (let index = 0; index < limit; index += 1) {
    const done = await transaction(async (db) => {
      const { rows } = await db.query<{ prefix: string }>(
        `select prefix from storage_leftovers order by attempts, created_at limit 1 for update skip locked`,
      );
      const prefix = rows[0]?.prefix;
      if (!prefix) return undefined;
      try {
        await deletePrefix(objects, prefix);
        await db.query('delete from storage_leftovers where prefix = $1', [prefix]);
        return true;
      } catch (error) {
        await db.query('update storage_leftovers set attempts = attempts + 1, last_error = $2 where prefix = $1', [prefix, (error as Error).name]);
        return false;
      }
    });
    if (done === undefined || done === false) break;
    purged += 1;
  }
  return purged;
}

/**
 * The database half of a deletion, inside the caller's transaction: the user row and everything that hangs
 * on it (tokens, sessions, by cascade), with its object prefixes recorded as leftovers. After the commit,
 * cleanUpObjectsOf removes the objects; if storage fails then, the records stay for a later pass.
 */
export async function deleteAccountRows(db: Queryable, userId: string): Promise<UserRow | undefined> {
  const deleted = await deleteUserRow(db, userId);
  if (!deleted) return undefined;
  for (const prefix of userPrefixes(userId)) {
    await db.query('insert into storage_leftovers (prefix) values ($1) on conflict (prefix) do nothing', [prefix]);
  }
  return deleted;
}

/** Deletes an account, rows then objects: nothing stays behind for good. The last active admin stays (lockForOwnDeletion). */
export async function deleteAccount(userId: string, objects: ObjectStore): Promise<UserRow | undefined> {
  const deleted = await transaction(async (db) => {
    await lockForOwnDeletion(db, userId);
    return deleteAccountRows(db, userId);
  });
  if (deleted) await cleanUpObjectsOf(userId, objects);
  return deleted;
}

/**
 * Locks an account that deletes itself. An admin's is locked with every active admin, in id order as the
 * admin routes lock them, so that two admins deleting themselves at once run one after the other and the
 * second is refused (409 last_admin). Any other account locks only its own row: its deletion neither waits
 * on nor holds up the admins' logins and refreshes. If it became an admin meanwhile, the admins are locked
 * after it (out of order, in that rare race: Postgres then ends one side as a deadlock, retried or a 503).
 */
async function lockForOwnDeletion(db: Queryable, userId: string): Promise<void> {
  if ((await findStanding(db, userId))?.role !== 'admin') {
    const locked = await lockAccount(db, userId);
    if (!locked || locked.role !== 'admin' || locked.disabled_at) return;
  }
  keepAnAdmin(activeAdminIds(await lockAdminsForWrite(db, [userId])), userId);
}

/**
 * The storage half of a deletion, after its commit; failures stay recorded for a later pass. The first
 * failure ends the attempt: the store is down or hanging, and each further call would only add its
 * timeout to the answer of a deletion that has already happened.
 */
export async function cleanUpObjectsOf(userId: string, objects: ObjectStore): Promise<void> {
  for (const prefix of userPrefixes(userId)) {
    try {
      await deletePrefix(objects, prefix);
      await query('delete from storage_leftovers where prefix = $1', [prefix]);
    } catch (error) {
      logEvent('could not delete the objects of a deleted account; recorded for later', { userId, prefix, error: (error as Error).name });
      return;
    }
  }
  // Storage answers again: clear what earlier deletions left.
  await purgeStorageLeftovers(objects, 5).catch(() => {});
}

/** DELETE /users/me: the password is asked again; a goodbye mail goes out. */
export async function deleteOwnAccount(viewer: AccessClaims, password: string, objects: ObjectStore, mailer: Mailer): Promise<void> {
  const user = await signedInUser(viewer);
  await checkCurrentPassword(user, password);
  const deleted = await deleteAccount(user.id, objects);
  if (!deleted) throw accountGone();
  await mailer.send(goodbyeMail(deleted.email)).catch((error) => {
    logEvent('could not send the goodbye mail', { error: (error as Error).name });
  });
}

