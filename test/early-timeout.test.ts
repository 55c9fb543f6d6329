// The early timeout's 503 means "nothing happened, try again": Middy's abort signal reaches the statements, the S3
// calls and the image steps, so work still running when the 503 goes out stops, commits nothing, and the retry the
// 503 asked for works. Real Postgres (a row or table lock held by another connection makes a statement wait) and a
// real S3 behind a TCP proxy that holds back its answers.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { lambdaContext } from '../scripts/support/events';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

// Lambda has 1.5 s left: the 503 goes out after 1 s (TIMEOUT_EARLY_MS = 500).
const SHORT_REMAINING_MS = 1500;
const shortContext = () => lambdaContext('portrait-test', SHORT_REMAINING_MS);

const APP_NAME = `portrait-early-timeout-${process.pid}`;

let proxy: TcpProxy;
/** For the test's own connections (holder, observer), which must not carry the app's name. */
let plainDatabaseUrl: string;
let direct: pg.Client;
let app: Awaited<ReturnType<typeof loadApp>>;

/** The app with its S3 calls through the proxy; loaded after S3_ENDPOINT points there (config is read on first use). */
async function loadApp() {
  const [upload, confirm, uploadUrl, storage, accounts, events, images, multipart] = await Promise.all([
    import('../functions/upload-picture'),
    import('../functions/confirm-picture'),
    import('../functions/upload-url'),
    import('../lib/platform/storage'),
    import('./support/accounts'),
    import('./support/events'),
    import('../scripts/support/images'),
    import('../scripts/support/multipart'),
  ]);
  return { upload: upload.handler, confirm: confirm.handler, uploadUrl: uploadUrl.handler, objects: storage.s3Store, accounts, invoke: events.invoke, images, multipart };
}

beforeAll(async () => {
  const s3 = new URL(process.env.S3_ENDPOINT!);
  proxy = await startTcpProxy({ host: s3.hostname, port: Number(s3.port) });
  // Browsers' presigned posts still go straight to S3 (S3_PUBLIC_ENDPOINT); the functions' calls go through the proxy.
  process.env.S3_PUBLIC_ENDPOINT = s3.toString().replace(/\/$/, '');
  process.env.S3_ENDPOINT = `http://127.0.0.1:${proxy.port}`;
  // This file's pool under a name of its own: the other jest worker's requests wait on the locks held here too, and
  // must not count as this file's statements (pg lets the URL's application_name win over the pool's 'portrait').
  plainDatabaseUrl = process.env.DATABASE_URL!;
  const database = new URL(plainDatabaseUrl);
  database.searchParams.set('application_name', APP_NAME);
  process.env.DATABASE_URL = database.toString();
  app = await loadApp();
  direct = new pg.Client({ connectionString: plainDatabaseUrl });
  await direct.connect();
});

afterAll(async () => {
  await direct.end();
  await proxy.close();
});

const pictureIdOf = async (userId: string) =>
  (await direct.query<{ picture_id: string | null }>('select picture_id from users where id = $1', [userId])).rows[0]!.picture_id;
const keysUnder = async (prefix: string) => (await app.objects.list(prefix)).map((object) => object.key).sort();

/** Polls until `check` holds (the aborted work has finished its clean-up), or gives up after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/** Another connection holding a lock, as another container's long transaction would. */
async function holdLock(sql: string, values: unknown[] = []): Promise<{ release(): Promise<void> }> {
  const holder = new pg.Client({ connectionString: plainDatabaseUrl });
  await holder.connect();
  await holder.query('begin');
  await holder.query(sql, values);
  return {
    async release() {
      await holder.query('rollback');
      await holder.end();
    },
  };
}

/** Backends of this file's app waiting for a lock on a statement that contains `fragment`. */
const waitingOn = async (fragment: string) =>
  Number(
    (
      await direct.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity
         where application_name = $2 and wait_event_type = 'Lock' and query like '%' || $1 || '%'`,
        [fragment, APP_NAME],
      )
    ).rows[0]!.n,
  );

describe('an upload whose commit waits on a lock past the early timeout', () => {
  test('answers 503, commits nothing once the lock is gone, leaves no new objects, and the retry succeeds', async () => {
    const user = await app.accounts.createVerifiedUser();
    const jpeg = await app.images.smallJpeg(64, 64);
    const upload = (context = lambdaContext()) =>
      app.invoke(app.upload, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...app.multipart.fileUpload(jpeg) }, context);
    expect((await upload()).status).toBe(200);
    const pictureBefore = await pictureIdOf(user.id);
    const keysBefore = await keysUnder(`pictures/${user.id}/`);

    const lock = await holdLock('select 1 from users where id = $1 for update', [user.id]);
    let answer;
    try {
      answer = await upload(shortContext());
    } finally {
      // Released before the checks: a statement that was not cancelled would now commit.
      await lock.release();
    }

    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('service_unavailable');
    // The aborted upload deletes what it stored; then nothing of it is left, in the database or the bucket.
    expect(await eventually(async () => (await keysUnder(`pictures/${user.id}/`)).join() === keysBefore.join())).toBe(true);
    await sleep(300);
    expect(await pictureIdOf(user.id)).toBe(pictureBefore);
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual(keysBefore);

    const retry = await upload();
    expect(retry.status).toBe(200);
    expect(await pictureIdOf(user.id)).not.toBe(pictureBefore);
  });
});

describe('a confirm whose S3 read answers after the early timeout', () => {
  const S3_DELAY_MS = 1500; // below the SDK's 2 s request timeout: without the signal the read would succeed late

  test('answers 503, keeps the raw upload, stores and commits nothing, and the retry of the same key succeeds', async () => {
    const user = await app.accounts.createVerifiedUser();
    const url = await app.invoke(app.uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: user.accessToken });
    expect(url.status).toBe(200);
    const form = new FormData();
    for (const [name, value] of Object.entries<string>(url.json.fields)) form.append(name, value);
    form.append('file', new Blob([await app.images.smallJpeg(64, 64)], { type: 'image/jpeg' }), 'picture');
    expect((await fetch(url.json.url, { method: 'POST', body: form })).status).toBeLessThan(300);
    const key: string = url.json.key;
    const confirm = (context = lambdaContext()) =>
      app.invoke(app.confirm, { method: 'POST', route: '/users/me/picture/confirm', bearer: user.accessToken, json: { key } }, context);

    proxy.delayAnswers(S3_DELAY_MS);
    let answer;
    try {
      answer = await confirm(shortContext());
    } finally {
      proxy.delayAnswers(0);
    }
    expect(answer.status).toBe(503);
    // Past the moment the held-back answer arrived: a confirm that went on would have committed by now.
    await sleep(S3_DELAY_MS + 1000);
    expect(await pictureIdOf(user.id)).toBeNull();
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual([]);
    expect(await app.objects.head(key)).toBeDefined();

    const retry = await confirm();
    expect(retry.status).toBe(200);
    expect(retry.json.picture.default).toBe(false);
    expect(await pictureIdOf(user.id)).not.toBeNull();
    expect(await app.objects.head(key)).toBeUndefined();
  });
});

describe('the early timeout covers the steps before the handler', () => {
  test('a session check waiting on a lock answers 503 in time, and its statement is cancelled while the lock is held', async () => {
    const user = await app.accounts.createVerifiedUser();
    const lock = await holdLock('lock table sessions in access exclusive mode');
    try {
      const answering = app.invoke(app.confirm, { method: 'POST', route: '/users/me/picture/confirm', bearer: user.accessToken, json: { key: 'x' } }, shortContext());
      // The observation below can see this file's statement (the name filter is sound): it waits on the lock.
      expect(await eventually(async () => (await waitingOn('from sessions s join users')) > 0, 1500)).toBe(true);
      const answer = await answering;

      // The early timeout's answer, not the database's statement timeout (4 s) or connect timeout.
      expect(answer.status).toBe(503);
      expect(answer.json.error.message).toMatch(/^The service is unavailable/);
      expect(await eventually(async () => (await waitingOn('from sessions s join users')) === 0, 2000)).toBe(true);
    } finally {
      await lock.release();
    }
  });
});
