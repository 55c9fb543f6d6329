/**
 * Login throttle across containers (issue 8, item 5). Production runs many Lambda containers, each with its
 * own pool; the old "at most 5" test passed only because the suite's one 2-connection pool serialised the
 * guesses. Here every simulated container has its own pg.Pool (one connection each, already connected), so the
 * attempts really race in Postgres. End states are asserted, not timings.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { login, LOGIN_MAX_FAILURES } from '../lib/accounts/accounts';
import { config } from '../lib/platform/config';
import { databaseOn, query } from '../lib/platform/db';
import { HttpError } from '../lib/errors';
import { createVerifiedUser, PASSWORD } from './support/accounts';

const CONTAINERS = 10;
let pools: pg.Pool[] = [];

beforeAll(async () => {
  pools = Array.from({ length: CONTAINERS }, () => new pg.Pool({ connectionString: config().databaseUrl, max: 1 }));
  await Promise.all(pools.map((pool) => pool.query('select 1'))); // connected before the race starts
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
});

/** Each container tries one password at once; the outcome per container: 200, or the error's status. */
async function race(email: string, passwordOf: (index: number) => string): Promise<number[]> {
  const outcomes = await Promise.allSettled(pools.map((pool, index) => login(email, passwordOf(index), databaseOn(pool))));
  return outcomes.map((outcome) => {
    if (outcome.status === 'fulfilled') return 200;
    if (outcome.reason instanceof HttpError) return outcome.reason.status;
    throw outcome.reason;
  });
}

const failuresOf = async (email: string) =>
  (await query<{ failures: number }>('select count(*)::int as failures from login_failures where email = $1', [email])).rows[0]!.failures;

describe(`${CONTAINERS} containers, each with its own pool, guess one account's password at once`, () => {
  test(`at most ${LOGIN_MAX_FAILURES} passwords are checked (401), the rest are 429, and exactly the 401s are recorded`, async () => {
    const user = await createVerifiedUser();
    const statuses = await race(user.email, (index) => `wrong password ${index}`);
    const checked = statuses.filter((status) => status === 401).length;
    expect(checked).toBeLessThanOrEqual(LOGIN_MAX_FAILURES);
    expect(statuses.filter((status) => status === 429)).toHaveLength(CONTAINERS - checked);
    expect(await failuresOf(user.email)).toBe(checked);
  });

  test('after five failures the right password in one of ten racing containers is refused too', async () => {
    const user = await createVerifiedUser();
    for (let attempt = 0; attempt < LOGIN_MAX_FAILURES; attempt += 1) {
      await expect(login(user.email, `wrong ${attempt}`)).rejects.toMatchObject({ status: 401 });
    }
    const statuses = await race(user.email, (index) => (index === 3 ? PASSWORD : `wrong again ${index}`));
    expect(statuses).toEqual(Array(CONTAINERS).fill(429));
    expect(await failuresOf(user.email)).toBe(LOGIN_MAX_FAILURES);
  });

  test('an unknown email is throttled the same way', async () => {
    const email = `nobody-${Date.now()}@example.test`;
    const statuses = await race(email, (index) => `guess ${index}`);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(LOGIN_MAX_FAILURES);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
  });
});
