import type { MigrationBuilder } from 'node-pg-migrate';

// Accounts, single-use verification tokens, rotating refresh tokens, the login throttle and the mail throttle.
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    create table users (
      id uuid primary key default gen_random_uuid(),
      email text not null,
      password_hash text not null,
      nickname text not null,
      first_name text,
      last_name text,
      bio text,
      role text not null default 'user',
      email_verified_at timestamptz,
      picture_id uuid,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint users_email_lower check (email = lower(email)),
      constraint users_role_known check (role in ('user', 'manager', 'admin'))
    );
    create unique index users_email_key on users (email);
    create unique index users_nickname_key on users (lower(nickname));

    create table verification_tokens (
      token_hash bytea primary key,
      user_id uuid not null references users (id) on delete cascade,
      expires_at timestamptz not null,
      used_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index verification_tokens_user_idx on verification_tokens (user_id);

    create table refresh_tokens (
      token_hash bytea primary key,
      user_id uuid not null references users (id) on delete cascade,
      family_id uuid not null,
      replaced_by bytea,
      revoked_at timestamptz,
      expires_at timestamptz not null,
      created_at timestamptz not null default now()
    );
    create index refresh_tokens_family_idx on refresh_tokens (family_id);
    create index refresh_tokens_user_idx on refresh_tokens (user_id);

    -- Failed logins per email address (known or not), counted over a sliding window.
    create table login_failures (
      email text not null,
      failed_at timestamptz not null default now()
    );
    create index login_failures_email_idx on login_failures (email, failed_at);

    -- Last mail sent per address: at most one mail a minute to one address.
    create table mail_throttle (
      email text primary key,
      last_sent_at timestamptz not null
    );
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('drop table mail_throttle, login_failures, refresh_tokens, verification_tokens, users');
}
