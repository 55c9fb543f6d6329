import type { AccountDeps } from './accounts';
import { smtpMailer } from './mail';
import { s3Store } from './storage';

/** The real adapters, wired once per container. Tests call lib functions with their own when needed. */
export const services: AccountDeps = { mailer: smtpMailer, objects: s3Store };
