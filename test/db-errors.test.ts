import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { config } from '../lib/platform/config';
import { HttpError } from '../lib/errors';
import { UniqueViolation, databaseOn, isUniqueViolation, type Database } from '../lib/platform/db';

// Two pools, as two containers: the deadlock needs two sessions that really run at once.
let pools: pg.Pool[];
let containers: Database[];
const table = `db_errors_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  pools = [0, 1].map(() => new pg.Pool({ connectionString: config().databaseUrl, max: 1 }));
  containers = pools.map((pool) => databaseOn(pool));
  await containers[0]!.query(`create table ${table} (id int primary key, name text constraint ${table}_name_key unique)`);
  await containers[0]!.query(`insert into ${table} values (1, 'one'), (2, 'two')`);
});

afterAll(async () => {
  await containers[0]!.query(`drop table if exists ${table}`);
  await Promise.all(pools.map((pool) => pool.end()));
});

describe('the database adapter translates Postgres errors', () => {
  test('a unique violation of a single statement is a UniqueViolation naming its constraint', async () => {
    const refused = await containers[0]!.query(`insert into ${table} values (3, 'one')`).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UniqueViolation);
    expect(isUniqueViolation(refused, `${table}_name_key`)).toBe(true);
    expect(isUniqueViolation(refused, 'another_constraint')).toBe(false);
  });

  test('inside a transaction too, so work can roll back to a savepoint and go on', async () => {
    const outcome = await containers[0]!.transaction(async (db) => {
      await db.query('savepoint attempt');
      const refused = await db.query(`insert into ${table} values (4, 'two')`).catch((error: unknown) => error);
      await db.query('rollback to savepoint attempt');
      await db.query(`insert into ${table} values (4, 'four')`);
      return refused;
    });
    expect(outcome).toBeInstanceOf(UniqueViolation);
    expect((await containers[1]!.query(`select name from ${table} where id = 4`)).rows).toEqual([{ name: 'four' }]);
  });

  test('a deadlock between two containers is a 503 the client may retry, and one side commits', async () => {
    const [first, second] = containers as [Database, Database];
    let bothLocked!: () => void;
    const locked = new Promise<void>((resolve) => (bothLocked = resolve));
    let lockedCount = 0;
    const lockInOrder = (db: Database, ids: [number, number], name: string) =>
      db.transaction(async (client) => {
        await client.query(`update ${table} set name = $2 where id = $1`, [ids[0], `${name}-${ids[0]}`]);
        if (++lockedCount === 2) bothLocked();
        await locked;
        await client.query(`update ${table} set name = $2 where id = $1`, [ids[1], `${name}-${ids[1]}`]);
      });
    const outcomes = await Promise.allSettled([lockInOrder(first, [1, 2], 'a'), lockInOrder(second, [2, 1], 'b')]);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(HttpError);
    expect(refused[0]).toMatchObject({ status: 503, code: 'service_unavailable' });
    const { rows } = await first.query<{ name: string }>(`select name from ${table} where id in (1, 2) order by id`);
    const winner = rows[0]!.name.slice(0, 1);
    expect(rows.map((row) => row.name)).toEqual([`${winner}-1`, `${winner}-2`]);
  });
});
