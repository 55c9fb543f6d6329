// Dependency direction between the project's folders: the scripts (dev, bench, migrations) are tools a
// user runs and must not reach into the test suite; the test suite may use them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@jest/globals';

const ROOT = path.resolve(import.meta.dirname, '..');

function sourcesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(?:[cm]?ts|[cm]?js)$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

/** Every module specifier a file imports, statically or with import(). */
function specifiersOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)].map((match) => match[1]!);
}

test('the import scan sees what a file imports (the fixture of the next test is sound)', () => {
  expect(specifiersOf('scripts/bench-worker.ts')).toEqual(expect.arrayContaining(['./support/events', './support/multipart', './support/images']));
});

test('no module under scripts/ imports from test/', () => {
  const offending = sourcesUnder('scripts').flatMap((file) =>
    specifiersOf(file)
      .filter((specifier) => specifier.startsWith('.'))
      .filter((specifier) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), specifier)).split(path.sep)[0] === 'test')
      .map((specifier) => `${file} imports ${specifier}`),
  );
  expect(offending).toEqual([]);
});
