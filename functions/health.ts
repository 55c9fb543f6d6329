import { db } from '../lib/platform/db';
import { checkHealth } from '../lib/ops/health';
import { endpoint, json } from '../lib/http/endpoint';
import { services } from '../lib/platform/services';
import { delivery } from '../lib/platform/smtp';

// GET /health — 200 when database, storage and mail answer; 503 naming the failing check.
export const handler = endpoint({}, async () => {
  const report = await checkHealth({ database: db, objects: services.objects, mailer: delivery.mailer });
  return json(report.status === 'ok' ? 200 : 503, report, { 'cache-control': 'no-store' });
});
