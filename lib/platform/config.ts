import * as z from 'zod';

const durationPattern = /^(\d+)\s*(s|m|h|d)?$/;
const unitSeconds = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** "900", "15m", "24h", "30d" → seconds. */
const duration = z
  .string()
  .trim()
  .regex(durationPattern, 'must be a number of seconds or a number with s, m, h or d (e.g. 15m)')
  .transform((value) => {
    const [, amount, unit] = durationPattern.exec(value)!;
    return Number(amount) * unitSeconds[(unit ?? 's') as keyof typeof unitSeconds];
  })
  .refine((seconds) => seconds > 0, 'must be more than zero');

const byteUnits = { '': 1, b: 1, kb: 1000, kib: 1024, mb: 1000 ** 2, mib: 1024 ** 2, gb: 1000 ** 3, gib: 1024 ** 3 } as const;
const bytesPattern = /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
/** "5242880", "5MiB", "5 MB" → bytes (MB = 10^6, MiB = 2^20). */
const bytes = z
  .string()
  .trim()
  .regex(bytesPattern, 'must be a number of bytes, optionally with KiB, MiB, KB or MB')
  .transform((value) => {
    const [, amount, unit] = bytesPattern.exec(value)!;
    return Number(amount) * byteUnits[(unit ?? '').toLowerCase() as keyof typeof byteUnits];
  })
  .refine((value) => value > 0, 'must be more than zero');

/** "50000000", "50MP", "50 MP" → pixels. */
const pixelsPattern = /^(\d+)\s*(mp)?$/i;
const pixels = z
  .string()
  .trim()
  .regex(pixelsPattern, 'must be a number of pixels (width × height), or megapixels with MP')
  .transform((value) => {
    const [, amount, unit] = pixelsPattern.exec(value)!;
    return Number(amount) * (unit ? 1_000_000 : 1);
  })
  .refine((value) => value > 0, 'must be more than zero');
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));
// z.url() alone takes "localhost:3300" for a URL with the scheme "localhost:".
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const optionalUrl = optionalText.pipe(httpUrl.optional());
const urlWithoutTrailingSlash = httpUrl.transform((value) => value.replace(/\/+$/, ''));

/** Values published in .env.example and the README: whoever reads them can sign tokens. */
const PLACEHOLDER_SECRETS = ['change-me-to-32-or-more-random-bytes-please'];

const schema = z
  .object({
    DATABASE_URL: z.string().trim().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    S3_ENDPOINT: optionalUrl,
    S3_PUBLIC_ENDPOINT: optionalUrl,
    S3_REGION: z.string().trim().min(1).default('us-east-1'),
    S3_BUCKET: z.string().trim().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name'),
    S3_ACCESS_KEY_ID: optionalText,
    S3_SECRET_ACCESS_KEY: optionalText,
    JWT_SECRET: z
      .string()
      .refine((value) => !PLACEHOLDER_SECRETS.includes(value.trim()) && !/^change-?me/i.test(value.trim()), 'is the public placeholder from .env.example: anyone could sign tokens with it')
      .refine((value) => Buffer.byteLength(value) >= 32, 'must be at least 32 bytes'),
    JWT_ISSUER: z.string().trim().min(1).default('portrait'),
    JWT_AUDIENCE: z.string().trim().min(1).default('portrait-api'),
    ACCESS_TOKEN_TTL: duration.default(900),
    REFRESH_TOKEN_TTL: duration.default(30 * 86400),
    VERIFICATION_TOKEN_TTL: duration.default(86400),
    PASSWORD_RESET_TOKEN_TTL: duration.default(3600),
    // A rotated refresh token presented again this soon is a second tab or a retry, not a theft.
    REFRESH_REUSE_INTERVAL: z
      .string()
      .trim()
      .regex(durationPattern, 'must be a number of seconds or a number with s, m, h or d (e.g. 10s)')
      .transform((value) => {
        const [, amount, unit] = durationPattern.exec(value)!;
        return Number(amount) * unitSeconds[(unit ?? 's') as keyof typeof unitSeconds];
      })
      .default(10),
    RESET_REDIRECT_URL: optionalUrl,
    SMTP_URL: z.string().trim().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL'),
    MAIL_FROM: z.string().trim().regex(/@/, 'must contain an email address').default('Portrait <no-reply@portrait.local>'),
    PUBLIC_BASE_URL: urlWithoutTrailingSlash,
    VERIFY_REDIRECT_URL: optionalUrl,
    // Comma-separated addresses that become admins once verified (and at login). Validated like registration's.
    ADMIN_EMAILS: z
      .string()
      .default('')
      .transform((value) => value.split(',').map((address) => address.trim().toLowerCase()).filter(Boolean))
      .pipe(z.array(z.email('must be a comma-separated list of email addresses')))
      .transform((addresses) => [...new Set(addresses)]),
    PICTURE_MAX_BYTES: bytes.default(5 * 1024 * 1024),
    // The presigned POST goes straight to the bucket, past API Gateway's ~6 MB request cap: room for phone photos.
    PICTURE_DIRECT_MAX_BYTES: bytes.optional(),
    // 50 MP covers the 48–50 MP main cameras of current phones.
    PICTURE_MAX_PIXELS: pixels.default(50_000_000),
    PICTURE_SIZES: z
      .string()
      .regex(/^\s*\d+\s*(,\s*\d+\s*)*$/, 'must be whole numbers of pixels separated by commas')
      .transform((value) => value.split(',').map((size) => Number(size.trim())))
      .refine((sizes) => sizes.every((size) => size >= 16 && size <= 2048), 'must be sizes between 16 and 2048 pixels')
      .refine((sizes) => sizes.includes(200), 'must include 200, the size profiles link to')
      .transform((sizes) => [...new Set(sizes)].sort((a, b) => a - b))
      .default([64, 200, 512]),
    // SigV4 presigned URLs live at most 7 days.
    // log2 of scrypt's N. 15 (32 MiB, ~100 ms) is OWASP's minimum for production; tests lower it.
    PASSWORD_HASH_COST: z
      .string()
      .trim()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .refine((cost) => cost >= 10 && cost <= 20, 'must be between 10 and 20')
      .default(15),
    LOG_LEVEL: z.enum(['info', 'silent'], { error: 'must be info (one JSON line per request) or silent' }).default('info'),
    PICTURE_URL_TTL: duration.refine((seconds) => seconds <= 604800, 'must be at most 7d (the longest a presigned URL lives)').default(900),
  })
  .refine((env) => env.PICTURE_DIRECT_MAX_BYTES === undefined || env.PICTURE_DIRECT_MAX_BYTES >= env.PICTURE_MAX_BYTES, {
    message: 'must be at least PICTURE_MAX_BYTES: the direct upload is the route for the larger files',
    path: ['PICTURE_DIRECT_MAX_BYTES'],
  })
  .refine((env) => Boolean(env.S3_ACCESS_KEY_ID) === Boolean(env.S3_SECRET_ACCESS_KEY), {
    message: 'and S3_SECRET_ACCESS_KEY must be set together (or both left unset to use the function role)',
    path: ['S3_ACCESS_KEY_ID'],
  });

type Env = z.infer<typeof schema>;

/** PICTURE_DIRECT_MAX_BYTES when unset (or PICTURE_MAX_BYTES, if that is larger). */
const DEFAULT_DIRECT_MAX_BYTES = 20 * 1024 * 1024;

/** A good value per setting, shown next to every complaint about it. */
const EXAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgres://portrait:portrait@127.0.0.1:5432/portrait',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_PUBLIC_ENDPOINT: 'http://localhost:9000',
  S3_REGION: 'us-east-1',
  S3_BUCKET: 'portrait',
  S3_ACCESS_KEY_ID: 'portrait',
  S3_SECRET_ACCESS_KEY: '<the key\'s secret>',
  JWT_SECRET: '$(openssl rand -base64 32)',
  JWT_ISSUER: 'portrait',
  JWT_AUDIENCE: 'portrait-api',
  ACCESS_TOKEN_TTL: '15m',
  REFRESH_TOKEN_TTL: '30d',
  VERIFICATION_TOKEN_TTL: '24h',
  SMTP_URL: 'smtp://127.0.0.1:1025',
  MAIL_FROM: 'Portrait <no-reply@example.com>',
  PUBLIC_BASE_URL: 'http://localhost:3000',
  VERIFY_REDIRECT_URL: 'https://app.example.com/verified',
  PICTURE_MAX_BYTES: '5MiB',
  PICTURE_DIRECT_MAX_BYTES: '20MiB',
  PICTURE_MAX_PIXELS: '50MP',
  PICTURE_SIZES: '64,200,512',
  PICTURE_URL_TTL: '15m',
  LOG_LEVEL: 'silent',
  PASSWORD_HASH_COST: '15',
  ADMIN_EMAILS: 'ada@example.com,grace@example.com',
};

const SECRET_NAMES = /SECRET|PASSWORD|TOKEN(?!_TTL)|PRIVATE/;

/** What a message may show of a value: secrets masked, the password of a URL masked. */
export function shownValue(name: string, value: string): string {
  if (SECRET_NAMES.test(name)) return value.length ? `**** (${Buffer.byteLength(value)} bytes)` : '';
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, '$1:****@');
}

export interface Config {
  databaseUrl: string;
  s3: {
    endpoint?: string;
    publicEndpoint?: string;
    region: string;
    bucket: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  jwt: { secret: Uint8Array; issuer: string; audience: string; accessTokenTtl: number; refreshTokenTtl: number };
  mail: { smtpUrl: string; from: string };
  publicBaseUrl: string;
  verifyRedirectUrl?: string;
  resetRedirectUrl?: string;
  verificationTokenTtl: number;
  /** Lower-cased; such accounts are admins once their email is verified. */
  adminEmails: string[];
  passwordResetTokenTtl: number;
  /** Seconds during which a rotated refresh token still refreshes (0 = never). */
  refreshReuseInterval: number;
  pictures: {
    /** Largest file through the API (multipart), which API Gateway caps near 6 MB anyway. */
    maxBytes: number;
    /** Largest file through the presigned POST and its confirm step; at least maxBytes. */
    directMaxBytes: number;
    maxPixels: number;
    sizes: number[];
    urlTtl: number;
  };
  passwordHashing: { N: number; r: number; p: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates settings; throws a ConfigError naming every bad variable. */
export function parseConfig(source: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" so that `FOO=` in an .env file falls back to the default.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'settings');
      const example = EXAMPLES[name] ? ` (e.g. ${name}=${EXAMPLES[name]})` : '';
      if (issue.code === 'invalid_type' && present[name] === undefined) return `${name} is required${example}`;
      const value = present[name] === undefined ? '' : `=${JSON.stringify(shownValue(name, present[name]))}`;
      return `${name}${value} ${issue.message}${example}`;
    });
    throw new ConfigError(`Invalid settings: ${problems.join('; ')}`);
  }
  return toConfig(result.data);
}

function toConfig(env: Env): Config {
  return {
    databaseUrl: env.DATABASE_URL,
    s3: {
      endpoint: env.S3_ENDPOINT,
      publicEndpoint: env.S3_PUBLIC_ENDPOINT,
      region: env.S3_REGION,
      bucket: env.S3_BUCKET,
      credentials:
        env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
          ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
          : undefined,
    },
    jwt: {
      secret: new TextEncoder().encode(env.JWT_SECRET),
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtl: env.ACCESS_TOKEN_TTL,
      refreshTokenTtl: env.REFRESH_TOKEN_TTL,
    },
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM },
    publicBaseUrl: env.PUBLIC_BASE_URL,
    verifyRedirectUrl: env.VERIFY_REDIRECT_URL,
    resetRedirectUrl: env.RESET_REDIRECT_URL,
    verificationTokenTtl: env.VERIFICATION_TOKEN_TTL,
    adminEmails: env.ADMIN_EMAILS,
    passwordResetTokenTtl: env.PASSWORD_RESET_TOKEN_TTL,
    refreshReuseInterval: env.REFRESH_REUSE_INTERVAL,
    pictures: {
      maxBytes: env.PICTURE_MAX_BYTES,
      directMaxBytes: env.PICTURE_DIRECT_MAX_BYTES ?? Math.max(DEFAULT_DIRECT_MAX_BYTES, env.PICTURE_MAX_BYTES),
      maxPixels: env.PICTURE_MAX_PIXELS,
      sizes: env.PICTURE_SIZES,
      urlTtl: env.PICTURE_URL_TTL,
    },
    passwordHashing: { N: 2 ** env.PASSWORD_HASH_COST, r: 8, p: 3 },
  };
}

let loaded: Config | undefined;

/** The container's settings, parsed from process.env on first use and kept. */
export function config(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}
