import { rm } from 'node:fs/promises';
import { testStack } from './stack-handle';

export default async function globalTeardown() {
  const stack = testStack.get();
  if (!stack) return;
  await stack.pgbouncer?.stop();
  await Promise.allSettled([stack.postgres?.stop(), stack.s3.stop(), stack.mail.stop()]);
  await rm(stack.root, { recursive: true, force: true });
}
