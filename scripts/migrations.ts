import path from 'node:path';
import { runner } from 'node-pg-migrate';

export const migrationsDir = path.resolve(import.meta.dirname, '..', 'migrations');

/** Applies every pending migration in migrations/; safe to run on every start. */
export async function runMigrations(databaseUrl: string, log: (line: string) => void = () => {}) {
  return runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    singleTransaction: true,
    log,
    logger: { debug: () => {}, info: log, warn: log, error: log },
  });
}
