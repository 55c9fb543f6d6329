import { actorOf } from '../lib/admin/admin';
import { listAudit } from '../lib/admin/audit';
import { forbidden } from '../lib/errors';
import { endpoint, privateJson } from '../lib/http/endpoint';
import { authorize, mayEnter } from '../lib/admin/policy';
import { auditQuery } from '../lib/http/schemas';

// GET /admin/audit?actor=&target=&limit=&cursor= — admins; newest first.
export const handler = endpoint(
  {
    auth: true,
    authorize: (viewer) => {
      if (!mayEnter(viewer.role, 'audit.read')) throw forbidden('Only admins may read the audit log.');
    },
    query: auditQuery,
  },
  async ({ viewer, query }) => {
    authorize(await actorOf(viewer), 'audit.read');
    return privateJson(200, await listAudit({ actorId: query.actor, targetId: query.target, limit: query.limit, afterId: query.cursor?.[0] }));
  },
);
