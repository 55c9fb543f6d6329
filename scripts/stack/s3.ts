// An S3 API (s3rver) on a free port (or a given one), served from our own HTTP server.
import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import path from 'node:path';
import { listen } from './net';

export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

export interface StartS3Options {
  dir: string;
  port?: number;
  /** Buckets that browsers upload to directly (presigned POST): created with a CORS rule like the deploy's bucket. */
  browserBuckets?: string[];
}

/** Same rule as the PictureBucket's CorsConfiguration in serverless.yml. */
const BROWSER_UPLOAD_CORS = `<CORSConfiguration><CORSRule>
<AllowedOrigin>*</AllowedOrigin><AllowedMethod>POST</AllowedMethod><AllowedMethod>GET</AllowedMethod>
<AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`;

export interface RunningS3 {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

interface S3rverStore {
  deleteObject(bucket: string, key: string): Promise<void>;
}

type S3rverCtor = new (options: {
  silent: boolean;
  directory: string;
  configureBuckets?: { name: string; configs: string[] }[];
}) => {
  callback(): RequestListener;
  configureBuckets(): Promise<void>;
  store: S3rverStore;
};

/**
 * s3rver 3.7.1 (the latest) unlinks an object's files, then removes the directories its key leaves empty
 * with an unguarded readdir and rmdir. Two deletions under one prefix race there (jamhall/s3rver#788, its fix
 * #789 never merged): one answers 500 although its object is gone, and the SDK retries after a backoff. Every
 * replaced picture's 3 keys share a prefix, so each such delete took 20-50 ms instead of 3 ms, in dev and in
 * the bench. The object is gone once the unlinks are done; a directory that vanished (ENOENT) or gained an
 * object meanwhile (ENOTEMPTY) is the other request's business.
 */
function tolerateCleanupRace(store: S3rverStore) {
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    try {
      await deleteObject(bucket, key);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw error;
    }
  };
}

// s3rver ships no types.
const require = createRequire(import.meta.url);

export async function startS3(opts: StartS3Options): Promise<RunningS3> {
  const directory = path.resolve(opts.dir);
  await mkdir(directory, { recursive: true });
  const S3rver = require('s3rver') as S3rverCtor;
  // s3rver's own run() lets EADDRINUSE escape as an uncaught 'error' event,
  // so we serve its Koa app from our own server.
  const s3rver = new S3rver({
    silent: true,
    directory,
    configureBuckets: (opts.browserBuckets ?? []).map((name) => ({ name, configs: [BROWSER_UPLOAD_CORS] })),
  });
  tolerateCleanupRace(s3rver.store);
  await s3rver.configureBuckets();
  const server = createHttpServer(s3rver.callback());
  const port = await listen(server, opts.port ?? 0, server);
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
