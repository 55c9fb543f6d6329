import { beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { query } from '../lib/platform/db';
import { runJanitor } from '../lib/ops/janitor';
import { s3Store, type ObjectStore } from '../lib/platform/storage';
import { createVerifiedUser, uniqueEmail, type TestUser } from './support/accounts';

// Other test files share the bucket and may have uploads in flight: the janitor under test sees only the
// objects of this file's users, through the same narrow interface the functions use.
const scopedStore = (userIds: string[]): ObjectStore => ({
  ...s3Store,
  list: async (prefix) => (await s3Store.list(prefix)).filter((object) => userIds.some((id) => object.key.includes(`/${id}/`))),
});

const tokenHash = () => createHash('sha256').update(randomBytes(32)).digest();
const exists = async (sql: string, values: unknown[]) => (await query(sql, values)).rowCount === 1;
const keysUnder = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key).sort();
const webp = Buffer.from('RIFF0000WEBP');

interface Seeded {
  live: TestUser;
  gone: { id: string };
  unconfirmedFresh: { id: string };
  tokens: Record<'used' | 'expired' | 'valid' | 'refreshExpired' | 'refreshRevokedValid', Buffer>;
  livePictureId: string;
  keys: Record<'oldIncoming' | 'freshIncoming' | 'orphanOfGone' | 'stalePictureOfLive' | 'livePicture' | 'freshOrphan', string>;
}

async function insertUnconfirmed(createdAgo: string, tokenExpiresIn: string) {
  const { rows } = await query<{ id: string }>(
    `insert into users (email, password_hash, nickname, created_at) values ($1, 'x', $2, now() - $3::interval) returning id`,
    [uniqueEmail('janitor'), `janitor_${randomUUID().slice(0, 8)}`, createdAgo],
  );
  await query(`insert into verification_tokens (token_hash, user_id, expires_at) values ($1, $2, now() + $3::interval)`, [tokenHash(), rows[0]!.id, tokenExpiresIn]);
  return rows[0]!;
}

async function seed(): Promise<Seeded> {
  const live = await createVerifiedUser();
  const gone = { id: randomUUID() }; // objects of an account that no longer exists
  const expiredUnconfirmed = await insertUnconfirmed('3 days', '-2 days');
  const unconfirmedFresh = await insertUnconfirmed('1 minute', '1 day');
  const tokens = {
    used: tokenHash(),
    expired: tokenHash(),
    valid: tokenHash(),
    refreshExpired: tokenHash(),
    refreshRevokedValid: tokenHash(),
  };
  await query(`insert into verification_tokens (token_hash, user_id, expires_at, used_at) values ($1, $4, now() + interval '1 day', now()),
    ($2, $4, now() - interval '1 second', null), ($3, $4, now() + interval '1 day', null)`, [tokens.used, tokens.expired, tokens.valid, live.id]);
  // Each refresh token belongs to a session row (its family).
  const [expiredSession, revokedSession] = [randomUUID(), randomUUID()];
  await query(`insert into sessions (id, user_id, expires_at) values ($1, $3, now() - interval '1 second'), ($2, $3, now() + interval '1 day')`,
    [expiredSession, revokedSession, live.id]);
  await query(`insert into refresh_tokens (token_hash, user_id, family_id, expires_at, revoked_at) values
    ($1, $3, $4, now() - interval '1 second', null), ($2, $3, $5, now() + interval '1 day', now())`,
    [tokens.refreshExpired, tokens.refreshRevokedValid, live.id, expiredSession, revokedSession]);
  await query(`insert into login_failures (email, failed_at) values ($1, now() - interval '1 hour'), ($2, now())`, [`old-${live.email}`, `new-${live.email}`]);
  await query(`insert into mail_throttle (email, last_sent_at) values ($1, now() - interval '2 hours'), ($2, now())`, [`old-${live.email}`, `new-${live.email}`]);

  const livePictureId = randomUUID();
  const keys = {
    oldIncoming: `incoming/${live.id}/${randomUUID()}`,
    orphanOfGone: `pictures/${gone.id}/${randomUUID()}/200.webp`,
    stalePictureOfLive: `pictures/${live.id}/${randomUUID()}/200.webp`,
    livePicture: `pictures/${live.id}/${livePictureId}/200.webp`,
    freshIncoming: `incoming/${live.id}/${randomUUID()}`,
    freshOrphan: `pictures/${live.id}/${randomUUID()}/200.webp`,
  };
  for (const key of [keys.oldIncoming, keys.orphanOfGone, keys.stalePictureOfLive, keys.livePicture]) await s3Store.put(key, webp, 'image/webp');
  await query('update users set picture_id = $2 where id = $1', [live.id, livePictureId]);
  // The janitor's age margins are shortened to 2 s below: these two were written just now, so they count as in flight.
  await sleep(3000);
  await s3Store.put(keys.freshIncoming, webp, 'image/webp');
  await s3Store.put(keys.freshOrphan, webp, 'image/webp');
  return { live, gone: { id: gone.id }, unconfirmedFresh, tokens, livePictureId, keys, expiredUnconfirmedId: expiredUnconfirmed.id } as Seeded & { expiredUnconfirmedId: string };
}

describe('janitor', () => {
  let seeded: Seeded & { expiredUnconfirmedId: string };
  let counts: Array<Record<string, number>>;

  beforeAll(async () => {
    seeded = (await seed()) as Seeded & { expiredUnconfirmedId: string };
    const objects = scopedStore([seeded.live.id, seeded.gone.id]);
    const options = { objects, batchSize: 2, maxBatches: 50, incomingMaxAgeSeconds: 2, orphanMinAgeSeconds: 2 };
    // Two at once, as two overlapping scheduled runs would be: neither fails nor waits on the other's rows.
    counts = await Promise.all([runJanitor(options), runJanitor(options)]);
  });

  test('two runs at once both finish and report a count per kind', () => {
    for (const run of counts) {
      expect(Object.keys(run).sort()).toEqual(
        [
          'login failures outside the window',
          'mail throttle rows',
          'sessions ended',
          'password reset tokens used or expired',
          'email change tokens used or expired',
          'objects of deleted accounts',
          'picture objects no user points to',
          'raw uploads older than a day',
          'refresh tokens expired',
          'unconfirmed accounts expired',
          'verification tokens used or expired',
        ].sort(),
      );
    }
  });

  test('used and expired verification tokens are gone, a valid one stays', async () => {
    const { used, expired, valid } = seeded.tokens;
    expect(await exists('select 1 from verification_tokens where token_hash = $1', [used])).toBe(false);
    expect(await exists('select 1 from verification_tokens where token_hash = $1', [expired])).toBe(false);
    expect(await exists('select 1 from verification_tokens where token_hash = $1', [valid])).toBe(true);
  });

  test('expired refresh tokens are gone; a revoked one stays until it expires, so its reuse is still caught', async () => {
    expect(await exists('select 1 from refresh_tokens where token_hash = $1', [seeded.tokens.refreshExpired])).toBe(false);
    expect(await exists('select 1 from refresh_tokens where token_hash = $1', [seeded.tokens.refreshRevokedValid])).toBe(true);
  });

  test('login failures outside the window and old mail throttle rows are gone, recent ones stay', async () => {
    const email = seeded.live.email;
    expect(await exists('select 1 from login_failures where email = $1', [`old-${email}`])).toBe(false);
    expect(await exists('select 1 from login_failures where email = $1', [`new-${email}`])).toBe(true);
    expect(await exists('select 1 from mail_throttle where email = $1', [`old-${email}`])).toBe(false);
    expect(await exists('select 1 from mail_throttle where email = $1', [`new-${email}`])).toBe(true);
  });

  test('an expired unconfirmed account is gone; a fresh one and the confirmed one stay', async () => {
    expect(await exists('select 1 from users where id = $1', [seeded.expiredUnconfirmedId])).toBe(false);
    expect(await exists('select 1 from users where id = $1', [seeded.unconfirmedFresh.id])).toBe(true);
    expect(await exists('select 1 from users where id = $1 and picture_id = $2', [seeded.live.id, seeded.livePictureId])).toBe(true);
  });

  test('old raw uploads and pictures nobody points to are gone; the live picture and anything in flight stay', async () => {
    const { keys } = seeded;
    const left = [...(await keysUnder(`incoming/${seeded.live.id}/`)), ...(await keysUnder(`pictures/${seeded.live.id}/`)), ...(await keysUnder(`pictures/${seeded.gone.id}/`))];
    expect(left.sort()).toEqual([keys.freshIncoming, keys.livePicture, keys.freshOrphan].sort());
  });

  test('a run with nothing left to do removes nothing of this test', async () => {
    const again = await runJanitor({ objects: scopedStore([seeded.live.id, seeded.gone.id]), incomingMaxAgeSeconds: 3600, orphanMinAgeSeconds: 3600 });
    expect(again['raw uploads older than a day']).toBe(0);
    expect(again['picture objects no user points to']).toBe(0);
  });
});
