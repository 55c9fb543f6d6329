import { describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt } from 'jose';
import { query } from '../lib/db';
import { hashOpaqueToken } from '../lib/tokens';
import { handler as getProfile } from '../functions/get-profile';
import { handler as logout } from '../functions/logout';
import { handler as refresh } from '../functions/refresh';
import { createVerifiedUser } from './support/accounts';
import { invoke } from './support/events';

const refreshWith = (refreshToken: unknown) => invoke(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken } });
const me = (bearer: string) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer });
const secret = () => new TextEncoder().encode(process.env.JWT_SECRET!);

/** A token signed with the real secret; each test changes one thing about it. */
async function forge(options: { sub: string; sid?: string; alg?: string; iss?: string; aud?: string; exp?: number | null; typ?: string; header?: Record<string, unknown>; key?: Uint8Array }) {
  const jwt = new SignJWT({ role: 'admin', sid: options.sid ?? randomUUID() })
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
  /** As if the token had been rotated long ago: past REFRESH_REUSE_INTERVAL. */
  const ageRotation = (refreshToken: string) =>
    query(`update refresh_tokens set rotated_at = now() - interval '1 hour' where token_hash = $1`, [hashOpaqueToken(refreshToken)]);

  test('a refresh token gives a new pair, and reusing it after the reuse interval is refused', async () => {
    const user = await createVerifiedUser();
    const rotated = await refreshWith(user.refreshToken);
    expect(rotated.status).toBe(200);
    expect(rotated.json).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(rotated.json.refreshToken).not.toBe(user.refreshToken);
    expect((await me(rotated.json.accessToken)).status).toBe(200);
    await ageRotation(user.refreshToken);
    const reused = await refreshWith(user.refreshToken);
    expect(reused.status).toBe(401);
    expect(reused.json.error.code).toBe('invalid_token');
  });

  test('a reuse after the interval revokes the whole session: its successor and its access tokens stop working', async () => {
    const user = await createVerifiedUser();
    const rotated = await refreshWith(user.refreshToken);
    await ageRotation(user.refreshToken);
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
    expect((await refreshWith(rotated.json.refreshToken)).status).toBe(401);
    expect((await me(rotated.json.accessToken)).status).toBe(401);
    expect((await me(user.accessToken)).status).toBe(401);
  });

  test('two tabs refreshing with one token within the reuse interval both succeed and the session lives on', async () => {
    const user = await createVerifiedUser();
    const first = await refreshWith(user.refreshToken);
    const second = await refreshWith(user.refreshToken);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.json.refreshToken).not.toBe(second.json.refreshToken);
    expect(decodeJwt(first.json.accessToken).sid).toBe(decodeJwt(second.json.accessToken).sid);
    // Both tabs carry on: each new token refreshes, and the winner's access token still works.
    expect((await refreshWith(first.json.refreshToken)).status).toBe(200);
    expect((await refreshWith(second.json.refreshToken)).status).toBe(200);
    expect((await me(first.json.accessToken)).status).toBe(200);
  });

  test('10 parallel refreshes with one token (a retry storm) all succeed, no 5xx, and the session lives on', async () => {
    const user = await createVerifiedUser();
    const responses = await Promise.all(Array.from({ length: 10 }, () => refreshWith(user.refreshToken)));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((response) => response.json.refreshToken)).size).toBe(10);
    const { rows } = await query<{ sessions: number }>(
      `select count(distinct family_id)::int as sessions from refresh_tokens where user_id = $1`,
      [user.id],
    );
    expect(rows[0]!.sessions).toBe(1);
    expect((await refreshWith(responses[9]!.json.refreshToken)).status).toBe(200);
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
    const sid = decodeJwt(user.accessToken).sid as string;
    const response = await me(await forge({ sub: user.id, sid }));
    expect(response.status).toBe(200);
    // The role comes from the account, not from the token: the forged "admin" claim grants nothing.
    expect(response.json.role).toBe('user');
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
    const response = await me(await forge({ sub: user.id, sid: decodeJwt(user.accessToken).sid as string, ...(change as object) }));
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
