import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { config } from './config';
import { db as pooled, query, transaction, isUniqueViolation, type Queryable } from './db';
import { HttpError, notFound, unauthorized } from './errors';
import { accountExistsMail, verificationMail, type Mailer } from './mail';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords';
import { mayReadEmail, toProfile, type Profile } from './profiles';
import type { profileChangesBody, registerBody } from './schemas';
import type { ObjectStore } from './storage';
import { hashOpaqueToken, isUuid, newOpaqueToken, opaqueTokenPattern, signAccessToken, type AccessClaims } from './tokens';
import {
  findUserByEmail,
  findUserById,
  generateNickname,
  insertUserIfNew,
  updateUserProfile,
  type UserRow,
} from './users';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;
export const MAIL_INTERVAL_SECONDS = 60;

const invalidToken = () => new HttpError(400, 'invalid_token', 'This verification link is invalid, already used or expired.');
const invalidRefreshToken = () => new HttpError(401, 'invalid_token', 'The refresh token is invalid, expired or revoked.');
const invalidCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is wrong.');
const nicknameTaken = () =>
  new HttpError(409, 'nickname_taken', 'This nickname is already taken.', { details: { nickname: 'is already taken' } });

/**
 * Claims the right to mail `email` now: at most one mail a minute per address, even under parallel requests.
 * Returns a release function that gives the claim back when the mail could not be sent.
 */
async function claimMailSlot(email: string): Promise<(() => Promise<void>) | undefined> {
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
async function mailOncePerInterval(email: string, mailer: Mailer, compose: () => Promise<Parameters<Mailer['send']>[0]>) {
  const release = await claimMailSlot(email);
  if (!release) return mailer.check();
  try {
    await mailer.send(await compose());
  } catch (error) {
    await release();
    throw error;
  }
}

/** A single-use token bound to the password hash it will set when the mail is confirmed. */
async function createVerificationToken(user: Pick<UserRow, 'id' | 'password_hash'>, db: Queryable = pooled): Promise<string> {
  const { token, hash } = newOpaqueToken();
  await db.query(
    `insert into verification_tokens (token_hash, user_id, password_hash, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [hash, user.id, user.password_hash, config().verificationTokenTtl],
  );
  return token;
}

async function sendVerification(user: UserRow, mailer: Mailer) {
  await mailOncePerInterval(user.email, mailer, async () =>
    verificationMail(user.email, await createVerificationToken(user), config().verificationTokenTtl),
  );
}

/** Inserts the account unless the email is taken; a generated nickname that collides is drawn again. */
async function insertAccount(input: z.infer<typeof registerBody>, passwordHash: string): Promise<UserRow | undefined> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await insertUserIfNew({ ...input, passwordHash, nickname: input.nickname ?? generateNickname() }, pooled);
    } catch (error) {
      if (!isUniqueViolation(error, 'users_nickname_key')) throw error;
      // Postgres checks the nickname before the email: a known email must not answer 409 here,
      // or the nickname would tell which emails have accounts.
      if (await findUserByEmail(input.email)) return undefined;
      if (input.nickname) throw nicknameTaken();
      if (attempt >= 5) throw error;
    }
  }
}

/**
 * Registration answers the same way for new and known emails. New: account + verification mail.
 * Known and unverified: the new password becomes the pending one and a fresh verification mail goes out
 * (each link sets the password of the registration it was mailed for). Known and verified: a mail saying
 * the account exists.
 */
export async function register(input: z.infer<typeof registerBody>, mailer: Mailer): Promise<void> {
  // Hash before knowing whether the email exists, so both paths take the same time.
  const passwordHash = await hashPassword(input.password, config().passwordHashing);
  const created = await insertAccount(input, passwordHash);
  const user = created ?? (await findUserByEmail(input.email));
  if (!user) return; // deleted in between: nothing to tell anyone
  if (user.email_verified_at) {
    await mailOncePerInterval(user.email, mailer, async () => accountExistsMail(user.email));
  } else {
    const pending = created ?? (await setPendingPassword(user.id, passwordHash)) ?? user;
    await sendVerification(pending, mailer);
  }
}

/** The password a later resend's link will set: the latest registration's, until the email is confirmed. */
async function setPendingPassword(userId: string, passwordHash: string): Promise<UserRow | undefined> {
  const { rows } = await query<UserRow>(
    `update users set password_hash = $2, updated_at = now() where id = $1 and email_verified_at is null returning *`,
    [userId, passwordHash],
  );
  return rows[0];
}

export async function resendVerification(email: string, mailer: Mailer): Promise<void> {
  const user = await findUserByEmail(email);
  if (user && !user.email_verified_at) await sendVerification(user, mailer);
  else await mailer.check();
}

/** Consumes a verification token (single use, unexpired) and marks the email verified. */
export async function verifyEmail(token: string): Promise<UserRow> {
  if (!opaqueTokenPattern.test(token)) throw invalidToken();
  const user = await transaction(async (db) => {
    const { rows } = await db.query<{ user_id: string; password_hash: string | null }>(
      `update verification_tokens set used_at = now()
       where token_hash = $1 and used_at is null and expires_at > now()
       returning user_id, password_hash`,
      [hashOpaqueToken(token)],
    );
    if (!rows[0]) return undefined;
    // The link sets the password of the registration it was mailed for (older tokens carry none).
    const verified = await db.query<UserRow>(
      `update users set email_verified_at = coalesce(email_verified_at, now()),
                        password_hash = case when email_verified_at is null then coalesce($2, password_hash) else password_hash end,
                        updated_at = now()
       where id = $1 returning *`,
      [rows[0].user_id, rows[0].password_hash],
    );
    return verified.rows[0];
  });
  if (!user) throw invalidToken();
  return user;
}

/**
 * Records a login attempt before anything is checked, so that parallel guesses count against each other.
 * Returns the attempt's id and, when LOGIN_MAX_FAILURES attempts came before it within the window,
 * the seconds until the oldest of those leaves the window.
 */
async function recordAttempt(email: string): Promise<{ attemptId: string; retryAfter: number }> {
  const { rows } = await query<{ id: string; earlier: number; retry_after: number | null }>(
    `with attempt as (insert into login_failures (email) values ($1) returning id)
     select attempt.id, count(recent.failed_at)::int as earlier,
            ceil(extract(epoch from (min(recent.failed_at) + make_interval(secs => $2) - now())))::int as retry_after
     from attempt left join lateral (
       select failed_at from login_failures
       where email = $1 and id < attempt.id and failed_at > now() - make_interval(secs => $2)
       order by id desc limit $3) recent on true
     group by attempt.id`,
    [email, LOGIN_WINDOW_SECONDS, LOGIN_MAX_FAILURES],
  );
  const { id, earlier, retry_after } = rows[0]!;
  return { attemptId: id, retryAfter: earlier >= LOGIN_MAX_FAILURES ? Math.max(1, retry_after ?? 1) : 0 };
}

export async function login(email: string, password: string): Promise<TokenPair> {
  const { attemptId, retryAfter } = await recordAttempt(email);
  if (retryAfter > 0) {
    // A refused attempt is not a failure of its own: the lock ends when the window passes, not later.
    await query('delete from login_failures where id = $1', [attemptId]);
    throw new HttpError(429, 'too_many_attempts', 'Too many failed logins. Try again later.', {
      headers: { 'retry-after': String(retryAfter) },
    });
  }
  const user = await findUserByEmail(email);
  // Unknown emails are checked against a dummy hash so both failures take the same time.
  const passwordMatches = await verifyPassword(password, user?.password_hash ?? (await dummyPasswordHash(config().passwordHashing)));
  if (!user || !passwordMatches) {
    // The attempt's row stays as the failure; rows older than the window are dropped on the way
    // (an index on failed_at keeps this to the few rows that just aged out).
    await query(`delete from login_failures where failed_at < now() - make_interval(secs => $1)`, [LOGIN_WINDOW_SECONDS]);
    throw invalidCredentials();
  }
  await query(`delete from login_failures where email = $1`, [email]);
  if (!user.email_verified_at) {
    throw new HttpError(403, 'email_not_verified', 'Confirm your email address first: use the link we mailed you, or ask for a new one.');
  }
  return issueTokens(user);
}

/** Stores a refresh token of a session (family); only its hash is kept. */
async function storeRefreshToken(db: Queryable, tokenHash: Buffer, userId: string, familyId: string) {
  await db.query(
    `insert into refresh_tokens (token_hash, user_id, family_id, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [tokenHash, userId, familyId, config().jwt.refreshTokenTtl],
  );
}

async function tokenPair(claims: AccessClaims, refreshToken: string): Promise<TokenPair> {
  return { accessToken: await signAccessToken(claims), refreshToken, tokenType: 'Bearer', expiresIn: config().jwt.accessTokenTtl };
}

/** A new session: a new family with its first refresh token. */
async function issueTokens(user: Pick<UserRow, 'id' | 'role'>): Promise<TokenPair> {
  const refresh = newOpaqueToken();
  await storeRefreshToken(pooled, refresh.hash, user.id, randomUUID());
  return tokenPair({ userId: user.id, role: user.role }, refresh.token);
}

/**
 * Rotates a refresh token. Presenting one that was already rotated means it leaked (or raced):
 * the whole family is revoked, including the token that replaced it.
 */
export async function refresh(refreshToken: string): Promise<TokenPair> {
  if (!opaqueTokenPattern.test(refreshToken)) throw invalidRefreshToken();
  const hash = hashOpaqueToken(refreshToken);
  const next = newOpaqueToken();
  const rotated = await transaction(async (db) => {
    const { rows } = await db.query<{ user_id: string; family_id: string; role: UserRow['role'] }>(
      `update refresh_tokens t set replaced_by = $2
       from users u
       where t.token_hash = $1 and u.id = t.user_id
         and t.replaced_by is null and t.revoked_at is null and t.expires_at > now()
       returning t.user_id, t.family_id, u.role`,
      [hash, next.hash],
    );
    const current = rows[0];
    if (current) await storeRefreshToken(db, next.hash, current.user_id, current.family_id);
    return current;
  });
  if (!rotated) {
    await revokeFamilyOf(hash, { onlyIfReused: true });
    throw invalidRefreshToken();
  }
  return tokenPair({ userId: rotated.user_id, role: rotated.role }, next.token);
}

async function revokeFamilyOf(tokenHash: Buffer, { onlyIfReused }: { onlyIfReused: boolean }) {
  const statement = `update refresh_tokens set revoked_at = now()
     where revoked_at is null and family_id = (
       select family_id from refresh_tokens where token_hash = $1 ${onlyIfReused ? 'and replaced_by is not null' : ''})`;
  // A refresh holding a token of the family commits its successor while this statement waits for that row,
  // and the statement's snapshot cannot see the successor: repeat until a pass finds nothing left to revoke.
  for (let pass = 0; pass < 5; pass += 1) {
    try {
      if (!(await query(statement, [tokenHash])).rowCount) return;
    } catch (error) {
      // Parallel revocations of one family may deadlock; the next pass sees what the other one did.
      if ((error as { code?: string }).code !== '40P01') throw error;
    }
  }
}

/** Ends the session the refresh token belongs to. Unknown tokens are fine: logging out twice is not an error. */
export async function logout(refreshToken: string): Promise<void> {
  if (!opaqueTokenPattern.test(refreshToken)) return;
  await revokeFamilyOf(hashOpaqueToken(refreshToken), { onlyIfReused: false });
}

/** `me` or a user id; email only for the user themself or an admin. */
export async function getProfile(viewer: AccessClaims, id: string, objects: ObjectStore): Promise<Profile> {
  const userId = id === 'me' ? viewer.userId : id;
  if (!isUuid(userId)) throw notFound('No user with this id.');
  const user = await findUserById(userId);
  if (!user) throw id === 'me' ? unauthorized('The account of this token no longer exists.') : notFound('No user with this id.');
  return toProfile(user, objects, { includeEmail: mayReadEmail(viewer, user.id) });
}

export async function updateProfile(viewer: AccessClaims, changes: z.infer<typeof profileChangesBody>, objects: ObjectStore): Promise<Profile> {
  let user: UserRow | undefined;
  try {
    user = await updateUserProfile(viewer.userId, changes);
  } catch (error) {
    if (isUniqueViolation(error, 'users_nickname_key')) throw nicknameTaken();
    throw error;
  }
  if (!user) throw unauthorized('The account of this token no longer exists.');
  return toProfile(user, objects, { includeEmail: true });
}
