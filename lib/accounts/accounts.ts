/**
 * Registration, verification, login and profiles. Repository of verification_tokens and mail_throttle: every
 * statement whose main table is one of them lives here, joins included (those on users: lib/accounts/users.ts).
 */
import type * as z from 'zod';
import { config } from '../platform/config';
import { database, db as pooled, query, read, transaction, isUniqueViolation, type Database, type Queryable } from '../platform/db';
import { HttpError, notFound, unauthorized } from '../errors';
import { accountExistsMail, verificationMail, type Mailer } from './mail';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords';
import { isShownTo, mayReadEmail, toProfile, type Profile } from './profiles';
import { password as passwordSchema, type profileChangesBody, type registerBody } from '../http/schemas';
import { startSession, type SessionOrigin, type TokenPair } from './sessions';
import { createPasswordResetLink } from './lifecycle';
import {
  clearFailuresOf,
  deleteAttempt,
  deleteFailuresOutsideWindow,
  insertAttemptCountingEarlier,
  lockAttemptsOf,
  LOGIN_MAX_FAILURES,
} from './login-failures';
import type { UrlSigner } from '../platform/url-signer';
import { hashOpaqueToken, isUuid, newOpaqueToken, opaqueTokenPattern, type AccessClaims } from './tokens';
import {
  deleteExpiredRegistrations,
  findUserByEmail,
  findUserById,
  generateNickname,
  insertUserIfNew,
  lockAccount,
  markEmailVerified,
  recordLogin,
  updateUserProfile,
  type UserRow,
} from './users';

export type { TokenPair } from './sessions';

export { LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS } from './login-failures';
export const MAIL_INTERVAL_SECONDS = 60;

const invalidToken = () => new HttpError(400, 'invalid_token', 'This verification link is invalid, already used or expired.');
export const accountDisabled = () => new HttpError(403, 'account_disabled', 'This account has been disabled. Contact the administrators.');
const invalidCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is wrong.');
const nicknameTaken = () =>
  new HttpError(409, 'nickname_taken', 'This nickname is already taken.', { details: { nickname: 'is already taken' } });

/**
 * Claims the right to mail `email` now: at most one mail a minute per address, even under parallel requests.
 * Returns a release function that gives the claim back when the mail could not be sent.
 */
export async function claimMailSlot(email: string): Promise<(() => Promise<void>) | undefined> {
  const { rows } = await query<{ previous: Date | null }>(
    `with previous as (select last_sent_at from mail_throttle where email = $1)
     insert into mail_throttle (email, last_sent_at) values ($1, now())
     on conflict (email) do update set last_sent_at = excluded.last_sent_at
       where mail_throttle.last_sent_at <= now() - make_interval(secs => $2)
     returning (select last_sent_at from previous) as previous`,
    [email, MAIL_INTERVAL_SECONDS],
  );
  if (rows.length === 0) return undefined;
  const previous = rows[0]!.previous;
  return async () => {
    await query(
      previous ? 'update mail_throttle set last_sent_at = $2 where email = $1' : 'delete from mail_throttle where email = $1',
      previous ? [email, previous] : [email],
    ).catch(() => {});
  };
}

/**
 * Sends a mail if the address's slot is free; a failed send frees the slot so a retry can mail again.
 * When nothing is sent the mail server is still checked, so that an outage answers 503 whatever the
 * address: a 202 for some addresses and a 503 for others would tell which ones have accounts.
 */
export async function mailOncePerInterval(email: string, mailer: Mailer, compose: () => Promise<Parameters<Mailer['send']>[0]>) {
  const release = await claimMailSlot(email);
  if (!release) return mailer.check();
  try {
    await mailer.send(await compose());
  } catch (error) {
    await release();
    throw error;
  }
}

/** What one registration chose: it becomes the account only if its registrant confirms the mailbox. */
interface Registration {
  passwordHash: string;
  nickname: string | null;
  firstName: string | null;
  lastName: string | null;
}

/**
 * A single-use token. A registration's token also records that registration's claim (password and profile
 * fields); a resend's token carries no claim of its own and only proves the mailbox.
 */
async function createVerificationToken(userId: string, registration: Registration | null, db: Queryable = pooled): Promise<string> {
  const { token, hash } = newOpaqueToken();
  await db.query(
    `insert into verification_tokens (token_hash, user_id, password_hash, nickname, first_name, last_name, expires_at)
     values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [hash, userId, registration?.passwordHash ?? null, registration?.nickname ?? null, registration?.firstName ?? null,
      registration?.lastName ?? null, config().verificationTokenTtl],
  );
  return token;
}

/**
 * Records the registration's claim, then mails its link if the address's mail slot is free. The claim is kept
 * even when no mail goes out (a second registration within the mail minute), so that whoever confirms with
 * any of the address's links can still pick their own registration by its password.
 */
async function sendVerification(user: UserRow, registration: Registration | null, mailer: Mailer) {
  const token = registration ? await createVerificationToken(user.id, registration) : undefined;
  await mailOncePerInterval(user.email, mailer, async () =>
    verificationMail(user.email, token ?? (await createVerificationToken(user.id, null)), config().verificationTokenTtl),
  );
}

/**
 * Unconfirmed accounts live as long as their newest link: once every verification token of an account created
 * more than VERIFICATION_TOKEN_TTL ago has expired, the account is dropped and its email and nickname are free.
 */
async function dropExpiredRegistrations(email: string, nickname: string | undefined): Promise<void> {
  await deleteExpiredRegistrations(pooled, email, nickname, config().verificationTokenTtl);
}

/** Voids every unused verification token of the account: its mailbox is proven, or a reset proved it. */
export async function voidVerificationTokensOf(db: Queryable, userId: string): Promise<void> {
  await db.query('update verification_tokens set used_at = now() where user_id = $1 and used_at is null', [userId]);
}

/**
 * Inserts the account unless the email is taken. A nickname that collides (chosen or generated) is replaced by
 * a generated one: a 409 only new emails could get would tell which emails have accounts. Generated names
 * widen from 3 to 6 random digits and finally to random hex, so registration never runs out of names.
 */
async function insertAccount(input: z.infer<typeof registerBody>, passwordHash: string): Promise<UserRow | undefined> {
  for (let attempt = 0; ; attempt += 1) {
    const nickname = attempt === 0 && input.nickname ? input.nickname : generateNickname(attempt);
    try {
      return await insertUserIfNew({ ...input, passwordHash, nickname }, pooled);
    } catch (error) {
      if (!isUniqueViolation(error, 'users_nickname_key') || attempt >= 20) throw error;
      // Postgres checks the nickname before the email: a known email is not a new account.
      if (await findUserByEmail(input.email)) return undefined;
    }
  }
}

/**
 * Registration answers the same way for new and known emails. New: account + verification mail. Known and
 * unverified: this registration is recorded as one more claim and a fresh verification mail goes out (at most
 * one a minute); nothing of the account changes until someone confirms the mailbox. Known and verified: a mail
 * saying the account exists.
 */
export async function register(input: z.infer<typeof registerBody>, mailer: Mailer): Promise<void> {
  // Hash before knowing whether the email exists, so both paths take the same time.
  const passwordHash = await hashPassword(input.password, config().passwordHashing);
  await dropExpiredRegistrations(input.email, input.nickname);
  const created = await insertAccount(input, passwordHash);
  const user = created ?? (await findUserByEmail(input.email));
  if (!user) return; // deleted in between: nothing to tell anyone
  if (user.email_verified_at) {
    await mailOncePerInterval(user.email, mailer, async () => accountExistsMail(user.email, await createPasswordResetLink(user.id)));
    return;
  }
  await sendVerification(
    user,
    {
      passwordHash,
      // The account row holds the first registration's nickname; a later one keeps what it asked for, if anything.
      nickname: created ? created.nickname : (input.nickname ?? null),
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
    },
    mailer,
  );
}

/**
 * The least time a resend takes. Mailing an unconfirmed address (claim, token, SMTP) costs ~10 ms more than
 * checking the mail server for an unknown one, which told the two apart; answering no sooner than this, from
 * the start, makes both take the same time as long as the work fits in it.
 */
export const RESEND_MIN_MILLISECONDS = 250;

export async function resendVerification(email: string, mailer: Mailer): Promise<void> {
  const started = performance.now();
  const user = await findUserByEmail(email);
  if (user && !user.email_verified_at) await sendVerification(user, null, mailer);
  else await mailer.check();
  const left = RESEND_MIN_MILLISECONDS - (performance.now() - started);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

/** Claims beyond this many (the newest first) are not tried against a confirming password: bounded work. */
const MAX_CLAIMS_CHECKED = 10;

const passwordRequired = () =>
  new HttpError(400, 'password_required', 'More than one sign-up used this address: enter the password you chose to confirm it.', {
    details: { password: 'is required' },
  });

/**
 * Picks what the confirmed account will be. With a password (the confirm page always asks for one): that
 * password, and the profile fields of the registration it belongs to, if any. Without one: the only
 * registration of the account; when several people registered the address, the password is required, since
 * the link alone does not say whose registration it is.
 */
async function chooseClaim(userId: string, password: string | undefined, email: string): Promise<Registration> {
  const { rows } = await read<{ password_hash: string; nickname: string | null; first_name: string | null; last_name: string | null }>(
    `select password_hash, nickname, first_name, last_name from verification_tokens
     where user_id = $1 and password_hash is not null and used_at is null
     order by created_at desc limit $2`,
    [userId, MAX_CLAIMS_CHECKED + 1],
  );
  const claims = rows.map((row) => ({ passwordHash: row.password_hash, nickname: row.nickname, firstName: row.first_name, lastName: row.last_name }));
  if (password === undefined) {
    if (claims.length > 1) throw passwordRequired();
    if (claims[0]) return claims[0];
    const user = await findUserById(userId); // accounts from before claims were recorded
    if (!user) throw invalidToken();
    return { passwordHash: user.password_hash, nickname: user.nickname, firstName: user.first_name, lastName: user.last_name };
  }
  const checked = passwordSchema.safeParse(password);
  if (!checked.success || password.trim().toLowerCase() === email) {
    throw new HttpError(400, 'validation_failed', 'Some fields are missing or invalid.', {
      details: { password: checked.success ? 'must not be your email address' : checked.error.issues[0]!.message },
    });
  }
  for (const claim of claims.slice(0, MAX_CLAIMS_CHECKED)) {
    if (await verifyPassword(password, claim.passwordHash)) return claim;
  }
  // The confirmer proved the mailbox but chose none of these registrations: their password, no one's fields.
  return { passwordHash: await hashPassword(password, config().passwordHashing), nickname: null, firstName: null, lastName: null };
}

/**
 * Consumes a verification token (single use, unexpired) and marks the email verified with the confirmer's
 * claim: its password and profile fields replace whatever any other registrant chose, and every other
 * verification token of the account is voided.
 */
export async function verifyEmail(token: string, password?: string): Promise<UserRow> {
  if (!opaqueTokenPattern.test(token)) throw invalidToken();
  const tokenHash = hashOpaqueToken(token);
  const { rows: found } = await read<{ user_id: string; email: string }>(
    `select t.user_id, u.email from verification_tokens t join users u on u.id = t.user_id
     where t.token_hash = $1 and t.used_at is null and t.expires_at > now() and u.email_verified_at is null`,
    [tokenHash],
  );
  if (!found[0]) throw invalidToken();
  const { user_id: userId } = found[0];
  const claim = await chooseClaim(userId, password, found[0].email);
  const user = await transaction(async (db) => {
    // The account before its tokens, the order a password reset locks in (lib/accounts/users.ts lockAccount).
    await lockAccount(db, userId);
    const consumed = await db.query(
      `update verification_tokens set used_at = now() where token_hash = $1 and used_at is null and expires_at > now() returning user_id`,
      [tokenHash],
    );
    if (!consumed.rows[0]) return undefined;
    await voidVerificationTokensOf(db, userId);
    // ADMIN_EMAILS: an address listed there becomes an admin once its mailbox is proven.
    return markEmailVerified(db, userId, claim, generateNickname(6), config().adminEmails);
  });
  if (!user) throw invalidToken();
  return user;
}

/**
 * Records a login attempt before anything is checked, so that parallel guesses count against each other.
 * Returns the attempt's id and, when LOGIN_MAX_FAILURES attempts came before it within the window,
 * the seconds until the oldest of those leaves the window.
 *
 * Attempts on one email are serialised across every container and connection by a transaction-scoped
 * advisory lock (released at commit, so safe behind a transaction-mode pooler, unlike a session lock): each
 * attempt's count statement starts after the previous attempt committed its row, and so sees it.
 */
async function recordAttempt(email: string, db: Database): Promise<{ attemptId: string; retryAfter: number }> {
  const attempt = await db.transaction(async (client) => {
    await lockAttemptsOf(client, email);
    return insertAttemptCountingEarlier(client, email);
  });
  const { id, earlier, retry_after } = attempt;
  return { attemptId: id, retryAfter: earlier >= LOGIN_MAX_FAILURES ? Math.max(1, retry_after ?? 1) : 0 };
}

/** `db`: this container's database; race tests pass one per simulated container. */
export async function login(email: string, password: string, db: Database = database, origin: SessionOrigin = {}): Promise<TokenPair> {
  const { attemptId, retryAfter } = await recordAttempt(email, db);
  if (retryAfter > 0) {
    // A refused attempt is not a failure of its own: the lock ends when the window passes, not later.
    await deleteAttempt(db, attemptId);
    const minutes = Math.ceil(retryAfter / 60);
    const wait = retryAfter < 60 ? `${retryAfter} second${retryAfter === 1 ? '' : 's'}` : `${minutes} minute${minutes === 1 ? '' : 's'}`;
    throw new HttpError(429, 'too_many_attempts', `Too many failed logins for this account. Try again in ${wait}.`, {
      headers: { 'retry-after': String(retryAfter) },
    });
  }
  const user = await findUserByEmail(email, db);
  // Unknown emails are checked against a dummy hash so both failures take the same time.
  const passwordMatches = await verifyPassword(password, user?.password_hash ?? (await dummyPasswordHash(config().passwordHashing)));
  if (!user || !passwordMatches) {
    // The attempt's row stays as the failure; rows older than the window are dropped on the way.
    await deleteFailuresOutsideWindow(db);
    throw invalidCredentials();
  }
  await clearFailuresOf(db, email);
  if (!user.email_verified_at) {
    throw new HttpError(403, 'email_not_verified', 'Confirm your email address first: use the link we mailed you, or ask for a new one.');
  }
  return db.transaction(async (client) => {
    // The row lock of this update orders the login after (or before) a parallel disable: a disabled
    // account gets no session, and a session created first is revoked by the disable.
    const account = await recordLogin(client, user.id, config().adminEmails);
    if (!account) throw accountDisabled();
    return startSession(account, origin, client);
  });
}

/** `me` or a user id; email only for the user themself or an admin. */
export async function getProfile(viewer: AccessClaims, id: string, objects: UrlSigner): Promise<Profile> {
  const userId = id === 'me' ? viewer.userId : id;
  if (!isUuid(userId)) throw notFound('No user with this id.');
  const user = await findUserById(userId);
  if (!user) throw id === 'me' ? unauthorized('The account of this token no longer exists.', 'The account no longer exists') : notFound('No user with this id.');
  if (!isShownTo(user, viewer.userId)) throw notFound('No user with this id.');
  return toProfile(user, objects, { includeEmail: mayReadEmail(viewer, user.id) });
}

export async function updateProfile(viewer: AccessClaims, changes: z.infer<typeof profileChangesBody>, objects: UrlSigner): Promise<Profile> {
  let user: UserRow | undefined;
  try {
    user = await updateUserProfile(viewer.userId, changes);
  } catch (error) {
    if (isUniqueViolation(error, 'users_nickname_key')) throw nicknameTaken();
    throw error;
  }
  if (!user) throw unauthorized('The account of this token no longer exists.', 'The account no longer exists');
  return toProfile(user, objects, { includeEmail: true });
}
