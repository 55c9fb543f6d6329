import * as z from 'zod';

/** Trimmed, lower-cased, plain ASCII addresses only: no display names, lists, CR/LF or lookalike characters. */
export const email = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ error: 'must be a valid email address' }))
  .refine((value) => value.split('@')[0]!.length <= 64, 'the part before @ must be at most 64 characters');

export const password = z
  .string({ error: 'must be a string' })
  .min(8, 'must be at least 8 characters')
  .max(128, 'must be at most 128 characters');

export const nickname = z
  .string({ error: 'must be a string' })
  .trim()
  .min(3, 'must be at least 3 characters')
  .max(30, 'must be at most 30 characters')
  .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, "_", "." and "-"');

// Printable text without control characters (newlines allowed in bio only).
const nameText = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'must not contain control characters');

export const personName = nameText(100);

export const bio = z
  .string({ error: 'must be a string' })
  .trim()
  .max(500, 'must be at most 500 characters')
  .regex(/^(?:[^\p{Cc}\p{Cf}]|\n)*$/u, 'must not contain control characters other than line breaks');

export const opaqueToken = z.string({ error: 'must be a string' }).min(1, 'is required').max(512, 'is too long');

export const registerBody = z
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
  });

export const loginBody = z.object({
  email,
  // Length is not checked here: a wrong password of any length is just a wrong password.
  password: z.string({ error: 'must be a string' }).min(1, 'is required').max(1024, 'is too long'),
});

export const emailBody = z.object({ email });
export const tokenBody = z.object({ token: opaqueToken });
/** The confirm step may carry the confirmer's password (the page always asks): see SECURITY.md, pre-registration. */
export const verifyEmailBody = z.object({
  token: opaqueToken,
  // An empty form field means no password given; its length and content are checked where it is used.
  password: z
    .string({ error: 'must be a string' })
    .max(1024, 'is too long')
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
});
export const refreshBody = z.object({ refreshToken: opaqueToken });
/** Logging out cannot fail: a missing or malformed token just ends no session. */
export const logoutBody = z.object({ refreshToken: opaqueToken.optional().catch(undefined) });

/** Empty strings clear optional text fields (stored as null). */
const clearable = <T extends z.ZodType<string>>(schema: T) =>
  schema.transform((value) => (value === '' ? null : value)).nullable();

export const profileChangesBody = z.object({
  nickname: nickname.optional(),
  firstName: clearable(personName).optional(),
  lastName: clearable(personName).optional(),
  bio: clearable(bio).optional(),
});

/** POST /users/me/picture/confirm: the key that upload-url handed out. */
export const pictureKeyBody = z.object({ key: z.string({ error: 'must be a string' }).min(1, 'is required').max(256, 'is too long') });

/** GET /users/{id}/picture?size=: one of the configured sizes, 200 (the profile's) when absent. */
export const pictureSizeQuery = (sizes: number[]) =>
  z.object({
    size: z.coerce
      .number({ error: `must be one of ${sizes.join(', ')}` })
      .refine((size) => sizes.includes(size), `must be one of ${sizes.join(', ')}`)
      .default(200)
      .meta({ description: `Edge length in pixels: one of ${sizes.join(', ')}.` }),
  });
