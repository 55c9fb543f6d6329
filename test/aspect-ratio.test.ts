/**
 * Aspect-ratio bombs (issue 8, item 4): tiny files whose extreme shape made the cover resize enlarge them to
 * 512 × hundreds of thousands of pixels (1×1000 PNG: 11 s and 1.2 GB; 1×30000 GIF and 65535×1 PNG: 500).
 * The work must be bounded by the output: every one answers fast with correct 512×512 squares, never 500.
 */
import { deflateSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from '@jest/globals';
import sharp from 'sharp';
import { handler as uploadPicture } from '../functions/upload-picture';
import { MAX_ASPECT_RATIO, processPicture, regionToResize } from '../lib/pictures/images';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fx from '../scripts/support/images';
import { fileUpload } from '../scripts/support/multipart';

const OPTIONS = { maxPixels: 40_000_000, sizes: [64, 200, 512] };

/** A greyscale 8-bit PNG of width × height, all black, a few hundred bytes at most. */
function thinPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    fx.pngChunk('IHDR', header),
    fx.pngChunk('IDAT', deflateSync(Buffer.alloc((width + 1) * height), { level: 9 })),
    fx.pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 40 } } });

const bombs: [string, () => Promise<Buffer>][] = [
  ['a 1×1000 PNG', async () => thinPng(1, 1000)],
  ['a 1×3000 PNG', async () => thinPng(1, 3000)],
  ['a 2000×1 PNG', async () => thinPng(2000, 1)],
  ['a 65535×1 PNG', async () => thinPng(65535, 1)],
  ['a 1×16383 WebP', () => solid(1, 16383).webp({ lossless: true }).toBuffer()],
  ['a 1×30000 GIF', () => solid(1, 30000).gif().toBuffer()],
];

describe('extreme aspect ratios are cropped before the resize', () => {
  test.each(bombs)('%s gives 512×512 squares in well under the old cost', async (_name, build) => {
    const bytes = await build();
    const started = performance.now();
    const { variants } = await processPicture(bytes, OPTIONS);
    const elapsed = performance.now() - started;
    for (const [size, webp] of variants) {
      const meta = await sharp(webp).metadata();
      expect([meta.width, meta.height]).toEqual([size, size]);
    }
    // Before the fix the 1×1000 PNG alone took 11 s; the bound is loose for a loaded 2-core machine.
    expect(elapsed).toBeLessThan(3000);
  });

  test.each([
    // Shrinking (short side ≥ 512): resized first, so that a JPEG still shrinks on load, then cropped.
    ['a 5000×1000 panorama, resized then cropped', 5000, 1000],
    ['a 1000×5000 portrait strip, resized then cropped', 1000, 5000],
    // Enlarging (short side < 512): cropped first, so that only the kept part is enlarged.
    ['a 2000×300 strip, cropped then enlarged', 2000, 300],
  ])('%s keeps only its centre 4:1 (the outer tenths never show)', async (_name, width, height) => {
    // Red in the outer tenths (minus a margin for JPEG blur), blue between: a 5:1 → 4:1 crop drops a tenth at each end.
    const wide = width > height;
    const band = Math.floor(Math.max(width, height) / 10 - 8);
    const [r, g, b] = fx.RED;
    const redBand = { create: { width: wide ? band : width, height: wide ? height : band, channels: 3 as const, background: { r, g, b } } };
    const jpeg = await sharp({ create: { width, height, channels: 3, background: { r: fx.BLUE[0], g: fx.BLUE[1], b: fx.BLUE[2] } } })
      .composite([
        { input: redBand, left: 0, top: 0 },
        { input: redBand, left: wide ? width - band : 0, top: wide ? 0 : height - band },
      ])
      .jpeg({ quality: 95 })
      .toBuffer();

    const { variants } = await processPicture(jpeg, OPTIONS);

    const { data, info } = await sharp(variants.get(512)!).raw().toBuffer({ resolveWithObject: true });
    let redPixels = 0;
    for (let offset = 0; offset < data.length; offset += info.channels) if (data[offset]! > 150 && data[offset + 2]! < 100) redPixels += 1;
    expect([info.width, info.height]).toEqual([512, 512]);
    expect(redPixels).toBe(0);
  });

  test('the kept region is the centre, at most MAX_ASPECT_RATIO long; ordinary shapes are not cropped', () => {
    expect(regionToResize(1, 1000)).toEqual({ left: 0, top: 498, width: 1, height: MAX_ASPECT_RATIO });
    expect(regionToResize(65535, 1)).toEqual({ left: 32765, top: 0, width: 4, height: 1 });
    expect(regionToResize(4000, 1000)).toBeUndefined();
    expect(regionToResize(3000, 4000)).toBeUndefined();
  });
});

describe('through POST /users/me/picture', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createVerifiedUser();
  });

  test.each(bombs)('%s is 200 with a picture, never 500', async (_name, build) => {
    const response = await invoke(uploadPicture, { method: 'POST', route: '/users/me/picture', bearer: user.accessToken, ...fileUpload(await build()) });
    expect(response.status).toBe(200);
    expect(response.json.picture.default).toBe(false);
  });

  test('a header claiming more pixels than the limit is still 422 image_too_large', async () => {
    const response = await invoke(uploadPicture, {
      method: 'POST',
      route: '/users/me/picture',
      bearer: user.accessToken,
      ...fileUpload(fx.pngClaimingDimensions(1, 50_000_001)),
    });
    expect(response.status).toBe(422);
    expect(response.json.error.code).toBe('image_too_large');
  });
});
