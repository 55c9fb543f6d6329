import type { MigrationBuilder } from 'node-pg-migrate';

// The app's time limit per statement lives on its database role, not in a connection startup parameter,
// which transaction poolers (PgBouncer, RDS Proxy) refuse. Ordinary roles may set their own defaults.
// When the app connects as another role than the one that migrates, set it there too (README, Deploy).
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`alter role current_user set statement_timeout = '4s'`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`alter role current_user reset statement_timeout`);
}
