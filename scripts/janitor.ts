// npm run janitor: one janitor pass against the configured database and bucket (DATABASE_URL, S3_*), as the
// hourly function does on AWS. Prints what it removed per kind.
import { runJanitor } from '../lib/ops/janitor';
import { services } from '../lib/platform/services';

try {
  const counts = await runJanitor({ objects: services.objects });
  for (const [kind, count] of Object.entries(counts)) console.log(`${String(count).padStart(6)}  ${kind}`);
} catch (error) {
  console.error(`Janitor failed: ${(error as Error).message}`);
  process.exit(1);
}
