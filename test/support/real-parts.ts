import { test } from '@jest/globals';
import { REAL_PARTS, findBinary } from './binaries';

export { REAL_PARTS, findBinary };

/**
 * `describe` when the part is installed; otherwise one skipped test that says how to install it.
 * CI sets PORTRAIT_REAL_PARTS=required (.ci/run): there a missing part fails instead of skipping.
 */
export function realPartAvailable(part: keyof typeof REAL_PARTS): boolean {
  const missing = REAL_PARTS[part].binaries.filter((binary) => !findBinary(binary));
  if (missing.length === 0) return true;
  return realPartMissing(part, `${missing.join(', ')} not installed: ${REAL_PARTS[part].install} (Debian 12; as root)`);
}

/** The same for a part that is not a Debian binary (e.g. an npm package): `howTo` says what is missing and how to get it. */
export function realPartMissing(part: string, howTo: string): false {
  if (process.env.PORTRAIT_REAL_PARTS === 'required') {
    test(`${part} is installed (PORTRAIT_REAL_PARTS=required)`, () => {
      throw new Error(howTo);
    });
  } else {
    process.stderr.write(`\nskipping the ${part} tests: ${howTo}\n`);
    test.skip(`${part} tests (${howTo})`, () => {});
  }
  return false;
}
