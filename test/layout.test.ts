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

/**
 * Every module specifier a file imports, statically (with bindings or bare, `import './x'`), with import() or
 * require(). `runtimeOnly` leaves out `import type` and `export type` statements (they leave no code).
 */
function specifiersOf(file: string, { runtimeOnly = false } = {}): string[] {
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  const text = runtimeOnly ? source.replace(/^(?:import|export)\s+type\b[^;]*;/gm, '') : source;
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

const runtimeSpecifiersOf = (file: string) => specifiersOf(file, { runtimeOnly: true });

/**
 * The one deliberate upward import of lib/platform: wherever there is a database there are authenticated routes,
 * so db.ts loads the session check, which registers itself with the edge. The edge cannot import it (the functions
 * without Postgres, notFound, openapi and web, would carry pg), and a route without it fails closed.
 */
const PLATFORM_EXCEPTIONS = new Set([`platform/db.ts imports lib/${path.join('accounts', 'sessions')}`]);

const libFolderOf = (file: string, specifier: string) => path.relative(path.join(ROOT, 'lib'), path.resolve(ROOT, path.dirname(file), specifier));

test('the runtime import scan leaves type-only imports out (the fixture of the next test is sound)', () => {
  expect(runtimeSpecifiersOf('lib/platform/smtp.ts')).not.toContain('../accounts/mail');
  expect(runtimeSpecifiersOf('lib/platform/smtp.ts')).toContain('../errors');
  expect(runtimeSpecifiersOf('lib/platform/db.ts')).toContain('../accounts/sessions');
});

test('lib/platform (config, db, storage, smtp, log) needs nothing of the domains above it but lib/errors.ts, save the session check', () => {
  const offending = sourcesUnder('lib/platform').flatMap((file) =>
    runtimeSpecifiersOf(file)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => libFolderOf(file, specifier))
      .filter((target) => !target.startsWith(`platform${path.sep}`) && target !== 'errors')
      .map((target) => `${path.relative('lib', file)} imports lib/${target}`)
      .filter((finding) => !PLATFORM_EXCEPTIONS.has(finding)),
  );
  expect(offending).toEqual([]);
});

test('lib/ has one flat file, the error catalogue; everything else lives in a domain folder', () => {
  const flat = readdirSync(path.join(ROOT, 'lib'), { withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name);
  expect(flat).toEqual(['errors.ts']);
});
