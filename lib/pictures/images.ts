/**
 * The image half of the picture pipeline: sniff the type from magic bytes,
 * decode once, auto-orient, strip metadata and emit square WebP variants.
 * Pure functions over bytes; storage, database and HTTP live elsewhere.
 */
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { HttpError } from '../errors';
import { stopIfAborted } from '../platform/request-scope';
import type { DefaultAvatarSource } from '../platform/storage';
import { attentionCrop } from './attention';
import { isSrgbProfile } from './icc';
import { DEFAULT_AVATAR_ROOT, defaultAvatarKey } from './keys';

// Every upload is a new input, so libvips' operation cache (50 MB by default)
// never hits; it only holds decoded pixels between invocations of a
// memory-capped Lambda. Process-wide, which is what a Lambda container wants.
sharp.cache(false);

export type ImageType = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif';

export interface RenderOptions {
  /** Largest accepted width × height of the input (first frame for animations). */
  maxPixels: number;
  /** Edge lengths of the square WebP variants to emit. */
  sizes: readonly number[];
  /** The request's abort signal: checked between steps, so a request already answered 503 stops decoding. */
  signal?: AbortSignal;
}

export interface ProcessedPicture {
  type: ImageType;
  /** size → square WebP, in the order of `sizes`. */
  variants: Map<number, Buffer>;
}

// An animated PNG is still a PNG: its default image is the first frame.
const TYPE_BY_EXTENSION: Readonly<Record<string, ImageType>> = {
  jpg: 'jpeg',
  png: 'png',
  apng: 'png',
  gif: 'gif',
  webp: 'webp',
  avif: 'avif',
};

const ACCEPTED_TYPES = 'JPEG, PNG, GIF, WebP and AVIF';

const unsupportedMediaType = () => new HttpError(415, 'unsupported_media_type', `Only ${ACCEPTED_TYPES} images are accepted.`);

// sharp's prebuilt libheif decodes AV1 (AVIF) only, not HEVC: an iPhone's HEIC cannot be read, so say how to get a JPEG.
const heicRefused = () =>
  new HttpError(
    415,
    'unsupported_media_type',
    `HEIC/HEIF images are not accepted: send the picture as JPEG. On an iPhone, Settings → Camera → Formats → Most Compatible takes new photos as JPEG; for an existing photo, export or share it as JPEG first. Accepted: ${ACCEPTED_TYPES}.`,
  );

/** Decides the type from magic bytes only; names and declared types are never consulted. */
export async function detectImageType(bytes: Uint8Array): Promise<ImageType> {
  const detected = bytes.byteLength === 0 ? undefined : await fileTypeFromBuffer(bytes);
  if (detected?.ext === 'avif' || detected?.ext === 'heic') return heifContainerType(bytes);
  const type = detected && TYPE_BY_EXTENSION[detected.ext];
  if (!type) throw unsupportedMediaType();
  return type;
}

const AVIF_BRANDS = new Set(['avif', 'avis']);

/**
 * AVIF and HEIC share the HEIF container (ISO-BMFF). file-type reads the major brand only, so an AVIF whose
 * major brand is the generic `mif1` would pass for HEIC: an `avif`/`avis` brand anywhere in the `ftyp` box
 * makes it AVIF (libheif then decodes it by its codec, and a HEVC payload fails to decode: 422).
 */
function heifContainerType(bytes: Uint8Array): ImageType {
  const box = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxSize = Math.min(box.readUInt32BE(0), box.length, 256);
  const brands = [box.toString('latin1', 8, 12)];
  for (let offset = 16; offset + 4 <= boxSize; offset += 4) brands.push(box.toString('latin1', offset, offset + 4));
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  throw heicRefused();
}

/**
 * One decode of `bytes` (first frame only, oriented from EXIF, sRGB), cover-
 * cropped by the attention analysis (libvips' own, lib/pictures/attention) to the largest requested square; every
 * variant is a resize of that square, so all sizes share one framing and no
 * input metadata (EXIF, GPS, ICC, XMP) reaches the output. Callers pass bytes
 * that `detectImageType` accepted (see `processPicture`).
 */
export async function renderVariants(bytes: Uint8Array, options: RenderOptions, onVariant?: VariantListener): Promise<Map<number, Buffer>> {
  const sizes = checkSizes(options.sizes);
  const largest = Math.max(...sizes);
  stopIfAborted(options.signal);
  const square = await decodeToSquare(bytes, largest, checkMaxPixels(options.maxPixels));
  stopIfAborted(options.signal);
  return encodeSquares(square, sizes, onVariant, options.signal);
}

/** Told of each variant as soon as it is encoded, so that its upload can start while the others encode. */
export type VariantListener = (size: number, webp: Buffer) => void;

/** The whole pipeline for an upload: type by magic bytes, then every variant. */
export async function processPicture(bytes: Uint8Array, options: RenderOptions, onVariant?: VariantListener): Promise<ProcessedPicture> {
  const type = await detectImageType(bytes);
  const variants = await renderVariants(bytes, options, onVariant);
  return { type, variants };
}

const DEFAULT_AVATAR_SVG = (size: number) => `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 256 256">
  <defs>
    <linearGradient id="background" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#e6ebf1"/>
      <stop offset="1" stop-color="#cfd7e2"/>
    </linearGradient>
  </defs>
  <rect width="256" height="256" fill="url(#background)"/>
  <g fill="#8e9aab">
    <circle cx="128" cy="100" r="46"/>
    <path d="M36 256c0-55 41-92 92-92s92 37 92 92z"/>
  </g>
</svg>`;

/** The project's own default avatar, drawn from vector at each size so small ones stay crisp. */
/** The default avatar as the bucket set-up stores it: rendered here, named by lib/pictures/keys.ts. */
export const defaultAvatarSource = (sizes: number[]): DefaultAvatarSource => ({
  prefix: DEFAULT_AVATAR_ROOT,
  key: defaultAvatarKey,
  sizes,
  render: renderDefaultAvatar,
});

export async function renderDefaultAvatar(sizes: readonly number[]): Promise<Map<number, Buffer>> {
  const checked = checkSizes(sizes);
  const rendered = await Promise.all(
    checked.map((size) => sharp(Buffer.from(DEFAULT_AVATAR_SVG(size))).resize(size, size).webp().toBuffer()),
  );
  return new Map(checked.map((size, index) => [size, rendered[index]!]));
}

/** Raw pixels as sharp hands them over: a decoded image, or the square cut from it. */
export interface RawImage {
  data: Buffer;
  raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
}

/**
 * Inputs longer than this many times their width (or the reverse) are cropped to this ratio around their
 * centre: shrinking a 600×60000 image to a 512 px short side would still hold 512×51200 pixels, and a
 * 1×30000 strip is cut to 1×4 before anything else runs on it. The crop bounds the work by the output,
 * whatever the header claims; the attention analysis still picks the square within the kept part.
 */
export const MAX_ASPECT_RATIO = 4;

/** The region of the (oriented) image that is resized: all of it unless its aspect ratio exceeds the bound. */
export function regionToResize(width: number, height: number): { left: number; top: number; width: number; height: number } | undefined {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  if (long <= short * MAX_ASPECT_RATIO) return undefined;
  const kept = short * MAX_ASPECT_RATIO;
  const offset = Math.floor((long - kept) / 2);
  return width > height ? { left: offset, top: 0, width: kept, height } : { left: 0, top: offset, width, height: kept };
}

/** EXIF orientations 5 to 8 turn the image by 90°: width and height swap. */
const orientedSize = (metadata: Metadata) => {
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  return (metadata.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
};

/**
 * libwebp's effort (0–6) trades encoding time for bytes at the same quality setting. For 512 px squares,
 * effort 1 encodes ~4× faster than the default 4 and ~20% faster than 2, at the same PSNR (within 0.4 dB on
 * photos, noise, flat PNG and GIF art) and, on photos, in fewer bytes than 2 (a flat graphic may take 1 kB more).
 */
export const WEBP_OPTIONS = { quality: 80, effort: 1 } as const;

/** The decode half of renderVariants: one decode, shrunk on load, cut to the attention square (lib/pictures/attention; exported for the bench's breakdown). */
export async function decodeToSquare(bytes: Uint8Array, edge: number, maxPixels: number): Promise<RawImage> {
  const { data, raw } = await loadShrunk(bytes, edge, maxPixels);
  if (raw.width === raw.height) return { data, raw };
  const square = Math.min(raw.width, raw.height);
  const { left, top } = await attentionCrop({ data, raw }, square, square);
  return { data: cutRows(data, raw, left, top, square), raw: { width: square, height: square, channels: raw.channels } };
}

/** The `side` × `side` square at (left, top) of raw pixels, copied row by row. */
function cutRows(data: Buffer, raw: RawImage['raw'], left: number, top: number, side: number): Buffer {
  const rowBytes = side * raw.channels;
  const square = Buffer.allocUnsafe(rowBytes * side);
  for (let row = 0; row < side; row++) {
    const start = ((top + row) * raw.width + left) * raw.channels;
    data.copy(square, row * rowBytes, start, start + rowBytes);
  }
  return square;
}

/**
 * The load: header checks, then one decode shrunk on load, oriented and in sRGB, its shorter side `edge`, or
 * its own size when that side is shorter: a small picture is enlarged once, square by square, as each variant is
 * encoded, instead of here as a whole (a 320×240 GIF: ~17 ms of libvips enlarging to 683×512 and a bigger
 * buffer; exported for the bench's breakdown).
 */
export async function loadShrunk(bytes: Uint8Array, edge: number, maxPixels: number): Promise<RawImage> {
  // The header read decides the two common refusals by itself, whatever libvips' messages say: bytes
  // whose header does not parse are not an image, and the pixel count is ours to compare.
  // Header only, nothing decoded: no pixel limit here, the comparison below makes it.
  const metadata = await sharp(bytes, { pages: 1, limitInputPixels: false })
    .metadata()
    .catch((error: unknown) => {
      throw invalidImage(error);
    });
  const { width, height } = orientedSize(metadata);
  if (width * height > maxPixels) throw imageTooLarge(maxPixels);
  if (metadata.format === 'heif' && width * height > AVIF_MAX_PIXELS) throw avifTooLarge();
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // An sRGB profile changes nothing on the way to sRGB: skipping its transform saves ~7 ms of a 12 MP JPEG.
    const ignoreIcc = isSrgbProfile(metadata.icc);
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning', pages: 1, ignoreIcc }).autoOrient();
    // Resizing first in the decoding pipeline lets libjpeg/libwebp shrink on load (a 50 MP JPEG decodes at
    // 1/8 scale for 512 px: ~30 MB instead of 150 MB, a tenth of the CPU), which is most of the speed.
    // The shorter side becomes `edge` (never more than it is); the square is cut from the result (decodeToSquare).
    const region = regionToResize(width, height);
    if (!region) {
      image.resize(edge, edge, { fit: 'outside', withoutEnlargement: true });
    } else if (Math.min(width, height) >= edge) {
      // Past 4:1 and shrinking: the 4:1 crop comes after the resize, since one before it would turn shrink-on-load
      // off (sharp decodes the whole image at full size to extract from it). Nothing is enlarged here.
      const scale = edge / Math.min(width, height);
      const resized = { width: Math.max(edge, Math.round(width * scale)), height: Math.max(edge, Math.round(height * scale)) };
      image.resize(resized.width, resized.height, { fit: 'fill' });
      const kept = regionToResize(resized.width, resized.height);
      if (kept) image.extract(kept);
    } else {
      // Past 4:1 and short (a 1×30000 strip): only the kept part is decoded on, at its own size.
      image.extract(region);
    }
    decoded = await image
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw translateDecodeError(error, maxPixels);
  }
  const { data, info } = decoded;
  return { data, raw: { width: info.width, height: info.height, channels: info.channels } };
}

/** The encode half of renderVariants: one WebP per size from the square (exported for the bench's breakdown). */
export async function encodeSquares(square: RawImage, sizes: number[], onVariant?: VariantListener, signal?: AbortSignal): Promise<Map<number, Buffer>> {
  // allSettled: no variant may reach onVariant after this function has failed (its caller cleans up then).
  const encoded = await Promise.allSettled(
    sizes.map(async (size) => {
      const image = sharp(square.data, { raw: square.raw });
      const webp = await (size === square.raw.width ? image : image.resize(size, size)).webp(WEBP_OPTIONS).toBuffer();
      // After a 503 no variant is handed on to be stored.
      stopIfAborted(signal);
      onVariant?.(size, webp);
      return webp;
    }),
  );
  const failed = encoded.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return new Map(sizes.map((size, index) => [size, (encoded[index] as PromiseFulfilledResult<Buffer>).value]));
}

// Messages libvips and sharp give for input that is not a decodable image of
// an accepted type (collected by fuzzing JPEG, PNG, GIF, WebP and AVIF inputs).
// Anything else is our fault or the machine's and stays a 500.
const INVALID_IMAGE_MESSAGES = [
  /^Input buffer has corrupt header/,
  /^Input buffer contains unsupported image format/,
  /^Input Buffer is empty/,
  /^Warning treated as error due to failOn setting/,
  /^VipsJpeg: /,
  /^(?:vips)?s?png: /,
  /^gifload(?:_buffer)?: /,
  /^webp\w*: /,
  /^heif\w*: /,
  // EXIF is TIFF-structured: a damaged EXIF block in a WebP or AVIF reaches libvips' TIFF reader (no TIFF is
  // ever decoded here, detectImageType refuses them). Seen now and then among decodes failing side by side.
  /^tiff2vips: /,
  /^vips__tiff_openin_source: /,
];

/** The process's own trouble (memory, disk), never the input's, whatever other lines come with it. */
const SERVER_SIDE_MESSAGES = /out of memory|vips_malloc|No space left|unable to write/i;

const imageTooLarge = (maxPixels: number, cause?: unknown) =>
  new HttpError(422, 'image_too_large', `The image has too many pixels; at most ${Math.floor(maxPixels / 100_000) / 10} megapixels are accepted.`, {
    cause,
  });

/**
 * AV1 has no shrink-on-load: libheif decodes the whole frame and holds it several times over, and glibc keeps
 * what it freed. A 12 MP AVIF costs 1.2 s (8-bit) to 2.1 s (12-bit with alpha) of CPU; a warm process decoding
 * the 12-bit one again and again settles near 1.2 GB RSS (600 MB with MALLOC_ARENA_MAX=2, set for the picture
 * functions in serverless.yml). A 50 MP AVIF would need 4 s and several GB: 12 MP (4000×3000) is the bound.
 */
export const AVIF_MAX_PIXELS = 12_000_000;

const avifTooLarge = () =>
  new HttpError(
    422,
    'image_too_large',
    `The AVIF image has too many pixels; AVIF is accepted up to ${AVIF_MAX_PIXELS / 1_000_000} megapixels (it cannot be decoded at a reduced size). Send a larger picture as JPEG.`,
  );

const invalidImage = (cause: unknown) =>
  new HttpError(422, 'invalid_image', 'The image could not be read; it may be damaged or incomplete.', { cause });

/**
 * A failure while decoding an image whose header was read: libvips gives no error codes, so its loaders'
 * messages are matched (sharp's own pixel-limit guard, for a header that under-reports, included).
 */
export function translateDecodeError(error: unknown, maxPixels: number): unknown {
  if (!(error instanceof Error)) return error;
  // libvips notes each read past the input's end (heifload on a cut or damaged file) before the loader's
  // own message. Its error buffer is shared by the process: when decodes fail side by side, one failure may
  // carry the lines of another, in any order, or be left with only these notes. So every line is read: a
  // line of the process's own trouble keeps the error a 500; otherwise one loader's complaint (or only
  // notes) puts the input at fault.
  const lines = error.message.split('\n').filter((line) => line !== '');
  if (lines.some((line) => SERVER_SIDE_MESSAGES.test(line))) return error;
  if (lines.some((line) => line.startsWith('Input image exceeds pixel limit'))) return imageTooLarge(maxPixels, error);
  // A note may also arrive cut to its prefix ("source:") when the buffer is shared.
  const loaderLines = lines.filter((line) => !/^source:(?: bad seek to \d+)?$/.test(line));
  if (lines.length > 0 && loaderLines.length === 0) return invalidImage(error);
  if (loaderLines.some((line) => INVALID_IMAGE_MESSAGES.some((pattern) => pattern.test(line)))) return invalidImage(error);
  return error;
}

function checkSizes(sizes: readonly number[]): number[] {
  const unique = [...new Set(sizes)];
  if (unique.length === 0 || !unique.every((size) => Number.isInteger(size) && size > 0 && size <= 4096)) {
    throw new RangeError(`Picture sizes must be integers from 1 to 4096, got ${JSON.stringify(sizes)}`);
  }
  return unique;
}

// sharp reads 0 or false as "no limit"; a misconfigured limit must not disable the check.
function checkMaxPixels(maxPixels: number): number {
  if (!Number.isInteger(maxPixels) || maxPixels < 1) {
    throw new RangeError(`maxPixels must be a positive integer, got ${maxPixels}`);
  }
  return maxPixels;
}
