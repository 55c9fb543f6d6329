import * as z from 'zod';
import { cursorField } from '../admin/cursor';

/**
 * Builds a schema at module load in a call that esbuild may drop when a bundle never uses the result, so that
 * each function carries and builds only the schemas it parses: zod builds every schema eagerly, and all of
 * this file's took ~16 ms of every cold start (the login bundle needs two of them).
 */
/* @__NO_SIDE_EFFECTS__ */
function schema<T>(build: () => T): T {
  return build();
}

/** Trimmed, lower-cased, plain ASCII addresses only: no display names, lists, CR/LF or lookalike characters. */
export const email = schema(() =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .toLowerCase()
    .max(254, 'must be at most 254 characters')
    .pipe(z.email({ error: 'must be a valid email address' }))
    .refine((value) => value.split('@')[0]!.length <= 64, 'the part before @ must be at most 64 characters')
);

export const password = schema(() =>
  z
    .string({ error: 'must be a string' })
    .min(8, 'must be at least 8 characters')
    .max(128, 'must be at most 128 characters')
);

export const nickname = schema(() =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .min(3, 'must be at least 3 characters')
    .max(30, 'must be at most 30 characters')
    .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, "_", "." and "-"')
);

// Printable text without control characters (newlines allowed in bio only).
const nameText = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'must not contain control characters');

export const personName = schema(() => nameText(100));

export const bio = schema(() =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .max(500, 'must be at most 500 characters')
    .regex(/^(?:[^\p{Cc}\p{Cf}]|\n)*$/u, 'must not contain control characters other than line breaks')
);

export const opaqueToken = schema(() => z.string({ error: 'must be a string' }).min(1, 'is required').max(512, 'is too long'));

export const registerBody = schema(() =>
  z
    .object({
      email,
      password,
      nickname: nickname.optional(),
      firstName: personName.optional(),
      lastName: personName.optional(),
    })
    .refine((body) => body.password.trim().toLowerCase() !== body.email, {
      message: 'must not be your email address',
      path: ['password'],
    })
);

export const loginBody = schema(() =>
  z.object({
    email,
    // Length is not checked here: a wrong password of any length is just a wrong password.
    password: z.string({ error: 'must be a string' }).min(1, 'is required').max(1024, 'is too long'),
  })
);

export const emailBody = schema(() => z.object({ email }));
export const tokenBody = schema(() => z.object({ token: opaqueToken }));
/** The confirm step may carry the confirmer's password (the page always asks): see SECURITY.md, pre-registration. */
export const verifyEmailBody = schema(() =>
  z.object({
    token: opaqueToken,
    // An empty form field means no password given; its length and content are checked where it is used.
    password: z
      .string({ error: 'must be a string' })
      .max(1024, 'is too long')
      .optional()
      .transform((value) => (value === '' ? undefined : value)),
  })
);
export const refreshBody = schema(() => z.object({ refreshToken: opaqueToken }));
/** Logging out cannot fail: a missing or malformed token just ends no session. */
export const logoutBody = schema(() => z.object({ refreshToken: opaqueToken.optional().catch(undefined) }));

/** Empty strings clear optional text fields (stored as null). */
const clearable = <T extends z.ZodType<string>>(schema: T) =>
  schema.transform((value) => (value === '' ? null : value)).nullable();

/**
 * A profile link: https only, at most 2048 characters, no credentials; `hosts` limits it to a site
 * (the host itself or a subdomain, e.g. www.github.com, de.linkedin.com). Stored in the URL parser's form.
 */
const profileUrl = (hosts?: string[]) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .max(2048, 'must be at most 2048 characters')
    .transform((value, context) => {
      if (value === '') return value;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        context.addIssue({ code: 'custom', message: 'must be a valid https:// URL' });
        return z.NEVER;
      }
      if (url.protocol !== 'https:') context.addIssue({ code: 'custom', message: 'must start with https://' });
      else if (url.username || url.password) context.addIssue({ code: 'custom', message: 'must not contain a user name or password' });
      else if (hosts && !hosts.some((host) => url.hostname === host || url.hostname.endsWith(`.${host}`))) {
        context.addIssue({ code: 'custom', message: `must be a link to ${hosts.join(' or ')}` });
      } else if (url.href.length > 2048) context.addIssue({ code: 'custom', message: 'must be at most 2048 characters' });
      return url.href;
    });

/** The fields a profile owner (and a manager or admin, on the admin routes) may edit. */
export const profileFields = schema(() => ({
  nickname: nickname.optional(),
  firstName: clearable(personName).optional(),
  lastName: clearable(personName).optional(),
  bio: clearable(bio).optional(),
  githubUrl: clearable(profileUrl(['github.com'])).optional(),
  linkedinUrl: clearable(profileUrl(['linkedin.com'])).optional(),
  websiteUrl: clearable(profileUrl()).optional(),
}));

export const profileChangesBody = schema(() => z.object(profileFields));

// ---- admin routes ----

const pageLimit = schema(() =>
  z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int('must be a whole number from 1 to 100')
    .min(1, 'must be a whole number from 1 to 100')
    .max(100, 'must be a whole number from 1 to 100')
    .default(20)
);

const uuidParam = schema(() =>
  z
    .string({ error: 'must be a user id' })
    .trim()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a user id')
    .transform((value) => value.toLowerCase())
);

const booleanParam = schema(() => z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true'));

/** Microseconds since the epoch of 0001-01-01 and of 10000-01-01: the years Postgres' timestamps hold and print as usual. */
const MIN_CREATED_MICROS = -62_135_596_800_000_000n;
const MAX_CREATED_MICROS = 253_402_300_800_000_000n;
/** The largest bigint Postgres stores (an audit entry's id). */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** Whole numbers only reach BigInt (zod runs a refine even after its regex failed, and BigInt('1e5') throws). */
const integerWithin = (low: bigint, high: bigint) => (value: string) => /^-?\d+$/.test(value) && BigInt(value) >= low && BigInt(value) < high;

/** (created_at in microseconds since the epoch, id): the keyset of the user list. A forged instant out of range is no cursor. */
const userCursor = schema(() =>
  cursorField(z.tuple([z.string().regex(/^-?\d{1,19}$/).refine(integerWithin(MIN_CREATED_MICROS, MAX_CREATED_MICROS)), z.uuid()])),
);

export const listUsersQuery = schema(() =>
  z.object({
    q: z
      .string({ error: 'must be a string' })
      .trim()
      .max(100, 'must be at most 100 characters')
      // A NUL reaches Postgres as an invalid byte sequence (a 500); no name or address holds a control character.
      .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'must not contain control characters')
      .optional()
      .transform((value) => (value ? value.toLowerCase() : undefined)),
    role: z.enum(['user', 'manager', 'admin'], { error: 'must be user, manager or admin' }).optional(),
    disabled: booleanParam.optional(),
    limit: pageLimit,
    cursor: userCursor.optional(),
  })
);

/** POST /users/me/picture/confirm: the key that upload-url handed out. */
export const pictureKeyBody = schema(() => z.object({ key: z.string({ error: 'must be a string' }).min(1, 'is required').max(256, 'is too long') }));

/** GET /users/{id}/picture?size=: one of the configured sizes, 200 (the profile's) when absent. */
export const pictureSizeQuery = (sizes: number[]) =>
  z.object({
    size: z.coerce
      .number({ error: `must be one of ${sizes.join(', ')}` })
      .refine((size) => sizes.includes(size), `must be one of ${sizes.join(', ')}`)
      .default(200)
      .meta({ description: `Edge length in pixels: one of ${sizes.join(', ')}.` }),
  });

export const auditQuery = schema(() =>
  z.object({
    actor: uuidParam.optional(),
    target: uuidParam.optional(),
    limit: pageLimit,
    cursor: cursorField(z.tuple([z.string().regex(/^\d{1,19}$/).refine(integerWithin(0n, MAX_BIGINT + 1n))])).optional(),
  })
);

export const adminUserChangesBody = schema(() =>
  z
    .object({
      ...profileFields,
      role: z.enum(['user', 'manager', 'admin'], { error: 'must be user, manager or admin' }).optional(),
      disabled: z.boolean({ error: 'must be true or false' }).optional(),
    })
    .strict()
);

/** A password the caller already has: any length is just right or wrong. */
const currentPassword = schema(() => z.string({ error: 'must be a string' }).min(1, 'is required').max(1024, 'is too long'));

export const resetPasswordBody = schema(() => z.object({ token: opaqueToken, password }));
export const changePasswordBody = schema(() => z.object({ currentPassword, newPassword: password }));
export const changeEmailBody = schema(() => z.object({ newEmail: email, password: currentPassword }));
export const deleteAccountBody = schema(() => z.object({ password: currentPassword }));
