import { describe, expect, test } from '@jest/globals';
import { SignJWT, UnsecuredJWT } from 'jose';
import { handler as getProfile } from '../functions/get-profile';
import { handler as logout } from '../functions/logout';
import { handler as refresh } from '../functions/refresh';
import { createVerifiedUser } from './support/accounts';
import { invoke } from './support/events';

const refreshWith = (refreshToken: unknown) => invoke(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken } });
const me = (bearer: string) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer });
const secret = () => new TextEncoder().encode(process.env.JWT_SECRET!);

/** A token signed with the real secret; each test changes one thing about it. */
async function forge(options: { sub: string; alg?: string; iss?: string; aud?: string; exp?: number | null; typ?: string; header?: Record<string, unknown>; key?: Uint8Array }) {
  const jwt = new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: options.typ ?? 'at+jwt', ...options.header })
    .setSubject(options.sub)
    .setIssuer(options.iss ?? process.env.JWT_ISSUER!)
    .setAudience(options.aud ?? process.env.JWT_AUDIENCE!)
    .setIssuedAt()
    .setJti('forged');
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? '5m');
  return jwt.sign(options.key ?? secret());
}

describe('POST /auth/refresh', () => {
  test('a refresh token gives a new pair and cannot be used again', async () => {
    const user = await createVerifiedUser();
    const rotated = await refreshWith(user.refreshToken);
    expect(rotated.status).toBe(200);
    expect(rotated.json).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(rotated.json.refreshToken).not.toBe(user.refreshToken);
    expect((await me(rotated.json.accessToken)).status).toBe(200);
    const reused = await refreshWith(user.refreshToken);
    expect(reused.status).toBe(401);
    expect(reused.json.error.code).toBe('invalid_token');
  });

  test('presenting a rotated token revokes the whole family, including its successor', async () => {
    const user = await createVerifiedUser();
    const rotated = await refreshWith(user.refreshToken);
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
    const successor = await refreshWith(rotated.json.refreshToken);
    expect(successor.status).toBe(401);
  });

  test('10 parallel refreshes with one token make at most one new pair and no 5xx', async () => {
    const user = await createVerifiedUser();
    const responses = await Promise.all(Array.from({ length: 10 }, () => refreshWith(user.refreshToken)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 401)).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBe(1);
  });

  test.each([['garbage', 'not-a-token'], ['unknown', 'B'.repeat(43)], ['an access token', 'ACCESS']])('%s is 401 invalid_token', async (_, token) => {
    const user = await createVerifiedUser();
    const response = await refreshWith(token === 'ACCESS' ? user.accessToken : token);
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('invalid_token');
  });
});

describe('POST /auth/logout', () => {
  test('answers 204 and the refresh token stops working', async () => {
    const user = await createVerifiedUser();
    const response = await invoke(logout, { method: 'POST', route: '/auth/logout', json: { refreshToken: user.refreshToken } });
    expect(response.status).toBe(204);
    expect(response.body).toBe('');
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
  });

  test('logging out with an unknown token is still 204', async () => {
    const response = await invoke(logout, { method: 'POST', route: '/auth/logout', json: { refreshToken: 'C'.repeat(43) } });
    expect(response.status).toBe(204);
  });

  test('logging out without a token, or with one of the wrong type, is still 204', async () => {
    for (const json of [{}, { refreshToken: 42 }, { refreshToken: null }]) {
      expect((await invoke(logout, { method: 'POST', route: '/auth/logout', json })).status).toBe(204);
    }
  });
});

describe('Bearer access tokens', () => {
  test('a missing or malformed Authorization header is 401 unauthorized', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer not.a.jwt']) {
      const response = await invoke(getProfile, { method: 'GET', route: '/users/me', headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.json.error.code).toBe('unauthorized');
    }
  });

  test('a correctly forged token is accepted (the forging helper itself is sound)', async () => {
    const user = await createVerifiedUser();
    expect((await me(await forge({ sub: user.id }))).status).toBe(200);
  });

  test.each([
    ['another algorithm (HS512)', { alg: 'HS512' }],
    ['a wrong issuer', { iss: 'someone-else' }],
    ['a wrong audience', { aud: 'another-api' }],
    ['no exp', { exp: null }],
    ['an expired exp', { exp: Math.floor(Date.now() / 1000) - 10 }],
    ['another secret', { key: new TextEncoder().encode('y'.repeat(32)) }],
    ['a kid header', { header: { kid: 'key-1' } }],
    ['a jku header', { header: { jku: 'https://evil.example/jwks.json' } }],
    ['a wrong typ', { typ: 'JWT' }],
  ])('a token with %s is 401', async (_, change) => {
    const user = await createVerifiedUser();
    const response = await me(await forge({ sub: user.id, ...(change as object) }));
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('unauthorized');
  });

  test('alg "none" is 401', async () => {
    const user = await createVerifiedUser();
    const unsigned = new UnsecuredJWT({ role: 'admin' }).setSubject(user.id).setIssuer(process.env.JWT_ISSUER!).setAudience(process.env.JWT_AUDIENCE!).setExpirationTime('5m').encode();
    expect((await me(unsigned)).status).toBe(401);
  });

  test('a changed claim breaks the signature: 401', async () => {
    const user = await createVerifiedUser();
    const [header, payload, signature] = user.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const tampered = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect((await me(`${header}.${tampered}.${signature}`)).status).toBe(401);
  });

  test('a refresh token used as a Bearer token is 401', async () => {
    const user = await createVerifiedUser();
    expect((await me(user.refreshToken)).status).toBe(401);
  });
});
