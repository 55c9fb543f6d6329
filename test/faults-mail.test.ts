// The SMTP server refusing, gone or hanging: the routes that send mail answer 503 quickly and give the
// mail slot back, so the mail can be had once the server works again; no other route depends on mail.
// Runs on its own Postgres, s3rver and SMTP catcher (test/support/fault-stack.ts), never the shared ones.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  PASSWORD,
  describeOutage,
  mailTo,
  useFaultStack,
  timed,
  uniqueEmail,
  unavailableShape,
  type App,
  type Call,
  type OutageTable,
  type FaultStack,
  type Fixtures,
  type RouteName,
} from './support/fault-stack';
import { invoke } from './support/events';

let stack: FaultStack;
let app: App;
let calls: Record<RouteName, Call>;
let fixtures: Fixtures;

useFaultStack(async (context) => {
  ({ stack, app, calls, fixtures } = context);
});

const registerNew = () => timed(() => invoke(app.handlers.register, { method: 'POST', route: '/auth/register', json: { email: uniqueEmail(), password: PASSWORD } }));
const resendTo = (email: string) => invoke(app.handlers.resendVerification, { method: 'POST', route: '/auth/resend-verification', json: { email } });
const tokenIn = (links: string[]) => new URL(links.find((link) => link.includes('/auth/verify-email?token='))!).searchParams.get('token')!;

// What each route answers while the SMTP server refuses every recipient, and why.
const withoutMail: OutageTable = [
  ['register', 503, 'it mails a verification link'],
  ['verify-email GET', 200, 'no mail involved'],
  ['verify-email POST', 200, 'no mail involved'],
  ['resend-verification', 503, 'it mails a verification link to an unverified account'],
  ['login', 200, 'no mail involved'],
  ['refresh', 200, 'no mail involved'],
  ['logout', 204, 'no mail involved'],
  ['get-profile me', 200, 'no mail involved'],
  ['get-profile {id}', 200, 'no mail involved'],
  ['update-profile', 200, 'no mail involved'],
  ['upload-picture', 200, 'no mail involved'],
  ['delete-picture', 200, 'no mail involved'],
  ['picture-redirect', 302, 'no mail involved'],
  ['upload-url', 200, 'no mail involved'],
  ['confirm-picture', 200, 'no mail involved'],
];

const refusing = { table: withoutMail, calls: () => calls, begin: () => stack.smtp.setRefusing(true), end: () => stack.smtp.setRefusing(false) };

describeOutage('with the SMTP server refusing every recipient', refusing, () => {
  test('the registration that answered 503 kept its account, unverified', async () => {
    const { rows } = await app.db.query<{ email_verified_at: Date | null }>('select email_verified_at from users where email = $1', [fixtures.registerEmail]);
    expect(rows).toEqual([{ email_verified_at: null }]);
  });
});

describe('with the SMTP server stopped', () => {
  beforeAll(() => stack.smtp.stop(), 30_000);
  afterAll(() => stack.smtp.restore(), 30_000);

  test('register answers 503 within 5 s', async () => {
    const response = await registerNew();
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(5000);
  });

  // An outage must not tell which addresses have accounts: 503 for every address, not only those that get mail.
  test('resend-verification answers 503 for an unknown address too', async () => {
    const response = await timed(() => resendTo(uniqueEmail('nobody')));
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(5000);
  });

  test('a registration whose mail slot is taken (mailed a moment ago) still answers 503', async () => {
    const email = uniqueEmail();
    await app.db.query(`insert into mail_throttle (email, last_sent_at) values ($1, now())`, [email]);
    const response = await timed(() => invoke(app.handlers.register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } }));
    expect(response).toMatchObject(unavailableShape);
  });
});

describe('with the SMTP server hanging (connections accepted, no greeting)', () => {
  beforeAll(() => stack.smtp.hang(), 30_000);
  afterAll(() => stack.smtp.restore(), 30_000);

  test('register answers 503 within 5 s', async () => {
    const response = await registerNew();
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(5000);
  });
});

describe('after the SMTP server works again', () => {
  beforeAll(async () => {
    await stack.smtp.restore();
    stack.smtp.setRefusing(false);
  }, 30_000);

  // Within the minute of the failed attempt: only a released mail slot lets this mail out.
  test('the account whose registration mail failed gets its link through resend-verification, and the link works', async () => {
    const since = Date.now();
    expect((await resendTo(fixtures.registerEmail)).status).toBe(202);
    const mail = await mailTo(stack, fixtures.registerEmail, { since });
    const verified = await invoke(app.handlers.verifyEmail, { method: 'POST', route: '/auth/verify-email', json: { token: tokenIn(mail.links) } });
    expect(verified.status).toBe(200);
    expect(verified.json.user.emailVerified).toBe(true);
  });

  test('a resend that failed can be repeated at once, and the mail goes out', async () => {
    const since = Date.now();
    expect((await resendTo(fixtures.resendEmail)).status).toBe(202);
    expect(tokenIn((await mailTo(stack, fixtures.resendEmail, { since })).links)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('retrying the registration itself also mails the link', async () => {
    const email = uniqueEmail();
    stack.smtp.setRefusing(true);
    const refused = await invoke(app.handlers.register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } });
    stack.smtp.setRefusing(false);
    expect(refused.status).toBe(503);
    const since = Date.now();
    expect((await invoke(app.handlers.register, { method: 'POST', route: '/auth/register', json: { email, password: PASSWORD } })).status).toBe(202);
    expect((await mailTo(stack, email, { since })).subject).toMatch(/confirm/i);
  });
});
