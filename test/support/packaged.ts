import { loadPackage, packageForDeploy, type PackagedService } from '../../scripts/bench-bundles';
import { oncePerRun } from './once-per-run';

const PACKAGE_TIMEOUT_MS = 230_000;

/**
 * `serverless package --stage prod`, built once per test run and shared by the test files that read
 * it (test/package.test.ts, test/lambda-runtime.test.ts). The copy lives under TEST_DATA_DIR, which the
 * global teardown removes.
 */
export function sharedPackage(): Promise<PackagedService> {
  return oncePerRun(
    'package',
    PACKAGE_TIMEOUT_MS,
    async () => {
      const packaged = await packageForDeploy({ stage: 'prod', timeoutMs: PACKAGE_TIMEOUT_MS, parentDir: process.env.TEST_DATA_DIR });
      return { value: packaged, note: { copyDir: packaged.copyDir, seconds: packaged.seconds } };
    },
    (note: { copyDir: string; seconds: number }) => loadPackage(note.copyDir, note.seconds),
  );
}
