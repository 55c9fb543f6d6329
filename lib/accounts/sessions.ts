/**
 * Sessions: one login, its refresh-token family, stored as a row. Access tokens carry the session id
 * (`sid`), and every authenticated request checks the row, so a revoked session, a disabled or deleted
 * account, or a password changed after the token was issued is refused at once, not after 15 minutes.
 * Repository of sessions and refresh_tokens: every statement whose main table is one of them lives here, joins included.
 */
import { randomUUID } from 'node:crypto';
import { config } from '../platform/config';
import { query, read, transaction, type Queryable } from '../platform/db';
import { HttpError, notFound, unauthorized } from '../errors';
import { useSessionCheck } from '../http/endpoint';
import { lockEnabledOwnerOfRefreshToken } from './users';
import { hashOpaqueToken, isUuid, newOpaqueToken, opaqueTokenPattern, signAccessToken, type AccessClaims, type Role } from './tokens';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** Who opened a session, as the request tells it: shown to the user in their session list. */
export interface SessionOrigin {
  userAgent?: string;
  ip?: string;
}

export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

const MAX_USER_AGENT_LENGTH = 256;

const invalidRefreshToken = () => new HttpError(401, 'invalid_token', 'The refresh token is invalid, expired or revoked.');

async function storeRefreshToken(db: Queryable, tokenHash: Buffer, userId: string, sessionId: string) {
  await db.query(
    `insert into refresh_tokens (token_hash, user_id, family_id, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [tokenHash, userId, sessionId, config().jwt.refreshTokenTtl],
  );
}

async function tokenPair(claims: AccessClaims, refreshToken: string): Promise<TokenPair> {
  return { accessToken: await signAccessToken(claims), refreshToken, tokenType: 'Bearer', expiresIn: config().jwt.accessTokenTtl };
}

/** A new session with its first refresh token. `db` lets a caller open it inside its own transaction. */
export async function startSession(
  user: { id: string; role: Role },
  origin: SessionOrigin = {},
  db: Queryable = { query },
): Promise<TokenPair> {
  const sessionId = randomUUID();
  const refresh = newOpaqueToken();
  await db.query(
    `insert into sessions (id, user_id, expires_at, user_agent, ip) values ($1, $2, now() + make_interval(secs => $3), $4, $5)`,
    [sessionId, user.id, config().jwt.refreshTokenTtl, origin.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null, origin.ip ?? null],
  );
  await storeRefreshToken(db, refresh.hash, user.id, sessionId);
  return tokenPair({ userId: user.id, role: user.role, sessionId }, refresh.token);
}

/**
 * Rotates a refresh token. A token already rotated less than REFRESH_REUSE_INTERVAL ago (two tabs, a
 * retried request) gets another fresh token of the same session; later, the reuse means the token
 * leaked, and the whole session is revoked.
 */
export async function refreshSession(refreshToken: string): Promise<TokenPair> {
  if (!opaqueTokenPattern.test(refreshToken)) throw invalidRefreshToken();
  const hash = hashOpaqueToken(refreshToken);
  const next = newOpaqueToken();
  const outcome = await transaction(async (db) => {
    // The account first, then the token: the order an admin's disable takes its locks in (users, then
    // tokens and sessions), so the two wait for each other instead of deadlocking. A disable that
    // committed first leaves nothing to find here; one that comes later revokes this session.
    if (!(await lockEnabledOwnerOfRefreshToken(db, hash))) return undefined;
    // The row lock makes parallel refreshes of one token take turns: the second sees the first's rotation.
    const { rows } = await db.query<{
      user_id: string;
      session_id: string;
      role: Role;
      rotated: boolean;
      within_grace: boolean;
      usable: boolean;
    }>(
      `select t.user_id, t.family_id as session_id, u.role,
              t.replaced_by is not null as rotated,
              t.rotated_at > now() - make_interval(secs => $2) as within_grace,
              (t.revoked_at is null and t.expires_at > now() and s.revoked_at is null and s.expires_at > now()
               and u.disabled_at is null) as usable
       from refresh_tokens t join sessions s on s.id = t.family_id join users u on u.id = t.user_id
       where t.token_hash = $1
       for update of t`,
      [hash, config().refreshReuseInterval],
    );
    const token = rows[0];
    if (!token || !token.usable) return undefined;
    if (token.rotated && !token.within_grace) {
      await db.query('update sessions set revoked_at = now() where id = $1 and revoked_at is null', [token.session_id]);
      return 'revoked' as const;
    }
    if (!token.rotated) {
      await db.query('update refresh_tokens set replaced_by = $2, rotated_at = now() where token_hash = $1', [hash, next.hash]);
    }
    await storeRefreshToken(db, next.hash, token.user_id, token.session_id);
    await db.query('update sessions set last_used_at = now() where id = $1', [token.session_id]);
    return token;
  });
  if (!outcome || outcome === 'revoked') throw invalidRefreshToken();
  return tokenPair({ userId: outcome.user_id, role: outcome.role, sessionId: outcome.session_id }, next.token);
}

/** Ends the session a refresh token belongs to. Unknown tokens are fine: logging out twice is not an error. */
export async function endSessionOf(refreshToken: string): Promise<void> {
  if (!opaqueTokenPattern.test(refreshToken)) return;
  await query(
    `update sessions set revoked_at = now()
     where revoked_at is null and id = (select family_id from refresh_tokens where token_hash = $1)`,
    [hashOpaqueToken(refreshToken)],
  );
}

/**
 * The check every authenticated request makes: one indexed lookup of the session joined to its user.
 * Returns the caller with the role the account has now (a demotion takes effect at once).
 */
export async function checkSession(claims: AccessClaims & { issuedAt: number }): Promise<AccessClaims> {
  const gone = () => unauthorized('This session has ended: sign in again.');
  if (!claims.sessionId) throw gone();
  // A read: retried once if the connection drops, as every authenticated request starts with it.
  const { rows } = await read<{ role: Role }>(
    `select u.role from sessions s join users u on u.id = s.user_id
     where s.id = $1 and s.user_id = $2 and s.revoked_at is null and s.expires_at > now()
       and u.disabled_at is null
       and (u.password_changed_at is null or u.password_changed_at < to_timestamp($3) + interval '1 second')`,
    [claims.sessionId, claims.userId, claims.issuedAt],
  );
  if (!rows[0]) throw gone();
  return { userId: claims.userId, role: rows[0].role, sessionId: claims.sessionId };
}

export async function listSessions(viewer: AccessClaims): Promise<SessionView[]> {
  const { rows } = await read<{ id: string; created_at: Date; last_used_at: Date; user_agent: string | null; ip: string | null }>(
    `select id, created_at, last_used_at, user_agent, ip from sessions
     where user_id = $1 and revoked_at is null and expires_at > now()
     order by last_used_at desc, created_at desc`,
    [viewer.userId],
  );
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at.toISOString(),
    userAgent: row.user_agent,
    ip: row.ip,
    current: row.id === viewer.sessionId,
  }));
}

export async function revokeSession(viewer: AccessClaims, sessionId: string): Promise<void> {
  const missing = () => notFound('You have no session with this id.');
  if (!isUuid(sessionId)) throw missing();
  const { rowCount } = await query(
    'update sessions set revoked_at = now() where id = $1 and user_id = $2 and revoked_at is null and expires_at > now()',
    [sessionId.toLowerCase(), viewer.userId],
  );
  if (!rowCount) throw missing();
}

/** Whether the session is still signed in (neither revoked nor expired). */
export async function isSessionLive(db: Queryable, sessionId: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from sessions where id = $1 and revoked_at is null and expires_at > now()', [sessionId]);
  return rows.length > 0;
}

/** Revokes every refresh token of a user (a disabled account's tokens must not rotate again). */
export async function revokeRefreshTokensOf(db: Queryable, userId: string): Promise<void> {
  await db.query('update refresh_tokens set revoked_at = now() where user_id = $1 and revoked_at is null', [userId]);
}

/** Revokes every live session of a user, but `keep` when given. */
export async function revokeAllSessions(userId: string, options: { keep?: string } = {}, db: Queryable = { query }): Promise<void> {
  await db.query(
    `update sessions set revoked_at = now() where user_id = $1 and revoked_at is null and ($2::uuid is null or id <> $2::uuid)`,
    [userId, options.keep ?? null],
  );
}

// Every `auth: true` endpoint checks its session through this (see lib/http/endpoint.ts useSessionCheck).
useSessionCheck(checkSession);
