import { describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { query } from '../lib/platform/db';
import { hashOpaqueToken } from '../lib/accounts/tokens';
import { handler as getProfile } from '../functions/get-profile';
import { handler as logout } from '../functions/logout';
import { handler as refresh } from '../functions/refresh';
import { createVerifiedUser } from './support/accounts';
import { invoke } from './support/events';

const refreshWith = (refreshToken: unknown) => invoke(refresh, { method: 'POST', route: '/auth/refresh', json: { refreshToken } });
const me = (bearer: string) => invoke(getProfile, { method: 'GET', route: '/users/me', bearer });
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
