import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadPackage, packageForDeploy, type PackagedService } from '../../scripts/bench-bundles';

const PACKAGE_TIMEOUT_MS = 230_000;

/**
 * `serverless package --stage prod`, built once per test run and shared by the test files that read
 * it (test/package.test.ts, test/lambda-runtime.test.ts), which jest runs in separate processes:
 * the first to ask takes a lock directory in the run's scratch folder and packages there, the others
 * wait for its note. The copy lives under TEST_DATA_DIR, which the global teardown removes.
 */
export async function sharedPackage(): Promise<PackagedService> {
  const root = process.env.TEST_DATA_DIR;
  if (!root) throw new Error('TEST_DATA_DIR is not set: run through jest (test/support/global-setup.ts)');
  const lock = path.join(root, 'package.lock');
  const note = path.join(lock, 'result.json');
  let builder = true;
  try {
    await mkdir(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    builder = false;
  }
  if (builder) {
    try {
      const packaged = await packageForDeploy({ stage: 'prod', timeoutMs: PACKAGE_TIMEOUT_MS, parentDir: root });
      await publish(note, { copyDir: packaged.copyDir, seconds: packaged.seconds });
      return packaged;
    } catch (error) {
      await publish(note, { error: String(error instanceof Error ? error.message : error) });
      throw error;
    }
  }
  const deadline = Date.now() + PACKAGE_TIMEOUT_MS + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(note, 'utf8').catch(() => undefined);
    if (text) {
      const result = JSON.parse(text) as { copyDir?: string; seconds?: number; error?: string };
      if (result.error) throw new Error(`packaging (in another test file) failed: ${result.error}`);
      return loadPackage(result.copyDir!, result.seconds!);
    }
    await sleep(500);
  }
  throw new Error('waited too long for another test file to package the service');
}

/** Written aside and renamed, so that a waiting reader never sees half a note. */
async function publish(note: string, result: object) {
  await writeFile(`${note}.tmp`, JSON.stringify(result));
  await rename(`${note}.tmp`, note);
}
