import { beforeAll, describe, expect, test } from '@jest/globals';
import sharp from 'sharp';
import { HttpError } from '../lib/errors';
import { attentionCrop } from '../lib/pictures/attention';
import { isSrgbProfile, srgbToLinear } from '../lib/pictures/icc';
import { detectImageType, loadShrunk, processPicture, renderDefaultAvatar, renderVariants, translateDecodeError } from '../lib/pictures/images';
import * as fixtures from '../scripts/support/images';

const SIZES = [64, 200, 512];
const OPTIONS = { maxPixels: 40_000_000, sizes: SIZES };

async function rejectionOf(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

const containsBytes = (haystack: Buffer, needle: string) => haystack.includes(Buffer.from(needle, 'latin1'));

describe('detectImageType', () => {
  test.each([
    ['jpeg', fixtures.smallJpeg],
    ['png', fixtures.transparentPng],
    ['gif', fixtures.animatedGif],
    ['webp', fixtures.blueWebp],
    ['avif', fixtures.smallAvif],
  ])('recognises %s by its magic bytes', async (type, build) => {
    expect(await detectImageType(await build())).toBe(type);
  });

  test('treats an animated PNG as a PNG', async () => {
    expect(await detectImageType(await fixtures.animatedPng())).toBe('png');
  });

  test('treats an AVIF whose major brand is the generic mif1 as AVIF (its ftyp also lists avif)', async () => {
    const avif = Buffer.from(await fixtures.smallAvif());
    avif.write('mif1', 8, 'latin1');

    expect(await detectImageType(avif)).toBe('avif');
  });

  test.each([
    ['heic', fixtures.heicHeader()],
    ['mif1 without an avif brand', fixtures.heicHeader('mif1', ['mif1', 'heic'])],
    ['heix', fixtures.heicHeader('heix', ['mif1', 'heix'])],
  ])('rejects HEIC (%s) as 415 saying how to send JPEG instead', async (_name, bytes) => {
    const error = await rejectionOf(detectImageType(bytes));

    expect(error).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(error.message).toMatch(/^HEIC\/HEIF images are not accepted: send the picture as JPEG\./);
    expect(error.message).toContain('Settings → Camera → Formats → Most Compatible');
    expect(error.message).toContain('JPEG, PNG, GIF, WebP and AVIF');
  });

  test.each([
    ['SVG', fixtures.svgDocument],
    ['HTML', fixtures.htmlDocument],
    ['plain text', fixtures.plainText],
    ['PDF', fixtures.pdfHeader],
    ['TIFF', fixtures.smallTiff],
    ['BMP', fixtures.smallBmp],
    ['PSD', fixtures.psdHeader],
    ['JPEG 2000', fixtures.jpeg2000Header],
    ['ZIP', fixtures.emptyZip],
    ['an empty file', () => Buffer.alloc(0)],
  ])('rejects %s as 415 naming the accepted types', async (_name, build) => {
    const error = await rejectionOf(detectImageType(await build()));

    expect(error).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(error.message).toBe('Only JPEG, PNG, GIF, WebP and AVIF images are accepted.');
  });
});

describe('renderVariants of a 12 MP camera photo', () => {
  let variants: Map<number, Buffer>;

  beforeAll(async () => {
    variants = await renderVariants(await fixtures.cameraPhoto12mp(), OPTIONS);
  });

  test('emits one square WebP per requested size', async () => {
    const shapes = await Promise.all(
      [...variants].map(async ([size, webp]) => {
        const { format, width, height } = await sharp(webp).metadata();
        return { size, format, width, height };
      }),
    );

    expect(shapes).toEqual(SIZES.map((size) => ({ size, format: 'webp', width: size, height: size })));
  });

  test('applies the EXIF orientation: the stored bottom band ends up on the left', async () => {
    const variant = variants.get(512)!;

    expect(fixtures.isNear(await fixtures.pixelAt(variant, 40, 256), fixtures.RED)).toBe(true);
    expect(fixtures.isNear(await fixtures.pixelAt(variant, 470, 256), fixtures.BLUE)).toBe(true);
    expect(fixtures.isNear(await fixtures.pixelAt(variant, 300, 500), fixtures.BLUE)).toBe(true);
  });

  test('drops EXIF (with GPS), ICC and XMP from every variant', async () => {
    const upload = await sharp(await fixtures.cameraPhoto12mp()).metadata();
    const gpsPointerTag = Buffer.from([0x25, 0x88]); // 0x8825, little-endian
    expect([upload.exif?.includes(gpsPointerTag), !!upload.icc, !!upload.xmp]).toEqual([true, true, true]);

    for (const webp of variants.values()) {
      const { exif, icc, xmp, orientation } = await sharp(webp).metadata();

      expect({ exif, icc, xmp, orientation }).toEqual({ exif: undefined, icc: undefined, xmp: undefined, orientation: undefined });
      for (const marker of ['Exif', 'EXIF', 'ICCP', 'XMP ', 'PortraitCam']) expect(containsBytes(webp, marker)).toBe(false);
    }
  });
});

describe('translateDecodeError', () => {
  // Seen in a run with four test files at once: libvips' shared error buffer gave one failure the lines of others.
  const mixed = [
    'tiff2vips: Not a TIFF file, bad magic number 0 (0x0)',
    'vips__tiff_openin_source: unable to open source for input',
    ' seek to 5046',
    'source: bad seek to 5606',
    'heif: Invalid input: Unexpected end of file: Extent in iloc box references data outside of file bounds (points to file position 250)',
    ' (2.100)',
  ].join('\n');

  test.each([
    ['one loader message', 'VipsJpeg: Premature end of input file'],
    ['loader messages of several failures, mixed', mixed],
    ['only read-past-the-end notes', 'source: bad seek to 5606\nsource: bad seek to 5638'],
    // Both seen in repeated runs of the damaged-input test below (WebP, AVIF and PNG inputs decoded side by side).
    ['the TIFF reader on a damaged EXIF block, alone', 'tiff2vips: Not a TIFF file, bad magic number 0 (0x0)'],
    ['notes, the last cut to its prefix', 'source: bad seek to 5638\nsource: bad seek to 2944\nsource:'],
  ])('%s → 422 invalid_image', (_name, message) => {
    const translated = translateDecodeError(new Error(message), 1_000_000);
    expect(translated).toBeInstanceOf(HttpError);
    expect(translated).toMatchObject({ status: 422, code: 'invalid_image' });
  });

  test.each([
    ['alone', 'vips_malloc: out of memory --- size == 400MB'],
    ['mixed with another failure\'s loader line', 'VipsJpeg: Premature end of input file\nvips_malloc: out of memory --- size == 400MB'],
  ])('a failure that is not the input\'s stays what it was (a 500, not a 422): %s', (_name, message) => {
    const error = new Error(message);
    expect(translateDecodeError(error, 1_000_000)).toBe(error);
  });
});

describe('renderVariants', () => {
  test('keeps the transparency of a PNG with alpha', async () => {
    const variant = (await renderVariants(await fixtures.transparentPng(), OPTIONS)).get(200)!;

    expect((await sharp(variant).metadata()).hasAlpha).toBe(true);
    expect((await fixtures.pixelAt(variant, 5, 5))[3]).toBe(0);
    expect(await fixtures.pixelAt(variant, 100, 100)).toEqual([...fixtures.GREEN, 255]);
  });

  test('keeps only the first frame of an animated GIF', async () => {
    const variant = (await renderVariants(await fixtures.animatedGif(), OPTIONS)).get(512)!;

    expect((await sharp(variant).metadata()).pages).toBeUndefined();
    for (const [x, y] of [[5, 5], [256, 256], [506, 506]] as const) {
      expect(fixtures.isNear(await fixtures.pixelAt(variant, x, y), fixtures.RED)).toBe(true);
    }
  });

  test('renders a WebP upload', async () => {
    const variant = (await renderVariants(await fixtures.blueWebp(), OPTIONS)).get(64)!;

    expect(fixtures.isNear(await fixtures.pixelAt(variant, 32, 32), fixtures.BLUE)).toBe(true);
  });

  test('renders an AVIF upload (decoded by libheif) to square WebP with its colours in place', async () => {
    const variants = await renderVariants(await fixtures.photoAvif(), OPTIONS);
    const large = variants.get(512)!;

    expect(await sharp(large).metadata()).toMatchObject({ format: 'webp', width: 512, height: 512 });
    expect(fixtures.isNear(await fixtures.pixelAt(large, 256, 60), fixtures.RED)).toBe(true);
    expect(fixtures.isNear(await fixtures.pixelAt(large, 256, 450), fixtures.BLUE)).toBe(true);
  });

  test('renders a 10-bit AVIF (HDR-capable phones and cameras write them) to 8-bit WebP', async () => {
    const tenBit = await sharp(await fixtures.photoAvif()).avif({ bitdepth: 10 }).toBuffer();
    expect((await sharp(tenBit).metadata()).bitsPerSample).toBe(10);

    const variant = (await renderVariants(tenBit, OPTIONS)).get(64)!;

    expect(fixtures.isNear(await fixtures.pixelAt(variant, 32, 56), fixtures.BLUE)).toBe(true);
  });

  test('loads a picture smaller than the largest size at its own size: only the variants are enlarged', async () => {
    const loaded = await loadShrunk(await fixtures.smallJpeg(320, 240), 512, OPTIONS.maxPixels);

    expect(loaded.raw).toMatchObject({ width: 320, height: 240 });
    expect(loaded.data.length).toBe(320 * 240 * loaded.raw.channels);
  });

  test('enlarges a picture smaller than the largest size to exact squares', async () => {
    const variants = await renderVariants(await fixtures.smallJpeg(100, 80), OPTIONS);

    const { width, height } = await sharp(variants.get(512)!).metadata();
    expect({ width, height }).toEqual({ width: 512, height: 512 });
  });

  test('keeps an off-centre face in frame (attention crop, not centre crop)', async () => {
    const variant = (await renderVariants(await fixtures.offCentreFace(), OPTIONS)).get(200)!;

    const { data } = await sharp(variant).raw().toBuffer({ resolveWithObject: true });
    const skinPixels = [...Array(data.length / 3).keys()].filter((pixel) =>
      fixtures.isNear([...data.subarray(pixel * 3, pixel * 3 + 3)], [224, 172, 140], 20),
    ).length;
    expect(skinPixels).toBeGreaterThan((200 * 200) / 4);
  });

  test('rejects a truncated JPEG as 422 invalid_image', async () => {
    const error = await rejectionOf(renderVariants(await fixtures.truncatedJpeg(), OPTIONS));

    expect(error).toMatchObject({ status: 422, code: 'invalid_image' });
  });

  test("keeps sharp's message as the cause, never as the message", async () => {
    const error = await rejectionOf(renderVariants(await fixtures.truncatedJpeg(), OPTIONS));

    expect(error.message).not.toMatch(/vips|jpeg/i);
    expect((error.cause as Error).message).toMatch(/^VipsJpeg: /);
  });

  test('rejects a header that claims 100000×100000 pixels as 422 image_too_large', async () => {
    const error = await rejectionOf(renderVariants(fixtures.pngClaimingDimensions(), OPTIONS));

    expect(error).toMatchObject({ status: 422, code: 'image_too_large' });
  });

  test('rejects a real picture one pixel over maxPixels as 422 image_too_large', async () => {
    const picture = await fixtures.smallJpeg(320, 240);

    const error = await rejectionOf(renderVariants(picture, { ...OPTIONS, maxPixels: 320 * 240 - 1 }));

    expect(error).toMatchObject({ status: 422, code: 'image_too_large' });
  });

  test('accepts a picture of exactly maxPixels', async () => {
    const variants = await renderVariants(await fixtures.smallJpeg(320, 240), { ...OPTIONS, maxPixels: 320 * 240 });

    expect([...variants.keys()]).toEqual(SIZES);
  });

  test('refuses a maxPixels of 0 instead of letting sharp read it as "no limit"', async () => {
    await expect(renderVariants(await fixtures.smallJpeg(), { ...OPTIONS, maxPixels: 0 })).rejects.toThrow(RangeError);
  });

  test('answers every damaged JPEG, PNG, GIF, WebP and AVIF with variants or a 422', async () => {
    const originals = [
      await fixtures.smallJpeg(48, 32),
      await fixtures.transparentPng(),
      await fixtures.animatedGif(48, 32),
      await fixtures.blueWebp(),
      await fixtures.photoAvif(),
    ];
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % below;
    };
    const damaged = originals.flatMap((original) => [
      ...[0.1, 0.3, 0.5, 0.7, 0.9].map((share) => original.subarray(0, Math.floor(original.length * share))),
      ...Array.from({ length: 20 }, () => {
        const copy = Buffer.from(original);
        for (let flips = 0; flips < 4; flips++) copy[random(copy.length)] = random(256);
        return copy;
      }),
    ]);

    const outcomes = await Promise.all(
      damaged.map((bytes) =>
        renderVariants(bytes, { maxPixels: 40_000_000, sizes: [64] }).then(
          () => 'rendered',
          (error: unknown) => (error instanceof HttpError && error.status === 422 ? '422' : String(error)),
        ),
      ),
    );

    expect(outcomes.filter((outcome) => outcome !== 'rendered' && outcome !== '422')).toEqual([]);
    expect(outcomes).toContain('422');
  });
});

describe('processPicture', () => {
  test('returns the sniffed type with a variant per size', async () => {
    const picture = await processPicture(await fixtures.transparentPng(), OPTIONS);

    expect(picture.type).toBe('png');
    expect([...picture.variants.keys()]).toEqual(SIZES);
  });

  test('renders an animated PNG from its default image', async () => {
    const picture = await processPicture(await fixtures.animatedPng(), OPTIONS);

    expect(fixtures.isNear(await fixtures.pixelAt(picture.variants.get(64)!, 32, 32), fixtures.RED)).toBe(true);
  });

  test('rejects a TIFF that sharp could decode with 415', async () => {
    const error = await rejectionOf(processPicture(await fixtures.smallTiff(), OPTIONS));

    expect(error).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  test('re-encodes a PHP polyglot JPEG without its payload', async () => {
    const upload = await fixtures.phpPolyglotJpeg();
    expect(containsBytes(upload, fixtures.PHP_PAYLOAD)).toBe(true);

    const picture = await processPicture(upload, OPTIONS);

    expect(picture.type).toBe('jpeg');
    for (const webp of picture.variants.values()) expect(containsBytes(webp, '<?php')).toBe(false);
  });
});

describe('renderDefaultAvatar', () => {
  test('draws one square WebP per size', async () => {
    const avatars = await renderDefaultAvatar(SIZES);

    const shapes = await Promise.all(
      [...avatars].map(async ([size, webp]) => {
        const { format, width, height } = await sharp(webp).metadata();
        return { size, format, width, height };
      }),
    );
    expect(shapes).toEqual(SIZES.map((size) => ({ size, format: 'webp', width: size, height: size })));
  });

  test('shows a darker head on a light background', async () => {
    const avatar = (await renderDefaultAvatar([256])).get(256)!;

    const [background] = await fixtures.pixelAt(avatar, 8, 8);
    const [head] = await fixtures.pixelAt(avatar, 128, 100);
    expect(background).toBeGreaterThan(200);
    expect(head).toBeLessThan(160);
  });
});

describe('isSrgbProfile', () => {
  const profileOf = async (profile: string) =>
    (await sharp(await fixtures.smallJpeg()).withIccProfile(profile).jpeg().toBuffer().then((jpeg) => sharp(jpeg).metadata())).icc!;

  /** Where the three tone-curve tags sit in the profile's tag table (each entry: signature, offset, size). */
  const toneCurveEntries = (profile: Buffer) => {
    const entries = Array.from({ length: profile.readUInt32BE(128) }, (_, index) => 132 + index * 12).filter((entry) =>
      ['rTRC', 'gTRC', 'bTRC'].includes(profile.toString('latin1', entry, entry + 4)),
    );
    expect(entries).toHaveLength(3);
    return entries;
  };

  test("vouches for the sRGB profile sharp tags its output with", async () => {
    expect(isSrgbProfile(await profileOf('srgb'))).toBe(true);
  });

  test('refuses Display P3 and CMYK profiles, whose transform changes pixels', async () => {
    expect([isSrgbProfile(await profileOf('p3')), isSrgbProfile(await profileOf('cmyk'))]).toEqual([false, false]);
  });

  test('refuses sRGB primaries with a plain 2.2 gamma, which some profiles call sRGB', async () => {
    const profile = Buffer.from(await profileOf('srgb'));
    for (const entry of toneCurveEntries(profile)) {
      const offset = profile.readUInt32BE(entry + 4);
      expect(profile.toString('latin1', offset, offset + 4)).toBe('para');
      profile.writeUInt16BE(0, offset + 8); // function type 0: Y = X^g
      profile.writeInt32BE(Math.round(2.2 * 65536), offset + 12);
    }

    expect(isSrgbProfile(profile)).toBe(false);
  });

  test("vouches for sRGB whose tone curves are 1024-entry tables (HP's sRGB IEC61966-2.1 is built so)", async () => {
    const original = await profileOf('srgb');
    const entries = 1024;
    const curve = Buffer.alloc(12 + entries * 2);
    curve.write('curv', 0, 'latin1');
    curve.writeUInt32BE(entries, 8);
    for (let index = 0; index < entries; index++) curve.writeUInt16BE(Math.round(srgbToLinear(index / (entries - 1)) * 65535), 12 + index * 2);
    const profile = Buffer.concat([original, Buffer.alloc((4 - (original.length % 4)) % 4), curve]);
    const curveOffset = profile.length - curve.length;
    profile.writeUInt32BE(profile.length, 0);
    for (const entry of toneCurveEntries(profile)) {
      profile.writeUInt32BE(curveOffset, entry + 4);
      profile.writeUInt32BE(curve.length, entry + 8);
    }

    expect(isSrgbProfile(profile)).toBe(true);
    // The same table bent by a 2.2 gamma is not sRGB.
    for (let index = 0; index < entries; index++) profile.writeUInt16BE(Math.round((index / (entries - 1)) ** 2.2 * 65535), curveOffset + 12 + index * 2);
    expect(isSrgbProfile(profile)).toBe(false);
  });

  test('refuses sRGB colorants and curves that come with device-to-PCS tables, which a transform would use instead', async () => {
    const profile = Buffer.from(await profileOf('srgb'));
    const at = profile.indexOf(Buffer.from('cprt'), 128);
    expect(at).toBeGreaterThan(128);
    profile.write('A2B0', at, 'latin1');

    expect(isSrgbProfile(profile)).toBe(false);
  });

  test('refuses a cut or missing profile instead of throwing', async () => {
    const profile = await profileOf('srgb');
    expect([isSrgbProfile(profile.subarray(0, 200)), isSrgbProfile(profile.subarray(0, 100)), isSrgbProfile(undefined)]).toEqual([false, false, false]);
  });
});

describe('colour management', () => {
  test('an sRGB-tagged photo loads as it does through the colour transform (the skipped transform changes nothing beyond rounding)', async () => {
    const photo = await sharp(await fixtures.noisyJpeg(1200, 900)).withIccProfile('srgb').jpeg().toBuffer();
    expect(isSrgbProfile((await sharp(photo).metadata()).icc)).toBe(true);

    const skipped = await loadShrunk(photo, 512, OPTIONS.maxPixels);
    const transformed = await sharp(photo).resize(512, 512, { fit: 'outside' }).toColourspace('srgb').raw().toBuffer();

    expect(skipped.data.length).toBe(transformed.length);
    let largest = 0;
    for (let index = 0; index < transformed.length; index++) largest = Math.max(largest, Math.abs(skipped.data[index]! - transformed[index]!));
    expect(largest).toBeLessThanOrEqual(2);
  });

  test('a Display P3 photo is still converted to sRGB', async () => {
    const orange = [200, 100, 50] as const;
    // sharp converts the sRGB pixels into P3 numbers and tags them: read without the profile, they differ.
    const p3 = await sharp(await fixtures.smallJpeg(320, 240, orange)).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer();
    const untransformed = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    expect(fixtures.isNear([...untransformed.subarray(0, 3)], orange, 6)).toBe(false);

    const variant = (await renderVariants(p3, OPTIONS)).get(64)!;

    expect(fixtures.isNear(await fixtures.pixelAt(variant, 32, 32), orange, 6)).toBe(true);
  });
});

describe('attentionCrop', () => {
  /** A noisy gradient with one feature (skin disc, checkerboard or red disc) at a place drawn from `seed`. */
  function scene(seed: number, width: number, height: number, channels: 3 | 4) {
    let state = seed;
    const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const data = new Uint8ClampedArray(width * height * channels);
    const [red, green, blue] = [random() * 235 + 10, random() * 235 + 10, random() * 235 + 10];
    const [featureX, featureY, radius] = [random() * width, random() * height, Math.min(width, height) * (0.05 + random() * 0.15)];
    const feature = [[224, 172, 140], undefined, [230, 20, 30]][seed % 3];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * channels;
        const inside = (x - featureX) ** 2 + (y - featureY) ** 2 < radius ** 2;
        const checker = ((x >> 3) + (y >> 3)) & 1 ? 255 : 0;
        const noise = (random() - 0.5) * 20;
        const shade = 0.7 + (0.3 * y) / height;
        data[at] = inside ? (feature?.[0] ?? checker) : red * (0.7 + (0.3 * x) / width) + noise;
        data[at + 1] = inside ? (feature?.[1] ?? checker) : green * shade + noise;
        data[at + 2] = inside ? (feature?.[2] ?? checker) : blue * shade + noise;
        if (channels === 4) data[at + 3] = inside || x < width / 2 ? 255 : 40;
      }
    }
    return { data: Buffer.from(data.buffer), raw: { width, height, channels } };
  }

  test("frames as sharp's attention strategy does, within one cell of its 32×32 analysis grid", async () => {
    const differences: number[] = [];
    for (let seed = 1; seed <= 16; seed++) {
      // The loaded image's shorter side is the largest variant's edge (512 in production; 256 keeps this quick).
      const long = Math.round(256 * (1.02 + ((seed * 397) % 700) / 256));
      const image = seed % 2 ? scene(seed, 256, long, seed % 4 === 3 ? 4 : 3) : scene(seed, long, 256, 3);
      const side = Math.min(image.raw.width, image.raw.height);
      const { info } = await sharp(image.data, { raw: image.raw })
        .resize(side, side, { fit: 'cover', position: sharp.strategy.attention })
        .raw()
        .toBuffer({ resolveWithObject: true });

      const ours = await attentionCrop(image, side, side);

      const cell = Math.max(image.raw.width, image.raw.height) / 32;
      differences.push(Math.max(Math.abs(ours.left + (info.cropOffsetLeft ?? 0)), Math.abs(ours.top + (info.cropOffsetTop ?? 0))) / cell);
    }
    expect(Math.max(...differences)).toBeLessThanOrEqual(1.01);
    expect(differences.filter((difference) => difference === 0).length).toBeGreaterThanOrEqual(14);
  });

  test('frames grey and grey-with-alpha pixels as it frames the same pixels in RGB', async () => {
    // Flat grey above row 300, a checkerboard below: the crop goes down to the edges.
    const [width, height] = [100, 400];
    const grey = Buffer.alloc(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) grey[y * width + x] = y < 300 ? 128 : ((x >> 2) + (y >> 2)) & 1 ? 255 : 0;
    const spread = (channels: 2 | 3 | 4) =>
      Buffer.from(Array.from({ length: width * height * channels }, (_, at) => (channels % 2 === 0 && at % channels === channels - 1 ? 255 : grey[Math.floor(at / channels)]!)));

    const crops = await Promise.all(
      ([1, 2, 3, 4] as const).map((channels) =>
        attentionCrop({ data: channels === 1 ? grey : spread(channels), raw: { width, height, channels } }, width, width),
      ),
    );

    expect(crops[2]!.top).toBeGreaterThan(200);
    expect(crops).toEqual([crops[2], crops[2], crops[2], crops[2]]);
  });

  test('ignores what transparency hides: a face-coloured disc at alpha 0 does not draw the crop', async () => {
    // Flat grey above; below, invisible: a skin disc and a checkerboard, both at alpha 0.
    const [width, height] = [256, 768];
    const data = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const checker = ((x >> 3) + (y >> 3)) & 1 ? 255 : 0;
        const hidden = Math.hypot(x - 128, y - 600) < 100 ? [224, 172, 140, 0] : [checker, checker, checker, 0];
        data.set(y < 384 ? [128, 128, 128, 255] : hidden, (y * width + x) * 4);
      }
    }

    const { top } = await attentionCrop({ data, raw: { width, height, channels: 4 } }, 256, 256);

    expect(top + 256).toBeLessThanOrEqual(400);
  });
});
