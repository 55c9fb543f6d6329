import { describe, expect, test } from '@jest/globals';
import { parseConfig } from '../lib/platform/config';

const valid = {
  DATABASE_URL: 'postgres://u:p@localhost:5432/portrait',
  S3_BUCKET: 'portrait-pictures',
  JWT_SECRET: 'x'.repeat(32),
  SMTP_URL: 'smtp://localhost:1025',
  PUBLIC_BASE_URL: 'http://localhost:3000/',
};

describe('settings', () => {
  test('valid settings get defaults for everything optional', () => {
    const config = parseConfig(valid);
    expect(config.jwt.accessTokenTtl).toBe(900);
    expect(config.jwt.refreshTokenTtl).toBe(30 * 86400);
    expect(config.verificationTokenTtl).toBe(86400);
    expect(config.pictures).toEqual({ maxBytes: 5 * 1024 * 1024, directMaxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000, sizes: [64, 200, 512], urlTtl: 900 });
    expect(config.publicBaseUrl).toBe('http://localhost:3000');
    expect(config.s3.credentials).toBeUndefined();
    expect(config.s3.endpoint).toBeUndefined();
  });

  test('a missing setting stops start-up with its name', () => {
    const { DATABASE_URL: _, ...withoutDatabase } = valid;
    expect(() => parseConfig(withoutDatabase)).toThrow(/DATABASE_URL is required/);
  });

  test('a short JWT secret is refused by name', () => {
    expect(() => parseConfig({ ...valid, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET="\*\*\*\* \(5 bytes\)" must be at least 32 bytes/);
  });

  test('durations accept units and bad ones are named', () => {
    expect(parseConfig({ ...valid, ACCESS_TOKEN_TTL: '10m', REFRESH_TOKEN_TTL: '7d' }).jwt).toMatchObject({ accessTokenTtl: 600, refreshTokenTtl: 604800 });
    expect(() => parseConfig({ ...valid, PICTURE_URL_TTL: 'soon' })).toThrow(/PICTURE_URL_TTL/);
  });

  test('presigned URLs cannot be asked to live longer than SigV4 allows (7 days)', () => {
    expect(parseConfig({ ...valid, PICTURE_URL_TTL: '7d' }).pictures.urlTtl).toBe(604800);
    expect(() => parseConfig({ ...valid, PICTURE_URL_TTL: '8d' })).toThrow(/PICTURE_URL_TTL="8d" must be at most 7d/);
  });

  test('picture sizes must include 200 and be numbers', () => {
    expect(parseConfig({ ...valid, PICTURE_SIZES: '512, 200,64,200' }).pictures.sizes).toEqual([64, 200, 512]);
    expect(() => parseConfig({ ...valid, PICTURE_SIZES: '64,128' })).toThrow(/PICTURE_SIZES="64,128" must include 200/);
    expect(() => parseConfig({ ...valid, PICTURE_SIZES: '64,big' })).toThrow(/PICTURE_SIZES/);
  });

  test('S3 keys come as a pair or not at all', () => {
    expect(() => parseConfig({ ...valid, S3_ACCESS_KEY_ID: 'key' })).toThrow(/S3_ACCESS_KEY_ID/);
    expect(parseConfig({ ...valid, S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret' }).s3.credentials).toEqual({
      accessKeyId: 'key',
      secretAccessKey: 'secret',
    });
  });

  test('every bad setting is named at once', () => {
    expect(() => parseConfig({ ...valid, SMTP_URL: 'http://mail', PUBLIC_BASE_URL: 'not a url' })).toThrow(/SMTP_URL.*PUBLIC_BASE_URL|PUBLIC_BASE_URL.*SMTP_URL/);
  });
});

describe('settings messages name the variable, show the value and give an example', () => {
  const problem = (overrides: Record<string, string>) => {
    try {
      parseConfig({ ...valid, ...overrides });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('settings were accepted');
  };

  test('a list of sizes that is not numbers says what it got and what works', () => {
    expect(problem({ PICTURE_SIZES: 'abc' })).toBe(
      'Invalid settings: PICTURE_SIZES="abc" must be whole numbers of pixels separated by commas (e.g. PICTURE_SIZES=64,200,512)',
    );
  });

  test('a byte size with a unit is understood, and a made-up unit is named', () => {
    expect(parseConfig({ ...valid, PICTURE_MAX_BYTES: '5MiB' }).pictures.maxBytes).toBe(5 * 1024 * 1024);
    expect(parseConfig({ ...valid, PICTURE_MAX_BYTES: '5 MB' }).pictures.maxBytes).toBe(5_000_000);
    expect(problem({ PICTURE_MAX_BYTES: 'lots' })).toMatch(/PICTURE_MAX_BYTES="lots" must be a number of bytes.*\(e\.g\. PICTURE_MAX_BYTES=5MiB\)/);
  });

  test('the direct upload has its own, larger limit, never below PICTURE_MAX_BYTES', () => {
    expect(parseConfig({ ...valid, PICTURE_DIRECT_MAX_BYTES: '15MiB' }).pictures).toMatchObject({ maxBytes: 5 * 1024 * 1024, directMaxBytes: 15 * 1024 * 1024 });
    // Unset, it follows a PICTURE_MAX_BYTES raised past its default.
    expect(parseConfig({ ...valid, PICTURE_MAX_BYTES: '30MiB' }).pictures.directMaxBytes).toBe(30 * 1024 * 1024);
    expect(problem({ PICTURE_MAX_BYTES: '8MiB', PICTURE_DIRECT_MAX_BYTES: '6MiB' })).toMatch(
      /PICTURE_DIRECT_MAX_BYTES="6MiB" must be at least PICTURE_MAX_BYTES.*\(e\.g\. PICTURE_DIRECT_MAX_BYTES=20MiB\)/,
    );
  });

  test('megapixels are understood for the pixel limit', () => {
    expect(parseConfig({ ...valid, PICTURE_MAX_PIXELS: '50MP' }).pictures.maxPixels).toBe(50_000_000);
  });

  test('the S3 key pair message names each key once', () => {
    const message = problem({ S3_ACCESS_KEY_ID: 'key' });
    expect(message).toMatch(/S3_ACCESS_KEY_ID="key" and S3_SECRET_ACCESS_KEY must be set together/);
    expect(message.match(/S3_ACCESS_KEY_ID/g)).toHaveLength(2); // the name and the example
  });

  test('an unknown log level is refused with the ones that exist', () => {
    expect(problem({ LOG_LEVEL: 'verbose' })).toMatch(/LOG_LEVEL="verbose" must be info .* or silent \(e\.g\. LOG_LEVEL=silent\)/);
    expect(() => parseConfig({ ...valid, LOG_LEVEL: 'silent' })).not.toThrow();
  });

  test('a base URL without a scheme is refused, not read as the scheme "localhost:"', () => {
    expect(problem({ PUBLIC_BASE_URL: 'localhost:3300' })).toMatch(
      /PUBLIC_BASE_URL="localhost:3300" must be an http:\/\/ or https:\/\/ URL \(e\.g\. PUBLIC_BASE_URL=http:\/\/localhost:3000\)/,
    );
  });

  test('the placeholder JWT secret of .env.example is refused by name, without showing it', () => {
    const message = problem({ JWT_SECRET: 'change-me-to-32-or-more-random-bytes-please' });
    expect(message).toMatch(/JWT_SECRET="\*\*\*\* \(43 bytes\)" is the public placeholder from \.env\.example/);
    expect(message).not.toContain('change-me');
  });

  test('secrets are masked in messages: a short JWT secret and the password inside a URL', () => {
    expect(problem({ JWT_SECRET: 'hunter2' })).not.toContain('hunter2');
    const message = problem({ SMTP_URL: 'http://user:s3cret@mail:1025' });
    expect(message).toContain('SMTP_URL="http://user:****@mail:1025"');
    expect(message).not.toContain('s3cret');
  });

  test('a missing setting gives an example too', () => {
    const { SMTP_URL: _, ...withoutSmtp } = valid;
    expect(() => parseConfig(withoutSmtp)).toThrow('SMTP_URL is required (e.g. SMTP_URL=smtp://127.0.0.1:1025)');
  });
});
