/**
 * Hostile JSON bodies: malformed, mislabelled, type-confused, over-sized, prototype-polluting and
 * base64-wrapped. ASVS 5.0 V1.1.1 (decode once), V1.5 (safe deserialisation), V2.2 (input validation),
 * V4.2 (HTTP message structure). Every refusal is a 4xx error body and leaves no row, mail or token.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler as getProfile } from '../functions/get-profile';
import { handler as login } from '../functions/login';
import { handler as register } from '../functions/register';
import { handler as updateProfile } from '../functions/update-profile';
import { handler as verifyEmail } from '../functions/verify-email';
import { query } from '../lib/platform/db';
import { hashPassword } from '../lib/accounts/passwords';
import { readMails } from '../scripts/stack/mail';
import { PASSWORD, createVerifiedUser, type TestUser } from './support/accounts';
import { httpEvent, lambdaContext, type EventOptions } from '../scripts/support/events';
import { invoke, type InvokeResult } from './support/events';
import { expectNoLeak, expectRefused } from './support/refusals';

type Handler = (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const JSON_TYPE = { 'content-type': 'application/json' };
const prototypeNamesAtStart = Object.getOwnPropertyNames(Object.prototype).sort();

let user: TestUser;
beforeAll(async () => {
  user = await createVerifiedUser();
});

/** A fresh marker per case: every address, row and mail of the case contains it. */
const marker = () => `hj${randomUUID().slice(0, 8)}`;
const emailWith = (id: string) => `${id}@example.test`;

const post = (handler: Handler, route: string, options: Omit<EventOptions, 'method' | 'route'>) => invoke(handler, { method: 'POST', route, ...options });
const registerRaw = (body: string, headers: Record<string, string> = JSON_TYPE) => post(register, '/auth/register', { body, headers });
const registerJson = (json: unknown) => post(register, '/auth/register', { json });
const loginJson = (json: unknown) => post(login, '/auth/login', { json });
const patchMe = (json: unknown) => invoke(updateProfile, { method: 'PATCH', route: '/users/me', json, bearer: user.accessToken });

/** Sends an event whose body and base64 flag are exactly as given (API Gateway may base64 any body). */
async function invokeRaw(handler: Handler, route: string, body: string, isBase64Encoded: boolean): Promise<InvokeResult> {
  const event = httpEvent({ method: 'POST', route, headers: JSON_TYPE });
  event.body = body;
  event.isBase64Encoded = isBase64Encoded;
  const response = (await handler(event, lambdaContext())) as { statusCode: number; headers?: Record<string, string>; body?: string };
  let json: unknown;
  try {
    json = JSON.parse(response.body ?? '');
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers ?? {}, body: response.body ?? '', json };
}

/** Nothing anywhere carries the marker: no account, no login failure, no mail throttle, no mail. */
async function expectNoTraceOf(id: string) {
  const pattern = `%${id}%`;
  const { rows } = await query<{ users: number; failures: number; throttled: number }>(
    `select (select count(*)::int from users where email like $1) as users,
            (select count(*)::int from login_failures where email like $1) as failures,
            (select count(*)::int from mail_throttle where email like $1) as throttled`,
    [pattern],
  );
  const mails = (await readMails(process.env.TEST_MAIL_DIR!)).filter((mail) => mail.to.join(' ').includes(id));
  expect({ ...rows[0], mails: mails.length }).toEqual({ users: 0, failures: 0, throttled: 0, mails: 0 });
}

const userRow = async () => (await query('select * from users where id = $1', [user.id])).rows[0]!;

describe('malformed JSON', () => {
  /** A register body cut or bent after its email, so that a wrong parse would leave a trace. */
  const bodies: [string, (prefix: string) => string][] = [
    ['cut off', (prefix) => prefix],
    ['with a trailing comma', (prefix) => `${prefix},}`],
    ['with single quotes', (prefix) => `${prefix.replace(/"/g, "'")}}`],
    ['with unquoted keys', (prefix) => `${prefix.replace(/"(email|password)"/g, '$1')}}`],
    ['with two objects', (prefix) => `${prefix}}{"role":"admin"}`],
    ['with NaN', (prefix) => `${prefix},"nickname":NaN}`],
    ['with a raw control character in a string', (prefix) => `${prefix.slice(0, -1)}\u0001"}`],
    ['with a comment', (prefix) => `${prefix} /* admin */}`],
    ['with a byte-order mark', (prefix) => `\ufeff${prefix}}`],
  ];

  test.each(bodies)('a body %s is 400 invalid_json and creates nothing', async (_, bend) => {
    const id = marker();
    const prefix = JSON.stringify({ email: emailWith(id), password: PASSWORD }).slice(0, -1);
    expectRefused(await registerRaw(bend(prefix)), 400, 'invalid_json');
    await expectNoTraceOf(id);
  });

  test('an empty body is 400 validation_failed', async () => {
    expectRefused(await registerRaw(''), 400, 'validation_failed');
  });

  test('JSON nested 8000 levels deep (16 KB) is refused without a crash: 400 invalid_json', async () => {
    expectRefused(await registerRaw(`${'['.repeat(8000)}${']'.repeat(8000)}`), 400, 'invalid_json');
  });
});

describe('content type', () => {
  test.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/xml'],
    ['text/json'],
    ['application/jsonp'],
    ['application/json-seq'],
    ['(none)'],
  ])('a JSON body sent as %s is 415 unsupported_media_type and creates nothing', async (contentType) => {
    const id = marker();
    const body = JSON.stringify({ email: emailWith(id), password: PASSWORD });
    expectRefused(await registerRaw(body, contentType === '(none)' ? {} : { 'content-type': contentType }), 415, 'unsupported_media_type');
    await expectNoTraceOf(id);
  });
});

describe('type confusion', () => {
  test.each([
    ['email as an array', (email: string) => ({ email: [email], password: PASSWORD }), 'email'],
    ['email as an operator object', (email: string) => ({ email: { $ne: null, value: email }, password: PASSWORD }), 'email'],
    ['email as null', (email: string) => ({ email: null, password: PASSWORD, nickname: email.split('@')[0] }), 'email'],
    ['email as a number', (email: string) => ({ email: 42, password: PASSWORD, nickname: email.split('@')[0] }), 'email'],
    ['email as true', (email: string) => ({ email: true, password: PASSWORD, nickname: email.split('@')[0] }), 'email'],
    ['password as an array', (email: string) => ({ email, password: [PASSWORD] }), 'password'],
    ['password as an object', (email: string) => ({ email, password: { toString: PASSWORD } }), 'password'],
    ['password as a number', (email: string) => ({ email, password: 1234567890 }), 'password'],
    ['password as null', (email: string) => ({ email, password: null }), 'password'],
    ['nickname as an object', (email: string) => ({ email, password: PASSWORD, nickname: { name: 'x' } }), 'nickname'],
    ['firstName as an array', (email: string) => ({ email, password: PASSWORD, firstName: ['Ada'] }), 'firstName'],
  ])('register with %s is 400 validation_failed naming the field and creates nothing', async (_, build, field) => {
    const id = marker();
    const response = await registerJson(build(emailWith(id)));
    expectRefused(response, 400, 'validation_failed');
    expect(response.json.error.details).toHaveProperty(field);
    await expectNoTraceOf(id);
  });

  test.each([
    ['array', []],
    ['string', 'email=a@b.co'],
    ['number', 42],
    ['null', null],
    ['boolean', true],
  ])('a top-level %s instead of an object is 400 validation_failed', async (_, json) => {
    expectRefused(await registerRaw(JSON.stringify(json)), 400, 'validation_failed');
  });

  test.each([
    ['email as an operator object', (email: string) => ({ email: { $gt: '', email }, password: PASSWORD })],
    ['password as an operator object', (email: string) => ({ email, password: { $ne: '' } })],
    ['password as an array', (email: string) => ({ email, password: ['a', 'b'] })],
  ])('login with %s is 400 validation_failed and records no failed login', async (_, build) => {
    const id = marker();
    expectRefused(await loginJson(build(emailWith(id))), 400, 'validation_failed');
    await expectNoTraceOf(id);
  });

  test('a profile change with null, array and object values is 400 and changes nothing', async () => {
    const before = await userRow();
    const response = await patchMe({ nickname: null, bio: { text: 'x' }, lastName: ['x'] });
    expectRefused(response, 400, 'validation_failed');
    expect(Object.keys(response.json.error.details).sort()).toEqual(['bio', 'lastName', 'nickname']);
    expect(await userRow()).toEqual(before);
  });

  test('a profile change whose body is JSON null is 400 validation_failed, not an empty change answered 200', async () => {
    const response = await invoke(updateProfile, { method: 'PATCH', route: '/users/me', body: 'null', headers: JSON_TYPE, bearer: user.accessToken });
    expectRefused(response, 400, 'validation_failed');
    expect(response.json.error.details).toHaveProperty('body');
  });
});

describe('unknown fields are ignored and never assigned', () => {
  test('register with column names (password_hash, picture_id, created_at) stores none of them', async () => {
    const email = emailWith(marker());
    const response = await registerJson({
      email,
      password: PASSWORD,
      password_hash: 'scrypt$v=1$N=2,r=1,p=1$AAAA$AAAA',
      passwordHash: 'plain',
      picture_id: '00000000-0000-4000-8000-000000000000',
      pictureId: '00000000-0000-4000-8000-000000000000',
      created_at: '2000-01-01T00:00:00Z',
      isAdmin: true,
    });
    expect(response.status).toBe(202);
    const { rows } = await query('select * from users where email = $1', [email]);
    expect(rows[0]).toMatchObject({ picture_id: null, role: 'user', email_verified_at: null });
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$v=1\$N=1024,r=8,p=3\$/);
    expect(new Date(rows[0]!.created_at).getFullYear()).toBeGreaterThan(2000);
  });

  // email and role are refused by name (400, test/api-answers.test.ts); the other columns stay ignored.
  test('a profile change naming columns (id, password_hash, picture_id) changes only what the schema allows', async () => {
    const before = await userRow();
    const response = await patchMe({
      id: randomUUID(),
      password_hash: 'x',
      picture_id: randomUUID(),
      email_verified_at: null,
      created_at: '2000-01-01T00:00:00Z',
      bio: 'only this',
    });
    expect(response.status).toBe(200);
    const after = await userRow();
    expect({ ...after, bio: before.bio, updated_at: before.updated_at }).toEqual(before);
    expect(after.bio).toBe('only this');
  });

  test('login with role and sub fields issues an ordinary token for the account', async () => {
    const response = await loginJson({ email: user.email, password: PASSWORD, role: 'admin', sub: randomUUID() });
    expect(response.status).toBe(200);
    const claims = JSON.parse(Buffer.from(response.json.accessToken.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: user.id, role: 'user' });
  });
});

describe('prototype pollution', () => {
  test.each([
    ['__proto__ at the top', (email: string) => `{"email":"${email}","password":"${PASSWORD}","__proto__":{"role":"admin","polluted":"yes"}}`],
    ['constructor.prototype at the top', (email: string) => `{"email":"${email}","password":"${PASSWORD}","constructor":{"prototype":{"polluted":"yes"}}}`],
    ['__proto__ nested in a field', (email: string) => `{"email":"${email}","password":"${PASSWORD}","firstName":{"__proto__":{"polluted":"yes"}}}`],
    ['__proto__ spelled with escapes', (email: string) => `{"email":"${email}","password":"${PASSWORD}","\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"}}`],
    ['__proto__ inside an array', (email: string) => `{"email":"${email}","password":"${PASSWORD}","x":[{"__proto__":{"polluted":"yes"}}]}`],
  ])('a body with %s is 400 invalid_json and creates nothing', async (_, build) => {
    const id = marker();
    expectRefused(await registerRaw(build(emailWith(id))), 400, 'invalid_json');
    await expectNoTraceOf(id);
  });

  test('a profile change carrying __proto__ is 400 and changes nothing', async () => {
    const before = await userRow();
    const response = await invoke(updateProfile, {
      method: 'PATCH',
      route: '/users/me',
      body: '{"bio":"polluted","__proto__":{"role":"admin"}}',
      headers: JSON_TYPE,
      bearer: user.accessToken,
    });
    expectRefused(response, 400, 'invalid_json');
    expect(await userRow()).toEqual(before);
  });

  test('a form post with __proto__[polluted] keys is refused as an invalid link and pollutes nothing', async () => {
    const response = await post(verifyEmail, '/auth/verify-email', {
      body: '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&token=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(400);
    expectNoLeak(response);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('after every hostile body Object.prototype is unchanged', async () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNamesAtStart);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    // The accounts made meanwhile are ordinary users (a polluted default would show in the profile).
    expect((await invoke(getProfile, { method: 'GET', route: '/users/me', bearer: user.accessToken })).json.role).toBe('user');
  });
});

describe('oversized bodies', () => {
  const twoMegabytes = 'x'.repeat(2 * 1024 * 1024);

  test('a 2 MB password at register is 413 payload_too_large before any hashing: faster than one hash, no account', async () => {
    const id = marker();
    await registerJson({ email: emailWith(marker()), password: 'short' }); // warm the handler
    const hashStarted = performance.now();
    await hashPassword(PASSWORD);
    const hashMs = performance.now() - hashStarted;

    const started = performance.now();
    const response = await registerJson({ email: emailWith(id), password: twoMegabytes });
    const refusedMs = performance.now() - started;
    expectRefused(response, 413, 'payload_too_large');
    expect(refusedMs).toBeLessThan(hashMs / 2);
    await expectNoTraceOf(id);
  });

  test('a 2 MB password at login is 413 payload_too_large and never reaches the password check (no failed login recorded)', async () => {
    const id = marker();
    expectRefused(await loginJson({ email: emailWith(id), password: twoMegabytes }), 413, 'payload_too_large');
    await expectNoTraceOf(id);
  });

  test('a login password over 1024 characters is 400 validation_failed and never reaches the password check', async () => {
    const id = marker();
    const response = await loginJson({ email: emailWith(id), password: 'x'.repeat(1025) });
    expectRefused(response, 400, 'validation_failed');
    expect(response.json.error.details).toHaveProperty('password');
    await expectNoTraceOf(id);
  });

  test('a body one byte over 16 KiB is 413, however it is padded', async () => {
    const id = marker();
    const base = JSON.stringify({ email: emailWith(id), password: PASSWORD, pad: '' });
    const body = base.replace('"pad":""', `"pad":"${'p'.repeat(16 * 1024 + 1 - base.length)}"`);
    expect(Buffer.byteLength(body)).toBe(16 * 1024 + 1);
    expectRefused(await registerRaw(body), 413, 'payload_too_large');
    await expectNoTraceOf(id);
  });

  test('a 2 MB bio is 413 and the profile is unchanged', async () => {
    const before = await userRow();
    expectRefused(await patchMe({ bio: twoMegabytes }), 413, 'payload_too_large');
    expect(await userRow()).toEqual(before);
  });
});

describe('base64-encoded bodies (as API Gateway delivers binary media)', () => {
  const base64 = (text: string) => Buffer.from(text).toString('base64');

  test('a well-formed base64 JSON body is decoded once and accepted (the refusals below are not for the encoding)', async () => {
    const email = emailWith(marker());
    const response = await invokeRaw(register, '/auth/register', base64(JSON.stringify({ email, password: PASSWORD })), true);
    expect(response.status).toBe(202);
    expect((await query('select 1 from users where email = $1', [email])).rows).toHaveLength(1);
  });

  test('base64 of malformed JSON is 400 invalid_json', async () => {
    const id = marker();
    expectRefused(await invokeRaw(register, '/auth/register', base64(`{"email":"${emailWith(id)}",`), true), 400, 'invalid_json');
    await expectNoTraceOf(id);
  });

  test('base64 of a __proto__ body is 400 invalid_json', async () => {
    const id = marker();
    const body = base64(`{"email":"${emailWith(id)}","password":"${PASSWORD}","__proto__":{"role":"admin"}}`);
    expectRefused(await invokeRaw(register, '/auth/register', body, true), 400, 'invalid_json');
    await expectNoTraceOf(id);
  });

  test('a body flagged base64 that is not base64 is 400 invalid_json', async () => {
    expectRefused(await invokeRaw(register, '/auth/register', '%%% not base64 {"email": %%%', true), 400, 'invalid_json');
  });

  test('base64 wrapped twice is decoded only once: 400 invalid_json', async () => {
    const id = marker();
    const body = base64(base64(JSON.stringify({ email: emailWith(id), password: PASSWORD })));
    expectRefused(await invokeRaw(register, '/auth/register', body, true), 400, 'invalid_json');
    await expectNoTraceOf(id);
  });

  test('a base64 body whose decoded size is over 16 KiB is 413', async () => {
    const id = marker();
    const body = base64(JSON.stringify({ email: emailWith(id), password: 'x'.repeat(2 * 1024 * 1024) }));
    expectRefused(await invokeRaw(register, '/auth/register', body, true), 413, 'payload_too_large');
    await expectNoTraceOf(id);
  });
});
