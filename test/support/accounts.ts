import { randomUUID } from 'node:crypto';
import { waitForMailIn, type CaughtMail, type WaitForMailOptions } from '../../scripts/stack/mail';
import { handler as login } from '../../functions/login';
import { handler as register } from '../../functions/register';
import { handler as verifyEmail } from '../../functions/verify-email';
import { query } from '../../lib/db';
import type { Role } from '../../lib/tokens';
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

/** Registers, verifies through the real mail and logs in; optionally gives the account a role. */
export async function createVerifiedUser(options: { role?: Role; email?: string } = {}): Promise<TestUser> {
  const { email, token } = await registerAndReadToken(options.email ?? uniqueEmail(options.role ?? 'user'));
  const verified = await invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token } });
  if (verified.status !== 200) throw new Error(`verify answered ${verified.status}: ${verified.body}`);
  if (options.role) await query('update users set role = $2 where email = $1', [email, options.role]);
  const session = await invoke(login, { method: 'POST', route: '/auth/login', json: { email, password: PASSWORD } });
  if (session.status !== 200) throw new Error(`login answered ${session.status}: ${session.body}`);
  return { id: verified.json.user.id, email, password: PASSWORD, ...session.json };
}
