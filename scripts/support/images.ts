/**
 * Image fixtures built in code, so the repository holds no binary files.
 * Builders that need sharp are async; hand-assembled headers are sync.
 */
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type Rgb = readonly [number, number, number];

export const RED: Rgb = [220, 30, 40];
export const BLUE: Rgb = [30, 60, 200];
export const GREEN: Rgb = [40, 180, 60];
export const YELLOW: Rgb = [240, 220, 40];

export const PHP_PAYLOAD = '<?php system($_GET["cmd"]); ?>';

/** Where the photo fixture was "taken"; it must never survive processing. */
export const PHOTO_GPS = {
  GPSLatitudeRef: 'N',
  GPSLatitude: '52/1 31/1 1234/100',
  GPSLongitudeRef: 'E',
  GPSLongitude: '13/1 24/1 3456/100',
};

const solid = (width: number, height: number, [r, g, b]: Rgb) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } });

/**
 * Raw camera-like pixels: each row is `rowColour(y)` plus grain, so JPEGs
 * encode and decode like photos rather than flat colour. Rows are copied from
 * a few precomputed noisy rows, which keeps 12 MP fast even inside Jest's VM.
 */
function grainyRaw(width: number, height: number, rowColour: (y: number) => Rgb): Buffer {
  const pixels = Buffer.allocUnsafe(width * height * 3);
  const rowsByColour = new Map<string, Buffer[]>();
  let seed = 0x2545f491;
  const noisyRows = (colour: Rgb) =>
    Array.from({ length: 17 }, () => {
      const row = Buffer.allocUnsafe(width * 3);
      for (let offset = 0; offset < row.length; offset++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        row[offset] = Math.min(255, Math.max(0, colour[offset % 3]! + (seed >>> 28) - 8));
      }
      return row;
    });
  for (let y = 0; y < height; y++) {
    const colour = rowColour(y);
    const key = colour.join();
    let rows = rowsByColour.get(key);
    if (!rows) rowsByColour.set(key, (rows = noisyRows(colour)));
    pixels.set(rows[(y * 7) % rows.length]!, y * width * 3);
  }
  return pixels;
}

let photoCache: Promise<Buffer> | undefined;

/**
 * A 12 MP (4000×3000 stored) camera JPEG with EXIF Orientation 6 (display
 * rotated 90° clockwise), GPS tags, an sRGB ICC profile and XMP. The stored
 * bottom third is RED, the rest BLUE: shown upright, the LEFT third is red.
 * Built once per process (a few hundred milliseconds).
 */
export function cameraPhoto12mp(): Promise<Buffer> {
  photoCache ??= sharp(grainyRaw(4000, 3000, (y) => (y >= 2000 ? RED : BLUE)), {
    raw: { width: 4000, height: 3000, channels: 3 },
  })
    .jpeg({ quality: 85 })
    .withExif({ IFD0: { Make: 'PortraitCam', Model: 'Fixture 1' }, IFD3: PHOTO_GPS })
    .withMetadata({ orientation: 6 })
    .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')
    .toBuffer();
  return photoCache;
}

let photo50mpCache: Promise<Buffer> | undefined;

/**
 * A 50 MP phone photo (8160×6120, 49.9 MP, as a 50 MP sensor stores it), about 9 MB: noise drawn at 1/8 and
 * enlarged, so that it compresses like a camera picture rather than like flat colour or pure noise. Built once
 * per process (a few seconds).
 */
export function photo50mp(): Promise<Buffer> {
  photo50mpCache ??= sharp({ create: { width: 1020, height: 765, channels: 3, background: '#6080a0', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .png()
    .toBuffer()
    .then((small) => sharp(small).resize(8160, 6120, { kernel: 'cubic' }).jpeg({ quality: 85 }).toBuffer());
  return photo50mpCache;
}

/** A flat JPEG of width × height: cheap to build however many pixels it has. */
export function flatJpeg(width: number, height: number, colour: Rgb = BLUE): Promise<Buffer> {
  return solid(width, height, colour).jpeg().toBuffer();
}

/** A 2000×2000 PNG holding a smooth two-way gradient. */
export function largePng(): Promise<Buffer> {
  const gradient = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000">
      <defs>
        <linearGradient id="across"><stop offset="0" stop-color="#103060"/><stop offset="1" stop-color="#f0c080"/></linearGradient>
        <linearGradient id="down" x2="0" y2="1"><stop offset="0" stop-color="#fff" stop-opacity="0"/><stop offset="1" stop-color="#208040" stop-opacity="0.8"/></linearGradient>
      </defs>
      <rect width="2000" height="2000" fill="url(#across)"/><rect width="2000" height="2000" fill="url(#down)"/>
    </svg>`,
  );
  return sharp(gradient).removeAlpha().png().toBuffer();
}

/** 256×256 PNG: fully transparent with an opaque GREEN 128×128 square in the middle. */
export function transparentPng(): Promise<Buffer> {
  const [r, g, b] = GREEN;
  return sharp({ create: { width: 256, height: 256, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: { create: { width: 128, height: 128, channels: 4, background: { r, g, b, alpha: 1 } } }, left: 64, top: 64 }])
    .png()
    .toBuffer();
}

/** An animated GIF whose frames are RED, GREEN, BLUE, YELLOW in that order. */
export function animatedGif(width = 320, height = 240): Promise<Buffer> {
  const colours = [RED, GREEN, BLUE, YELLOW];
  const frames = Buffer.concat(colours.map((colour) => Buffer.alloc(width * height * 3, Buffer.from(colour))));
  return sharp(frames, { raw: { width, height: height * colours.length, channels: 3, pageHeight: height } })
    .gif({ delay: colours.map(() => 200), loop: 0 })
    .toBuffer();
}

export function blueWebp(): Promise<Buffer> {
  return solid(300, 200, BLUE).webp().toBuffer();
}

export function smallJpeg(width = 320, height = 240, colour: Rgb = BLUE): Promise<Buffer> {
  return sharp(grainyRaw(width, height, () => colour), { raw: { width, height, channels: 3 } })
    .jpeg()
    .toBuffer();
}

/** A JPEG of pure noise, which barely compresses: 2500×1800 is about 3.3 MB, like a phone photo. */
export function noisyJpeg(width = 2500, height = 1800): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A 640×480 JPEG cut off at 60 % of its bytes, as an interrupted upload leaves it. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await smallJpeg(640, 480);
  return whole.subarray(0, Math.floor(whole.length * 0.6));
}

/**
 * A wide 1200×400 grey-blue picture with a skin-toned "face" disc near the
 * right edge: a centre crop cuts it out, an attention crop keeps it.
 */
export function offCentreFace(): Promise<Buffer> {
  const face = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="260" height="260"><circle cx="130" cy="130" r="120" fill="rgb(224,172,140)"/></svg>',
  );
  return solid(1200, 400, [110, 120, 135])
    .composite([{ input: face, left: 920, top: 70 }])
    .png()
    .toBuffer();
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG header (valid CRCs) claiming `width`×`height` with almost no pixel data. */
export function pngClaimingDimensions(width = 100_000, height = 100_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A one-frame APNG: a RED PNG with the animation control chunks (`acTL`,
 * `fcTL`) before its image data, which is what makes file-type call it APNG.
 */
export async function animatedPng(): Promise<Buffer> {
  const png = await solid(64, 64, RED).png().toBuffer();
  const endOfHeader = 8 + 4 + 4 + 13 + 4; // signature, then IHDR's length, type, data and CRC
  const animationControl = Buffer.alloc(8);
  animationControl.writeUInt32BE(1, 0); // frames
  const frameControl = Buffer.alloc(26);
  frameControl.writeUInt32BE(64, 4);
  frameControl.writeUInt32BE(64, 8);
  frameControl.writeUInt16BE(1, 20); // delay 1/10 s
  frameControl.writeUInt16BE(10, 22);
  return Buffer.concat([
    png.subarray(0, endOfHeader),
    pngChunk('acTL', animationControl),
    pngChunk('fcTL', frameControl),
    png.subarray(endOfHeader),
  ]);
}

/** A JPEG carrying PHP in a comment segment and again after the end-of-image marker. */
export async function phpPolyglotJpeg(): Promise<Buffer> {
  const jpeg = await smallJpeg();
  const payload = Buffer.from(PHP_PAYLOAD, 'latin1');
  const comment = Buffer.alloc(4);
  comment.writeUInt16BE(0xfffe, 0); // COM marker
  comment.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), comment, payload, jpeg.subarray(2), payload]);
}

export function smallTiff(): Promise<Buffer> {
  return solid(16, 16, BLUE).tiff().toBuffer();
}

export function smallAvif(): Promise<Buffer> {
  return solid(16, 16, BLUE).avif().toBuffer();
}

/** A 16×16 AVIF whose `ispe` box (the size libheif reports) claims width × height. */
export async function avifClaimingDimensions(width: number, height: number): Promise<Buffer> {
  const avif = Buffer.from(await smallAvif());
  const ispe = avif.indexOf('ispe', 0, 'latin1');
  avif.writeUInt32BE(width, ispe + 8);
  avif.writeUInt32BE(height, ispe + 12);
  return avif;
}

/** A 320×240 AVIF with grain, made by sharp (libheif + aom): the top half RED, the bottom half BLUE. */
export function photoAvif(width = 320, height = 240): Promise<Buffer> {
  return sharp(grainyRaw(width, height, (y) => (y < height / 2 ? RED : BLUE)), { raw: { width, height, channels: 3 } })
    .avif({ quality: 70, effort: 2 })
    .toBuffer();
}

/**
 * The ISO-BMFF `ftyp` box a HEIC file starts with, then zeros (sharp's prebuilt libheif cannot encode HEVC);
 * an iPhone writes major brand `heic` with compatible brands `mif1`, `heic`.
 */
export function heicHeader(major = 'heic', compatible = ['mif1', 'heic']): Buffer {
  const box = Buffer.from(`ftyp${major}\0\0\0\0${compatible.join('')}`, 'latin1');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(box.length + 4);
  return Buffer.concat([size, box, Buffer.alloc(64)]);
}

/** A 2×2 24-bit Windows bitmap. */
export function smallBmp(): Buffer {
  const bitmap = Buffer.alloc(54 + 16);
  bitmap.write('BM', 0, 'latin1');
  bitmap.writeUInt32LE(bitmap.length, 2);
  bitmap.writeUInt32LE(54, 10); // pixel data offset
  bitmap.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  bitmap.writeInt32LE(2, 18);
  bitmap.writeInt32LE(2, 22);
  bitmap.writeUInt16LE(1, 26); // planes
  bitmap.writeUInt16LE(24, 28); // bits per pixel
  bitmap.writeUInt32LE(16, 34);
  return bitmap;
}

export function psdHeader(): Buffer {
  return Buffer.concat([Buffer.from('8BPS', 'latin1'), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 8, 0, 3]), Buffer.alloc(64)]);
}

/** JPEG 2000 signature box followed by its `ftyp` box. */
export function jpeg2000Header(): Buffer {
  return Buffer.concat([
    Buffer.from('0000000c6a5020200d0a870a', 'hex'),
    Buffer.from('00000014667479706a703220000000006a703220', 'hex'),
    Buffer.alloc(32),
  ]);
}

export function svgDocument(): Buffer {
  return Buffer.from(
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><script>alert(document.cookie)</script><rect width="64" height="64" fill="red"/></svg>',
  );
}

export function htmlDocument(): Buffer {
  return Buffer.from('<!DOCTYPE html><html><body><img src="x" onerror="alert(document.cookie)"></body></html>');
}

export function pdfHeader(): Buffer {
  return Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n', 'latin1');
}

export function plainText(): Buffer {
  return Buffer.from('This is not a picture.\n');
}

/** An empty ZIP archive (end-of-central-directory record only). */
export function emptyZip(): Buffer {
  return Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]);
}

/** The RGB(A) values of the pixel at (x, y) of any image sharp can decode. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [...data.subarray(offset, offset + info.channels)];
}

/** True when every channel of `actual` is within `tolerance` of `expected`. */
export function isNear(actual: readonly number[], expected: Rgb, tolerance = 40): boolean {
  return expected.every((value, channel) => Math.abs(actual[channel]! - value) <= tolerance);
}
