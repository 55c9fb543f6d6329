import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../scripts/migrations';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database on the test server, for tests that need to know every row of a table
 * (e.g. "the last active admin"), which the shared database of parallel test files cannot promise.
 */
export async function scratchDatabase(label: string): Promise<ScratchDatabase> {
  const name = `portrait_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
