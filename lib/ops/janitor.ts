import { config } from '../platform/config';
import { db as pooled, query, type Queryable } from '../platform/db';
import { logEvent } from '../platform/log';
import { LOGIN_WINDOW_SECONDS } from '../accounts/login-failures';
import { purgeStorageLeftovers } from '../accounts/lifecycle';
import type { ObjectStore, StoredObject } from '../platform/storage';
import { deleteExpiredRegistrationsBatch, pictureIdsOf } from '../accounts/users';
import { INCOMING_ROOT, PICTURES_ROOT } from '../pictures/keys';

/**
 * Garbage that requests leave behind, pruned by the hourly `janitor` function and `npm run janitor`.
 * A new kind of row is one entry in `rowKinds`: its table and what makes a row garbage (for users, a batch of
 * lib/accounts/users.ts, which holds every statement on that table). Each batch locks
 * its rows with SKIP LOCKED, so two janitors at once share the work instead of waiting on each other.
 */
export type RowKind =
  | {
      name: string;
      table: string;
      /** SQL condition over the table's columns. */
      garbage: string;
    }
  | {
      name: string;
      table: string;
      /** A batch pruned by the table's repository (users: lib/accounts/users.ts); returns how many rows went. */
      pruneBatch: (db: Queryable, batchSize: number) => Promise<number>;
    };

export const rowKinds: RowKind[] = [
  { name: 'verification tokens used or expired', table: 'verification_tokens', garbage: 'used_at is not null or expires_at < now()' },
  // Revoked and rotated tokens stay until they expire: presenting one must still revoke its family.
  { name: 'refresh tokens expired', table: 'refresh_tokens', garbage: 'expires_at < now()' },
  { name: 'login failures outside the window', table: 'login_failures', garbage: `failed_at < now() - interval '${LOGIN_WINDOW_SECONDS} seconds'` },
  // A session's rows (and its refresh tokens, by cascade) once it can no longer be used or shown.
  { name: 'sessions ended', table: 'sessions', garbage: `expires_at < now() or revoked_at < now() - interval '1 day'` },
  { name: 'password reset tokens used or expired', table: 'password_reset_tokens', garbage: 'used_at is not null or expires_at < now()' },
  { name: 'email change tokens used or expired', table: 'email_change_tokens', garbage: 'used_at is not null or expires_at < now()' },
  // The throttle only looks one minute back; an hour leaves a wide margin.
  { name: 'mail throttle rows', table: 'mail_throttle', garbage: `last_sent_at < now() - interval '1 hour'` },
  // As lib/accounts/accounts.ts dropExpiredRegistrations: never confirmed, older than the TTL, no link still valid.
  {
    name: 'unconfirmed accounts expired',
    table: 'users',
    pruneBatch: (db, batchSize) => deleteExpiredRegistrationsBatch(db, config().verificationTokenTtl, batchSize),
  },
];

export interface JanitorOptions {
  objects: ObjectStore;
  /** Rows or objects per batch (one statement, one delete request). */
  batchSize?: number;
  /** Batches per kind and run: a run ends in bounded time; the next run carries on. */
  maxBatches?: number;
  /** Raw uploads under incoming/ older than this are dropped (the bucket lifecycle does it on AWS). */
  incomingMaxAgeSeconds?: number;
  /** Picture objects no user row points to are dropped once this old, so an upload in flight is never touched. */
  orphanMinAgeSeconds?: number;
  now?: () => Date;
}

export type JanitorCounts = Record<string, number>;

/** The declarative kinds' batch: rows of one token or throttle table matching its garbage condition. */
async function pruneBatch(table: string, garbage: string, batchSize: number): Promise<number> {
  const { rowCount } = await query(
    `delete from ${table} where ctid in (
       select ctid from ${table} where ${garbage} limit $1 for update skip locked)`,
    [batchSize],
  );
  return rowCount ?? 0;
}

async function pruneRows(kind: RowKind, batchSize: number, maxBatches: number): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const removed = 'pruneBatch' in kind ? await kind.pruneBatch(pooled, batchSize) : await pruneBatch(kind.table, kind.garbage, batchSize);
    total += removed;
    if (removed < batchSize) break;
  }
  return total;
}

const olderThan = (object: StoredObject, seconds: number, now: Date) =>
  object.lastModified !== undefined && now.getTime() - object.lastModified.getTime() > seconds * 1000;

async function deleteInBatches(objects: ObjectStore, keys: string[], batchSize: number, maxBatches: number) {
  const bounded = keys.slice(0, batchSize * maxBatches);
  for (let start = 0; start < bounded.length; start += batchSize) await objects.deleteMany(bounded.slice(start, start + batchSize));
  return bounded.length;
}

/** pictures/{userId}/{pictureId}/… objects whose user is gone or names another picture. */
async function orphanPictureKeys(objects: ObjectStore, minAgeSeconds: number, now: Date): Promise<string[]> {
  const byPicture = new Map<string, StoredObject[]>();
  for (const object of await objects.list(PICTURES_ROOT)) {
    const [, userId, pictureId] = object.key.split('/') as [string, string?, string?];
    if (!userId || !pictureId) continue;
    const id = `${userId}/${pictureId}`;
    byPicture.set(id, [...(byPicture.get(id) ?? []), object]);
  }
  // Only pictures whose every object is old enough: a newer object means an upload may be in flight.
  const old = [...byPicture].filter(([, parts]) => parts.every((part) => olderThan(part, minAgeSeconds, now)));
  if (old.length === 0) return [];
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const userIds = [...new Set(old.map(([id]) => id.split('/')[0]!).filter((id) => uuid.test(id)))];
  const current = await pictureIdsOf(pooled, userIds);
  return old.filter(([id]) => {
    const [userId, pictureId] = id.split('/') as [string, string];
    return current.get(userId) !== pictureId;
  }).flatMap(([, parts]) => parts.map((part) => part.key));
}

/** One pass over every kind; returns what it removed per kind and logs it. Safe to run twice at once. */
export async function runJanitor(options: JanitorOptions): Promise<JanitorCounts> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 20;
  const now = options.now?.() ?? new Date();
  const counts: JanitorCounts = {};
  for (const kind of rowKinds) counts[kind.name] = await pruneRows(kind, batchSize, maxBatches);

  const incoming = (await options.objects.list(INCOMING_ROOT))
    .filter((object) => olderThan(object, options.incomingMaxAgeSeconds ?? 86400, now))
    .map((object) => object.key);
  counts['raw uploads older than a day'] = await deleteInBatches(options.objects, incoming, batchSize, maxBatches);
  const orphans = await orphanPictureKeys(options.objects, options.orphanMinAgeSeconds ?? 3600, now);
  counts['picture objects no user points to'] = await deleteInBatches(options.objects, orphans, batchSize, maxBatches);

  // Object prefixes of deleted accounts that storage could not delete at the time.
  counts['objects of deleted accounts'] = await purgeStorageLeftovers(options.objects, maxBatches);

  logEvent('janitor', { removed: counts });
  return counts;
}
