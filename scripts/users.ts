// npm run users -- role EMAIL ROLE | disable EMAIL | enable EMAIL | list [QUERY]
//
// Account administration for the operator, straight against DATABASE_URL (or the embedded Postgres
// of a running `npm run dev`). Uses the same code as the admin routes: the last active admin stays,
// disabling revokes every session, and each change is in the audit log (actor null, request id "cli").
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const usage = `usage: npm run users -- <command>
  role EMAIL user|manager|admin   give the account a role
  disable EMAIL                   disable the account (login answers 403 account_disabled; sessions revoked)
  enable EMAIL                    enable it again
  list [QUERY]                    the 100 newest accounts (QUERY: a prefix of email, nickname or name)`;

function settings() {
  if (!process.env.DATABASE_URL && existsSync(path.join(root, '.env'))) process.loadEnvFile(path.join(root, '.env'));
  const devUrlFile = path.join(root, '.data', 'database-url');
  if (!process.env.DATABASE_URL && existsSync(devUrlFile)) process.env.DATABASE_URL = readFileSync(devUrlFile, 'utf8').trim();
  if (!process.env.DATABASE_URL) {
    console.error('DATABASE_URL is not set and no `npm run dev` database was found (.data/database-url). Set DATABASE_URL or start npm run dev.');
    process.exit(2);
  }
  // This tool only talks to the database; the other required settings just have to pass validation.
  process.env.S3_BUCKET ||= 'portrait-cli';
  process.env.JWT_SECRET ||= randomBytes(32).toString('base64url');
  process.env.SMTP_URL ||= 'smtp://127.0.0.1:1025';
  process.env.PUBLIC_BASE_URL ||= 'http://localhost:3000';
}

const roles = ['user', 'manager', 'admin'] as const;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!command || command === 'help' || command === '--help') {
    console.log(usage);
    return command ? 0 : 2;
  }
  settings();
  const { changeAccountByEmail, userListQuery } = await import('../lib/admin/admin');
  const { HttpError } = await import('../lib/errors');
  const { query, pool } = await import('../lib/platform/db');
  try {
    switch (command) {
      case 'role': {
        const [email, role] = rest;
        if (!email || !roles.includes(role as (typeof roles)[number])) {
          console.error(`usage: npm run users -- role EMAIL ${roles.join('|')}`);
          return 2;
        }
        const { before, applied } = await changeAccountByEmail(email, { role: role as (typeof roles)[number] });
        console.log(applied.role ? `${before.email} is now ${role} (was ${before.role}).` : `${before.email} is already ${role}.`);
        if (!before.email_verified_at) console.log('Note: this account has not confirmed its email yet, so it cannot log in.');
        return 0;
      }
      case 'disable':
      case 'enable': {
        const [email] = rest;
        if (!email) {
          console.error(`usage: npm run users -- ${command} EMAIL`);
          return 2;
        }
        const disabled = command === 'disable';
        const { before, applied } = await changeAccountByEmail(email, { disabled });
        console.log(
          applied.disabled
            ? `${before.email} is ${disabled ? 'disabled; its sessions are revoked' : 'enabled again'}.`
            : `${before.email} is already ${disabled ? 'disabled' : 'enabled'}.`,
        );
        return 0;
      }
      case 'list': {
        const { text, values } = userListQuery({ q: rest.join(' ').trim().toLowerCase() || undefined, limit: 100 });
        const { rows } = await query<{ email: string; role: string; nickname: string; email_verified_at: Date | null; disabled_at: Date | null; created_at: Date }>(text, values);
        const lines = rows.slice(0, 100).map((row) =>
          [row.email, row.role, row.nickname, row.email_verified_at ? 'verified' : 'unverified', row.disabled_at ? 'disabled' : 'active', row.created_at.toISOString()],
        );
        const header = ['email', 'role', 'nickname', 'email', 'state', 'created'];
        const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
        for (const line of [header, ...lines]) console.log(line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
        console.log(`${rows.length > 100 ? 'the 100 newest' : rows.length} account(s)`);
        return 0;
      }
      default:
        console.error(`unknown command "${command}"\n${usage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof HttpError && error.status < 500) {
      console.error(error.code === 'last_admin' ? `Refused: ${error.message}` : error.message);
      return 1;
    }
    console.error(`Failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await pool.end();
  }
}

process.exitCode = await main(process.argv.slice(2).filter((arg) => arg !== '--'));
