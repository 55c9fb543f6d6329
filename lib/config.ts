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

const positiveInt = z.coerce.number().int().positive();
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));
const optionalUrl = optionalText.pipe(z.url().optional());
const urlWithoutTrailingSlash = z
  .url()
  .transform((value) => value.replace(/\/+$/, ''));

const schema = z
  .object({
    DATABASE_URL: z.string().trim().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    S3_ENDPOINT: optionalUrl,
    S3_PUBLIC_ENDPOINT: optionalUrl,
    S3_REGION: z.string().trim().min(1).default('us-east-1'),
    S3_BUCKET: z.string().trim().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name'),
    S3_ACCESS_KEY_ID: optionalText,
    S3_SECRET_ACCESS_KEY: optionalText,
    JWT_SECRET: z.string().refine((value) => Buffer.byteLength(value) >= 32, 'must be at least 32 bytes'),
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
    MAIL_FROM: z.string().trim().min(3).default('Portrait <no-reply@portrait.local>'),
    PUBLIC_BASE_URL: urlWithoutTrailingSlash,
    VERIFY_REDIRECT_URL: optionalUrl,
    // Comma-separated addresses that become admins once verified (and at login). Validated like registration's.
    ADMIN_EMAILS: z
      .string()
      .default('')
      .transform((value) => value.split(',').map((address) => address.trim().toLowerCase()).filter(Boolean))
      .pipe(z.array(z.email('must be a comma-separated list of email addresses')))
      .transform((addresses) => [...new Set(addresses)]),
    PICTURE_MAX_BYTES: positiveInt.default(5 * 1024 * 1024),
    PICTURE_MAX_PIXELS: positiveInt.default(40_000_000),
    PICTURE_SIZES: z
      .string()
      .default('64,200,512')
      .transform((value) => value.split(',').map((size) => Number(size.trim())))
      .pipe(z.array(z.number().int().min(16).max(2048)).min(1))
      .transform((sizes) => [...new Set(sizes)].sort((a, b) => a - b)),
    // SigV4 presigned URLs live at most 7 days.
    // log2 of scrypt's N. 15 (32 MiB, ~100 ms) is OWASP's minimum for production; tests lower it.
    PASSWORD_HASH_COST: z.coerce.number().int().min(10).max(20).default(15),
    PICTURE_URL_TTL: duration.refine((seconds) => seconds <= 604800, 'must be at most 7d (the longest a presigned URL lives)').default(900),
  })
  .refine((env) => Boolean(env.S3_ACCESS_KEY_ID) === Boolean(env.S3_SECRET_ACCESS_KEY), {
    message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or both left unset to use the function role)',
    path: ['S3_ACCESS_KEY_ID'],
  })
  .refine((env) => env.PICTURE_SIZES.includes(200), {
    message: 'must include 200, the size profiles link to',
    path: ['PICTURE_SIZES'],
  });

type Env = z.infer<typeof schema>;

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
  pictures: { maxBytes: number; maxPixels: number; sizes: number[]; urlTtl: number };
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
      return issue.code === 'invalid_type' && present[name] === undefined
        ? `${name} is required`
        : `${name} ${issue.message}`;
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
