import type { Mailer } from '../accounts/mail';
import type { ObjectStore } from '../platform/storage';

export type CheckState = 'ok' | 'failing';
export interface HealthReport {
  status: CheckState;
  checks: { database: CheckState; storage: CheckState; mail: CheckState };
}

export interface HealthDependencies {
  database: { query(text: string): Promise<unknown> };
  objects: Pick<ObjectStore, 'head'>;
  mailer: Pick<Mailer, 'check'>;
}

/** Each check gets this long; a hung server counts as failing, so the whole answer stays within ~2 s. */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => resolve('failing'), timeoutMs);
  });
  try {
    return await Promise.race([check().then((): CheckState => 'ok', (): CheckState => 'failing'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Database, storage and mail checked at once, each with a short timeout. */
export async function checkHealth(dependencies: HealthDependencies, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthReport> {
  const [database, storage, mail] = await Promise.all([
    probe(() => dependencies.database.query('select 1'), timeoutMs),
    // A missing key is a normal answer (undefined); only an unreachable store throws.
    probe(() => dependencies.objects.head('health-probe'), timeoutMs),
    probe(() => dependencies.mailer.check(), timeoutMs),
  ]);
  const checks = { database, storage, mail };
  return { status: Object.values(checks).every((state) => state === 'ok') ? 'ok' : 'failing', checks };
}
