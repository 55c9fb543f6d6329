import type { MigrationBuilder } from 'node-pg-migrate';

// Sessions as rows (a session is one login: its refresh-token family), immediate revocation,
// password reset and email change tokens, and object prefixes whose deletion failed.
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    create table sessions (
      id uuid primary key,
      user_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now(),
      last_used_at timestamptz not null default now(),
      expires_at timestamptz not null,
      user_agent text,
      ip text,
      revoked_at timestamptz
    );
    create index sessions_user_idx on sessions (user_id, created_at desc);

    -- Every refresh-token family that exists becomes a session, so nobody is logged out by the upgrade.
    insert into sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at)
      select family_id, user_id, min(created_at), max(created_at), max(expires_at),
             case when bool_and(revoked_at is not null) then min(revoked_at) end
      from refresh_tokens group by family_id, user_id;
    alter table refresh_tokens
      add constraint refresh_tokens_session_fkey foreign key (family_id) references sessions (id) on delete cascade,
      add column rotated_at timestamptz;

    alter table users
      add column password_changed_at timestamptz,
      add column if not exists disabled_at timestamptz;

    create table password_reset_tokens (
      token_hash bytea primary key,
      user_id uuid not null references users (id) on delete cascade,
      expires_at timestamptz not null,
      used_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index password_reset_tokens_user_idx on password_reset_tokens (user_id);

    create table email_change_tokens (
      token_hash bytea primary key,
      user_id uuid not null references users (id) on delete cascade,
      new_email text not null,
      session_id uuid,
      expires_at timestamptz not null,
      used_at timestamptz,
      created_at timestamptz not null default now(),
      constraint email_change_tokens_email_lower check (new_email = lower(new_email))
    );
    create index email_change_tokens_user_idx on email_change_tokens (user_id);

    -- Object prefixes of deleted accounts that storage could not delete at once; retried later.
    create table storage_leftovers (
      prefix text primary key,
      created_at timestamptz not null default now(),
      attempts int not null default 0,
      last_error text
    );
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    drop table storage_leftovers, email_change_tokens, password_reset_tokens;
    alter table users drop column if exists disabled_at, drop column password_changed_at;
    alter table refresh_tokens drop constraint refresh_tokens_session_fkey, drop column rotated_at;
    drop table sessions;
  `);
}
