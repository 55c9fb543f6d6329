import * as z from 'zod';
import type { TokenPair } from '../accounts/accounts';
import type { Profile } from '../accounts/profiles';

// What the API answers, as zod schemas: lib/http/operations.ts names them per route and status, the OpenAPI
// document is generated from them, and the tests validate every response they receive against it.
// `.meta({ id })` makes a schema a named component of the document.

const isoTime = z.iso.datetime({ offset: true }).meta({ example: '2026-11-21T09:30:00.000Z' });
const uuid = z.uuid().meta({ example: '6f1c2a9e-3b7d-4c1e-9a53-0b6e2f4d8c11' });

export const role = z.enum(['user', 'manager', 'admin']).meta({ id: 'Role' });

export const picture = z
  .object({
    default: z.boolean().meta({ description: 'True while the user has no picture of their own: the URLs show the default avatar.' }),
    url: z.url().meta({ description: 'The 200 px variant, a presigned URL.' }),
    variants: z.record(z.string(), z.url()).meta({ description: 'Size in pixels → presigned URL of the square WebP.' }),
    expiresAt: isoTime.meta({ description: 'When the presigned URLs stop working; fetch the profile again after.' }),
  })
  .meta({ id: 'Picture' });

const httpsLink = z.url().nullable();

export const profile = z
  .object({
    id: uuid,
    email: z.email().optional().meta({ description: 'Only for the user themself and for admins.' }),
    emailVerified: z.boolean(),
    nickname: z.string(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    bio: z.string().nullable(),
    githubUrl: httpsLink.optional(),
    linkedinUrl: httpsLink.optional(),
    websiteUrl: httpsLink.optional(),
    role,
    picture,
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Profile' });

export const adminUser = profile
  .extend({
    email: z.email(),
    disabled: z.boolean(),
    lastLoginAt: isoTime.nullable(),
    lockedUntil: isoTime.nullable().meta({ description: 'Set while the login throttle refuses this account.' }),
  })
  .meta({ id: 'AdminUser' });

export const tokenPair = z
  .object({
    accessToken: z.string().meta({ description: 'JWT (HS256), sent as `Authorization: Bearer …`.' }),
    refreshToken: z.string().meta({ description: 'Opaque; rotated on every refresh.' }),
    tokenType: z.literal('Bearer'),
    expiresIn: z.int().positive().meta({ description: 'Seconds until the access token expires.' }),
  })
  .meta({ id: 'TokenPair' });

export const message = z.object({ message: z.string() }).meta({ id: 'Message' });

export const verifiedUser = z.object({ user: profile }).meta({ id: 'VerifiedUser' });

export const directUpload = z
  .object({
    url: z.url().meta({ description: 'POST a multipart form here: every field of `fields`, then the file as `file`.' }),
    fields: z.record(z.string(), z.string()),
    key: z.string().meta({ description: 'Send it to /users/me/picture/confirm once the upload is done.' }),
    expiresIn: z.int().positive(),
    maxBytes: z.int().positive(),
  })
  .meta({ id: 'DirectUpload' });

export const session = z
  .object({
    id: uuid,
    createdAt: isoTime,
    lastUsedAt: isoTime.nullable(),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    current: z.boolean().meta({ description: 'True for the session of the access token that asked.' }),
  })
  .meta({ id: 'Session' });

export const sessionList = z.object({ sessions: z.array(session) }).meta({ id: 'SessionList' });

const nextCursor = z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' });

export const adminUserList = z.object({ users: z.array(adminUser), nextCursor }).meta({ id: 'AdminUserList' });

export const auditEntry = z
  .object({
    id: z.union([z.string(), z.int()]),
    at: isoTime,
    actorId: uuid.nullable(),
    action: z.string(),
    targetId: uuid.nullable(),
    changes: z.record(z.string(), z.unknown()).nullable(),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

export const auditList = z.object({ entries: z.array(auditEntry), nextCursor }).meta({ id: 'AuditList' });

const checkState = z.enum(['ok', 'failing']);
export const health = z
  .object({
    status: z.enum(['ok', 'failing']),
    checks: z.object({ database: checkState, storage: checkState, mail: checkState }),
  })
  .meta({ id: 'Health' });

export const healthFailing = health
  .extend({
    status: z.literal('failing'),
    error: z.object({ code: z.literal('service_unavailable'), message: z.string() }),
  })
  .meta({ id: 'HealthFailing' });

/** The error body of one status, its `code` limited to the codes the route can answer with that status. */
export const errorBody = (codes: readonly [string, ...string[]]) =>
  z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string().meta({ description: 'For a person; may change, unlike `code`.' }),
      details: z.record(z.string(), z.string()).optional().meta({ description: 'Field → what is wrong with it (validation errors).' }),
    }),
  });

// Compile-time tripwires: what the code returns must fit what the document promises.
type Fits<Actual extends Promised, Promised> = Actual;
export type ProfileFitsSchema = Fits<Profile, z.infer<typeof profile>>;
export type TokenPairFitsSchema = Fits<TokenPair, z.infer<typeof tokenPair>>;
