import type { MigrationBuilder } from 'node-pg-migrate';

// Each login attempt is recorded before the throttle is checked, so parallel guesses count against each
// other; the id orders attempts and lets a successful or refused attempt remove its own row.
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('alter table login_failures add column id bigint generated always as identity primary key');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('alter table login_failures drop column id');
}
