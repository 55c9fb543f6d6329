import type { RunningMailCatcher } from '../../scripts/stack/mail';
import type { RunningPostgres } from '../../scripts/stack/postgres';
import type { RunningS3 } from '../../scripts/stack/s3';
import type { RunningPgBouncer } from './pgbouncer';

interface TestStack {
  root: string;
  postgres?: RunningPostgres;
  s3: RunningS3;
  mail: RunningMailCatcher;
  pgbouncer?: RunningPgBouncer;
}

// globalSetup and globalTeardown run in the same process; this carries the running services between them.
const key = Symbol.for('portrait.testStack');
const store = globalThis as unknown as Record<symbol, TestStack | undefined>;

export const testStack = {
  set(stack: TestStack) {
    store[key] = stack;
  },
  get(): TestStack | undefined {
    return store[key];
  },
};
