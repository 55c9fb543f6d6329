/**
 * The admin audit log: one row per write of the admin routes, inserted in the transaction of the change.
 * Repository of admin_audit: every statement whose main table it is lives here.
 */
import type { Queryable } from '../platform/db';
import { read } from '../platform/db';
import { encodeCursor } from './cursor';

export type AuditAction = 'user.update' | 'user.delete' | 'user.unlock' | 'user.picture_delete' | 'user.picture_change';

/** Field → old and new value. Never passwords, hashes or tokens: only profile fields, role and disabled. */
export type AuditChanges = Record<string, { from: unknown; to: unknown }>;

export interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  action: string;
  targetId: string | null;
  changes: AuditChanges;
  requestId: string | null;
}

export async function recordAudit(
  db: Queryable,
  entry: { actorId: string | null; action: AuditAction; targetId: string; changes?: AuditChanges; requestId: string | null },
): Promise<void> {
  await db.query(`insert into admin_audit (actor_id, action, target_id, changes, request_id) values ($1, $2, $3, $4, $5)`, [
    entry.actorId,
    entry.action,
    entry.targetId,
    JSON.stringify(entry.changes ?? {}),
    entry.requestId,
  ]);
}

interface AuditRow {
  id: string;
  at: Date;
  actor_id: string | null;
  action: string;
  target_id: string | null;
  changes: AuditChanges;
  request_id: string | null;
}

/** Newest first, paged by id; filtered by actor and/or target (each an index walk). */
export async function listAudit(filter: { actorId?: string; targetId?: string; limit: number; afterId?: string }) {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    conditions.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.actorId) add('actor_id = ?', filter.actorId);
  if (filter.targetId) add('target_id = ?', filter.targetId);
  if (filter.afterId) add('id < ?', filter.afterId);
  values.push(filter.limit + 1);
  const { rows } = await read<AuditRow>(
    `select id::text, at, actor_id, action, target_id, changes, request_id from admin_audit
     ${conditions.length ? `where ${conditions.join(' and ')}` : ''}
     order by admin_audit.id desc limit $${values.length}`,
    values,
  );
  const page = rows.slice(0, filter.limit);
  return {
    entries: page.map(
      (row): AuditEntry => ({
        id: row.id,
        at: row.at.toISOString(),
        actorId: row.actor_id,
        action: row.action,
        targetId: row.target_id,
        changes: row.changes,
        requestId: row.request_id,
      }),
    ),
    nextCursor: rows.length > filter.limit ? encodeCursor([page.at(-1)!.id]) : null,
  };
}
