// Request logs: one JSON line per request on stdout, tied to the response by its request id, and never a
// password, a token, a verification link or a presigned URL — even when the failure behind a 500 carries one.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { handler as getProfile } from '../functions/get-profile';
import { handler as login } from '../functions/login';
import { handler as logout } from '../functions/logout';
import { handler as pictureRedirect } from '../functions/picture-redirect';
import { handler as refresh } from '../functions/refresh';
import { handler as register } from '../functions/register';
import { handler as uploadPicture } from '../functions/upload-picture';
import { handler as uploadUrl } from '../functions/upload-url';
import { handler as verifyEmail } from '../functions/verify-email';
import type { MailMessage } from '../lib/accounts/mail';
import { delivery } from '../lib/platform/smtp';
import { PASSWORD, mailTo, uniqueEmail, verificationTokenIn } from './support/accounts';
import type { EventOptions } from '../scripts/support/events';
import { invoke, type InvokeResult } from './support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

interface Sent {
  routeKey: string;
  response: InvokeResult;
}

/** Every request of the flow, in order. */
const sent: Sent[] = [];
/** Everything written to stdout while the flow ran. */
let output = '';
/** Values that must never reach a log: passwords, tokens, links, presigned URLs and their signatures. */
const secrets = new Map<string, string>();

const keep = (what: string, value: unknown) => {
  if (typeof value !== 'string' || value.length < 8) throw new Error(`no ${what} to check for`);
  secrets.set(what, value);
};

async function call(handler: Handler, options: EventOptions): Promise<InvokeResult> {
  const response = await invoke(handler, options);
  sent.push({ routeKey: `${options.method} ${options.route}`, response });
  return response;
}

const keepPictureUrls = (label: string, picture: { variants: Record<string, string> }) => {
  for (const [size, url] of Object.entries(picture.variants)) {
    keep(`${label} ${size} URL`, url);
    keep(`${label} ${size} signature`, new URL(url).searchParams.get('X-Amz-Signature'));
  }
};

/** Register → verify (GET with the token in the query, then POST) → login → refresh → profile → picture → logout, plus failures. */
async function driveFullFlow() {
  const email = uniqueEmail('logs');
  const password = `${PASSWORD} logs`;
  keep('password', password);

  expect((await call(register, { method: 'POST', route: '/auth/register', json: { email, password } })).status).toBe(202);
  const mail = await mailTo(email);
  const token = verificationTokenIn(mail);
  keep('verification token', token);
  keep('verification link', mail.links.find((link) => link.includes(token)));

  expect((await call(verifyEmail, { method: 'GET', route: '/auth/verify-email', query: { token } })).status).toBe(200);
  const verified = await call(verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token } });
  expect(verified.status).toBe(200);
  keepPictureUrls('default avatar', verified.json.user.picture);

  const session = await call(login, { method: 'POST', route: '/auth/login', json: { email, password } });
  expect(session.status).toBe(200);
  keep('first access token', session.json.accessToken);
  keep('first refresh token', session.json.refreshToken);

  const rotated = await call(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken: session.json.refreshToken } });
  expect(rotated.status).toBe(200);
  keep('second access token', rotated.json.accessToken);
  keep('second refresh token', rotated.json.refreshToken);
  const bearer: string = rotated.json.accessToken;

  expect((await call(getProfile, { method: 'GET', route: '/users/me', bearer })).status).toBe(200);
  const uploaded = await call(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer, ...fileUpload(await smallJpeg(64, 64)) });
  expect(uploaded.status).toBe(200);
  keepPictureUrls('picture', uploaded.json.picture);

  const redirected = await call(pictureRedirect, { method: 'GET', route: '/users/{id}/picture', pathParameters: { id: uploaded.json.id }, query: { size: '64' } });
  expect(redirected.status).toBe(302);
  keep('redirect location', redirected.headers.location);

  const grant = await call(uploadUrl, { method: 'POST', route: '/users/me/picture/upload-url', bearer });
  expect(grant.status).toBe(200);
  keep('upload URL', grant.json.url);
  keep('upload policy', grant.json.fields.Policy);
  keep('upload signature', grant.json.fields['X-Amz-Signature']);

  expect((await call(logout, { method: 'POST', route: '/auth/logout', json: { refreshToken: rotated.json.refreshToken } })).status).toBe(204);
  expect((await call(login, { method: 'POST', route: '/auth/login', json: { email, password: `${password} wrong` } })).status).toBe(401);
  expect((await call(getProfile, { method: 'GET', route: '/users/me', bearer: `${bearer}x` })).status).toBe(401);

  // A mailer whose failure message quotes the mail, link included: the 500 must not carry it into the log.
  const realMailer = delivery.mailer;
  delivery.mailer = {
    async send(message: MailMessage) {
      const link = /https?:\/\/\S+/.exec(message.text)?.[0];
      keep('link in the failing mail', link);
      throw new Error(`relay rejected message: ${message.text}`);
    },
    check: () => realMailer.check(),
  };
  try {
    const failed = await call(register, { method: 'POST', route: '/auth/register', json: { email: uniqueEmail('logs-500'), password } });
    expect(failed.status).toBe(500);
  } finally {
    delivery.mailer = realMailer;
  }
}

let previousLogLevel: string | undefined;

beforeAll(async () => {
  previousLogLevel = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = 'info';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    await driveFullFlow();
  } finally {
    write.mockRestore();
  }
}, 30_000);

afterAll(() => {
  if (previousLogLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = previousLogLevel;
});

/** Our log lines: stdout lines that are JSON objects with a level (anything else written there is not ours). */
const logLines = () =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => typeof line.level === 'string');

describe('request logs', () => {
  test('the flow wrote exactly one line per request, in order, each with the response’s x-request-id', () => {
    expect(sent).toHaveLength(13);
    expect(logLines().map((line) => line.requestId)).toEqual(sent.map(({ response }) => response.headers['x-request-id']));
  });

  test('each line names the route key, the status and a duration', () => {
    expect(logLines().map(({ msg, route, status, durationMs }) => ({ msg, route, status, timed: typeof durationMs === 'number' && durationMs >= 0 }))).toEqual(
      sent.map(({ routeKey, response }) => ({ msg: 'request', route: routeKey, status: response.status, timed: true })),
    );
  });

  test('errors are logged by code; the 500 (provoked by a fake mailer that fails) at level error with the failure’s name only', () => {
    const failures = logLines().filter((line) => (line.status as number) >= 400);
    expect(failures).toEqual([
      expect.objectContaining({ level: 'info', status: 401, errorCode: 'invalid_credentials' }),
      expect.objectContaining({ level: 'info', status: 401, errorCode: 'unauthorized' }),
      expect.objectContaining({ level: 'error', status: 500, errorCode: 'internal_error', cause: { name: 'Error' } }),
    ]);
  });

  test('no password, token, verification link or presigned URL appears in the output', () => {
    expect(logLines()).toHaveLength(sent.length);
    expect(secrets.size).toBeGreaterThanOrEqual(20);
    const leaked = [...secrets].filter(([, value]) => output.includes(value)).map(([what]) => what);
    expect(leaked).toEqual([]);
  });

  test('nothing that looks like a token query or an S3 signature appears either', () => {
    expect(output).not.toMatch(/token=|X-Amz-Signature|X-Amz-Credential|Bearer /i);
  });
});
