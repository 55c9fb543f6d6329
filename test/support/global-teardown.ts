import { rm } from 'node:fs/promises';
import { stopSharedOffline } from './offline';
import { testStack } from './stack-handle';

export default async function globalTeardown() {
  const stack = testStack.get();
  if (!stack) return;
  await stopSharedOffline(stack.root);
  await stack.pgbouncer?.stop();
  await Promise.allSettled([stack.postgres?.stop(), stack.s3.stop(), stack.mail.stop()]);
  await rm(stack.root, { recursive: true, force: true });
}
