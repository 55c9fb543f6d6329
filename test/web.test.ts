import { describe, expect, test } from '@jest/globals';
import { gunzipSync } from 'node:zlib';
import { handler as health } from '../functions/health';
import { handler as notFound } from '../functions/not-found';
import { handler as web } from '../functions/web';
import { checkHealth } from '../lib/ops/health';
import { invoke } from './support/events';

const unreachable = () => Promise.reject(new Error('connect ECONNREFUSED'));
const hangs = () => new Promise<never>(() => {});
const fine = () => Promise.resolve(undefined);

describe('GET /health', () => {
  test('answers 200 with every check ok against the test stack', async () => {
    const response = await invoke(health, { method: 'GET', route: '/health' });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: 'ok', checks: { database: 'ok', storage: 'ok', mail: 'ok' } });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  test('names the failing check when one is unreachable', async () => {
    const report = await checkHealth({ database: { query: fine }, objects: { head: unreachable }, mailer: { check: fine } });
    expect(report).toEqual({ status: 'failing', checks: { database: 'ok', storage: 'failing', mail: 'ok' } });
  });

  test('counts a server that never answers as failing within the timeout', async () => {
    const started = performance.now();
    const report = await checkHealth({ database: { query: hangs }, objects: { head: fine }, mailer: { check: hangs } }, 200);
    expect(report.checks).toEqual({ database: 'failing', storage: 'ok', mail: 'failing' });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('the catch-all route', () => {
  test('answers an unknown path with 404 not_found in the error shape and a request id', async () => {
    const response = await invoke(notFound, { method: 'GET', route: '/no/such/thing' });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('not_found');
    expect(response.headers['x-request-id']).toBeTruthy();
  });

  test('answers a known path with another method with 405 and Allow', async () => {
    const response = await invoke(notFound, { method: 'DELETE', route: '/auth/login' });
    expect(response.status).toBe(405);
    expect(response.json.error.code).toBe('method_not_allowed');
    expect(response.headers.allow).toBe('POST');
  });

  test('matches path parameters: PUT /users/{id} is 405 with the methods of that path', async () => {
    const response = await invoke(notFound, { method: 'PUT', route: '/users/6f1c2a9e-3b7d-4c1e-9a53-0b6e2f4d8c11' });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET');
  });
});

describe('GET / and its assets', () => {
  test('serves the app page with a strict CSP: scripts and styles only from itself, no inline, no eval', async () => {
    const response = await invoke(web, { method: 'GET', route: '/' });
    expect(response.status).toBe(200);
    const csp = response.headers['content-security-policy']!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.body).not.toMatch(/<script>|<style|style="|\son\w+="/);
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  test('names content-hashed assets that are served gzipped and immutable', async () => {
    const page = await invoke(web, { method: 'GET', route: '/' });
    const script = /src="\/assets\/([^"]+\.js)"/.exec(page.body)![1]!;
    expect(script).toMatch(/^app-[A-Za-z0-9]{10}\.js$/);
    const asset = await invoke(web, { method: 'GET', route: '/assets/{file}', pathParameters: { file: script }, headers: { 'accept-encoding': 'gzip, br' } });
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(gunzipSync(Buffer.from(asset.body, 'base64')).toString()).toContain('/auth/login');
  });

  test('serves an asset uncompressed to a client that does not take gzip', async () => {
    const page = await invoke(web, { method: 'GET', route: '/' });
    const stylesheet = /href="\/assets\/(app-[^"]+\.css)"/.exec(page.body)![1]!;
    const asset = await invoke(web, { method: 'GET', route: '/assets/{file}', pathParameters: { file: stylesheet } });
    expect(asset.headers['content-encoding']).toBeUndefined();
    expect(Buffer.from(asset.body, 'base64').toString()).toContain(':focus-visible');
  });

  test('answers an unknown asset with 404 in the error shape', async () => {
    const response = await invoke(web, { method: 'GET', route: '/assets/{file}', pathParameters: { file: 'app-0000000000.js' } });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('not_found');
  });
});

describe('GET /docs', () => {
  test('serves Swagger UI from this API over /openapi.json, with no outside host and no eval', async () => {
    const response = await invoke(web, { method: 'GET', route: '/docs' });
    expect(response.status).toBe(200);
    expect(response.body).toMatch(/src="\/assets\/swagger-ui-bundle-[A-Za-z0-9]{10}\.js"/);
    expect(response.body).not.toMatch(/https?:\/\//);
    const csp = response.headers['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
  });
});
