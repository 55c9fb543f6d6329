/**
 * A private stack for fault tests: its own Postgres, s3rver and SMTP catcher, which a test may stop,
 * hang or restore without touching the services the other test files share.
 *
 * Nothing here imports lib/ or functions/ statically: lib/platform/config.ts reads process.env on first use, so
 * the app is loaded (loadApp) only after startFaultStack has pointed process.env at these services.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServices } from '../../scripts/stack';
import { startMailCatcher, waitForMailIn, type CaughtMail, type RunningMailCatcher } from '../../scripts/stack/mail';
import { startPostgres } from '../../scripts/stack/postgres';
import { startS3 } from '../../scripts/stack/s3';
import { runMigrations } from '../../scripts/migrations';
import { invoke, type InvokeResult } from './events';
import { smallJpeg } from '../../scripts/support/images';
import { fileUpload } from '../../scripts/support/multipart';
import { testSettings } from './settings';

export const PASSWORD = 'correct horse battery staple';

/** A service the test can take away and give back. */
export interface ServiceSwitch {
  /** Stops the service: connections to its port are refused. */
  stop(): Promise<void>;
  /** Stops the service and listens on its port without ever answering: connections hang, as behind a dead proxy. */
  hang(): Promise<void>;
  /** Starts it again on the same port with the same data (a no-op when it is up). */
  restore(): Promise<void>;
}

export interface FaultStack {
  root: string;
  mailDir: string;
  postgres: ServiceSwitch;
  s3: ServiceSwitch;
  smtp: ServiceSwitch & { setRefusing(on: boolean): void };
  /** Stops everything, deletes the data and puts process.env back as it was. */
  teardown(): Promise<void>;
}

/** Listens on `port` and accepts connections but never writes a byte. */
async function silentListener(port: number): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

/** Wraps start/stop of one service into stop / hang / restore on a fixed port. */
function serviceSwitch(port: number, start: () => Promise<{ stop(): Promise<void> }>, running: { stop(): Promise<void> }): ServiceSwitch {
  let current: { stop(): Promise<void> } | undefined = running;
  let closeListener: (() => Promise<void>) | undefined;
  const stop = async () => {
    await current?.stop();
    current = undefined;
  };
  return {
    stop,
    async hang() {
      await stop();
      closeListener ??= await silentListener(port);
    },
    async restore() {
      await closeListener?.();
      closeListener = undefined;
      current ??= await start();
    },
  };
}

const ENV_KEYS = [
  'DATABASE_URL', 'S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_REGION', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY',
  'JWT_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE', 'SMTP_URL', 'MAIL_FROM', 'PUBLIC_BASE_URL', 'TEST_MAIL_DIR', 'TEST_DATA_DIR',
] as const;

export async function startFaultStack(): Promise<FaultStack> {
  const root = await mkdtemp(path.join(tmpdir(), 'portrait-faults-'));
  // Under root, embedded Postgres runs as the postgres user, which must reach its data dir.
  await chmod(root, 0o755);
  // persistent: the cluster survives stop() so it can come back on the same port with the same data.
  const { dirs, postgres, s3, mail } = await startServices(root, { postgres: { persistent: true } });
  await runMigrations(postgres.url);

  const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
  Object.assign(process.env, testSettings({ root, databaseUrl: postgres.url, s3, mail, bucket: 'portrait-faults' }));

  let catcher: RunningMailCatcher = mail;
  let refusing = false;
  const pgSwitch = serviceSwitch(postgres.port, () => startPostgres({ dataDir: dirs.postgres, port: postgres.port, persistent: true }), postgres);
  const s3Switch = serviceSwitch(s3.port, () => startS3({ dir: dirs.s3, port: s3.port }), s3);
  const smtpSwitch = serviceSwitch(
    mail.port,
    async () => {
      catcher = await startMailCatcher({ dir: dirs.mail, port: mail.port });
      catcher.setRefusing(refusing);
      return catcher;
    },
    { stop: () => catcher.stop() },
  );

  return {
    root,
    mailDir: dirs.mail,
    postgres: pgSwitch,
    s3: s3Switch,
    smtp: {
      ...smtpSwitch,
      setRefusing(on) {
        refusing = on;
        catcher.setRefusing(on);
      },
    },
    async teardown() {
      await Promise.allSettled([pgSwitch.restore(), s3Switch.restore(), smtpSwitch.restore()]);
      await Promise.allSettled([pgSwitch.stop(), s3Switch.stop(), smtpSwitch.stop()]);
      for (const key of ENV_KEYS) {
        if (savedEnv[key] === undefined) delete process.env[key];
        else process.env[key] = savedEnv[key];
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The functions and the lib modules the fault tests need, loaded after startFaultStack set process.env. */
export async function loadApp() {
  const [
    register, verifyEmail, resendVerification, login, refresh, logout, getProfile, updateProfile,
    uploadPicture, deletePicture, pictureRedirect, uploadUrl, confirmPicture,
    db, storage, images, config, passwords, tokens,
  ] = await Promise.all([
    import('../../functions/register'),
    import('../../functions/verify-email'),
    import('../../functions/resend-verification'),
    import('../../functions/login'),
    import('../../functions/refresh'),
    import('../../functions/logout'),
    import('../../functions/get-profile'),
    import('../../functions/update-profile'),
    import('../../functions/upload-picture'),
    import('../../functions/delete-picture'),
    import('../../functions/picture-redirect'),
    import('../../functions/upload-url'),
    import('../../functions/confirm-picture'),
    import('../../lib/platform/db'),
    import('../../lib/platform/storage'),
    import('../../lib/pictures/images'),
    import('../../lib/platform/config'),
    import('../../lib/accounts/passwords'),
    import('../../lib/accounts/tokens'),
  ]);
  // Bucket and default avatar, as a warm container has them.
  await storage.ensureBucket(images.defaultAvatarSource(config.config().pictures.sizes));
  return {
    handlers: {
      register: register.handler,
      verifyEmail: verifyEmail.handler,
      resendVerification: resendVerification.handler,
      login: login.handler,
      refresh: refresh.handler,
      logout: logout.handler,
      getProfile: getProfile.handler,
      updateProfile: updateProfile.handler,
      uploadPicture: uploadPicture.handler,
      deletePicture: deletePicture.handler,
      pictureRedirect: pictureRedirect.handler,
      uploadUrl: uploadUrl.handler,
      confirmPicture: confirmPicture.handler,
    },
    db,
    objects: storage.s3Store,
    passwords,
    tokens,
  };
}

export type App = Awaited<ReturnType<typeof loadApp>>;

export const ROUTES = [
  'register',
  'verify-email GET',
  'verify-email POST',
  'resend-verification',
  'login',
  'refresh',
  'logout',
  'get-profile me',
  'get-profile {id}',
  'update-profile',
  'upload-picture',
  'delete-picture',
  'picture-redirect',
  'upload-url',
  'confirm-picture',
] as const;

export type RouteName = (typeof ROUTES)[number];

export const uniqueEmail = (label = 'fault') => `${label}-${randomUUID().slice(0, 8)}@example.test`;

export interface SeededUser {
  id: string;
  email: string;
  accessToken: string;
}

export interface PictureOwner extends SeededUser {
  /** The bucket keys of the user's current picture, sorted. */
  pictureKeys: string[];
}

export interface Fixtures {
  /** A verified user with a picture; the account most routes act on. */
  owner: PictureOwner;
  /** Another verified user with a picture: the one delete-picture acts on. */
  deleter: PictureOwner;
  /** The email register is called with (no account before the call). */
  registerEmail: string;
  /** An unverified account with no mail sent yet: the one resend-verification asks for. */
  resendEmail: string;
  /** An incoming/… key holding a posted JPEG, for confirm-picture. */
  rawUploadKey: string;
}

export type Call = () => Promise<InvokeResult>;

export const keysUnder = async (app: App, prefix: string) => (await app.objects.list(prefix)).map((object) => object.key).sort();

/**
 * Seeds, while every service is up, what each route needs, and returns one ready call per route.
 * Every call has its own tokens and accounts, so a call that succeeds during an outage consumes
 * nothing another test relies on.
 */
export async function prepareCalls(app: App): Promise<{ calls: Record<RouteName, Call>; fixtures: Fixtures }> {
  const { handlers, db, tokens } = app;
  const passwordHash = await app.passwords.hashPassword(PASSWORD, { N: 1024, r: 8, p: 3 });

  const seedUser = async (verified: boolean): Promise<SeededUser> => {
    const email = uniqueEmail();
    const { rows } = await db.query<{ id: string }>(
      `insert into users (email, password_hash, nickname, email_verified_at) values ($1, $2, $3, $4) returning id`,
      [email, passwordHash, `fault_${randomUUID().slice(0, 8)}`, verified ? new Date() : null],
    );
    const id = rows[0]!.id;
    const sessionId = randomUUID();
    await db.query(`insert into sessions (id, user_id, expires_at) values ($1, $2, now() + interval '1 day')`, [sessionId, id]);
    return { id, email, accessToken: await tokens.signAccessToken({ userId: id, role: 'user', sessionId }) };
  };
  const seedVerificationToken = async (userId: string) => {
    const { token, hash } = tokens.newOpaqueToken();
    await db.query(`insert into verification_tokens (token_hash, user_id, expires_at) values ($1, $2, now() + interval '1 hour')`, [hash, userId]);
    return token;
  };
  const withPicture = async (user: SeededUser): Promise<PictureOwner> => {
    const response = await invoke(handlers.uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(await smallJpeg(96, 96)) });
    if (response.status !== 200) throw new Error(`seeding a picture answered ${response.status}: ${response.body}`);
    return { ...user, pictureKeys: await keysUnder(app, `pictures/${user.id}/`) };
  };
  const refreshTokenOf = async (email: string): Promise<string> => {
    const response = await invoke(handlers.login, { method: 'POST', route: '/auth/login', json: { email, password: PASSWORD } });
    if (response.status !== 200) throw new Error(`seeding a session answered ${response.status}: ${response.body}`);
    return response.json.refreshToken;
  };

  const [owner, deleter, toVerify, toResend, other] = await Promise.all([
    seedUser(true).then(withPicture),
    seedUser(true).then(withPicture),
    seedUser(false),
    seedUser(false),
    seedUser(true),
  ]);
  const [verificationToken, refreshToken, logoutToken, rawUploadKey, jpeg] = await Promise.all([
    seedVerificationToken(toVerify.id),
    refreshTokenOf(owner.email),
    refreshTokenOf(owner.email),
    postRawUpload(app, owner),
    smallJpeg(80, 80),
  ]);
  const registerEmail = uniqueEmail('register');

  const calls: Record<RouteName, Call> = {
    register: () => invoke(handlers.register, { method: 'POST', route: '/auth/register', json: { email: registerEmail, password: PASSWORD } }),
    'verify-email GET': () => invoke(handlers.verifyEmail, { method: 'GET', route: '/auth/verify-email', query: { token: verificationToken } }),
    'verify-email POST': () => invoke(handlers.verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token: verificationToken } }),
    'resend-verification': () =>
      invoke(handlers.resendVerification, { method: 'POST', route: '/auth/resend-verification', json: { email: toResend.email } }),
    login: () => invoke(handlers.login, { method: 'POST', route: '/auth/login', json: { email: owner.email, password: PASSWORD } }),
    refresh: () => invoke(handlers.refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken } }),
    logout: () => invoke(handlers.logout, { method: 'POST', route: '/auth/logout', json: { refreshToken: logoutToken } }),
    'get-profile me': () => invoke(handlers.getProfile, { method: 'GET', route: '/users/me', bearer: owner.accessToken }),
    'get-profile {id}': () =>
      invoke(handlers.getProfile, { method: 'GET', route: '/users/{id}', pathParameters: { id: other.id }, bearer: owner.accessToken }),
    'update-profile': () => invoke(handlers.updateProfile, { method: 'PATCH', route: '/users/me', bearer: owner.accessToken, json: { bio: 'written during an outage' } }),
    'upload-picture': () => invoke(handlers.uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: owner.accessToken, ...fileUpload(jpeg) }),
    'delete-picture': () => invoke(handlers.deletePicture, { method: 'DELETE', route: '/users/me/picture', bearer: deleter.accessToken }),
    'picture-redirect': () => invoke(handlers.pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: owner.id } }),
    'upload-url': () => invoke(handlers.uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: owner.accessToken }),
    'confirm-picture': () =>
      invoke(handlers.confirmPicture, { method: 'POST', route: '/users/me/picture/confirm', bearer: owner.accessToken, json: { key: rawUploadKey } }),
  };
  return { calls, fixtures: { owner, deleter, registerEmail, resendEmail: toResend.email, rawUploadKey } };
}

/** What a browser does with upload-url's answer: POSTs the fields and a JPEG straight to the bucket. Returns the key. */
async function postRawUpload(app: App, user: SeededUser): Promise<string> {
  const grant = await invoke(app.handlers.uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer: user.accessToken });
  if (grant.status !== 200) throw new Error(`upload-url answered ${grant.status}: ${grant.body}`);
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.json.fields as Record<string, string>)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(await smallJpeg(90, 90))], { type: 'image/jpeg' }), 'picture.jpg');
  const posted = await fetch(grant.json.url, { method: 'POST', body: form });
  if (posted.status >= 300) throw new Error(`posting to the bucket answered ${posted.status}`);
  return grant.json.key;
}

export interface TimedResult extends InvokeResult {
  ms: number;
}

export async function timed(call: Call): Promise<TimedResult> {
  const started = performance.now();
  const result = await call();
  return { ...result, ms: Math.round(performance.now() - started) };
}

/** The shape every 503 must have: the error body, the request id, a Retry-After. */
export const unavailableShape = {
  status: 503,
  json: { error: { code: 'service_unavailable', message: expect.any(String) } },
  headers: expect.objectContaining({ 'x-request-id': expect.any(String), 'retry-after': expect.any(String) }),
};

export function mailTo(stack: FaultStack, to: string, options?: { since?: number; timeoutMs?: number }): Promise<CaughtMail> {
  return waitForMailIn(stack.mailDir, to, options);
}

export interface FaultContext {
  stack: FaultStack;
  app: App;
  calls: Record<RouteName, Call>;
  fixtures: Fixtures;
}

/**
 * The hooks every fault test file needs: its own stack, the app loaded against it and the prepared calls,
 * handed to `use` before the file's own beforeAll runs; torn down after the file.
 */
export function useFaultStack(use: (context: FaultContext) => void | Promise<void>) {
  let stack: FaultStack | undefined;
  beforeAll(async () => {
    stack = await startFaultStack();
    const app = await loadApp();
    await use({ stack, app, ...(await prepareCalls(app)) });
  }, 60_000);
  afterAll(async () => {
    await stack?.teardown();
  }, 30_000);
}

/** What each route answers during an outage, and why: one row per route of ROUTES. */
export type OutageTable = [RouteName, number, string][];

export interface Outage {
  table: OutageTable;
  /** The prepared calls (set by useFaultStack's beforeAll, hence a function). */
  calls: () => Record<RouteName, Call>;
  /** Takes the service away (stop, hang, refuse) and gives it back. */
  begin: () => unknown;
  end: () => unknown;
}

/**
 * The matrix every fault file runs: its table covers every route, and during the outage each route answers
 * its status within 5 s (every 503 with the error body, request id and Retry-After). `more` adds the
 * file's own tests inside the same outage.
 */
export function describeOutage(name: string, outage: Outage, more?: () => void) {
  test(`the table for "${name}" covers every route`, () => {
    expect(outage.table.map(([route]) => route).sort()).toEqual([...ROUTES].sort());
  });

  describe(name, () => {
    beforeAll(async () => {
      await outage.begin();
    }, 30_000);
    afterAll(async () => {
      await outage.end();
    }, 30_000);

    test.each(outage.table)('%s answers %i within 5 s (%s)', async (route, status) => {
      const response = await timed(outage.calls()[route]);
      if (status === 503) expect(response).toMatchObject(unavailableShape);
      else expect(response.status).toBe(status);
      expect(response.ms).toBeLessThan(5000);
    });

    more?.();
  });
}
