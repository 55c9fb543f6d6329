// Preloaded (NODE_OPTIONS --import) into the shared serverless offline of a test run (test/support/offline.ts):
// once the process it watches (the run's jest) is gone, it stops this one as Ctrl-C would.
import { isMainThread } from 'node:worker_threads';

const watched = Number(process.env.PORTRAIT_WATCH_PID);
if (isMainThread && watched > 1) {
  setInterval(() => {
    try {
      process.kill(watched, 0);
    } catch {
      process.kill(process.pid, 'SIGINT');
    }
  }, 1000).unref();
}
