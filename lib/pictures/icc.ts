/**
 * Is an embedded ICC profile plain sRGB? Then converting through it to sRGB changes no pixel by more than
 * rounding, and the decode can skip the colour transform (~7 ms of a 12 MP JPEG's ~30 ms load: lcms runs over
 * every decoded pixel). Most Android phones and every image sharp itself tags carry such a profile; anything
 * else (Display P3 from an iPhone, Adobe RGB, CMYK, grey, a profile we cannot read) keeps the transform.
 *
 * The test reads the profile's own numbers (ICC.1:2022, sections 7.2, 7.3 and 10): an RGB matrix/TRC profile
 * (no device-to-PCS tables) whose red, green and blue colorants are sRGB's primaries (D50-adapted) and whose
 * three tone curves follow the sRGB transfer function. The profile's name is never trusted.
 */

/** sRGB's colorants as ICC v2/v4 profiles store them (XYZ, D50-adapted), to 4 decimals. */
const SRGB_COLORANTS: Readonly<Record<string, readonly [number, number, number]>> = {
  rXYZ: [0.4361, 0.2225, 0.0139],
  gXYZ: [0.3851, 0.7169, 0.0971],
  bXYZ: [0.1431, 0.0606, 0.7141],
};

/** Profiles differ in the fourth decimal (rounding, Bradford constants); a wider gamut differs in the first or second. */
const COLORANT_TOLERANCE = 0.002;

/**
 * Largest difference from the sRGB curve, in linear light, at the sample points: a quarter of the darkest
 * 8-bit step above black. A plain 2.2 gamma, which some profiles call sRGB, is off by 0.003 near black.
 */
const CURVE_TOLERANCE = 0.001;
/**
 * Every 10-bit input level (so every 8-bit one, and every entry of the usual 1024-entry tables): a table that
 * matched sRGB only at a few points could bend between them.
 */
const CURVE_SAMPLES = 1023;

const TONE_CURVES = ['rTRC', 'gTRC', 'bTRC'] as const;

/** Device-to-PCS tables (ICC.1 9.2.1–9.2.4, 9.2.27–9.2.30): where present, they take precedence over the matrix and curves. */
const LUT_TAGS = ['A2B0', 'A2B1', 'A2B2', 'D2B0', 'D2B1', 'D2B2'] as const;

/** IEC 61966-2-1: the sRGB transfer function, encoded value to linear light, both 0–1. */
export const srgbToLinear = (value: number): number => (value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4);

export function isSrgbProfile(profile: Uint8Array | undefined): boolean {
  if (!profile) return false;
  try {
    const view = new DataView(profile.buffer, profile.byteOffset, profile.byteLength);
    const text = (offset: number) => String.fromCharCode(...profile.subarray(offset, offset + 4));
    if (profile.byteLength < 132 || text(16) !== 'RGB ' || text(20) !== 'XYZ ' || text(36) !== 'acsp') return false;
    const tags = readTagTable(view, text);
    // A LUT-based profile: lcms would convert through its tables (which may remap for perceptual intent),
    // not through the colorants and curves read below, so the transform is left to libvips.
    if (LUT_TAGS.some((signature) => tags.has(signature))) return false;
    for (const [signature, expected] of Object.entries(SRGB_COLORANTS)) {
      const colorant = readXyz(view, text, tags.get(signature));
      if (!colorant || colorant.some((value, index) => Math.abs(value - expected[index]!) > COLORANT_TOLERANCE)) return false;
    }
    return TONE_CURVES.every((signature) => {
      const curve = readToneCurve(view, text, tags.get(signature));
      if (!curve) return false;
      for (let sample = 0; sample <= CURVE_SAMPLES; sample++) {
        const value = sample / CURVE_SAMPLES;
        if (!(Math.abs(curve(value) - srgbToLinear(value)) <= CURVE_TOLERANCE)) return false;
      }
      return true;
    });
  } catch (error) {
    // A tag pointing past the end of the profile: not a profile we vouch for, so the transform stays.
    if (error instanceof RangeError) return false;
    throw error;
  }
}

interface Tag {
  offset: number;
  size: number;
}

function readTagTable(view: DataView, text: (offset: number) => string): Map<string, Tag> {
  const count = view.getUint32(128);
  const tags = new Map<string, Tag>();
  for (let index = 0; index < Math.min(count, 256); index++) {
    const entry = 132 + index * 12;
    const tag = { offset: view.getUint32(entry + 4), size: view.getUint32(entry + 8) };
    if (tag.offset + tag.size > view.byteLength) throw new RangeError('ICC tag outside the profile');
    tags.set(text(entry), tag);
  }
  return tags;
}

const s15Fixed16 = (view: DataView, offset: number) => view.getInt32(offset) / 65536;

function readXyz(view: DataView, text: (offset: number) => string, tag: Tag | undefined): [number, number, number] | undefined {
  if (!tag || tag.size < 20 || text(tag.offset) !== 'XYZ ') return undefined;
  return [s15Fixed16(view, tag.offset + 8), s15Fixed16(view, tag.offset + 12), s15Fixed16(view, tag.offset + 16)];
}

/** Parameters each parametric curve type carries (ICC.1 table 68): g, a, b, c, d, e, f in that order. */
const PARAMETRIC_COUNTS = [1, 3, 4, 5, 7] as const;

/** A tone curve ('curv' or 'para') as a function from encoded value to linear light, both 0–1. */
function readToneCurve(view: DataView, text: (offset: number) => string, tag: Tag | undefined): ((value: number) => number) | undefined {
  if (!tag || tag.size < 12) return undefined;
  const type = text(tag.offset);
  if (type === 'curv') {
    const entries = view.getUint32(tag.offset + 8);
    if (entries === 0 || tag.size < 12 + entries * 2) return undefined;
    if (entries === 1) {
      const gamma = view.getUint16(tag.offset + 12) / 256;
      return (value) => value ** gamma;
    }
    // Read in place at the sample points: a hostile profile's table may be as long as the upload.
    const entry = (index: number) => view.getUint16(tag.offset + 12 + index * 2) / 65535;
    return (value) => {
      const position = value * (entries - 1);
      const below = Math.floor(position);
      const above = Math.min(below + 1, entries - 1);
      return entry(below) + (entry(above) - entry(below)) * (position - below);
    };
  }
  if (type === 'para') {
    const functionType = view.getUint16(tag.offset + 8);
    const count = PARAMETRIC_COUNTS[functionType as 0 | 1 | 2 | 3 | 4];
    if (count === undefined || tag.size < 12 + count * 4) return undefined;
    const [g = 1, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from({ length: count }, (_, index) => s15Fixed16(view, tag.offset + 12 + index * 4));
    const power = (value: number) => Math.max(0, a * value + b) ** g;
    switch (functionType) {
      case 0:
        return (value) => value ** g;
      case 1:
        return (value) => (value >= -b / a ? power(value) : 0);
      case 2:
        return (value) => (value >= -b / a ? power(value) + c : c);
      case 3:
        return (value) => (value >= d ? power(value) : c * value);
      default:
        return (value) => (value >= d ? power(value) + e : c * value + f);
    }
  }
  return undefined;
}
