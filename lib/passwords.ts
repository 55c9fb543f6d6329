import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keyLength: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

/** OWASP's scrypt setting N=2^15, r=8, p=3 (32 MiB per hash). Stored in each hash so it can change later. */
const current = { N: 2 ** 15, r: 8, p: 3 };
const keyLength = 32;

const format = /^scrypt\$v=1\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function options(N: number, r: number, p: number): ScryptOptions {
  return { N, r, p, maxmem: 256 * N * r * p + 1024 * 1024 };
}

/** `scrypt$v=1$N=32768,r=8,p=3$<salt>$<key>`, base64url parts. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, keyLength, options(current.N, current.r, current.p));
  return `scrypt$v=1$N=${current.N},r=${current.r},p=${current.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = format.exec(stored);
  if (!match) return false;
  const [, N, r, p, salt, expected] = match as unknown as [string, string, string, string, string, string];
  const expectedKey = Buffer.from(expected, 'base64url');
  const key = await scrypt(password.normalize('NFC'), Buffer.from(salt, 'base64url'), expectedKey.length, options(Number(N), Number(r), Number(p)));
  return timingSafeEqual(key, expectedKey);
}

/**
 * A real hash of a random password nobody kept: unknown emails are checked against it
 * so that they take as long as known ones. Not a secret.
 */
export const DUMMY_PASSWORD_HASH =
  'scrypt$v=1$N=32768,r=8,p=3$Y7Y0HJeCbL17orc6SBVhEw$Qy0dCsZaqFnjkOHVmrue1ic1AEFaAwDdhg44UB3Ibqc';
