import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServices } from '../../scripts/stack';
import { runMigrations } from '../../scripts/migrations';
import { testSettings } from './settings';
import { startPgBouncer } from './pgbouncer';
import { testStack } from './stack-handle';

/**
 * Starts what the tests need on free ports (embedded Postgres unless TEST_DATABASE_URL is set,
 * s3rver, an SMTP catcher), migrates, and hands the settings to every worker through process.env.
 */
export default async function globalSetup() {
  const started = performance.now();
  const root = await mkdtemp(path.join(tmpdir(), 'portrait-test-'));
  // Under root, embedded Postgres runs as the postgres user, which must be able to reach its data dir.
  await chmod(root, 0o755);
  const { postgres, s3, mail } = await startServices(root, {
    postgres: process.env.TEST_DATABASE_URL ? false : { persistent: false },
    browserBuckets: ['portrait-test'],
  });
  const directUrl = process.env.TEST_DATABASE_URL ?? postgres!.url;
  await runMigrations(directUrl);
  // TEST_VIA_PGBOUNCER=1 (test/pgbouncer.test.ts sets it): the functions reach Postgres through a
  // transaction-mode PgBouncer, as behind RDS Proxy; migrations still take the direct connection.
  const pgbouncer = process.env.TEST_VIA_PGBOUNCER === '1' ? await startPgBouncer(directUrl) : undefined;
  testStack.set({ root, postgres, s3, mail, pgbouncer });
  const databaseUrl = pgbouncer?.url ?? directUrl;

  Object.assign(process.env, testSettings({ root, databaseUrl, s3, mail, bucket: 'portrait-test' }), {
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_DIRECT_URL: directUrl,
    // The run's own process, for watchdogs of what outlives a worker (test/support/offline.ts).
    PORTRAIT_JEST_PID: String(process.pid),
  });

  // Bucket and default avatar, as the picture functions set them up at cold start.
  const { ensureBucket } = await import('../../lib/platform/storage');
  const { config } = await import('../../lib/platform/config');
  const { defaultAvatarSource } = await import('../../lib/pictures/images');
  await ensureBucket(defaultAvatarSource(config().pictures.sizes));
  process.stderr.write(`\ntest stack ready in ${Math.round(performance.now() - started)} ms (${root})\n`);
}
