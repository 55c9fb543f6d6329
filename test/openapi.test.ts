import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { buildOpenApiDocument } from '../lib/ops/openapi';
import { operations, routeKey } from '../lib/http/operations';
import { handler as openApiHandler } from '../functions/openapi';
import { expectDocumented } from './support/contract';
import { invoke } from './support/events';

const root = path.resolve(import.meta.dirname, '..');
const document = buildOpenApiDocument() as any;

/** `- httpApi: POST /auth/login` lines of serverless.yml (the catch-all `'*'` is not an operation). */
async function serverlessRoutes(): Promise<string[]> {
  const yaml = await readFile(path.join(root, 'serverless.yml'), 'utf8');
  return [...yaml.matchAll(/^\s*-\s*httpApi:\s*['"]?([A-Z]+ \/[^'"\s]*)['"]?\s*$/gm)].map((match) => match[1]!);
}

describe('serverless.yml and the OpenAPI document', () => {
  test('every httpApi route of serverless.yml has its operation, and every operation its route', async () => {
    const routes = await serverlessRoutes();
    const documented = operations.map(routeKey);
    const missing = routes.filter((route) => !documented.includes(route));
    const stale = documented.filter((route) => !routes.includes(route));
    const advice = [
      ...missing.map(
        (route) => `${route}: add an entry to operations in lib/http/operations.ts ({ method, path, operationId, tag, summary, auth?, body?, query?, replies, errors })`,
      ),
      ...stale.map((route) => `${route}: in lib/http/operations.ts but not in serverless.yml; add the httpApi event or remove the entry`),
    ];
    expect(advice).toEqual([]);
  });

  test('serverless.yml lists routes in the one form this test reads', async () => {
    const yaml = await readFile(path.join(root, 'serverless.yml'), 'utf8');
    const events = [...yaml.matchAll(/^\s*-\s*httpApi:(.*)$/gm)].map((match) => match[1]!.trim());
    const unread = events.filter((event) => !/^['"]?([A-Z]+ \/\S*|\*)['"]?$/.test(event));
    expect({ unread, hint: 'write httpApi events as `- httpApi: METHOD /path`' }).toEqual({ unread: [], hint: expect.any(String) });
  });

  test('no two operations share an operationId or a route', () => {
    expect(new Set(operations.map((operation) => operation.operationId)).size).toBe(operations.length);
    expect(new Set(operations.map(routeKey)).size).toBe(operations.length);
  });
});

describe('the OpenAPI document', () => {
  test('is OpenAPI 3.1 with every route, its method, auth and a response for 500 and 503', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const operation of operations) {
      const documented = document.paths[operation.path]?.[operation.method.toLowerCase()];
      expect({ route: routeKey(operation), documented: Boolean(documented) }).toEqual({ route: routeKey(operation), documented: true });
      expect(Object.keys(documented.responses)).toEqual(expect.arrayContaining(['500', '503']));
      expect(documented.security).toEqual(operation.auth ? [{ bearer: [] }] : []);
      if (operation.auth) expect(documented.responses['401']).toBeDefined();
    }
  });

  test('takes request bodies and queries from the zod schemas that validate them', () => {
    const register = document.paths['/auth/register'].post.requestBody.content['application/json'].schema;
    expect(register.required).toEqual(['email', 'password']);
    expect(register.properties.password).toMatchObject({ minLength: 8, maxLength: 128 });
    const picture = document.paths['/users/{id}/picture'].get.parameters;
    expect(picture).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'id', required: true }), expect.objectContaining({ in: 'query', name: 'size' })]));
    expect(document.paths['/users/me/picture'].post.requestBody.content['multipart/form-data']).toBeDefined();
  });

  test('names the error codes of each status', () => {
    const login = document.paths['/auth/login'].post.responses;
    expect(login['429'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['too_many_attempts']);
    expect(login['401'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['invalid_credentials']);
  });

  test('passes the Redocly linter (recommended rules) without errors or warnings', async () => {
    // Off: a redirect (GET /users/{id}/picture answers 302) is this route's success, and /health, /docs and / cannot be refused with a 4XX.
    const config = await createConfig({
      extends: ['recommended'],
      rules: { 'info-license-url': 'off', 'operation-2xx-response': 'off', 'operation-4xx-response': 'off' },
    });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: path.join(root, 'openapi.json'), config });
    expect(problems.map((problem) => `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`)).toEqual([]);
  });
});

describe('the response check itself', () => {
  test('refuses a body that does not match the schema of its status', () => {
    expect(() =>
      expectDocumented({ method: 'POST', route: '/auth/login', status: 200, contentType: 'application/json', body: JSON.stringify({ accessToken: 'a' }) }),
    ).toThrow(/does not match the documented schema/);
  });

  test('refuses an error code the route does not document for that status', () => {
    expect(() =>
      expectDocumented({ method: 'POST', route: '/auth/login', status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'nickname_taken', message: 'x' } }) }),
    ).toThrow(/error code "nickname_taken" is not documented for this status: add it to `errors: \{ 401/);
  });

  test('refuses an undocumented status', () => {
    expect(() => expectDocumented({ method: 'GET', route: '/users/me', status: 418, contentType: 'application/json', body: '{}' })).toThrow(/not documented/);
  });
});

describe('GET /openapi.json', () => {
  test('serves the document with a strong ETag and cache headers', async () => {
    const response = await invoke(openApiHandler, { method: 'GET', route: '/openapi.json' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(response.headers['cache-control']).toBe('public, max-age=300, must-revalidate');
    expect(response.headers['x-request-id']).toBeTruthy();
    expect(response.json.paths['/users/me'].get.operationId).toBe('getMyProfile');
  });

  test('answers 304 without a body when the ETag is still current', async () => {
    const first = await invoke(openApiHandler, { method: 'GET', route: '/openapi.json' });
    const again = await invoke(openApiHandler, { method: 'GET', route: '/openapi.json', headers: { 'if-none-match': `W/${first.headers.etag}, "other"` } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(first.headers.etag);
  });

  test('answers 200 again for an outdated ETag', async () => {
    const response = await invoke(openApiHandler, { method: 'GET', route: '/openapi.json', headers: { 'if-none-match': '"outdated"' } });
    expect(response.status).toBe(200);
  });
});
