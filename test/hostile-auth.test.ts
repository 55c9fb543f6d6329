/**
 * Hostile emails and tokens. ASVS 5.0 V6 (authentication), V7 (session management), V9.1/V9.2
 * (self-contained tokens: integrity, algorithm allow-list, trusted keys only, validity, type, audience);
 * OWASP Authentication and JSON Web Token cheat sheets. Every forged or malformed access token of the suite
 * is here, one row each (test/sessions.test.ts covers refresh and logout).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { handler as getProfile } from '../functions/get-profile';
import { handler as login } from '../functions/login';
import { handler as logout } from '../functions/logout';
import { handler as refresh } from '../functions/refresh';
import { handler as register } from '../functions/register';
import { handler as resend } from '../functions/resend-verification';
import { handler as verifyEmail } from '../functions/verify-email';
import { query } from '../lib/platform/db';
import { email } from '../lib/http/schemas';
import { readMails } from '../scripts/stack/mail';
import { PASSWORD, createVerifiedUser, mailTo, registerAndReadToken, uniqueEmail, type TestUser } from './support/accounts';
import { invoke, type InvokeResult } from './support/events';
import { expectNoLeak, expectRefused } from './support/refusals';

let alice: TestUser;
let bob: TestUser;
/** An account whose email is not verified yet, and the token of its mail. */
let pending: { email: string; token: string; userId: string };

beforeAll(async () => {
  const [a, b, unverified] = await Promise.all([createVerifiedUser(), createVerifiedUser(), registerAndReadToken()]);
  alice = a;
  bob = b;
  const { rows } = await query<{ id: string }>('select id from users where email = $1', [unverified.email]);
  pending = { ...unverified, userId: rows[0]!.id };
});

const me = (bearer: string, extra: { headers?: Record<string, string>; query?: Record<string, string> } = {}) =>
  invoke(getProfile, { method: 'GET', route: '/users/me', bearer, ...extra });
const meWithAuthorization = (authorization: string) => invoke(getProfile, { method: 'GET', route: '/users/me', headers: { authorization } });
const refreshWith = (json: unknown) => invoke(refresh, { method: 'POST', route: '/auth/refresh', json });
const verifyWith = (json: unknown) => invoke(verifyEmail, { method: 'POST', route: '/auth/verify-email', json });
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());

/** No tokens in a refused answer, whatever the status. */
function expectNoTokens(response: InvokeResult) {
  expect([response.json?.accessToken, response.json?.refreshToken, /eyJ|[A-Za-z0-9_-]{43}/.test(response.body)]).toEqual([undefined, undefined, false]);
}

// ---------------------------------------------------------------- emails

describe('hostile email addresses', () => {
  /** Each builder gets a marker; both the victim and the attacker address carry it. */
  const hostileEmails: [string, (id: string) => string][] = [
    ['CRLF and a Bcc header', (id) => `victim-${id}@example.test\r\nBcc: spy-${id}@evil.test`],
    ['LF and a Bcc header', (id) => `victim-${id}@example.test\nBcc: spy-${id}@evil.test`],
    ['CR and a To header', (id) => `victim-${id}@example.test\rTo: spy-${id}@evil.test`],
    ['percent-encoded CRLF', (id) => `victim-${id}@example.test%0D%0ABcc:spy-${id}@evil.test`],
    ['a NUL byte', (id) => `victim-${id}@example.test\u0000spy-${id}@evil.test`],
    ['a comma-separated list', (id) => `victim-${id}@example.test,spy-${id}@evil.test`],
    ['a semicolon-separated list', (id) => `victim-${id}@example.test;spy-${id}@evil.test`],
    ['a space-separated list', (id) => `victim-${id}@example.test spy-${id}@evil.test`],
    ['a display name', (id) => `Victim <victim-${id}@example.test>`],
    ['a quoted address before another', (id) => `"victim-${id}@example.test" <spy-${id}@evil.test>`],
    ['group syntax', (id) => `friends: victim-${id}@example.test, spy-${id}@evil.test;`],
    ['a quoted local part', (id) => `"victim ${id}"@example.test`],
    ['a comment', (id) => `victim-${id}(spy-${id}@evil.test)@example.test`],
    ['an IP literal domain', (id) => `victim-${id}@[127.0.0.1]`],
    ['a 65-character local part', (id) => `${id}${'a'.repeat(65 - id.length)}@example.test`],
    ['a 255-character address', (id) => `${id}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(254 - 3 * 64 - id.length - 1 - 4)}.test`],
    ['a Cyrillic "а" in the local part', (id) => `\u0430dmin-${id}@example.test`],
    ['a fullwidth "＠"', (id) => `victim-${id}\uff20example.test`],
    ['a Cyrillic lookalike domain (IDN)', (id) => `victim-${id}@ex\u0430mple.test`],
    ['a Unicode domain', (id) => `victim-${id}@\u4f8b\u3048.\u30c6\u30b9\u30c8`],
    ['a zero-width space', (id) => `vic\u200btim-${id}@example.test`],
    ['a right-to-left override', (id) => `victim-${id}\u202e@example.test`],
  ];

  /** No account and no mail for any address carrying the marker. */
  async function expectNoAccountOrMail(id: string) {
    const users = await query('select 1 from users where email like $1', [`%${id}%`]);
    const mails = (await readMails(process.env.TEST_MAIL_DIR!)).filter((mail) => `${mail.to.join(' ')} ${mail.text}`.includes(id));
    expect({ users: users.rows.length, mails: mails.length }).toEqual({ users: 0, mails: 0 });
  }

  test('the 255-character case really is 255 characters and the 65 one 65 (the fixtures are what they say)', () => {
    const lengths = hostileEmails.filter(([name]) => /\d{2,3}-character/.test(name)).map(([, build]) => build('hsx00000'));
    expect(lengths.map((email) => (email.includes('@example') ? email.split('@')[0]!.length : email.length))).toEqual([65, 255]);
  });

  test.each(hostileEmails)('register with %s is 400 validation_failed: no account, no mail to anyone', async (_, build) => {
    const id = `hs${randomUUID().slice(0, 8)}`;
    const response = await invoke(register, { method: 'POST', route: '/auth/register', json: { email: build(id), password: PASSWORD } });
    expectRefused(response, 400, 'validation_failed', ['evil.test', id]);
    expect(response.json.error.details).toHaveProperty('email');
    await expectNoAccountOrMail(id);
  });

  test('resend-verification refuses the same addresses: 400 and no mail', async () => {
    const id = `hs${randomUUID().slice(0, 8)}`;
    for (const [, build] of hostileEmails) {
      const response = await invoke(resend, { method: 'POST', route: '/auth/resend-verification', json: { email: build(id) } });
      expectRefused(response, 400, 'validation_failed', ['evil.test']);
    }
    await expectNoAccountOrMail(id);
  });

  test('login refuses the same addresses: 400, and no failed login is recorded for any of them', async () => {
    const id = `hs${randomUUID().slice(0, 8)}`;
    for (const [, build] of hostileEmails) {
      const response = await invoke(login, { method: 'POST', route: '/auth/login', json: { email: build(id), password: PASSWORD } });
      expectRefused(response, 400, 'validation_failed');
    }
    expect((await query('select 1 from login_failures where email like $1', [`%${id}%`])).rows).toHaveLength(0);
  });

  test('a 64-character local part is accepted and mailed: the local-part limit is exact', async () => {
    const local = `lim${randomUUID().replace(/-/g, '')}`.padEnd(64, 'l');
    const email = `${local}@example.test`;
    expect((await invoke(register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } })).status).toBe(202);
    expect((await mailTo(email)).to).toEqual([email]);
  });

  test('the email rule takes 254 characters and refuses 255: the length limit is exact', () => {
    // Checked on the rule alone: the SMTP catcher refuses paths over 253 characters (see SECURITY.md).
    const address = (length: number) => `${'l'.repeat(64)}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(length - 65 - 2 * 64 - 5)}.test`;
    expect([address(254).length, email.safeParse(address(254)).success]).toEqual([254, true]);
    expect([address(255).length, email.safeParse(address(255)).success]).toEqual([255, false]);
  });

  test('surrounding whitespace, tabs and a trailing CRLF are trimmed, never injected: one mail to the one address', async () => {
    const email = uniqueEmail('trim');
    const response = await invoke(register, { method: 'POST', route: '/auth/register', json: { email: ` \t${email.toUpperCase()}\r\n`, password: PASSWORD } });
    expect(response.status).toBe(202);
    const mail = await mailTo(email);
    expect(mail.to).toEqual([email]);
    expect((await query('select email from users where email = $1', [email])).rows).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- access tokens (JWT)

const secret = () => Buffer.from(process.env.JWT_SECRET!);
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hmac = (hash: 'sha256' | 'sha384' | 'sha512', input: string, key: Buffer = secret()) => createHmac(hash, key).update(input).digest('base64url');

/** A JWT signed by hand, so that any header, claim or signature can be made. */
function handSigned(header: Record<string, unknown>, claims: Record<string, unknown>, sign = (input: string) => hmac('sha256', input)) {
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign(input)}`;
}

const HEADER = { alg: 'HS256', typ: 'at+jwt' };
function validClaims(sub = alice.id): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  // Alice's live session: the signature alone no longer admits a token, its session must exist too.
  const sid = claimsOf(alice.accessToken).sid;
  return { role: 'user', sub, sid, iss: process.env.JWT_ISSUER, aud: process.env.JWT_AUDIENCE, iat: now, exp: now + 300, jti: randomUUID() };
}
const without = (claims: Record<string, unknown>, name: string) => Object.fromEntries(Object.entries(claims).filter(([key]) => key !== name));

async function expectUnauthorized(token: string) {
  const response = await me(token);
  expectRefused(response, 401, 'unauthorized');
}

describe('access tokens', () => {
  test('a hand-signed token with the right header and claims is accepted (so each refusal below is for its one change)', async () => {
    const response = await me(handSigned(HEADER, validClaims()));
    expect(response.status).toBe(200);
    expect(response.json.id).toBe(alice.id);
  });

  test('a well-signed token claiming "admin" is accepted with the account\'s role: the claim grants nothing', async () => {
    const response = await me(handSigned(HEADER, { ...validClaims(), role: 'admin' }));
    expect(response.status).toBe(200);
    expect(response.json.role).toBe('user');
  });

  test('no Authorization header at all is 401', async () => {
    expectRefused(await invoke(getProfile, { method: 'GET', route: '/users/me' }), 401, 'unauthorized');
  });

  describe('algorithm and key', () => {
    test.each([
      ['alg "none" keeping an HMAC signature', () => handSigned({ ...HEADER, alg: 'none' }, validClaims())],
      ['alg "none" with no signature at all', () => `${encode({ ...HEADER, alg: 'none' })}.${encode(validClaims())}.`],
      ['alg "None"', () => handSigned({ ...HEADER, alg: 'None' }, validClaims(), () => 'AA')],
      ['alg "NONE"', () => handSigned({ ...HEADER, alg: 'NONE' }, validClaims(), () => 'AA')],
      ['alg "nOnE"', () => handSigned({ ...HEADER, alg: 'nOnE' }, validClaims(), () => 'AA')],
      ['an empty signature', () => `${handSigned(HEADER, validClaims()).split('.').slice(0, 2).join('.')}.`],
      ['HS384 with the real secret', () => handSigned({ ...HEADER, alg: 'HS384' }, validClaims(), (input) => hmac('sha384', input))],
      ['HS512 with the real secret', () => handSigned({ ...HEADER, alg: 'HS512' }, validClaims(), (input) => hmac('sha512', input))],
      ['HS256 with another secret', () => handSigned(HEADER, validClaims(), (input) => hmac('sha256', input, Buffer.from('y'.repeat(32))))],
      ['RS256 in the header over an HMAC of the secret (key confusion)', () => handSigned({ ...HEADER, alg: 'RS256' }, validClaims())],
      ['ES256 in the header over an HMAC of the secret', () => handSigned({ ...HEADER, alg: 'ES256' }, validClaims())],
      ['an HMAC keyed with the empty string', () => handSigned(HEADER, validClaims(), (input) => hmac('sha256', input, Buffer.alloc(0)))],
    ])('%s is 401', async (_, build) => {
      await expectUnauthorized(build());
    });

    test('an attacker key embedded as "jwk" (ES256) is 401', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const token = await new SignJWT(without(validClaims(), 'sub'))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: await exportJWK(publicKey) })
        .setSubject(alice.id)
        .sign(privateKey);
      await expectUnauthorized(token);
    });

    test.each([
      ['jwk', { jwk: { kty: 'oct', k: Buffer.from('attacker-key').toString('base64url') } }],
      ['x5u', { x5u: 'https://evil.example/cert.pem' }],
      ['jku', { jku: 'https://evil.example/jwks.json' }],
      ['a kid', { kid: 'key-1' }],
      ['typ "JWT" instead of at+jwt', { typ: 'JWT' }],
      ['x5c', { x5c: ['MIIBszCCAVmgAwIBAgIUEvil'] }],
      ['a path-traversal kid', { kid: '../../../../../../dev/null' }],
      ['an SQL kid', { kid: "' UNION SELECT 'attacker-key' --" }],
      ['crit naming an unknown extension', { crit: ['http://evil.example/ext'], 'http://evil.example/ext': true }],
      ['b64: false', { b64: false, crit: ['b64'] }],
    ])('a header with %s is 401 even when signed with the real secret', async (_, extra) => {
      await expectUnauthorized(handSigned({ ...HEADER, ...extra }, validClaims()));
    });

    test('a header without typ is 401', async () => {
      await expectUnauthorized(handSigned({ alg: 'HS256' }, validClaims()));
    });
  });

  describe('claims', () => {
    test.each([
      ["another user's id", () => ({ sub: bob.id })],
      ['the role raised to admin', () => ({ role: 'admin' })],
    ])("%s pasted into a real token's payload is 401 (the signature no longer matches)", async (_, change) => {
      const [header, , signature] = alice.accessToken.split('.');
      const payload = encode({ ...claimsOf(alice.accessToken), ...change() });
      await expectUnauthorized(`${header}.${payload}.${signature}`);
    });

    test.each([
      ['no iss', (claims: Record<string, unknown>) => without(claims, 'iss')],
      ['no aud', (claims: Record<string, unknown>) => without(claims, 'aud')],
      ['no exp', (claims: Record<string, unknown>) => without(claims, 'exp')],
      ['an exp 10 s past', (claims: Record<string, unknown>) => ({ ...claims, exp: (claims.iat as number) - 10 })],
      ['another issuer', (claims: Record<string, unknown>) => ({ ...claims, iss: 'someone-else' })],
      ['another audience', (claims: Record<string, unknown>) => ({ ...claims, aud: 'another-api' })],
      ['no sub', (claims: Record<string, unknown>) => without(claims, 'sub')],
      ['no jti', (claims: Record<string, unknown>) => without(claims, 'jti')],
      ['no iat', (claims: Record<string, unknown>) => without(claims, 'iat')],
      ['no role', (claims: Record<string, unknown>) => without(claims, 'role')],
      ['a role that does not exist', (claims: Record<string, unknown>) => ({ ...claims, role: 'superadmin' })],
      ['a role as an array', (claims: Record<string, unknown>) => ({ ...claims, role: ['admin'] })],
      ['a sub that is not a user id', (claims: Record<string, unknown>) => ({ ...claims, sub: 'admin' })],
      ['an SQL sub', (claims: Record<string, unknown>) => ({ ...claims, sub: "' OR '1'='1" })],
      ['exp as a string', (claims: Record<string, unknown>) => ({ ...claims, exp: String(claims.exp) })],
      ['nbf in the future', (claims: Record<string, unknown>) => ({ ...claims, nbf: (claims.iat as number) + 3600 })],
      ['iat in the future', (claims: Record<string, unknown>) => ({ ...claims, iat: (claims.iat as number) + 3600, exp: (claims.exp as number) + 3600 })],
      ['an audience list without ours', (claims: Record<string, unknown>) => ({ ...claims, aud: ['another-api', 'third-api'] })],
    ])('a token with %s, signed with the real secret, is 401', async (_, change) => {
      await expectUnauthorized(handSigned(HEADER, change(validClaims())));
    });

    test('a well-signed token for a user id that does not exist is 401', async () => {
      await expectUnauthorized(handSigned(HEADER, validClaims(randomUUID())));
    });

    // jose parses the payload with JSON.parse, which keeps "__proto__" as an own key; a copy made with
    // Object.assign or a merge would turn it into the prototype, and `claims.role` would then read "admin".
    test('a role smuggled in through "__proto__" counts for nothing: without an own role 401, beside one the account\'s role', async () => {
      const smuggling = (claims: Record<string, unknown>) => {
        const payload = JSON.stringify(claims).replace(/^\{/, '{"__proto__":{"role":"admin"},');
        const input = `${encode(HEADER)}.${Buffer.from(payload).toString('base64url')}`;
        return `${input}.${hmac('sha256', input)}`;
      };
      await expectUnauthorized(smuggling(without(validClaims(), 'role')));
      const accepted = await me(smuggling(validClaims()));
      expect({ status: accepted.status, role: accepted.json.role }).toEqual({ status: 200, role: 'user' });
      expect(Object.prototype).not.toHaveProperty('role');
    });

    test('a well-signed 10 KB token is 401 before any verification', async () => {
      await expectUnauthorized(handSigned(HEADER, { ...validClaims(), padding: 'p'.repeat(10 * 1024) }));
    });
  });

  describe('the Authorization header', () => {
    test.each([
      ['10 KB of garbage', () => `Bearer ${'A'.repeat(10 * 1024)}`],
      ['"Bearer" alone', () => 'Bearer'],
      ['a Bearer value that is no JWT', () => 'Bearer not.a.jwt'],
      ['Basic with a non-credential', () => 'Basic abc'],
      ['an SQL string', () => "Bearer ' OR '1'='1' --"],
      ['two tokens', () => `Bearer ${alice.accessToken} ${bob.accessToken}`],
      ['a token with a fourth segment', () => `Bearer ${alice.accessToken}.${alice.accessToken.split('.')[2]}`],
      ['another scheme', () => `Token ${alice.accessToken}`],
      ['Basic credentials', () => `Basic ${Buffer.from(`${alice.email}:${PASSWORD}`).toString('base64')}`],
      ['standard base64 instead of base64url', () => `Bearer ${alice.accessToken.replace(/-/g, '+').replace(/_/g, '/')}==`],
      ['a header injected after the token', () => `Bearer ${alice.accessToken}\r\nX-Role: admin`],
      ['a refresh token', () => `Bearer ${alice.refreshToken}`],
      ['a verification token', () => `Bearer ${pending.token}`],
    ])('%s is 401', async (_, authorization) => {
      expectRefused(await meWithAuthorization(authorization()), 401, 'unauthorized');
    });

    test("Alice's token reads Alice at /users/me whatever headers or query name Bob", async () => {
      const response = await me(alice.accessToken, {
        headers: { 'x-user-id': bob.id, 'x-forwarded-user': bob.id },
        query: { userId: bob.id, sub: bob.id, id: bob.id },
      });
      expect(response.status).toBe(200);
      expect(response.json).toMatchObject({ id: alice.id, email: alice.email });
    });
  });
});

// ---------------------------------------------------------------- refresh tokens

/** Refresh-token rows of both users, to show a refused request added or revoked none. */
async function sessionRows() {
  const { rows } = await query<{ user_id: string; live: number; revoked: number }>(
    `select user_id, count(*) filter (where revoked_at is null and replaced_by is null)::int as live, count(revoked_at)::int as revoked
     from refresh_tokens where user_id = any($1) group by user_id order by user_id`,
    [[alice.id, bob.id]],
  );
  return rows;
}

describe('refresh tokens', () => {
  test.each([
    ['garbage', 'not-a-token'],
    ['an SQL string', "' OR '1'='1"],
    ['an SQL statement', "x'; update refresh_tokens set revoked_at = null; --"],
    ['43 quote characters', "'".repeat(43)],
    ['43 lookalike characters', '\u0430'.repeat(43)],
    ['a well-formed unknown token', 'Z'.repeat(43)],
  ])('%s is 401 invalid_token and adds or revokes no session', async (_, token) => {
    const before = await sessionRows();
    const response = await refreshWith({ refreshToken: token });
    expectRefused(response, 401, 'invalid_token');
    expectNoTokens(response);
    expect(await sessionRows()).toEqual(before);
  });

  test.each([
    ['10 KB long', 'R'.repeat(10 * 1024)],
    ['an array', ['Z'.repeat(43)]],
    ['an object', { $ne: null }],
    ['a number', 42],
    ['null', null],
  ])('a refresh token that is %s is 400 validation_failed', async (_, token) => {
    const response = await refreshWith({ refreshToken: token });
    expectRefused(response, 400, 'validation_failed');
    expectNoTokens(response);
  });

  test('the stored SHA-256 of a refresh token is not a refresh token: 401', async () => {
    const stored = createHash('sha256').update(alice.refreshToken).digest();
    for (const encoded of [stored.toString('base64url'), stored.toString('hex')]) {
      expectRefused(await refreshWith({ refreshToken: encoded }), 401, 'invalid_token');
    }
  });

  test("a verification token is not a refresh token: 401", async () => {
    expectRefused(await refreshWith({ refreshToken: pending.token }), 401, 'invalid_token');
  });

  test("Alice's refresh token with Bob's id alongside refreshes Alice only; Bob's session is untouched", async () => {
    const bobBefore = (await sessionRows()).find((row) => row.user_id === bob.id);
    const response = await refreshWith({ refreshToken: alice.refreshToken, userId: bob.id, sub: bob.id, user: { id: bob.id } });
    expect(response.status).toBe(200);
    alice = { ...alice, ...response.json };
    expect(claimsOf(response.json.accessToken).sub).toBe(alice.id);
    expect((await me(response.json.accessToken)).json.id).toBe(alice.id);
    expect((await sessionRows()).find((row) => row.user_id === bob.id)).toEqual(bobBefore);
  });

  test("logging out with Alice's refresh token and Bob's id does not end Bob's session", async () => {
    const session = await invoke(login, { method: 'POST', route: '/auth/login', json: { email: alice.email, password: PASSWORD } });
    const response = await invoke(logout, { method: 'POST', route: '/auth/logout', json: { refreshToken: session.json.refreshToken, userId: bob.id } });
    expect(response.status).toBe(204);
    const bobRefreshed = await refreshWith({ refreshToken: bob.refreshToken });
    expect(bobRefreshed.status).toBe(200);
    bob = { ...bob, ...bobRefreshed.json };
  });
});

// ---------------------------------------------------------------- verification tokens

async function pendingState() {
  const { rows } = await query<{ verified: boolean; used: number }>(
    `select u.email_verified_at is not null as verified, (select count(used_at)::int from verification_tokens where user_id = u.id) as used
     from users u where u.id = $1`,
    [pending.userId],
  );
  return rows[0];
}

describe('verification tokens', () => {
  test.each([
    ['garbage', () => 'not-a-token'],
    ['an SQL string', () => "' OR '1'='1' --"],
    ['an SQL statement', () => "'; update users set email_verified_at = now(); --"],
    ['43 quote characters', () => "'".repeat(43)],
    ['a well-formed unknown token', () => 'Q'.repeat(43)],
    ['43 lookalike characters', () => '\u0430'.repeat(43)],
    ['the real token with a NUL byte after it', () => `${pending.token}\u0000`],
    ['the real token with one character changed', () => `${pending.token.slice(0, -1)}${pending.token.endsWith('A') ? 'B' : 'A'}`],
    ['the stored SHA-256 (base64url)', () => createHash('sha256').update(pending.token).digest('base64url')],
    ['the stored SHA-256 (hex)', () => createHash('sha256').update(pending.token).digest('hex')],
    ['a refresh token', () => bob.refreshToken],
    ['an access token', () => bob.accessToken],
  ])('%s is 400 invalid_token and verifies nothing', async (_, token) => {
    const response = await verifyWith({ token: token() });
    expectRefused(response, 400, 'invalid_token');
    expect(await pendingState()).toEqual({ verified: false, used: 0 });
  });

  test.each([
    ['10 KB long', 'V'.repeat(10 * 1024)],
    ['an array', ['x']],
    ['an object', { $ne: null }],
    ['a number', 1],
  ])('a verification token that is %s is 400 validation_failed', async (_, token) => {
    expectRefused(await verifyWith({ token }), 400, 'validation_failed');
    expect(await pendingState()).toEqual({ verified: false, used: 0 });
  });

  test('a 10 KB token in the link shows the incomplete-link page with 400 and verifies nothing', async () => {
    const response = await invoke(verifyEmail, { method: 'GET', route: '/auth/verify-email', query: { token: 'V'.repeat(10 * 1024) } });
    expect(response.status).toBe(400);
    expectNoLeak(response);
    expect(await pendingState()).toEqual({ verified: false, used: 0 });
  });
});
