/**
 * Repository of the login throttle (table login_failures): every statement whose main table it is lives here.
 * The throttle's window and limit are defined here too, since the statements are written around them.
 */
import type { Queryable } from '../platform/db';

export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Serialises the attempts on one email across every container and connection until the caller's
 * transaction ends (a transaction-scoped advisory lock, so safe behind a transaction-mode pooler).
 */
export async function lockAttemptsOf(db: Queryable, email: string): Promise<void> {
  await db.query(`select pg_advisory_xact_lock(hashtextextended('login_failures:' || $1, 0))`, [email]);
}

/**
 * Records an attempt and counts, in the same statement, the LOGIN_MAX_FAILURES newest attempts before it
 * within the window, with the seconds until the oldest of those leaves it.
 */
export async function insertAttemptCountingEarlier(db: Queryable, email: string) {
  const { rows } = await db.query<{ id: string; earlier: number; retry_after: number | null }>(
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
  return rows[0]!;
}

/** The failures of `email` within the window (at most LOGIN_MAX_FAILURES counted), and when the oldest leaves it. */
export async function recentFailuresOf(db: Queryable, email: string) {
  const { rows } = await db.query<{ failures: number; retry_after: number | null }>(
    `select count(*)::int as failures,
            ceil(extract(epoch from (min(failed_at) + make_interval(secs => $2) - now())))::int as retry_after
     from (select failed_at from login_failures where email = $1 and failed_at > now() - make_interval(secs => $2)
           order by failed_at desc limit $3) recent`,
    [email, LOGIN_WINDOW_SECONDS, LOGIN_MAX_FAILURES],
  );
  return rows[0]!;
}

export async function insertFailure(db: Queryable, email: string): Promise<void> {
  await db.query('insert into login_failures (email) values ($1)', [email]);
}

export async function deleteAttempt(db: Queryable, attemptId: string): Promise<void> {
  await db.query('delete from login_failures where id = $1', [attemptId]);
}

/** Drops the rows that aged out of the window (an index on failed_at keeps this to the few that just did). */
export async function deleteFailuresOutsideWindow(db: Queryable): Promise<void> {
  await db.query(`delete from login_failures where failed_at < now() - make_interval(secs => $1)`, [LOGIN_WINDOW_SECONDS]);
}

/** Clears the throttle of one address: a login that succeeded, a password reset, an admin's unlock. */
export async function clearFailuresOf(db: Queryable, email: string): Promise<void> {
  await db.query('delete from login_failures where email = $1', [email]);
}

/**
 * A column for statements on users (alias `u`): locked while the last LOGIN_MAX_FAILURES failures all lie
 * within the window, until the oldest of them leaves it (what login's 429 Retry-After counts down to).
 */
export const lockedUntilColumn = `(
  select case when count(*) >= ${LOGIN_MAX_FAILURES} then min(recent.failed_at) + make_interval(secs => ${LOGIN_WINDOW_SECONDS}) end
  from (select failed_at from login_failures f
        where f.email = u.email and f.failed_at > now() - make_interval(secs => ${LOGIN_WINDOW_SECONDS})
        order by f.failed_at desc limit ${LOGIN_MAX_FAILURES}) recent
) as locked_until`;
