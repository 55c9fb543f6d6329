// A statement is sent again after a dropped connection only when that cannot do its work twice: a connect that
// failed (nothing was sent) or a read. Real Postgres behind a TCP proxy that drops the connection after the
// statement went through, so the server ran it and the client cannot know.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseOn, type Database } from '../lib/platform/db';
import { HttpError } from '../lib/errors';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

const table = `retry_probe_${randomBytes(4).toString('hex')}`;
let proxy: TcpProxy;
let proxiedPool: pg.Pool;
let proxied: Database;
let direct: pg.Client;

beforeAll(async () => {
  const url = new URL(process.env.DATABASE_URL!);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  proxiedPool = new pg.Pool({ connectionString: url.toString(), max: 2, allowExitOnIdle: true });
  proxiedPool.on('error', () => undefined);
  proxied = databaseOn(proxiedPool);
  direct = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await direct.connect();
  await direct.query(`create table ${table} (id serial primary key, label text not null)`);
});

afterAll(async () => {
  await direct.query(`drop table if exists ${table}`);
  await direct.end();
  await proxiedPool.end();
  await proxy.close();
});

const rowsLabelled = async (label: string) =>
  Number((await direct.query<{ n: string }>(`select count(*) as n from ${table} where label = $1`, [label])).rows[0]!.n);

test('an INSERT whose connection drops after it was sent is not sent again: one row, and the caller gets a 503', async () => {
  const label = `insert-${randomBytes(4).toString('hex')}`;
  proxy.dropAfterForwarding(label);

  const outcome = await proxied.query(`insert into ${table} (label) values ('${label}')`).then(
    () => 'committed',
    (error: unknown) => error,
  );

  expect(outcome).toBeInstanceOf(HttpError);
  expect(outcome).toMatchObject({ status: 503, code: 'service_unavailable' });
  expect(proxy.timesSeen(label)).toBe(1);
  expect(await rowsLabelled(label)).toBe(1);
});

test('a read whose connection drops after it was sent is sent again on a fresh connection and answers', async () => {
  const label = `read-${randomBytes(4).toString('hex')}`;
  await direct.query(`insert into ${table} (label) values ($1)`, [label]);
  proxy.dropAfterForwarding(label);

  const { rows } = await proxied.read<{ n: string }>(`select count(*) as n from ${table} where label = '${label}'`);

  expect(rows[0]!.n).toBe('1');
  expect(proxy.timesSeen(label)).toBe(2);
});

test('a write whose connect fails is tried again, since nothing was sent: exactly one row', async () => {
  const label = `connect-${randomBytes(4).toString('hex')}`;
  // The pool's idle connections would be reused without a connect: start from none.
  await proxiedPool.end();
  proxiedPool = new pg.Pool({ connectionString: `postgres://${new URL(process.env.DATABASE_URL!).username}:${new URL(process.env.DATABASE_URL!).password}@127.0.0.1:${proxy.port}${new URL(process.env.DATABASE_URL!).pathname}`, max: 2, allowExitOnIdle: true });
  proxiedPool.on('error', () => undefined);
  proxied = databaseOn(proxiedPool);
  proxy.resetNextConnections(1);

  await proxied.query(`insert into ${table} (label) values ('${label}')`);

  expect(await rowsLabelled(label)).toBe(1);
  expect(proxy.timesSeen(label)).toBe(1);
});

test('a transaction whose connection drops at BEGIN is begun again on a fresh connection and commits once', async () => {
  const label = `tx-${randomBytes(4).toString('hex')}`;
  proxy.dropAfterForwarding('set local statement_timeout');

  await proxied.transaction((client) => client.query(`insert into ${table} (label) values ($1)`, [label]));

  expect(await rowsLabelled(label)).toBe(1);
});
