import { randomBytes, randomInt } from 'node:crypto';
import { query, type Queryable } from './db';
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

export async function findUserByEmail(email: string, db: Queryable = { query }): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`select ${columns} from users where email = $1`, [email]);
  return rows[0];
}

export async function findUserById(id: string): Promise<UserRow | undefined> {
  const { rows } = await query<UserRow>(`select ${columns} from users where id = $1`, [id]);
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
