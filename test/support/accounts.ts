import { randomBytes, randomUUID } from 'node:crypto';
import { waitForMailIn, type CaughtMail, type WaitForMailOptions } from '../../scripts/stack/mail';
import { handler as login } from '../../functions/login';
import { handler as register } from '../../functions/register';
import { handler as verifyEmail } from '../../functions/verify-email';
import { config } from '../../lib/platform/config';
import { query } from '../../lib/platform/db';
import { hashPassword } from '../../lib/accounts/passwords';
import type { Role } from '../../lib/accounts/tokens';
import { invoke } from './events';

export const PASSWORD = 'correct horse battery staple';

/** A fresh address per call, so tests never see each other's accounts or mails. */
export const uniqueEmail = (label = 'user') => `${label}-${randomUUID().slice(0, 8)}@example.test`;

export function mailTo(to: string, options?: WaitForMailOptions): Promise<CaughtMail> {
  return waitForMailIn(process.env.TEST_MAIL_DIR!, to, options);
}

/** The token of the verification link in a mail. */
export function verificationTokenIn(mail: CaughtMail): string {
  const link = mail.links.find((url) => url.includes('/auth/verify-email?token='));
  if (!link) throw new Error(`no verification link in mail "${mail.subject}"`);
  return new URL(link).searchParams.get('token')!;
}

export async function registerAndReadToken(email = uniqueEmail(), extra: Record<string, unknown> = {}) {
  const response = await invoke(register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD, ...extra } });
  if (response.status !== 202) throw new Error(`register answered ${response.status}: ${response.body}`);
  return { email, token: verificationTokenIn(await mailTo(email)) };
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

/**
 * Registers through the API, verifies through the real mail and logs in; optionally gives the account a role.
 * For tests about that path; every other test gets its account from createVerifiedUser.
 */
export async function registerVerifiedUser(options: { role?: Role; email?: string } = {}): Promise<TestUser> {
  const { email, token } = await registerAndReadToken(options.email ?? uniqueEmail(options.role ?? 'user'));
  const verified = await invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token } });
  if (verified.status !== 200) throw new Error(`verify answered ${verified.status}: ${verified.body}`);
  if (options.role) await query('update users set role = $2 where email = $1', [email, options.role]);
  return { id: verified.json.user.id, email, password: PASSWORD, ...(await loginAs(email)) };
}

async function loginAs(email: string): Promise<{ accessToken: string; refreshToken: string }> {
  const session = await invoke(login, { method: 'POST', route: '/auth/login', json: { email, password: PASSWORD } });
  if (session.status !== 200) throw new Error(`login answered ${session.status}: ${session.body}`);
  return session.json;
}

let passwordHash: Promise<string> | undefined;

/** PASSWORD hashed once per test file, at the suite's cost (PASSWORD_HASH_COST). */
export const passwordHashOfPASSWORD = () => (passwordHash ??= hashPassword(PASSWORD, config().passwordHashing));

export interface SeededUser {
  id: string;
  email: string;
  nickname: string;
}

export interface SeedFields {
  role?: Role;
  email?: string;
  nickname?: string;
  firstName?: string;
  lastName?: string;
  disabled?: boolean;
  /** Default true: email_verified_at is set. */
  verified?: boolean;
}

/**
 * The one way tests make an account without the registration flow: a single insert of a row as
 * registration and verification leave it (PASSWORD works for it).
 */
export async function seedUser(fields: SeedFields = {}, run = query): Promise<SeededUser> {
  const tag = randomBytes(5).toString('hex');
  const { rows } = await run<SeededUser>(
    `insert into users (email, password_hash, nickname, first_name, last_name, role, email_verified_at, disabled_at)
     values ($1, $2, $3, $4, $5, $6, case when $7 then now() end, case when $8 then now() end) returning id, email, nickname`,
    [
      fields.email ?? uniqueEmail(`seed-${fields.role ?? 'user'}`),
      await passwordHashOfPASSWORD(),
      fields.nickname ?? `seed_${tag}`,
      fields.firstName ?? null,
      fields.lastName ?? null,
      fields.role ?? 'user',
      fields.verified ?? true,
      fields.disabled ?? false,
    ],
  );
  return rows[0]!;
}

/** A verified account seeded in SQL and logged in through the login function; optionally with a role. */
export async function createVerifiedUser(options: { role?: Role; email?: string } = {}): Promise<TestUser> {
  const seeded = await seedUser({ role: options.role, email: options.email ?? uniqueEmail(options.role ?? 'user') });
  return { id: seeded.id, email: seeded.email, password: PASSWORD, ...(await loginAs(seeded.email)) };
}
