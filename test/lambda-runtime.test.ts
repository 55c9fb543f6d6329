// The zips of `serverless package --stage prod` under AWS's runtime client (aws-lambda-ric), the loop
// the nodejs24.x runtime runs, against a local Runtime API (scripts/lambda-runtime.ts): each zip is
// unpacked on its own, started with the variables a sandbox holds and the template's settings pointed
// at the test services (Postgres, s3rver, the SMTP catcher), and sent one event. Init must succeed
// without opening a connection (the services are reached through counting proxies), the answer must
// have the documented shape, and a bad setting must reach /init/error by name.
// Init times are printed at the end (and measured by `npm run bench`, section bundles).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { packagedFunctions, type PackagedFunction, type PackagedService } from '../scripts/bench-bundles';
import { InitFailed, runtimeClientInstalled, startFunction, type InvocationResult } from '../scripts/lambda-runtime';
import { extractZip } from '../scripts/zip';
import { createVerifiedUser, mailTo, uniqueEmail, type TestUser } from './support/accounts';
import { expectDocumented } from './support/contract';
import { httpEvent, type EventOptions } from '../scripts/support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';
import { sharedPackage } from './support/packaged';
import { realPartMissing } from './support/real-parts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

/** The settings that name a service the functions connect to; the test points each at a counting proxy. */
const SERVICE_SETTINGS = ['DATABASE_URL', 'S3_ENDPOINT', 'SMTP_URL'] as const;

/**
 * Init must open no connection, whatever import order or a stray top-level call would do; a connection
 * started by an import but made a few ticks later is given this long to show up.
 */
const INIT_LINGER_MS = 100;

/** Settings the template leaves to the role or to defaults, which the local services need. */
const LOCAL_ONLY = ['S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'PASSWORD_HASH_COST', 'LOG_LEVEL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'MAIL_FROM'];

const installed =
  runtimeClientInstalled() ||
  realPartMissing('aws-lambda-ric', "node_modules/aws-lambda-ric has no native client: run npm ci (its install script builds it with make, cmake and g++; about a minute)");

if (installed) {
  describe('packaged zips under the Lambda runtime client', () => {
    let packaged: PackagedService;
    let functions: PackagedFunction[];
    let unzipRoot: string;
    let user: TestUser;
    const initTimes = new Map<string, number>();
    /** Connections the function opened between its process start and its first event. */
    const initConnections = new Map<string, number>();
    const proxies = new Map<string, { proxy: TcpProxy; url: string }>();
    const connectionsSoFar = () => [...proxies.values()].reduce((sum, { proxy }) => sum + proxy.connections(), 0);

    beforeAll(async () => {
      for (const name of SERVICE_SETTINGS) {
        const url = new URL(process.env[name]!);
        const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
        url.hostname = '127.0.0.1';
        url.port = String(proxy.port);
        proxies.set(name, { proxy, url: url.href.replace(/\/$/, '') });
      }
      packaged = await sharedPackage();
      functions = packagedFunctions(packaged.template);
      unzipRoot = path.join(process.env.TEST_DATA_DIR!, 'lambda-runtime');
      for (const fn of functions) await extractZip(packaged.zips.get(fn.name)!, path.join(unzipRoot, fn.name));
      user = await createVerifiedUser();
    }, 300_000);

    afterAll(async () => {
      await Promise.all([...proxies.values()].map(({ proxy }) => proxy.close()));
      if (initTimes.size === 0) return;
      const rows = [...initTimes].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `  ${name.padEnd(20)} ${ms.toFixed(0).padStart(5)} ms`);
      process.stderr.write(`\nInit under aws-lambda-ric (process start to first poll for an event, Node 24):\n${rows.join('\n')}\n`);
    });

    const fn = (name: string) => {
      const found = functions.find((entry) => entry.name === name);
      if (!found) throw new Error(`no function ${name} in the template`);
      return found;
    };

    /**
     * The function's variables as the template declares them, each resolved locally: literal values
     * kept, Secrets Manager references, the bucket's Ref and empty parameters taken from the test
     * settings (or left unset, as lib/platform/config reads an empty value), plus the local services' keys.
     */
    const sandboxSettings = (entry: PackagedFunction): Record<string, string> => {
      const declared = entry.properties.Environment.Variables as Record<string, unknown>;
      const settings: Record<string, string> = {};
      for (const [name, value] of Object.entries(declared)) {
        const literal = typeof value === 'string' && value !== '' && !value.startsWith('{{resolve:');
        const local = literal ? (value as string) : process.env[name];
        if (local) settings[name] = local;
      }
      for (const name of LOCAL_ONLY) if (process.env[name]) settings[name] = process.env[name]!;
      for (const [name, { url }] of proxies) if (settings[name]) settings[name] = url;
      return settings;
    };

    /** Starts the function, sends one event, stops it; records the init time. */
    const invokeOnce = async (name: string, event: unknown, environment?: Record<string, string>): Promise<InvocationResult> => {
      const entry = fn(name);
      const before = connectionsSoFar();
      const started = await startFunction({
        name,
        taskRoot: path.join(unzipRoot, name),
        handler: entry.properties.Handler,
        environment: environment ?? sandboxSettings(entry),
        memoryMb: entry.properties.MemorySize,
      });
      try {
        initTimes.set(name, started.initMs);
        await new Promise((resolve) => setTimeout(resolve, INIT_LINGER_MS));
        initConnections.set(name, connectionsSoFar() - before);
        return await started.invoke(event);
      } finally {
        await started.stop();
      }
    };

    /** An HTTP API event to the function; the answer checked against the OpenAPI document. */
    const request = async (name: string, options: EventOptions) => {
      const result = await invokeOnce(name, httpEvent(options));
      if (result.kind !== 'response') throw new Error(`${name} failed the invocation: ${result.error.errorType}: ${result.error.errorMessage}`);
      const response = result.body as APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };
      const body = response.isBase64Encoded ? '' : String(response.body ?? '');
      expectDocumented({ method: options.method, route: options.route, status: response.statusCode, contentType: response.headers['content-type'], body });
      let json: any;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, headers: response.headers, body, json };
    };

    const errorShape = (code: string) => ({ error: { code, message: expect.any(String) } });

    describe('one event per function', () => {
      test('register: a new account → 202, and the verification mail goes out through SMTP', async () => {
        const email = uniqueEmail('ric');
        const response = await request('register', { method: 'POST', route: '/auth/register', json: { email, password: 'correct horse battery staple' } });
        expect(response.status).toBe(202);
        expect((await mailTo(email)).links.some((link) => link.includes('/auth/verify-email?token='))).toBe(true);
      });

      test('login: a wrong password → 401 invalid_credentials in the error shape', async () => {
        const response = await request('login', { method: 'POST', route: '/auth/login', json: { email: user.email, password: 'not the password at all' } });
        expect(response.status).toBe(401);
        expect(response.json).toEqual(errorShape('invalid_credentials'));
      });

      test('login: the right password → 200 with tokens (Postgres through the packaged pg)', async () => {
        const response = await request('login', { method: 'POST', route: '/auth/login', json: { email: user.email, password: user.password } });
        expect(response.status).toBe(200);
        expect(response.json).toMatchObject({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer' });
      });

      test('getProfile: no token → 401 unauthorized in the error shape', async () => {
        const response = await request('getProfile', { method: 'GET', route: '/users/me' });
        expect(response.status).toBe(401);
        expect(response.json).toEqual(errorShape('unauthorized'));
      });

      test('getProfile: a token → 200 with the caller', async () => {
        const response = await request('getProfile', { method: 'GET', route: '/users/me', bearer: user.accessToken });
        expect(response.status).toBe(200);
        expect(response.json).toMatchObject({ id: user.id, email: user.email });
      });

      test('pictureRedirect → 302 to a presigned URL that the store serves', async () => {
        const response = await request('pictureRedirect', { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: user.id } });
        expect(response.status).toBe(302);
        const picture = await fetch(response.headers.location!);
        expect(picture.status).toBe(200);
        expect(picture.headers.get('content-type')).toMatch(/^image\//);
        expect((await picture.arrayBuffer()).byteLength).toBeGreaterThan(0);
      });

      test('uploadPicture: a JPEG → 200, rendered by the zip\'s own sharp (linux-x64)', async () => {
        const upload = fileUpload(await smallJpeg());
        const response = await request('uploadPicture', { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...upload });
        expect(response.status).toBe(200);
        expect(response.json.picture).toBeTruthy();
      });

      test('health → 200 with database, storage and mail ok', async () => {
        const response = await request('health', { method: 'GET', route: '/health' });
        expect(response.status).toBe(200);
        expect(response.json).toMatchObject({ status: 'ok', checks: { database: 'ok', storage: 'ok', mail: 'ok' } });
      });

      test('openapi → 200 with the OpenAPI document', async () => {
        const response = await request('openapi', { method: 'GET', route: '/openapi.json' });
        expect(response.status).toBe(200);
        expect(response.json.openapi).toMatch(/^3\./);
      });

      test('web → 200 HTML', async () => {
        const response = await request('web', { method: 'GET', route: '/' });
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^text\/html/);
      });

      test('notFound → 404 not_found in the error shape', async () => {
        const response = await request('notFound', { method: 'GET', route: '/no/such/route' });
        expect(response.status).toBe(404);
        expect(response.json).toEqual(errorShape('not_found'));
      });

      // Every other route needs a token: without one, each answers 401 before reading a body.
      const tokenRoutes: [string, EventOptions][] = [
        ['updateProfile', { method: 'PATCH', route: '/users/me', json: { nickname: 'ric' } }],
        ['listSessions', { method: 'GET', route: '/users/me/sessions' }],
        ['revokeSession', { method: 'DELETE', route: '/users/me/sessions' }],
        ['changePassword', { method: 'POST', route: '/users/me/password', json: {} }],
        ['changeEmail', { method: 'POST', route: '/users/me/email', json: {} }],
        ['deleteAccount', { method: 'DELETE', route: '/users/me' }],
        ['deletePicture', { method: 'DELETE', route: '/users/me/picture' }],
        ['uploadUrl', { method: 'POST', route: '/users/me/picture/upload-url', json: {} }],
        ['confirmPicture', { method: 'POST', route: '/users/me/picture/confirm', json: {} }],
        ['adminListUsers', { method: 'GET', route: '/admin/users' }],
        ['adminGetUser', { method: 'GET', route: '/admin/users/{id}', pathParameters: { id: '00000000-0000-4000-8000-000000000000' } }],
        ['adminUpdateUser', { method: 'PATCH', route: '/admin/users/{id}', pathParameters: { id: '00000000-0000-4000-8000-000000000000' }, json: {} }],
        ['adminDeleteUser', { method: 'DELETE', route: '/admin/users/{id}', pathParameters: { id: '00000000-0000-4000-8000-000000000000' } }],
        ['adminUnlockUser', { method: 'POST', route: '/admin/users/{id}/unlock', pathParameters: { id: '00000000-0000-4000-8000-000000000000' } }],
        ['adminAudit', { method: 'GET', route: '/admin/audit' }],
      ];
      test.each(tokenRoutes)('%s: no token → 401 unauthorized', async (name, options) => {
        const response = await request(name, options);
        expect({ name, status: response.status, body: response.json }).toEqual({ name, status: 401, body: errorShape('unauthorized') });
      });

      // The public routes that take a token in the body or query: a made-up one is refused.
      const madeUpToken = 'A'.repeat(43);
      const tokenBodies: [string, number, string, EventOptions][] = [
        ['refresh', 401, 'invalid_token', { method: 'POST', route: '/auth/refresh', json: { refreshToken: madeUpToken } }],
        ['verifyEmail', 400, 'invalid_token', { method: 'POST', route: '/auth/verify-email', json: { token: madeUpToken } }],
        ['resetPassword', 400, 'invalid_token', { method: 'POST', route: '/auth/reset-password', json: { token: madeUpToken, password: 'a new long password here' } }],
        ['confirmEmail', 400, 'invalid_token', { method: 'POST', route: '/auth/confirm-email', json: { token: madeUpToken } }],
      ];
      test.each(tokenBodies)('%s: a made-up token → %i %s', async (name, status, code, options) => {
        const response = await request(name, options);
        expect({ name, status: response.status, body: response.json }).toEqual({ name, status, body: errorShape(code) });
      });

      test('logout: a made-up refresh token → 204 (nothing to revoke, nothing told)', async () => {
        const response = await request('logout', { method: 'POST', route: '/auth/logout', json: { refreshToken: madeUpToken } });
        expect(response.status).toBe(204);
      });

      test.each(['resendVerification', 'forgotPassword'])('%s: an unknown address → 202, as for a known one', async (name) => {
        const route = name === 'resendVerification' ? '/auth/resend-verification' : '/auth/forgot-password';
        const response = await request(name, { method: 'POST', route, json: { email: uniqueEmail('nobody') } });
        expect(response.status).toBe(202);
      });

      test('setupStorage: stores the default avatar and names it', async () => {
        const result = await invokeOnce('setupStorage', {});
        expect(result).toEqual({ kind: 'response', body: { bucket: process.env.S3_BUCKET, defaultAvatar: expect.arrayContaining([expect.stringMatching(/200/)]) } });
      });

      test('janitor: a scheduled event → the counts it pruned', async () => {
        const result = await invokeOnce('janitor', { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
        expect(result.kind).toBe('response');
        expect(typeof (result as { body: unknown }).body).toBe('object');
      });

      test('every function of the template has an event above, and every init succeeded without connecting anywhere', () => {
        expect([...initTimes.keys()].sort()).toEqual(functions.map((entry) => entry.name).sort());
        expect(Object.fromEntries(initConnections)).toEqual(Object.fromEntries(functions.map((entry) => [entry.name, 0])));
        // The proxies are on the way: the events above reached Postgres, the store and the mail server through them.
        expect(Object.fromEntries([...proxies].map(([name, { proxy }]) => [name, proxy.connections() > 0]))).toEqual({ DATABASE_URL: true, S3_ENDPOINT: true, SMTP_URL: true });
      });
    });

    describe('a bad setting stops the cold start', () => {
      test.each(['login', 'openapi', 'uploadPicture'])('%s: a short JWT_SECRET reaches /init/error naming JWT_SECRET, its value masked', async (name) => {
        const settings = { ...sandboxSettings(fn(name)), JWT_SECRET: 'too-short-secret' };
        const failure = await invokeOnce(name, {}, settings).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(InitFailed);
        const { initError } = failure as InitFailed;
        expect(initError?.errorType).toBe('ConfigError');
        expect(initError?.errorMessage).toMatch(/JWT_SECRET/);
        expect(initError?.errorMessage).not.toContain('too-short-secret');
      });

      test('health: a missing DATABASE_URL reaches /init/error naming DATABASE_URL', async () => {
        const { DATABASE_URL, ...settings } = sandboxSettings(fn('health'));
        expect(DATABASE_URL).toBeTruthy();
        const failure = (await invokeOnce('health', {}, settings).catch((error: unknown) => error)) as InitFailed;
        expect(failure).toBeInstanceOf(InitFailed);
        expect(failure.initError?.errorMessage).toMatch(/DATABASE_URL is required/);
      });
    });
  });
}
