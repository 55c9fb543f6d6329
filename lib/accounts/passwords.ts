import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keyLength: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt setting N=2^15, r=8, p=3 (32 MiB per hash). Stored in each hash so it can change later. */
export const PRODUCTION_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 3 };
const keyLength = 32;

const format = /^scrypt\$v=1\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function options(N: number, r: number, p: number): ScryptOptions {
  return { N, r, p, maxmem: 256 * N * r * p + 1024 * 1024 };
}

/**
 * `scrypt$v=1$N=32768,r=8,p=3$<salt>$<key>`, base64url parts. The cost comes from the caller
 * (the PASSWORD_HASH_COST setting) so tests can hash cheaply; production keeps the default.
 */
export async function hashPassword(password: string, params: ScryptParams = PRODUCTION_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, keyLength, options(params.N, params.r, params.p));
  return `scrypt$v=1$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = format.exec(stored);
  if (!match) return false;
  const [, N, r, p, salt, expected] = match as unknown as [string, string, string, string, string, string];
  const expectedKey = Buffer.from(expected, 'base64url');
  const key = await scrypt(password.normalize('NFC'), Buffer.from(salt, 'base64url'), expectedKey.length, options(Number(N), Number(r), Number(p)));
  return timingSafeEqual(key, expectedKey);
}

const dummyHashes = new Map<string, Promise<string>>();

/**
 * A real hash, at the current cost, of a random password nobody kept: unknown emails are checked
 * against it so that they take as long as known ones. Made once per container and cost.
 */
export function dummyPasswordHash(params: ScryptParams = PRODUCTION_SCRYPT): Promise<string> {
  const key = `${params.N},${params.r},${params.p}`;
  let hash = dummyHashes.get(key);
  if (!hash) {
    hash = hashPassword(randomBytes(24).toString('base64url'), params);
    dummyHashes.set(key, hash);
  }
  return hash;
}
