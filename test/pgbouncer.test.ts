import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPgBouncer, type RunningPgBouncer } from './support/pgbouncer';
import { realPartAvailable } from './support/real-parts';

const root = path.resolve(import.meta.dirname, '..');
/** The tests that hit the database hardest: races between containers and the whole account flow. */
const THROUGH_POOLER = ['concurrency', 'register', 'verify-email', 'login', 'sessions', 'profile', 'janitor'].map((name) => `test/${name}.test.ts`);

interface JestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: Array<{ name: string; status: string; message: string }>;
}

/** Runs test files in a child jest whose functions reach Postgres only through a transaction-mode PgBouncer. */
async function runJestThroughPgBouncer(files: string[]): Promise<{ report: JestReport; ms: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portrait-pgbouncer-run-'));
  const output = path.join(dir, 'report.json');
  const started = performance.now();
  try {
    // The child starts its own services; only the switch to the pooler is passed on.
    const env: NodeJS.ProcessEnv = { ...process.env, TEST_VIA_PGBOUNCER: '1' };
    for (const name of ['TEST_DATABASE_URL', 'DATABASE_URL', 'DATABASE_DIRECT_URL', 'JEST_WORKER_ID']) delete env[name];
    const child = spawn(process.execPath, ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js',
      '--runInBand', '--json', `--outputFile=${output}`, ...files], {
      cwd: root,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
    await new Promise((resolve) => child.once('exit', resolve));
    const report = JSON.parse(await readFile(output, 'utf8').catch(() => { throw new Error(`child jest wrote no report: ${stderr}`); })) as JestReport;
    return { report, ms: performance.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (realPartAvailable('pgbouncer')) {
  describe('Postgres behind PgBouncer in transaction mode', () => {
    let pooler: RunningPgBouncer;
    beforeAll(async () => {
      pooler = await startPgBouncer(process.env.DATABASE_DIRECT_URL ?? process.env.DATABASE_URL!);
    });
    afterAll(async () => {
      await pooler?.stop();
    });

    test('the pooler is stock: a statement_timeout startup parameter, as lib/platform/db.ts used to send, is refused', async () => {
      const client = new pg.Client({ connectionString: pooler.url, statement_timeout: 4000 });
      await expect(client.connect().then(() => client.query('select 1'))).rejects.toThrow(/unsupported startup parameter/);
      await client.end().catch(() => {});
    });

    test("the app's pool works through it, with the time limit set per transaction and by the role", async () => {
      process.env.DATABASE_URL = pooler.url;
      const { query, transaction, pool } = await import('../lib/platform/db');
      const single = await query<{ statement_timeout: string }>('show statement_timeout');
      expect(single.rows[0]!.statement_timeout).toBe('4s');
      const inTransaction = await transaction((client) => client.query<{ statement_timeout: string }>('show statement_timeout'));
      expect(inTransaction.rows[0]!.statement_timeout).toBe('4s');
      await pool.end();
    });

    test(`the account and concurrency tests pass with every query through it (${THROUGH_POOLER.length} files)`, async () => {
      const { report, ms } = await runJestThroughPgBouncer(THROUGH_POOLER);
      const failures = report.testResults.filter((result) => result.status !== 'passed').map((result) => `${path.basename(result.name)}: ${result.message.slice(0, 2000)}`);
      process.stderr.write(`\nthrough PgBouncer: ${report.numPassedTests}/${report.numTotalTests} tests passed, ${report.numPendingTests} skipped, in ${(ms / 1000).toFixed(1)} s\n`);
      expect(failures).toEqual([]);
      expect(report.numPendingTests).toBe(0);
      expect(report.numPassedTests).toBe(report.numTotalTests);
      expect(report.numTotalTests).toBeGreaterThan(30);
    }, 600_000);
  });
}
