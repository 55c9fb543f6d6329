// Postgres taken away from a warm container: every route that needs it answers 503 quickly, nothing
// stored is lost, and the same module instances (same pg pool) serve again once it is back.
// Runs on its own Postgres, s3rver and SMTP catcher (test/support/fault-stack.ts), never the shared ones.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  describeOutage,
  keysUnder,
  useFaultStack,
  timed,
  unavailableShape,
  type App,
  type Call,
  type OutageTable,
  type FaultStack,
  type Fixtures,
  type RouteName,
} from './support/fault-stack';
import { invoke } from './support/events';
import { smallJpeg } from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

let stack: FaultStack;
let app: App;
let calls: Record<RouteName, Call>;
let fixtures: Fixtures;
let jpeg: Buffer;

useFaultStack(async (context) => {
  ({ stack, app, calls, fixtures } = context);
  jpeg = await smallJpeg(64, 64);
});

const upload = () => invoke(app.handlers.uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: fixtures.owner.accessToken, ...fileUpload(jpeg) });
const keysLinkedFrom = (picture: { variants: Record<string, string> }) =>
  Object.values(picture.variants)
    .map((url) => decodeURIComponent(new URL(url).pathname).replace(`/${process.env.S3_BUCKET}/`, ''))
    .sort();

// What each route answers without a database, and why.
const withoutDatabase: OutageTable = [
  ['register', 503, 'it stores the account'],
  ['verify-email GET', 200, 'the confirm page reads nothing'],
  ['verify-email POST', 503, 'it consumes the token'],
  ['resend-verification', 503, 'it looks up the account'],
  ['login', 503, 'it reads the account and the throttle'],
  ['refresh', 503, 'it rotates the stored token'],
  ['logout', 503, 'it revokes the stored session'],
  ['get-profile me', 503, 'it reads the account'],
  ['get-profile {id}', 503, 'it reads the account'],
  ['update-profile', 503, 'it writes the account'],
  ['upload-picture', 503, 'it commits the picture id'],
  ['delete-picture', 503, 'it clears the picture id'],
  ['picture-redirect', 503, 'it reads the picture id'],
  ['upload-url', 503, 'every authenticated route checks its session row'],
  ['confirm-picture', 503, 'it commits the picture id'],
];

describeOutage('with Postgres stopped', { table: withoutDatabase, calls: () => calls, begin: () => stack.postgres.stop(), end: () => stack.postgres.restore() }, () => {
  test('an upload whose commit fails leaves no new objects and the old picture in place', async () => {
    const response = await upload();
    expect(response.status).toBe(503);
    expect(await keysUnder(app, `pictures/${fixtures.owner.id}/`)).toEqual(fixtures.owner.pictureKeys);
  });

  test('a confirm that fails keeps the raw upload, so the client can retry the same key', async () => {
    const response = await calls['confirm-picture']();
    expect(response.status).toBe(503);
    expect(await app.objects.head(fixtures.rawUploadKey)).toBeDefined();
  });
});

describe('with Postgres hanging (connections accepted, never answered)', () => {
  beforeAll(() => stack.postgres.hang(), 30_000);
  afterAll(() => stack.postgres.restore(), 30_000);

  // One connect timeout (3 s, lib/platform/db.ts); a timed-out connect is not retried.
  test('a single login answers 503 within 5 s', async () => {
    const response = await timed(calls.login);
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(5000);
  });

  test('every route that needs the database answers 503 within 5 s, even all at once', async () => {
    const needing = withoutDatabase.filter(([, status]) => status === 503).map(([route]) => route);
    const results = await Promise.all(needing.map(async (route) => [route, await timed(calls[route])] as const));
    const summary = Object.fromEntries(results.map(([route, response]) => [route, { status: response.status, fast: response.ms < 5000 }]));
    expect(summary).toEqual(Object.fromEntries(needing.map((route) => [route, { status: 503, fast: true }])));
  });
});

describe('after Postgres is back', () => {
  beforeAll(() => stack.postgres.restore(), 30_000);

  test('the same pool serves again: login answers 200', async () => {
    expect((await calls.login()).status).toBe(200);
  });

  test('the profile still names the picture from before, and its objects are all there', async () => {
    const profile = await calls['get-profile me']();
    expect(profile.status).toBe(200);
    expect(keysLinkedFrom(profile.json.picture)).toEqual(fixtures.owner.pictureKeys);
    expect(await keysUnder(app, `pictures/${fixtures.owner.id}/`)).toEqual(fixtures.owner.pictureKeys);
  });

  test('the refused delete lost nothing: that picture and its objects are still there', async () => {
    expect(await keysUnder(app, `pictures/${fixtures.deleter.id}/`)).toEqual(fixtures.deleter.pictureKeys);
  });

  test('the session refused during the outage still refreshes', async () => {
    expect((await calls.refresh()).status).toBe(200);
  });

  test('the verification token refused during the outage still verifies', async () => {
    const response = await calls['verify-email POST']();
    expect(response.status).toBe(200);
    expect(response.json.user.emailVerified).toBe(true);
  });

  test('the raw upload kept during the outage confirms now, and is then removed', async () => {
    const response = await calls['confirm-picture']();
    expect(response.status).toBe(200);
    expect(response.json.picture.default).toBe(false);
    expect(await app.objects.head(fixtures.rawUploadKey)).toBeUndefined();
  });
});
