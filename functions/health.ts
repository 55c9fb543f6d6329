import { db } from '../lib/db';
import { checkHealth } from '../lib/health';
import { endpoint, json } from '../lib/http';
import { services } from '../lib/services';
import { delivery } from '../lib/smtp';

// GET /health — 200 when database, storage and mail answer; 503 naming the failing check.
export const handler = endpoint({}, async () => {
  const report = await checkHealth({ database: db, objects: services.objects, mailer: delivery.mailer });
  return json(report.status === 'ok' ? 200 : 503, report, { 'cache-control': 'no-store' });
});
