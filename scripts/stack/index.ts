// Embedded local services for `npm run dev`, the bench and the Jest harness, one module per service:
// Postgres (postgres.ts), an S3 API (s3.ts) and an SMTP catcher (mail.ts). Each start function picks a
// free port unless given one and returns a `stop()` that really stops the service. This module starts
// the three side by side under one directory, as the bench, the Jest harness and the fault tests do.
import path from 'node:path';
import { startMailCatcher, type RunningMailCatcher } from './mail';
import { startPostgres, type RunningPostgres } from './postgres';
import { startS3, type RunningS3 } from './s3';

export interface StartServicesOptions {
  /** `false`: no Postgres (an external one is used). Default: a throw-away cluster. */
  postgres?: false | { persistent: boolean };
  /** Buckets that browsers upload to directly (see startS3). */
  browserBuckets?: string[];
}

export interface LocalServices<P extends RunningPostgres | undefined = RunningPostgres> {
  /** The data directories, under the given root: postgres/, s3/ and mail/. */
  dirs: { postgres: string; s3: string; mail: string };
  postgres: P;
  s3: RunningS3;
  mail: RunningMailCatcher;
  /** Stops every service (the data directories stay). */
  stop(): Promise<void>;
}

/** Starts Postgres, s3rver and the mail catcher at once; when one fails the others are stopped again. */
export async function startServices(root: string, opts?: StartServicesOptions & { postgres?: { persistent: boolean } }): Promise<LocalServices>;
export async function startServices(root: string, opts: StartServicesOptions): Promise<LocalServices<RunningPostgres | undefined>>;
export async function startServices(root: string, opts: StartServicesOptions = {}): Promise<LocalServices<RunningPostgres | undefined>> {
  const dirs = { postgres: path.join(root, 'postgres'), s3: path.join(root, 's3'), mail: path.join(root, 'mail') };
  const pgOptions = opts.postgres ?? { persistent: false };
  const started = await Promise.allSettled([
    pgOptions ? startPostgres({ dataDir: dirs.postgres, persistent: pgOptions.persistent }) : Promise.resolve(undefined),
    startS3({ dir: dirs.s3, browserBuckets: opts.browserBuckets }),
    startMailCatcher({ dir: dirs.mail }),
  ]);
  const stop = async () => {
    await Promise.allSettled(started.map((service) => (service.status === 'fulfilled' ? service.value?.stop() : undefined)));
  };
  const failed = started.find((service) => service.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [postgres, s3, mail] = started.map((service) => (service as PromiseFulfilledResult<unknown>).value) as [
    RunningPostgres | undefined,
    RunningS3,
    RunningMailCatcher,
  ];
  return { dirs, postgres, s3, mail, stop };
}
