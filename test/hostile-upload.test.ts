/**
 * Hostile uploads to POST /users/me/picture: broken multipart, hostile filenames, polyglots, other
 * formats under an image label, pixel and frame bombs. ASVS 5.0 V5.2 (upload and content), V5.3
 * (storage), OWASP File Upload Cheat Sheet. Refused uploads store nothing and leave the user's picture.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import sharp from 'sharp';
import { handler as uploadPicture } from '../functions/upload-picture';
import { query } from '../lib/platform/db';
import { s3Store } from '../lib/platform/storage';
import { createVerifiedUser, type TestUser } from './support/accounts';
import { invoke } from './support/events';
import * as fx from '../scripts/support/images';
import { fileUpload, formUpload, type Part } from '../scripts/support/multipart';
import { expectRefused } from './support/refusals';

const MAX_BYTES = 5 * 1024 * 1024;
const VARIANT_KEY = /^pictures\/[0-9a-f-]{36}\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\/(64|200|512)\.webp$/;

let user: TestUser;
let jpeg: Buffer;

beforeAll(async () => {
  [user, jpeg] = await Promise.all([createVerifiedUser(), fx.smallJpeg(64, 48)]);
});

type Upload = { body: Buffer; headers: Record<string, string> };
const upload = (form: Upload, route = '/users/me/picture', pathParameters?: Record<string, string>) =>
  invoke(uploadPicture, { method: 'POST', route, pathParameters, bearer: user.accessToken, ...form });

const storedKeys = async (userId: string) => (await s3Store.list(`pictures/${userId}/`)).map((object) => object.key).sort();
const pictureIdOf = async (userId: string) => (await query<{ picture_id: string | null }>('select picture_id from users where id = $1', [userId])).rows[0]?.picture_id;

/** What a refused upload must leave untouched: the user's objects and picture_id. */
async function storageState(userId = user.id) {
  return { keys: await storedKeys(userId), pictureId: await pictureIdOf(userId) };
}

/** Uploads, expects the refusal, and checks that nothing was stored or committed. */
async function expectUploadRefused(form: Upload, status: number, code: string) {
  const before = await storageState();
  const response = await upload(form);
  expectRefused(response, status, code);
  expect(await storageState()).toEqual(before);
  return response;
}

/** The keys of the picture the user has now; all of them must be ours, never the client's. */
async function currentVariantKeys(): Promise<string[]> {
  const pictureId = await pictureIdOf(user.id);
  return (await storedKeys(user.id)).filter((key) => key.includes(`/${pictureId}/`));
}

async function downloadVariants(): Promise<Buffer[]> {
  const keys = await currentVariantKeys();
  return Promise.all(keys.map(async (key) => (await s3Store.get(key, MAX_BYTES))!));
}

const isWebp = (bytes: Buffer) => bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP';

// ---- fixtures that scripts/support/images.ts does not have ----

/** A complete, decodable 1-bit greyscale PNG: 10000×10000 = 100 MP in about 12 KB. */
function realPixelBombPng(edge = 10_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(edge, 0);
  header.writeUInt32BE(edge, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(edge / 8); // filter byte + packed pixels
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    fx.pngChunk('IHDR', header),
    fx.pngChunk('IDAT', deflateSync(Buffer.alloc(rowBytes * edge), { level: 9 })),
    fx.pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real JPEG whose frame header (SOF0) is rewritten to claim 60000×60000. */
async function jpegClaimingDimensions(edge = 60_000): Promise<Buffer> {
  const bytes = Buffer.from(jpeg);
  const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  bytes.writeUInt16BE(edge, sof + 5);
  bytes.writeUInt16BE(edge, sof + 7);
  return bytes;
}

/** A ZIP archive holding one stored file, as appended to images to make GIFAR-style polyglots. */
function zipWith(name: string, content: string): Buffer {
  const data = Buffer.from(content, 'latin1');
  const fileName = Buffer.from(name, 'latin1');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  const localPart = Buffer.concat([local, fileName, data]);
  const centralPart = Buffer.concat([central, fileName]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralPart.length, 12);
  end.writeUInt32LE(localPart.length, 16);
  return Buffer.concat([localPart, centralPart, end]);
}

/** A PNG with a script in a tEXt chunk and PHP after IEND. */
async function scriptedPng(): Promise<Buffer> {
  const png = await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 30, g: 60, b: 200 } } }).png().toBuffer();
  const iend = png.length - 12;
  const text = fx.pngChunk('tEXt', Buffer.from('Comment\0<script>alert(document.cookie)</script>', 'latin1'));
  return Buffer.concat([png.subarray(0, iend), text, png.subarray(iend), Buffer.from(fx.PHP_PAYLOAD, 'latin1')]);
}

/** An animated GIF of `frames` tiny frames, RED first and GREEN/RED alternating after. */
function frameBombGif(frames = 3000, edge = 32): Promise<Buffer> {
  const frameBytes = edge * edge * 3;
  const pixels = Buffer.alloc(frameBytes * frames);
  for (let frame = 0; frame < frames; frame++) {
    pixels.fill(Buffer.from(frame % 2 ? fx.GREEN : fx.RED), frame * frameBytes, (frame + 1) * frameBytes);
  }
  return sharp(pixels, { raw: { width: edge, height: edge * frames, channels: 3, pageHeight: edge } })
    .gif({ delay: Array(frames).fill(20), loop: 0 })
    .toBuffer();
}

const BOUNDARY = 'HostileBoundary7MA4YWxkTrZu0gW';
const FILE_HEADERS = 'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg';
/** A multipart body written by hand, for shapes the builder cannot make. */
const rawForm = (chunks: (string | Buffer)[]): Upload => ({
  body: Buffer.concat(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk))),
  headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
});

describe('multipart framing', () => {
  test('multipart without a boundary is 415 unsupported_media_type', async () => {
    const { body } = fileUpload(jpeg);
    await expectUploadRefused({ body, headers: { 'content-type': 'multipart/form-data' } }, 415, 'unsupported_media_type');
  });

  test('a boundary longer than 70 characters is 415 unsupported_media_type', async () => {
    await expectUploadRefused(fileUpload(jpeg, { boundary: 'b'.repeat(71) }), 415, 'unsupported_media_type');
  });

  test('a declared boundary that is not the one in the body is 400 invalid_multipart', async () => {
    await expectUploadRefused(fileUpload(jpeg, { declaredBoundary: 'SomethingElseEntirely' }), 400, 'invalid_multipart');
  });

  test('a body cut off inside the file is answered (busboy alone crashes the process): 400 invalid_multipart', async () => {
    await expectUploadRefused(fileUpload(jpeg, { truncateTo: 0.5 }), 400, 'invalid_multipart');
  });

  test('a body without its closing delimiter is 400 invalid_multipart', async () => {
    await expectUploadRefused(fileUpload(jpeg, { omitClosingDelimiter: true }), 400, 'invalid_multipart');
  });

  test('a closing boundary without the CRLF before it does not end the file part: 400 invalid_multipart', async () => {
    const raw = rawForm([`--${BOUNDARY}\r\n${FILE_HEADERS}\r\n\r\n`, jpeg, `--${BOUNDARY}--\r\n`]);
    await expectUploadRefused(raw, 400, 'invalid_multipart');
  });

  test('a part whose header block never ends is answered at once (busboy alone waits forever): 400 invalid_multipart', async () => {
    const raw = rawForm([`--${BOUNDARY}\r\n${FILE_HEADERS}\r\nX-Padding: 1\r\n`, jpeg, `\r\n--${BOUNDARY}--\r\n`]);
    await expectUploadRefused(raw, 400, 'invalid_multipart');
  });

  test('a closing boundary hidden inside the file cuts the file there: 422 invalid_image', async () => {
    const middle = Math.floor(jpeg.length / 2);
    const hidden = Buffer.concat([jpeg.subarray(0, middle), Buffer.from(`\r\n--${BOUNDARY}--\r\n`), jpeg.subarray(middle)]);
    await expectUploadRefused(rawForm([`--${BOUNDARY}\r\n${FILE_HEADERS}\r\n\r\n`, hidden, `\r\n--${BOUNDARY}--\r\n`]), 422, 'invalid_image');
  });

  test('an empty body is 400 invalid_multipart', async () => {
    await expectUploadRefused({ body: Buffer.alloc(0), headers: fileUpload(jpeg).headers }, 400, 'invalid_multipart');
  });

  test('3000 text parts before the file are refused by the part limit: 400 invalid_multipart', async () => {
    const fields: Part[] = Array.from({ length: 3000 }, (_, index) => ({ name: `f${index}`, value: 'x' }));
    await expectUploadRefused(formUpload([...fields, { name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', content: jpeg }]), 400, 'invalid_multipart');
  });

  test('3000 file parts are refused: 400 invalid_multipart', async () => {
    const files: Part[] = Array.from({ length: 3000 }, () => ({ name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', content: 'x' }));
    await expectUploadRefused(formUpload(files), 400, 'invalid_multipart');
  });

  test('a file field name of 8 KB is 400 invalid_multipart', async () => {
    await expectUploadRefused(fileUpload(jpeg, { field: 'f'.repeat(8192) }), 400, 'invalid_multipart');
  });

  test('a Content-Length that understates the body does not get a 6 MB body past the size limit: 413', async () => {
    const form = fileUpload(Buffer.concat([jpeg, Buffer.alloc(6 * 1024 * 1024)]));
    await expectUploadRefused({ body: form.body, headers: { ...form.headers, 'content-length': '1000' } }, 413, 'file_too_large');
  });

  test('a Content-Length that overstates the body changes nothing: the real bytes are read', async () => {
    const form = fileUpload(jpeg);
    const response = await upload({ body: form.body, headers: { ...form.headers, 'content-length': String(10 * 1024 ** 3) } });
    expect(response.status).toBe(200);
    expect(await currentVariantKeys()).toHaveLength(3);
  });
});

describe('hostile filenames never reach the storage key', () => {
  test.each([
    ['path traversal', '../../etc/passwd'],
    ['Windows path traversal', '..\\..\\windows\\win.ini'],
    ['an encoded traversal', '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
    ['a NUL byte', 'avatar.php\u0000.jpg'],
    ['a right-to-left override', 'avatar\u202egpj.php'],
    ['a double extension', 'shell.jpg.php'],
    ['markup', '<img src=x onerror=alert(1)>.jpg'],
    ['an 8 KB name', `${'a'.repeat(8192)}.jpg`],
  ])('a filename with %s is ignored: 200 and keys of the form pictures/{userId}/{uuid}/{size}.webp', async (_, filename) => {
    const response = await upload(fileUpload(jpeg, { filename }));
    expect(response.status).toBe(200);
    const keys = await currentVariantKeys();
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      expect(key).toMatch(VARIANT_KEY);
      expect(key.startsWith(`pictures/${user.id}/`)).toBe(true);
    }
    expect(response.body).not.toContain(filename.slice(0, 12));
  });
});

describe('polyglots are stored only as re-encoded WebP', () => {
  test.each([
    ['a JPEG with PHP in a comment and after its end', () => fx.phpPolyglotJpeg(), fx.PHP_PAYLOAD],
    ['a GIF with a ZIP appended (GIFAR)', async () => Buffer.concat([await fx.animatedGif(48, 48), zipWith('shell.php', fx.PHP_PAYLOAD)]), fx.PHP_PAYLOAD],
    ['a PNG with a script in tEXt and PHP after IEND', () => scriptedPng(), '<script>'],
  ])('%s: every stored variant is WebP without the payload', async (_, build, payload) => {
    const response = await upload(fileUpload(await build()));
    expect(response.status).toBe(200);
    const variants = await downloadVariants();
    expect(variants).toHaveLength(3);
    for (const bytes of variants) {
      expect(isWebp(bytes)).toBe(true);
      expect(bytes.includes(Buffer.from(payload, 'latin1'))).toBe(false);
      expect(bytes.includes(Buffer.from('PK\x03\x04', 'latin1'))).toBe(false);
    }
  });

  test('the served picture is WebP with an image/webp content type', async () => {
    const response = await upload(fileUpload(await fx.phpPolyglotJpeg()));
    const served = await fetch(response.json.picture.url);
    expect(served.headers.get('content-type')).toBe('image/webp');
    expect(isWebp(Buffer.from(await served.arrayBuffer()))).toBe(true);
  });
});

describe('other formats wearing an image label (image/jpeg, .jpg)', () => {
  test.each([
    ['TIFF', () => fx.smallTiff()],
    ['PSD', async () => fx.psdHeader()],
    ['JPEG 2000', async () => fx.jpeg2000Header()],
    ['HEIC', async () => fx.heicHeader()],
    ['BMP', async () => fx.smallBmp()],
    ['SVG with a script', async () => fx.svgDocument()],
    ['HTML', async () => fx.htmlDocument()],
    ['PDF', async () => fx.pdfHeader()],
    ['ZIP', async () => fx.emptyZip()],
    ['plain text', async () => fx.plainText()],
  ])('%s is 415 unsupported_media_type naming the accepted types, and stores nothing', async (_, build) => {
    const response = await expectUploadRefused(fileUpload(await build(), { filename: 'avatar.jpg', contentType: 'image/jpeg' }), 415, 'unsupported_media_type');
    expect(response.json.error.message).toMatch(/JPEG, PNG, GIF, WebP and AVIF/);
  });

  describe('an SVG with external references', () => {
    let server: Server;
    let hits = 0;
    beforeAll(async () => {
      server = createServer((_, response) => {
        hits += 1;
        response.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('is 415 and none of its references is ever fetched', async () => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const svg = Buffer.from(
        `<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY ext SYSTEM "${origin}/entity">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">
  <image href="${origin}/image.png" width="64" height="64"/><image xlink:href="${origin}/xlink.png" width="64" height="64"/>
  <text>&ext;</text>
</svg>`,
      );
      await expectUploadRefused(fileUpload(svg, { filename: 'avatar.jpg', contentType: 'image/jpeg' }), 415, 'unsupported_media_type');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(hits).toBe(0);
    });
  });
});

describe('pixel and frame bombs', () => {
  test('a PNG header claiming 100000×100000 is 422 image_too_large', async () => {
    await expectUploadRefused(fileUpload(fx.pngClaimingDimensions(100_000, 100_000)), 422, 'image_too_large');
  });

  test('a complete 10000×10000 PNG of 12 KB (100 MP, over the 50 MP limit) is 422 image_too_large, quickly', async () => {
    const bomb = realPixelBombPng();
    expect(bomb.length).toBeLessThan(64 * 1024);
    const started = performance.now();
    await expectUploadRefused(fileUpload(bomb), 422, 'image_too_large');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('a JPEG whose frame header claims 60000×60000 is 422 image_too_large', async () => {
    await expectUploadRefused(fileUpload(await jpegClaimingDimensions()), 422, 'image_too_large');
  });

  test('an AVIF whose size box claims 100000×100000 is 422 image_too_large', async () => {
    await expectUploadRefused(fileUpload(await fx.avifClaimingDimensions(100_000, 100_000), { contentType: 'image/avif' }), 422, 'image_too_large');
  });

  test('an AVIF over 12 MP (claimed 4001×3000, under PICTURE_MAX_PIXELS) is 422 image_too_large saying to send JPEG', async () => {
    const response = await expectUploadRefused(fileUpload(await fx.avifClaimingDimensions(4001, 3000), { contentType: 'image/avif' }), 422, 'image_too_large');
    expect(response.json.error.message).toMatch(/AVIF is accepted up to 12 megapixels.*Send a larger picture as JPEG\./);
  });

  test('an AVIF claiming 4000×3000 (12 MP, at the AVIF limit) over 16×16 of data is 422 invalid_image', async () => {
    await expectUploadRefused(fileUpload(await fx.avifClaimingDimensions(4000, 3000), { contentType: 'image/avif' }), 422, 'invalid_image');
  });

  test('a GIF of 3000 frames is processed quickly and only its first frame is kept', async () => {
    const gif = await frameBombGif();
    const started = performance.now();
    const response = await upload(fileUpload(gif, { filename: 'bomb.gif', contentType: 'image/gif' }));
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(3000);
    const keys = await currentVariantKeys();
    const small = (await s3Store.get(keys.find((key) => key.endsWith('/64.webp'))!, MAX_BYTES))!;
    const { pages } = await sharp(small).metadata();
    expect(pages ?? 1).toBe(1);
    expect(fx.isNear(await fx.pixelAt(small, 32, 32), fx.RED)).toBe(true);
  });
});

describe('authorisation', () => {
  test("a user's token cannot upload another user's picture: 403 forbidden and nothing stored for either", async () => {
    const { rows } = await query<{ id: string }>(
      `insert into users (email, password_hash, nickname) values ($1, 'x', $2) returning id`,
      [`victim-${Date.now()}@example.test`, `victim_${Date.now()}`],
    );
    const victimId = rows[0]!.id;
    const before = await storageState();
    const response = await upload(fileUpload(jpeg), '/users/{id}/picture', { id: victimId });
    expectRefused(response, 403, 'forbidden');
    expect(await storageState(victimId)).toEqual({ keys: [], pictureId: null });
    expect(await storageState()).toEqual(before);
  });
});
