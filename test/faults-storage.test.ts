// The object store taken away from a warm container (bucket already set up): routes that talk to it
// answer 503 quickly; routes that only presign URLs (a local signature, no round trip) keep working.
// Nothing stored is lost and the same S3 client serves again once the store is back.
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
  jpeg = await smallJpeg(72, 72);
});

const uploadAsOwner = () =>
  timed(() => invoke(app.handlers.uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: fixtures.owner.accessToken, ...fileUpload(jpeg) }));

// What each route answers without the object store, and why.
const withoutStorage: OutageTable = [
  ['register', 202, 'no storage involved'],
  ['verify-email GET', 200, 'no storage involved'],
  ['verify-email POST', 200, 'the profile only presigns URLs'],
  ['resend-verification', 202, 'no storage involved'],
  ['login', 200, 'no storage involved'],
  ['refresh', 200, 'no storage involved'],
  ['logout', 204, 'no storage involved'],
  ['get-profile me', 200, 'the profile only presigns URLs'],
  ['get-profile {id}', 200, 'the profile only presigns URLs'],
  ['update-profile', 200, 'the profile only presigns URLs'],
  ['upload-picture', 503, 'it stores the variants'],
  ['delete-picture', 503, 'it must delete the objects, so it changes nothing until it can'],
  ['picture-redirect', 302, 'a presigned URL is signed locally'],
  // A cold container would answer 503 here: its first call checks the bucket (lib/platform/storage.ts ensureBucket).
  ['upload-url', 200, 'a presigned POST is signed locally once the bucket is known'],
  ['confirm-picture', 503, 'it reads the raw upload'],
];

describeOutage('with s3rver stopped', { table: withoutStorage, calls: () => calls, begin: () => stack.s3.stop(), end: () => stack.s3.restore() }, () => {
  test('a refused delete keeps the picture on the profile', async () => {
    const profile = await invoke(app.handlers.getProfile, { method: 'GET', route: '/users/me', bearer: fixtures.deleter.accessToken });
    expect(profile.json.picture.default).toBe(false);
  });
});

describe('with s3rver hanging (connections accepted, never answered)', () => {
  beforeAll(() => stack.s3.hang(), 30_000);
  afterAll(() => stack.s3.restore(), 30_000);

  // Two store round trips: the variants, then their clean-up; each gives up after 2 attempts of 2 s (lib/platform/storage.ts).
  test('an upload answers 503 within 10 s (variants, then their clean-up, each timing out)', async () => {
    const response = await uploadAsOwner();
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(10_000);
  }, 30_000);

  test('confirm-picture answers 503 within 5 s', async () => {
    const response = await timed(calls['confirm-picture']);
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(5000);
  }, 30_000);

  test('delete-picture answers 503 within 5 s', async () => {
    const response = await timed(calls['delete-picture']);
    expect(response).toMatchObject(unavailableShape);
    expect(response.ms).toBeLessThan(5000);
  }, 30_000);
});

describe('after s3rver is back', () => {
  beforeAll(() => stack.s3.restore(), 30_000);

  test('the failed uploads left no objects: only the picture from before is stored', async () => {
    expect(await keysUnder(app, `pictures/${fixtures.owner.id}/`)).toEqual(fixtures.owner.pictureKeys);
  });

  test('the refused delete lost nothing: the picture and its objects are still there', async () => {
    expect(await keysUnder(app, `pictures/${fixtures.deleter.id}/`)).toEqual(fixtures.deleter.pictureKeys);
  });

  test('the same S3 client serves again: an upload answers 200 and replaces the picture', async () => {
    const response = await uploadAsOwner();
    expect(response.status).toBe(200);
    expect(await keysUnder(app, `pictures/${fixtures.owner.id}/`)).toHaveLength(3);
    expect(await keysUnder(app, `pictures/${fixtures.owner.id}/`)).not.toEqual(fixtures.owner.pictureKeys);
  });

  test('the raw upload that could not be read during the outage confirms now', async () => {
    const response = await calls['confirm-picture']();
    expect(response.status).toBe(200);
    expect(await app.objects.head(fixtures.rawUploadKey)).toBeUndefined();
  });

  test('delete-picture works again and removes the objects', async () => {
    const response = await calls['delete-picture']();
    expect(response.status).toBe(200);
    expect(response.json.picture.default).toBe(true);
    expect(await keysUnder(app, `pictures/${fixtures.deleter.id}/`)).toEqual([]);
  });
});
