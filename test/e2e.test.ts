import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import sharp from 'sharp';
import { PASSWORD, mailTo, uniqueEmail } from './support/accounts';
import { cameraPhoto12mp, smallJpeg, transparentPng } from './support/images';
import { expectDocumented } from './support/contract';
import { startOffline, type OfflineApi } from './support/offline';

let api: OfflineApi;

beforeAll(async () => {
  api = await startOffline();
}, 150_000);

afterAll(async () => {
  await api?.stop();
});

async function call(method: string, path: string, options: { json?: unknown; bearer?: string; form?: FormData; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  let body: string | FormData | undefined = options.body ?? options.form;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${api.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  // Every answer over HTTP is checked against the OpenAPI document too.
  expectDocumented({ method, rawPath: path.split('?')[0]!, status: response.status, contentType: response.headers.get('content-type') ?? '', body: text });
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

describe('over HTTP through serverless-offline', () => {
  test('register → mail → verify page → confirm → login → /users/me → refresh → logout', async () => {
    const email = uniqueEmail('e2e');
    const registered = await call('POST', '/auth/register', { json: { email, password: PASSWORD, firstName: 'Eve' } });
    expect(registered.status).toBe(202);
    expect(registered.headers.get('x-request-id')).toBeTruthy();

    const mail = await mailTo(email, { timeoutMs: 10_000 });
    const link = mail.links.find((url) => url.includes('/auth/verify-email?token='))!;
    expect(link.startsWith(`${api.baseUrl}/auth/verify-email?token=`)).toBe(true);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post"');

    const notYet = await call('POST', '/auth/login', { json: { email, password: PASSWORD } });
    expect(notYet.status).toBe(403);
    expect(notYet.json.error.code).toBe('email_not_verified');

    const token = new URL(link).searchParams.get('token')!;
    const confirmed = await call('POST', '/auth/verify-email', {
      body: new URLSearchParams({ token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.text).toMatch(/confirmed/i);

    const session = await call('POST', '/auth/login', { json: { email, password: PASSWORD } });
    expect(session.status).toBe(200);
    expect(session.json.tokenType).toBe('Bearer');

    const me = await call('GET', '/users/me', { bearer: session.json.accessToken });
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(me.json).toMatchObject({ email, firstName: 'Eve', emailVerified: true, picture: { default: true } });
    const avatar = await fetch(me.json.picture.url);
    expect(avatar.status).toBe(200);
    expect((await sharp(Buffer.from(await avatar.arrayBuffer())).metadata()).width).toBe(200);

    const refreshed = await call('POST', '/auth/refresh', { json: { refreshToken: session.json.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refreshToken).not.toBe(session.json.refreshToken);

    const loggedOut = await call('POST', '/auth/logout', { json: { refreshToken: refreshed.json.refreshToken } });
    expect(loggedOut.status).toBe(204);
    const afterLogout = await call('POST', '/auth/refresh', { json: { refreshToken: refreshed.json.refreshToken } });
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.json.error.code).toBe('invalid_token');
  });

  test('errors keep their body over HTTP: bad JSON, unknown route id, missing token', async () => {
    const malformed = await call('POST', '/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('invalid_json');
    const anonymous = await call('GET', '/users/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  test('picture: upload → profile → presigned download → replace → redirect → delete, and a direct upload', async () => {
    const email = uniqueEmail('e2e-pic');
    await call('POST', '/auth/register', { json: { email, password: PASSWORD } });
    const token = new URL((await mailTo(email, { timeoutMs: 10_000 })).links[0]!).searchParams.get('token')!;
    expect((await call('POST', '/auth/verify-email', { json: { token } })).status).toBe(200);
    const { accessToken } = (await call('POST', '/auth/login', { json: { email, password: PASSWORD } })).json;

    const upload = async (bytes: Buffer, name: string) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)]), name);
      return call('POST', '/users/me/picture', { bearer: accessToken, form });
    };

    const first = await upload(await smallJpeg(), 'me.jpg');
    expect(first.status).toBe(200);
    expect(first.json.picture.default).toBe(false);
    const downloaded = await fetch(first.json.picture.url);
    expect(downloaded.status).toBe(200);
    const image = Buffer.from(await downloaded.arrayBuffer());
    const metadata = await sharp(image).metadata();
    expect(metadata).toMatchObject({ format: 'webp', width: 200, height: 200 });
    expect(metadata.exif).toBeUndefined();

    const second = await upload(await transparentPng(), 'me.png');
    expect(second.status).toBe(200);
    expect(second.json.picture.url).not.toBe(first.json.picture.url);
    expect((await fetch(first.json.picture.url)).status).toBe(404);

    const redirected = await call('GET', `/users/${second.json.id}/picture?size=64`);
    expect(redirected.status).toBe(302);
    const small = await fetch(redirected.headers.get('location')!);
    expect((await sharp(Buffer.from(await small.arrayBuffer())).metadata()).width).toBe(64);

    const deleted = await call('DELETE', '/users/me/picture', { bearer: accessToken });
    expect(deleted.status).toBe(200);
    expect(deleted.json.picture.default).toBe(true);
    expect((await fetch(second.json.picture.url)).status).toBe(404);

    const grant = await call('POST', '/users/me/picture/upload-url', { bearer: accessToken });
    expect(grant.status).toBe(200);
    const direct = new FormData();
    for (const [name, value] of Object.entries(grant.json.fields as Record<string, string>)) direct.append(name, value);
    direct.append('file', new Blob([new Uint8Array(await cameraPhoto12mp())]), 'big.jpg');
    const posted = await fetch(grant.json.url, { method: 'POST', body: direct });
    expect(posted.status).toBeLessThan(300);
    const confirmed = await call('POST', '/users/me/picture/confirm', { bearer: accessToken, json: { key: grant.json.key } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.picture.default).toBe(false);
  });
});
