import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { readMails, startMailCatcher, type RunningMailCatcher } from '../scripts/stack/mail';
import { startPostgres } from '../scripts/stack/postgres';
import { startS3, type RunningS3 } from '../scripts/stack/s3';
import { isRunning } from '../scripts/processes';

// initdb plus a fsync'ed shutdown can take seconds on a slow disk, and tens of seconds on a 2-core machine
// running the whole suite (load ~15 there made the 20 s limit fail the restart test, and the next test
// then found that cluster still up).
jest.setTimeout(60_000);

const repoRoot = path.resolve(import.meta.dirname, '..');
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'portrait-stack-'));
  // Under root, Postgres runs as the postgres user and must traverse this dir.
  await chmod(scratch, 0o755);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

async function queryOne(url: string, sql: string): Promise<Record<string, unknown> | undefined> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

describe('startPostgres', () => {
  test('answers queries on the returned url, then stop leaves no postgres process and no data dir', async () => {
    const dataDir = path.join(scratch, 'pg-throwaway');
    const db = await startPostgres({ dataDir, persistent: false });
    const client = new pg.Client(db.url);
    await client.connect();
    const row = (await client.query('select 1 as one, current_database() as name')).rows[0];
    const postgresPids = [db.pid, ...childPids(db.pid)];
    await client.end();

    await db.stop();

    expect(row).toEqual({ one: 1, name: 'portrait' });
    expect(postgresPids.length).toBeGreaterThan(1);
    expect(postgresPids.filter(isRunning)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });

  test('a persistent cluster keeps its rows across a restart', async () => {
    const dataDir = path.join(scratch, 'pg-persistent');
    const first = await startPostgres({ dataDir, persistent: true });
    await queryOne(first.url, "create table kept as select 'still here' as note");
    await first.stop();

    const second = await startPostgres({ dataDir, persistent: true });
    try {
      expect(await queryOne(second.url, 'select note from kept')).toEqual({ note: 'still here' });
    } finally {
      await second.stop();
    }
  });

  test('a postmaster.pid left by a killed run does not block the next start', async () => {
    const dataDir = path.join(scratch, 'pg-persistent');
    const exited = spawn('true');
    await new Promise((resolve) => exited.on('exit', resolve));
    await writeFile(path.join(dataDir, 'postmaster.pid'), `${exited.pid}\n${dataDir}\n`);

    const db = await startPostgres({ dataDir, persistent: true });
    try {
      expect(await queryOne(db.url, 'select 1 as one')).toEqual({ one: 1 });
    } finally {
      await db.stop();
    }
  });

  test('postgres shuts down when the node process that started it is killed with SIGKILL', async () => {
    const dataDir = path.join(scratch, 'pg-orphan');
    const script = `
      import { startPostgres } from './scripts/stack/postgres.ts';
      const db = await startPostgres({ dataDir: ${JSON.stringify(dataDir)}, persistent: false });
      console.log('postmaster ' + db.pid);`;
    const starter = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const postmasterPid = await new Promise<number>((resolve, reject) => {
      starter.stdout.on('data', (chunk: Buffer) => {
        const match = /postmaster (\d+)/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
      starter.on('exit', (code) => reject(new Error(`starter exited with ${code}`)));
    });
    try {
      expect(isRunning(postmasterPid)).toBe(true);

      starter.kill('SIGKILL');

      expect(await waitUntil(() => !isRunning(postmasterPid), 5000)).toBe(true);
    } finally {
      if (isRunning(postmasterPid)) process.kill(postmasterPid, 'SIGQUIT');
    }
  });
});

describe('startS3', () => {
  const bucket = 'pictures';
  let s3: RunningS3;
  let client: S3Client;
  const clientOptions = () => ({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  });

  beforeAll(async () => {
    s3 = await startS3({ dir: path.join(scratch, 's3') });
    client = new S3Client(clientOptions());
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  test('an object put through the SDK comes back with its bytes and content type', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/original', Body: 'png bytes', ContentType: 'image/png' }));

    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/original' }));

    expect(await object.Body?.transformToString()).toBe('png bytes');
    expect(object.ContentType).toBe('image/png');
  });

  test('a presigned GET url serves the object to plain fetch', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/presigned', Body: 'public bytes' }));
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: 'a/presigned' }), { expiresIn: 60 });

    const response = await fetch(url);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('public bytes');
  });

  // A replaced picture's 3 variants share a prefix; s3rver's own clean-up of empty directories made such
  // deletions answer 500 and the SDK retry them (scripts/stack/s3.ts, tolerateCleanupRace).
  test('objects under one prefix deleted at once go in one attempt each, and leave no empty directory', async () => {
    const once = new S3Client({ ...clientOptions(), maxAttempts: 1 });
    const keys = (prefix: string) => [0, 1, 2].map((n) => `${prefix}/${n}.webp`);
    const putAll = (prefix: string) => Promise.all(keys(prefix).map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'webp' }))));
    // Where s3rver keeps a prefix on disk: present while it holds objects, so its absence below means something.
    const directoryOf = (prefix: string) => path.join(scratch, 's3', bucket, prefix);
    try {
      for (let round = 0; round < 5; round += 1) {
        await putAll(`many/${round}`);
        expect(existsSync(directoryOf(`many/${round}`))).toBe(true);
        const batch = await once.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys(`many/${round}`).map((Key) => ({ Key })), Quiet: true } }),
        );
        expect(batch.Errors ?? []).toEqual([]);
        await putAll(`single/${round}`);
        await Promise.all(keys(`single/${round}`).map((Key) => once.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
      }
      for (const prefix of ['many', 'single']) {
        for (let round = 0; round < 5; round += 1) {
          for (const Key of keys(`${prefix}/${round}`)) {
            await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key }))).rejects.toMatchObject({ name: 'NotFound' });
          }
        }
        expect(existsSync(directoryOf(prefix))).toBe(false);
      }
    } finally {
      once.destroy();
    }
  });

  test('HeadObject of a missing key fails with NotFound', async () => {
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'missing' }))).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
  });
});

describe('startMailCatcher', () => {
  const mailDir = () => path.join(scratch, 'mail');
  let catcher: RunningMailCatcher;

  beforeAll(async () => {
    catcher = await startMailCatcher({ dir: mailDir() });
  });

  afterAll(async () => {
    await catcher.stop();
  });

  const sendVerification = (to: string) =>
    nodemailer.createTransport(catcher.url).sendMail({
      from: 'Portrait <no-reply@portrait.test>',
      to,
      subject: 'Verify your email',
      text: `Open https://portrait.test/verify?token=${to}-token to confirm.`,
      html: `<p><a href="https://portrait.test/verify?token=${to}-token">Confirm</a></p>`,
    });

  test('a mail sent with nodemailer is saved as .eml and readMails parses it from disk with its link', async () => {
    const since = Date.now();

    await sendVerification('alice@example.com');
    const [mail] = (await readMails(mailDir())).filter((m) => m.receivedAt >= since && m.to.includes('alice@example.com'));

    expect(mail).toMatchObject({
      from: 'no-reply@portrait.test',
      subject: 'Verify your email',
      links: ['https://portrait.test/verify?token=alice@example.com-token'],
    });
    expect(mail?.html).toContain('<a href=');
    expect(mail?.file.endsWith('.eml') && existsSync(mail.file)).toBe(true);
  });

  test('waitForMail resolves with the mail once it arrives', async () => {
    const since = Date.now();
    const arrival = catcher.waitForMail('Bob@Example.com', { since, timeoutMs: 3000 });

    await sendVerification('bob@example.com');

    expect((await arrival).links).toEqual(['https://portrait.test/verify?token=bob@example.com-token']);
  });

  test('while refusing, sendMail rejects with the refusal code and nothing is saved', async () => {
    const before = (await readMails(mailDir())).length;
    catcher.setRefusing(true, 451);
    try {
      await expect(sendVerification('carol@example.com')).rejects.toMatchObject({ responseCode: 451 });
    } finally {
      catcher.setRefusing(false);
    }
    expect((await readMails(mailDir())).length).toBe(before);
  });
});
