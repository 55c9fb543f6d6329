import path from 'node:path';
import { runner } from 'node-pg-migrate';

export const migrationsDir = path.resolve(import.meta.dirname, '..', 'migrations');

/**
 * Applies every pending migration in migrations/; safe to run on every start. Give it a direct
 * connection, never a transaction pooler: node-pg-migrate holds a session advisory lock, and the
 * startup options below (no time limit for DDL, whatever the role's default) are refused by poolers.
 */
export async function runMigrations(databaseUrl: string, log: (line: string) => void = () => {}) {
  return runner({
    databaseUrl: { connectionString: databaseUrl, options: '-c statement_timeout=0' },
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    singleTransaction: true,
    log,
    logger: { debug: () => {}, info: log, warn: log, error: log },
  });
}
