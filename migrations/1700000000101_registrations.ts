import type { MigrationBuilder } from 'node-pg-migrate';

// Every registration of an unconfirmed address is kept as its own claim: a verification token row with the
// password and profile fields that registration chose (mailed or not, the mail throttle permitting). The one
// who confirms the mailbox picks their own claim by its password; every other claim is voided.
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    alter table verification_tokens
      add column nickname text,
      add column first_name text,
      add column last_name text;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('alter table verification_tokens drop column nickname, drop column first_name, drop column last_name');
}
