import { describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { replacePicture } from '../lib/pictures/pipeline';
import { serviceUnavailable } from '../lib/errors';
import { s3Store, type ObjectStore } from '../lib/platform/storage';
import { createVerifiedUser } from './support/accounts';
import { findUserById } from '../lib/accounts/users';
import { smallJpeg } from '../scripts/support/images';

const keysUnder = async (prefix: string) => (await s3Store.list(prefix)).map((object) => object.key).sort();

/** The real s3rver store, wrapped (a partial fake) so that one put fails at once while the others land late. */
function storeFailingOnePut(): ObjectStore {
  let puts = 0;
  return {
    ...s3Store,
    async put(key, body, contentType) {
      puts += 1;
      if (puts === 2) throw serviceUnavailable('file storage');
      await new Promise((resolve) => setTimeout(resolve, 150));
      return s3Store.put(key, body, contentType);
    },
  };
}

describe('replacePicture when storing fails part-way (real s3rver behind a wrapper that fails one put)', () => {
  test('the variants still in flight land before the clean-up, so no object is left behind', async () => {
    const user = await createVerifiedUser();
    await expect(replacePicture(user.id, await smallJpeg(), storeFailingOnePut())).rejects.toMatchObject({ status: 503 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual([]);
  });

  test('the user keeps the picture they had: its objects, and the row, whose update rolled back', async () => {
    const user = await createVerifiedUser();
    const { picture_id: pictureBefore } = await replacePicture(user.id, await smallJpeg(), s3Store);
    const before = await keysUnder(`pictures/${user.id}/`);
    await expect(replacePicture(user.id, await smallJpeg(), storeFailingOnePut())).rejects.toMatchObject({ status: 503 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await keysUnder(`pictures/${user.id}/`)).toEqual(before);
    expect(before).toHaveLength(3);
    expect((await findUserById(user.id))?.picture_id).toBe(pictureBefore);
  });

  test('while the puts are in flight, readers see the old picture: the new id commits only after its objects landed', async () => {
    const user = await createVerifiedUser();
    const { picture_id: pictureBefore } = await replacePicture(user.id, await smallJpeg(), s3Store);
    // The puts wait at a gate the test opens once it has read the row: the read happens while they are held.
    let putsStarted!: () => void;
    const started = new Promise<void>((resolve) => (putsStarted = resolve));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let landed = 0;
    const heldStore: ObjectStore = {
      ...s3Store,
      async put(key, body, contentType) {
        putsStarted();
        await gate;
        await s3Store.put(key, body, contentType);
        landed += 1;
      },
    };

    const upload = replacePicture(user.id, await smallJpeg(), heldStore);
    await started;
    const duringPuts = await findUserById(user.id);
    openGate();
    const { picture_id: pictureAfter } = await upload;

    expect(duringPuts?.picture_id).toBe(pictureBefore);
    expect(landed).toBe(3);
    expect(pictureAfter).not.toBe(pictureBefore);
    expect((await findUserById(user.id))?.picture_id).toBe(pictureAfter);
  });

  test('a picture for a user that does not exist is 404 and leaves nothing', async () => {
    const nobody = randomUUID();
    await expect(replacePicture(nobody, await smallJpeg(), s3Store)).rejects.toMatchObject({ status: 404 });
    expect(await keysUnder(`pictures/${nobody}/`)).toEqual([]);
  });
});
