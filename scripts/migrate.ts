// npm run migrate: applies pending migrations to DATABASE_DIRECT_URL, else DATABASE_URL (a deployed database too).
// Behind a transaction pooler DATABASE_URL names the pooler; migrations need the database itself.
import { runMigrations } from './migrations';

const databaseUrl = process.env.DATABASE_DIRECT_URL || process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_DIRECT_URL or DATABASE_URL is required: npm run migrate needs the database to migrate.');
  process.exit(1);
}
try {
  const applied = await runMigrations(databaseUrl, (line) => console.log(line));
  console.log(applied.length ? `Applied ${applied.length} migration(s).` : 'Database is up to date.');
} catch (error) {
  console.error(`Migration failed: ${(error as Error).message}`);
  process.exit(1);
}
