// The services `npm run bench` measures against, started like the Jest harness
// (test/support/global-setup.ts) does: embedded Postgres, s3rver and an SMTP
// catcher on free ports, in a temporary directory deleted at stop.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { hashPassword } from '../lib/accounts/passwords';
import { runMigrations } from './migrations';
import { startServices } from './stack';

export interface BenchStack {
  /** The settings the handlers read, as process.env entries. */
  env: Record<string, string>;
  databaseUrl: string;
  stop(): Promise<void>;
}

export async function startBenchStack(log: (line: string) => void): Promise<BenchStack> {
  const root = await mkdtemp(path.join(tmpdir(), 'portrait-bench-'));
  // Under root, embedded Postgres runs as the postgres user, which must be able to reach its data dir.
  await chmod(root, 0o755);
  const services = await startServices(root).catch(async (error: unknown) => {
    await rm(root, { recursive: true, force: true });
    throw error;
  });
  const { postgres, s3, mail } = services;
  const stop = async () => {
    await services.stop();
    await rm(root, { recursive: true, force: true });
  };
  log(`postgres on ${postgres.port}, s3rver on ${s3.port}, smtp on ${mail.port}`);
  try {
    await runMigrations(postgres.url);
  } catch (error) {
    await stop();
    throw error;
  }
  const env = {
    DATABASE_URL: postgres.url,
    S3_ENDPOINT: s3.endpoint,
    S3_PUBLIC_ENDPOINT: s3.endpoint,
    S3_REGION: 'us-east-1',
    S3_BUCKET: 'portrait-bench',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    JWT_ISSUER: 'portrait-bench',
    JWT_AUDIENCE: 'portrait-bench-api',
    SMTP_URL: mail.url,
    MAIL_FROM: 'Portrait Bench <no-reply@portrait.test>',
    PUBLIC_BASE_URL: 'http://localhost:3000',
    LOG_LEVEL: 'silent',
  };
  return { env, databaseUrl: postgres.url, stop };
}

export interface BenchUser {
  id: string;
  email: string;
  password: string;
}

/** A verified account inserted straight into the database (registration is not what is measured). */
export async function createBenchUser(databaseUrl: string, label: string): Promise<BenchUser> {
  const email = `${label}-${randomBytes(4).toString('hex')}@bench.test`;
  const password = 'correct horse battery staple';
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `insert into users (email, password_hash, nickname, email_verified_at) values ($1, $2, $3, now()) returning id`,
      [email, await hashPassword(password), `bench_${randomBytes(4).toString('hex')}`],
    );
    return { id: rows[0]!.id, email, password };
  } finally {
    await client.end();
  }
}
