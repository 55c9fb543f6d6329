import type { MigrationBuilder } from 'node-pg-migrate';

// A verification token carries the password hash of the registration it was mailed for, so confirming
// the mail sets that password: someone who registered the address first cannot keep an account whose
// owner registered (and confirmed) after them. Also: failed logins are pruned by time, which needs an index.
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    alter table verification_tokens add column password_hash text;
    create index login_failures_failed_at_idx on login_failures (failed_at);
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    drop index login_failures_failed_at_idx;
    alter table verification_tokens drop column password_hash;
  `);
}
