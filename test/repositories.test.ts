import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import ts from 'typescript';

/**
 * Issue 9: SQL for a table lives in one repository module. A statement belongs to the table it is about (the
 * first INSERT/UPDATE/DELETE target, else the first table it selects FROM), even when it joins others; it
 * must sit in that table's module below. Moving a repository means changing its line here.
 */
const repositoryOf: Record<string, string> = {
  users: 'lib/accounts/users.ts',
  login_failures: 'lib/accounts/login-failures.ts',
  sessions: 'lib/accounts/sessions.ts',
  refresh_tokens: 'lib/accounts/sessions.ts',
  verification_tokens: 'lib/accounts/accounts.ts',
  mail_throttle: 'lib/accounts/accounts.ts',
  admin_audit: 'lib/admin/audit.ts',
  password_reset_tokens: 'lib/accounts/lifecycle.ts',
  email_change_tokens: 'lib/accounts/lifecycle.ts',
  storage_leftovers: 'lib/accounts/lifecycle.ts',
};

/** The janitor's declarative prune list names tables (its generic batch deletes rows by kind); nothing else may. */
const mayNameTables = new Set(['lib/ops/janitor.ts']);

const root = path.resolve(import.meta.dirname, '..');
const tables = Object.keys(repositoryOf);
const tableAlternatives = tables.join('|');

/** The text of every string and template literal, `${…}` parts as a placeholder (their own literals come separately). */
function literalsOf(fileName: string, source: string): string[] {
  const literals: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) literals.push(node.text);
    else if (ts.isTemplateExpression(node)) literals.push([node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join(' ${…} '));
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true));
  return literals;
}

/** The table a statement is about, or undefined when it names none of the known tables. */
function mainTableOf(statement: string): string | undefined {
  const text = statement.toLowerCase();
  const write = new RegExp(`\\b(?:insert\\s+into|update|delete\\s+from)\\s+(${tableAlternatives})\\b`).exec(text);
  if (write) return write[1];
  return new RegExp(`\\b(?:from|join)\\s+(${tableAlternatives})\\b`).exec(text)?.[1];
}

interface Finding {
  file: string;
  table: string;
  text: string;
}

function findingsIn(file: string, source: string): Finding[] {
  const findings: Finding[] = [];
  for (const literal of literalsOf(file, source)) {
    // A bare name picks a table for a dynamic statement (`update ${table}`); `users` and `sessions` are also
    // ordinary words (OpenAPI tags), so only the snake_case names count as bare.
    const table = tables.includes(literal) && literal.includes('_') ? literal : mainTableOf(literal);
    if (!table || repositoryOf[table] === file) continue;
    if (literal === table && mayNameTables.has(file)) continue;
    findings.push({ file, table, text: literal.replace(/\s+/g, ' ').trim().slice(0, 120) });
  }
  return findings;
}

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(path.join(root, directory), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

describe('one repository module per table', () => {
  test('the detector tells a statement by its main table, joins and subqueries included', () => {
    expect(mainTableOf('select t.user_id, u.email from verification_tokens t join users u on u.id = t.user_id')).toBe('verification_tokens');
    expect(mainTableOf('select 1 from users where id = (select user_id from refresh_tokens where token_hash = $1) for share')).toBe('users');
    expect(mainTableOf('update sessions set revoked_at = now() where id = (select family_id from refresh_tokens where token_hash = $1)')).toBe('sessions');
    expect(mainTableOf('with attempt as (insert into login_failures (email) values ($1) returning id) select attempt.id from attempt')).toBe('login_failures');
    expect(mainTableOf('select ${…} from (select * from users u ${…}) u')).toBe('users');
    expect(mainTableOf('The account of this token no longer exists.')).toBeUndefined();
    // A statement on users written in a picture module is reported; the same text in lib/accounts/users.ts is not.
    const stray = "export const q = () => db.query('select id, picture_id from users where id = any($1::uuid[])');";
    expect(findingsIn('lib/pictures/bookkeeping.ts', stray)).toEqual([{ file: 'lib/pictures/bookkeeping.ts', table: 'users', text: 'select id, picture_id from users where id = any($1::uuid[])' }]);
    expect(findingsIn('lib/accounts/users.ts', stray)).toEqual([]);
    // A table picked by name for a dynamic statement (`update ${table}`) counts too.
    expect(findingsIn('lib/accounts/lifecycle.ts', "const t = 'verification_tokens';")).toHaveLength(1);
  });

  test('every table the migrations create has a repository module, and that module exists and says so at its top', async () => {
    const created = new Set<string>();
    for (const file of await sourceFiles('migrations')) {
      for (const match of (await readFile(path.join(root, file), 'utf8')).matchAll(/create table (?:if not exists )?([a-z_]+)/gi)) created.add(match[1]!.toLowerCase());
    }
    expect([...created].filter((table) => !(table in repositoryOf))).toEqual([]);
    for (const [table, module] of Object.entries(repositoryOf)) {
      const head = (await readFile(path.join(root, module), 'utf8')).slice(0, 800);
      expect({ table, module, says: /Repository of/.test(head) && head.includes(table) }).toEqual({ table, module, says: true });
    }
  });

  test('no statement on a table outside its repository module in lib/ or functions/', async () => {
    const findings: Finding[] = [];
    for (const file of [...(await sourceFiles('lib')), ...(await sourceFiles('functions'))]) {
      findings.push(...findingsIn(file, await readFile(path.join(root, file), 'utf8')));
    }
    expect(findings).toEqual([]);
  });
});
