import { describe, expect, test } from '@jest/globals';
import { parseConfig } from '../lib/config';

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
    expect(config.pictures).toEqual({ maxBytes: 5 * 1024 * 1024, maxPixels: 40_000_000, sizes: [64, 200, 512], urlTtl: 900 });
    expect(config.publicBaseUrl).toBe('http://localhost:3000');
    expect(config.s3.credentials).toBeUndefined();
    expect(config.s3.endpoint).toBeUndefined();
  });

  test('a missing setting stops start-up with its name', () => {
    const { DATABASE_URL: _, ...withoutDatabase } = valid;
    expect(() => parseConfig(withoutDatabase)).toThrow(/DATABASE_URL is required/);
  });

  test('a short JWT secret is refused by name', () => {
    expect(() => parseConfig({ ...valid, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32 bytes/);
  });

  test('durations accept units and bad ones are named', () => {
    expect(parseConfig({ ...valid, ACCESS_TOKEN_TTL: '10m', REFRESH_TOKEN_TTL: '7d' }).jwt).toMatchObject({ accessTokenTtl: 600, refreshTokenTtl: 604800 });
    expect(() => parseConfig({ ...valid, PICTURE_URL_TTL: 'soon' })).toThrow(/PICTURE_URL_TTL/);
  });

  test('presigned URLs cannot be asked to live longer than SigV4 allows (7 days)', () => {
    expect(parseConfig({ ...valid, PICTURE_URL_TTL: '7d' }).pictures.urlTtl).toBe(604800);
    expect(() => parseConfig({ ...valid, PICTURE_URL_TTL: '8d' })).toThrow(/PICTURE_URL_TTL must be at most 7d/);
  });

  test('picture sizes must include 200 and be numbers', () => {
    expect(parseConfig({ ...valid, PICTURE_SIZES: '512, 200,64,200' }).pictures.sizes).toEqual([64, 200, 512]);
    expect(() => parseConfig({ ...valid, PICTURE_SIZES: '64,128' })).toThrow(/PICTURE_SIZES must include 200/);
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
