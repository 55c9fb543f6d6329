import type { MigrationBuilder } from 'node-pg-migrate';

// Administration: disabled accounts, last login, profile links, the audit log, and the indexes the
// admin user list needs at a million users (keyset order and case-insensitive prefix search).
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    alter table users
      add column if not exists disabled_at timestamptz,
      add column last_login_at timestamptz,
      add column github_url text,
      add column linkedin_url text,
      add column website_url text;

    -- The list is newest first and pages by (created_at, id): one index walk per page at any depth.
    create index users_created_idx on users (created_at desc, id desc);

    -- q is a case-insensitive prefix of the email, the nickname, the first or last name, or "first last".
    -- text_pattern_ops makes LIKE 'prefix%' an index range scan whatever the database collation;
    -- the planner ORs these five ranges (BitmapOr) and sorts only the matches.
    create index users_email_prefix_idx on users (email text_pattern_ops);
    create index users_nickname_prefix_idx on users (lower(nickname) text_pattern_ops);
    create index users_first_name_prefix_idx on users (lower(first_name) text_pattern_ops);
    create index users_last_name_prefix_idx on users (lower(last_name) text_pattern_ops);
    create index users_full_name_prefix_idx on users (lower(first_name || ' ' || last_name) text_pattern_ops);

    -- Every write of the admin routes, recorded in the transaction of the change. No foreign keys:
    -- entries outlive the accounts they name.
    create table admin_audit (
      id bigint generated always as identity primary key,
      at timestamptz not null default now(),
      actor_id uuid,
      action text not null,
      target_id uuid,
      changes jsonb not null default '{}',
      request_id text
    );
    create index admin_audit_actor_idx on admin_audit (actor_id, id desc);
    create index admin_audit_target_idx on admin_audit (target_id, id desc);
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    drop table admin_audit;
    drop index users_created_idx, users_email_prefix_idx, users_nickname_prefix_idx, users_first_name_prefix_idx,
      users_last_name_prefix_idx, users_full_name_prefix_idx;
    alter table users drop column disabled_at, drop column last_login_at, drop column github_url,
      drop column linkedin_url, drop column website_url;
  `);
}
