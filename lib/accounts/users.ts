/**
 * Repository of users: every statement whose main table (FROM, UPDATE, DELETE or INSERT target) is users
 * lives here, including those that join or look into other tables.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { query, read, type Queryable } from '../platform/db';
import { lastAdmin } from '../errors';
import { lockedUntilColumn } from './login-failures';
import type { Role } from './tokens';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  nickname: string;
  first_name: string | null;
  last_name: string | null;
  bio: string | null;
  role: Role;
  email_verified_at: Date | null;
  picture_id: string | null;
  disabled_at: Date | null;
  last_login_at: Date | null;
  github_url: string | null;
  linkedin_url: string | null;
  website_url: string | null;
  password_changed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const userColumns =
  'id, email, password_hash, nickname, first_name, last_name, bio, role, email_verified_at, picture_id, ' +
  'disabled_at, last_login_at, github_url, linkedin_url, website_url, password_changed_at, created_at, updated_at';
const columns = userColumns;

export interface NewUser {
  email: string;
  passwordHash: string;
  nickname: string;
  firstName?: string;
  lastName?: string;
}

/** Inserts the user unless the email exists; undefined means the email was already taken. */
export async function insertUserIfNew(user: NewUser, db: Queryable): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `insert into users (email, password_hash, nickname, first_name, last_name)
     values ($1, $2, $3, $4, $5)
     on conflict (email) do nothing
     returning ${columns}`,
    [user.email, user.passwordHash, user.nickname, user.firstName ?? null, user.lastName ?? null],
  );
  return rows[0];
}

export async function findUserByEmail(email: string, db: Queryable = { query: read }): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`select ${columns} from users where email = $1`, [email]);
  return rows[0];
}

/** `db`: the pool by default (a read, retried once when the connection drops), or the caller's transaction. */
export async function findUserById(id: string, db: Queryable = { query: read }): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`select ${columns} from users where id = $1`, [id]);
  return rows[0];
}

export interface ProfileChanges {
  nickname?: string;
  firstName?: string | null;
  lastName?: string | null;
  bio?: string | null;
  githubUrl?: string | null;
  linkedinUrl?: string | null;
  websiteUrl?: string | null;
}

/** Profile field → column; the only columns a profile change may touch. */
export const profileColumns = {
  nickname: 'nickname',
  firstName: 'first_name',
  lastName: 'last_name',
  bio: 'bio',
  githubUrl: 'github_url',
  linkedinUrl: 'linkedin_url',
  websiteUrl: 'website_url',
} as const satisfies Record<keyof ProfileChanges, keyof UserRow>;

/** Applies only the fields present in `changes`; the column list is fixed here, never taken from input. */
export async function updateUserProfile(id: string, changes: ProfileChanges, db: Queryable = { query }): Promise<UserRow | undefined> {
  const fields: [string, unknown][] = [];
  for (const [field, column] of Object.entries(profileColumns)) {
    const value = changes[field as keyof ProfileChanges];
    if (value !== undefined) fields.push([column, value]);
  }
  if (fields.length === 0) return (await db.query<UserRow>(`select ${columns} from users where id = $1`, [id])).rows[0];
  const assignments = fields.map(([column], index) => `${column} = $${index + 2}`).join(', ');
  const { rows } = await db.query<UserRow>(
    `update users set ${assignments}, updated_at = now() where id = $1 returning ${columns}`,
    [id, ...fields.map(([, value]) => value)],
  );
  return rows[0];
}

// ---------------------------------------------------------------- registration and verification

/**
 * Drops the unconfirmed accounts of this email or nickname whose every verification token expired and
 * that were created more than `ttlSeconds` ago, so that their email and nickname are free again.
 */
export async function deleteExpiredRegistrations(db: Queryable, email: string, nickname: string | undefined, ttlSeconds: number): Promise<void> {
  await db.query(
    `delete from users u
     where u.email_verified_at is null
       and (u.email = $1 or ($2::text is not null and lower(u.nickname) = lower($2)))
       and u.created_at < now() - make_interval(secs => $3)
       and not exists (select 1 from verification_tokens t where t.user_id = u.id and t.expires_at > now())`,
    [email, nickname ?? null, ttlSeconds],
  );
}

/** The janitor's batch of the same garbage over every address; returns how many accounts it dropped. */
export async function deleteExpiredRegistrationsBatch(db: Queryable, ttlSeconds: number, batchSize: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from users where ctid in (
       select ctid from users where email_verified_at is null and created_at < now() - make_interval(secs => ${Number(ttlSeconds)})
      and not exists (select 1 from verification_tokens t where t.user_id = users.id and t.expires_at > now()) limit $1 for update skip locked)`,
    [batchSize],
  );
  return rowCount ?? 0;
}

export interface VerifiedClaim {
  passwordHash: string;
  nickname: string | null;
  firstName: string | null;
  lastName: string | null;
}

/**
 * Marks the mailbox proven with the confirmer's claim. The claim's nickname is kept unless another account
 * holds it, then `fallbackNickname`; an address listed in `adminEmails` becomes an admin.
 */
export async function markEmailVerified(
  db: Queryable,
  userId: string,
  claim: VerifiedClaim,
  fallbackNickname: string,
  adminEmails: string[],
): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `update users set email_verified_at = now(), password_hash = $2, first_name = $3, last_name = $4,
       nickname = case
         when lower(nickname) = lower($5) then nickname
         when $5 is not null and not exists (select 1 from users o where lower(o.nickname) = lower($5) and o.id <> $1) then $5
         else $6 end,
       role = case when email = any($7::text[]) then 'admin' else role end,
       updated_at = now()
     where id = $1 and email_verified_at is null returning *`,
    [userId, claim.passwordHash, claim.firstName, claim.lastName, claim.nickname, fallbackNickname, adminEmails],
  );
  return rows[0];
}

// ---------------------------------------------------------------- login and sessions

/**
 * Records a login on an account that is not disabled (the row lock orders it against a parallel disable);
 * undefined when the account is disabled or gone.
 */
export async function recordLogin(db: Queryable, userId: string, adminEmails: string[]): Promise<Pick<UserRow, 'id' | 'role'> | undefined> {
  const { rows } = await db.query<Pick<UserRow, 'id' | 'role'>>(
    `update users set last_login_at = now(), role = case when email = any($2::text[]) then 'admin' else role end
     where id = $1 and disabled_at is null returning id, role`,
    [userId, adminEmails],
  );
  return rows[0];
}

/** Share-locks the enabled account a refresh token belongs to; false when there is none. */
export async function lockEnabledOwnerOfRefreshToken(db: Queryable, tokenHash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query(
    `select 1 from users where id = (select user_id from refresh_tokens where token_hash = $1) and disabled_at is null for share`,
    [tokenHash],
  );
  return Boolean(rowCount);
}

// ---------------------------------------------------------------- passwords, addresses, deletion

/** A new password by a reset link: the link proved the mailbox, so the email counts as verified. */
export async function setPasswordProvingMailbox(db: Queryable, userId: string, passwordHash: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `update users set password_hash = $2, password_changed_at = now(), updated_at = now(),
                      email_verified_at = coalesce(email_verified_at, now())
     where id = $1 returning *`,
    [userId, passwordHash],
  );
  return rows[0];
}

/** False when the account is gone. */
export async function setPassword(db: Queryable, userId: string, passwordHash: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'update users set password_hash = $2, password_changed_at = now(), updated_at = now() where id = $1',
    [userId, passwordHash],
  );
  return Boolean(rowCount);
}

/**
 * Locks the account row before any of its token rows. Every transaction that consumes one kind of token
 * and voids the others (reset, email confirmation, verification) takes the locks in this order; token
 * first would deadlock a reset against a confirmation racing it (each holding its token, waiting for the
 * other's). Returns the row's email, or undefined when the account is gone.
 */
export async function lockAccount(db: Queryable, userId: string): Promise<{ email: string; role: Role; disabled_at: Date | null } | undefined> {
  const { rows } = await db.query<{ email: string; role: Role; disabled_at: Date | null }>('select email, role, disabled_at from users where id = $1 for update', [userId]);
  return rows[0];
}

/** An unconfirmed registration of `email` gives way to an account that proved the address. */
export async function deleteUnverifiedByEmail(db: Queryable, email: string): Promise<void> {
  await db.query('delete from users where email = $1 and email_verified_at is null', [email]);
}

/** Sets a proven address (throws UniqueViolation users_email_key when a confirmed account holds it). */
export async function setVerifiedEmail(db: Queryable, userId: string, email: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `update users set email = $2, email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
     where id = $1 returning *`,
    [userId, email],
  );
  return rows[0];
}

/** Deletes the row; tokens and sessions go with it by cascade. */
export async function deleteUserRow(db: Queryable, userId: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>('delete from users where id = $1 returning *', [userId]);
  return rows[0];
}

// ---------------------------------------------------------------- pictures

/** Sets users.picture_id and returns the row with the id it replaced, read under the same row lock. */
export async function setPictureId(db: Queryable, userId: string, pictureId: string | null) {
  const { rows } = await db.query<UserRow & { previous_picture_id: string | null }>(
    `update users u set picture_id = $2, updated_at = now()
     from (select id, picture_id from users where id = $1 for update) previous
     where u.id = previous.id
     returning u.*, previous.picture_id as previous_picture_id`,
    [userId, pictureId],
  );
  return rows[0];
}

/** The picture each of these accounts points to now (accounts that are gone are missing). */
export async function pictureIdsOf(db: Queryable, userIds: string[]): Promise<Map<string, string | null>> {
  const { rows } = await db.query<{ id: string; picture_id: string | null }>('select id, picture_id from users where id = any($1::uuid[])', [userIds]);
  return new Map(rows.map((row) => [row.id, row.picture_id]));
}

// ---------------------------------------------------------------- administration

/** An account as the admin routes show it: with its login throttle and its cursor position. */
export type AdminUserRow = UserRow & { locked_until: Date | null; created_micros: string };

const adminColumns = `${userColumns
  .split(', ')
  .map((column) => `u.${column}`)
  .join(', ')}, ${lockedUntilColumn}, (extract(epoch from u.created_at) * 1000000)::bigint::text as created_micros`;

export interface UserListFilter {
  q?: string;
  role?: Role;
  disabled?: boolean;
  limit: number;
  cursor?: [string, string];
}

/** `%`, `_` and `\` in a search are literal characters, not LIKE wildcards. */
const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

/** The SQL of the list (exported for the index test and the bench's explain). */
export function userListQuery(filter: UserListFilter): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const conditions: string[] = [];
  if (filter.q) {
    const prefix = param(likePrefix(filter.q));
    // Each alternative matches one prefix index of migration 1700000000301 exactly.
    conditions.push(`(u.email like ${prefix} or lower(u.nickname) like ${prefix} or lower(u.first_name) like ${prefix}
      or lower(u.last_name) like ${prefix} or lower(u.first_name || ' ' || u.last_name) like ${prefix})`);
  }
  if (filter.role) conditions.push(`u.role = ${param(filter.role)}`);
  if (filter.disabled !== undefined) conditions.push(filter.disabled ? 'u.disabled_at is not null' : 'u.disabled_at is null');
  if (filter.cursor) {
    const [micros, id] = filter.cursor;
    conditions.push(`(u.created_at, u.id) < (timestamptz 'epoch' + ${param(micros)}::bigint * interval '1 microsecond', ${param(id)}::uuid)`);
  }
  const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
  return {
    // The throttle column is computed for the page's rows only, after the limit.
    text: `select ${adminColumns} from (select * from users u ${where} order by u.created_at desc, u.id desc limit ${param(filter.limit + 1)}) u
           order by u.created_at desc, u.id desc`,
    values,
  };
}

/** One page of the list, with one row more than the limit when there is a next page. */
export async function listUsersForAdmin(db: Queryable, filter: UserListFilter): Promise<AdminUserRow[]> {
  const { text, values } = userListQuery(filter);
  return (await db.query<AdminUserRow>(text, values)).rows;
}

export async function findUserForAdmin(db: Queryable, id: string, lock = false): Promise<AdminUserRow | undefined> {
  const { rows } = await db.query<AdminUserRow>(`select ${adminColumns} from users u where u.id = $1 ${lock ? 'for update of u' : ''}`, [id]);
  return rows[0];
}

type Standing = { id: string; role: Role; disabled_at: Date | null };

/** Role and disabled mark of one account, unlocked. */
export async function findStanding(db: Queryable, id: string): Promise<Standing | undefined> {
  const { rows } = await db.query<Standing>('select id, role, disabled_at from users where id = $1', [id]);
  return rows[0];
}

export async function findRole(db: Queryable, id: string): Promise<{ id: string; role: Role } | undefined> {
  const { rows } = await db.query<{ id: string; role: Role }>('select id, role from users where id = $1', [id]);
  return rows[0];
}

export async function findIdByEmail(db: Queryable, email: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('select id from users where email = $1', [email]);
  return rows[0]?.id;
}

/**
 * Locks, in id order (so parallel writes cannot deadlock), these accounts and every active admin, and
 * returns them fresh.
 */
export async function lockAdminsForWrite(db: Queryable, ids: string[]): Promise<Standing[]> {
  const { rows } = await db.query<Standing>(
    `select id, role, disabled_at from users
     where id = any($1::uuid[]) or (role = 'admin' and disabled_at is null)
     order by id for update`,
    [ids],
  );
  return rows;
}

/** The CLI's variant: the target and every active admin, locked in id order; returns their ids. */
export async function lockTargetAndAdmins(db: Queryable, targetId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from users where id = $1 or (role = 'admin' and disabled_at is null) order by id for update`,
    [targetId],
  );
  return rows.map((row) => row.id);
}

/** The active admins among rows that lockAdminsForWrite returned. */
export const activeAdminIds = (rows: Standing[]): string[] => rows.filter((row) => row.role === 'admin' && !row.disabled_at).map((row) => row.id);

/** The last active admin stays: refuses a change that would leave no active admin besides `targetId`. */
export function keepAnAdmin(activeAdmins: string[], targetId: string): void {
  if (activeAdmins.includes(targetId) && activeAdmins.every((id) => id === targetId)) throw lastAdmin();
}

/** Which of these accounts are active admins. */
export async function activeAdminsAmong(db: Queryable, ids: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`select id from users where id = any($1::uuid[]) and role = 'admin' and disabled_at is null`, [ids]);
  return rows.map((row) => row.id);
}

export async function setRole(db: Queryable, userId: string, role: Role): Promise<void> {
  await db.query('update users set role = $2, updated_at = now() where id = $1', [userId, role]);
}

export async function setDisabled(db: Queryable, userId: string, disabled: boolean): Promise<void> {
  await db.query(`update users set disabled_at = ${disabled ? 'now()' : 'null'}, updated_at = now() where id = $1`, [userId]);
}

const adjectives = [
  'brave', 'calm', 'clever', 'cosy', 'curious', 'daring', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'kind',
  'lively', 'lucky', 'mellow', 'merry', 'nimble', 'proud', 'quick', 'quiet', 'shiny', 'silly', 'sunny', 'swift',
  'tidy', 'witty', 'zesty', 'bold', 'bright', 'cheerful',
];
const animals = [
  'badger', 'beaver', 'bison', 'crane', 'dolphin', 'falcon', 'ferret', 'fox', 'gecko', 'heron', 'ibis', 'koala',
  'lemur', 'lynx', 'marten', 'meerkat', 'moose', 'narwhal', 'otter', 'owl', 'panda', 'puffin', 'quokka', 'raven',
  'seal', 'sloth', 'tapir', 'walrus', 'wombat', 'yak',
];

/**
 * adjective_animal_123; after collisions (attempt > 0) the number widens to 6 digits (27 billion names) and
 * from the sixth attempt to random hex, so that generating never runs out.
 */
export function generateNickname(attempt = 0): string {
  const stem = `${adjectives[randomInt(adjectives.length)]}_${animals[randomInt(animals.length)]}`;
  if (attempt === 0) return `${stem}_${randomInt(1000).toString().padStart(3, '0')}`;
  if (attempt < 6) return `${stem}_${randomInt(1_000_000).toString().padStart(6, '0')}`;
  return `${stem}_${randomBytes(6).toString('hex')}`;
}
